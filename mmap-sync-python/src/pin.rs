//! A pinned generation owned by Python objects: the runtime's `DynGuard`, which borrows its
//! `DynReader` and belongs to the thread that read it, made into a value that Python objects
//! can hold and that may be dropped on any thread.
//!
//! Two things stand between a `DynGuard<'r>` and a Python object:
//!
//! * **The borrow.** The guard borrows the reader (`'r`), and a Python object has no lifetime.
//!   [`Pin`] keeps the reader alive itself, in an `Arc` whose heap address does not move, and
//!   drops the guard before it; the guard is boxed, so that values borrowed from it stay put
//!   when the `Pin` moves. The lifetime is extended to `'static` in one place,
//!   [`Pin::read`], whose `// SAFETY:` comment argues it.
//! * **The thread.** The guard is `!Send`: its drop gives the pin back through the reading
//!   thread's slot (state that thread's later reads and exit also touch). Python may drop the
//!   last reference to a view or buffer on any thread. A `Pin` dropped on another thread is
//!   therefore *parked*, never dropped there: the thread that read it drops it at its next
//!   call into this module, or when it exits ([`ThreadExit`]).
//!
//! The runtime's rule that a thread's nested reads serve the generation it already holds would
//! make a buffer kept past its `with` block freeze every later read of that thread at the old
//! generation. [`Reader`](crate::reader::Reader) avoids it with more than one `DynReader`
//! ("lanes"): a read uses the first lane on which this thread holds no lingering pin (one
//! whose block has ended), so reads always serve the newest value.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use mmap_sync::dynamic::{DynGuard, DynReader, Value};

/// One read: the guard, and the reader it borrows.
struct Held {
    // Dropped first (declaration order): the guard gives its pin back through the reader.
    guard: Box<DynGuard<'static>>,
    /// Keeps the reader the guard borrows alive until after the guard.
    _reader: Arc<DynReader>,
}

/// A pinned generation of one lane of a reader, held by Python objects.
#[allow(missing_debug_implementations)] // The guard has none; nothing prints a pin.
pub struct Pin {
    held: ManuallyDrop<Held>,
    owner: ThreadId,
    lane: Lane,
    /// Counted in the owner thread's lingering list ([`Pin::linger`]).
    lingers: bool,
}

/// Which reader (by its id) and lane a pin is on, for the thread's count of lingering pins.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Lane {
    pub reader: u64,
    pub index: usize,
}

// SAFETY: a `Pin` is moved between threads, and its root `Value` read from any thread while it
// lives, but its guard is only ever dropped on the thread that read it (`owner`): `Drop` parks
// it otherwise, and only `owner` takes it out of the parking list (`drop_parked`). Reading the
// value needs no thread: it is bytes of the mapping, which the pin keeps from being rewritten,
// and the structure, which the reader keeps.
unsafe impl Send for Pin {}
// SAFETY: a `&Pin` only gives the generation and the root value (both `Copy` reads of data that
// does not change while the pin holds); the guard is not reachable through it.
unsafe impl Sync for Pin {}

impl Pin {
    /// Reads `reader` (lane `lane`) on the calling thread: the guard and its root value.
    pub fn read(reader: &Arc<DynReader>, lane: Lane) -> Result<(Pin, Value<'static>), ReadError> {
        drop_parked();
        let guard = reader.read().map_err(ReadError::Runtime)?;
        // SAFETY: the guard borrows `*reader`, the `DynReader` inside the `Arc`'s allocation.
        // `Held` keeps a clone of that `Arc`, so the allocation (at a fixed address) outlives
        // the guard, which `Held` drops first. The guard is boxed: what it lends (the value
        // below) does not move with the `Pin`.
        let guard: Box<DynGuard<'static>> = unsafe {
            std::mem::transmute::<Box<DynGuard<'_>>, Box<DynGuard<'static>>>(Box::new(guard))
        };
        let value = guard.value().map_err(ReadError::Value)?;
        // SAFETY: the value borrows the boxed guard (and, through it, the reader and the
        // mapping), which the `Pin` keeps alive. Every holder of this `'static` value keeps it
        // in a `Slot` and reads it only while it holds an `Access` of the `Pin`'s guard object,
        // so it is never used after the `Pin` is dropped.
        let value = unsafe { std::mem::transmute::<Value<'_>, Value<'static>>(value) };
        let held = Held { guard, _reader: reader.clone() };
        let owner = std::thread::current().id();
        Ok((Pin { held: ManuallyDrop::new(held), owner, lane, lingers: false }, value))
    }

    /// The generation this pin holds.
    pub fn generation(&self) -> u64 {
        self.held.guard.generation()
    }

    /// Counts this pin as lingering on its thread's lane: its `with` block has ended while
    /// buffers keep it. Must be called on the owner thread (the end of a `with` block is).
    pub fn linger(&mut self) {
        if !self.lingers && std::thread::current().id() == self.owner {
            LINGERING.with(|list| list.borrow_mut().push(self.lane));
            self.lingers = true;
        }
    }
}

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError {
    Runtime(mmap_sync::Error),
    Value(mmap_sync::dynamic::DynError),
}

impl Drop for Pin {
    fn drop(&mut self) {
        // SAFETY: `held` is taken exactly once, here.
        let held = unsafe { ManuallyDrop::take(&mut self.held) };
        let lingered = self.lingers.then_some(self.lane);
        if std::thread::current().id() == self.owner {
            drop_held(held, lingered);
        } else {
            let mut parked = PARKED.lock().unwrap_or_else(|e| e.into_inner());
            parked.push(Parked { held, owner: self.owner, lingered });
            PARKED_COUNT.store(parked.len(), Ordering::Release);
        }
    }
}

/// Drops a pin's guard on its own thread, and forgets it as lingering on `lingered`.
fn drop_held(held: Held, lingered: Option<Lane>) {
    drop(held);
    let Some(lane) = lingered else { return };
    // `try_with`: during the thread's exit the list may already be gone.
    let _ = LINGERING.try_with(|list| {
        let mut list = list.borrow_mut();
        if let Some(i) = list.iter().position(|l| *l == lane) {
            list.swap_remove(i);
        }
    });
}

/// A pin dropped on another thread than its own, waiting for its thread.
struct Parked {
    held: Held,
    owner: ThreadId,
    lingered: Option<Lane>,
}

// SAFETY: a `Parked` is moved into and out of the parking list on any thread, but only its
// owner thread takes it out to drop it (`drop_parked`); nothing else touches the guard.
unsafe impl Send for Parked {}

static PARKED: Mutex<Vec<Parked>> = Mutex::new(Vec::new());
/// `PARKED`'s length, so that the common case (nothing parked) takes no lock.
static PARKED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Drops the pins other threads dropped for this one. Called at every read and at the end of
/// every `with` block, and at the thread's exit.
pub fn drop_parked() {
    // Acquire: pairs with the store after a push, so a pin parked before is found.
    if PARKED_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let me = std::thread::current().id();
    let mine: Vec<Parked> = {
        let mut parked = PARKED.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, others) = parked.drain(..).partition(|p| p.owner == me);
        *parked = others;
        PARKED_COUNT.store(parked.len(), Ordering::Release);
        mine
    };
    for parked in mine {
        drop_held(parked.held, parked.lingered);
    }
}

thread_local! {
    /// The lanes on which this thread holds pins whose `with` block has ended.
    static LINGERING: RefCell<Vec<Lane>> = const { RefCell::new(Vec::new()) };
}

/// Whether this thread holds a lingering pin on `lane`.
pub fn lingering_on(lane: Lane) -> bool {
    LINGERING.with(|list| list.borrow().contains(&lane))
}

/// Held by a thread's `threading.local()` entry: Python destroys it on that thread when the
/// thread ends (its thread state is cleared while it still runs), which drops the pins parked
/// for it. Pins parked after that stay parked (their generation stays pinned) until the
/// process exits, when the kernel releases the slot's lock.
#[pyo3::pyclass(module = "mmap_sync", name = "_ThreadExit")]
pub struct ThreadExit {
    owner: ThreadId,
}

impl ThreadExit {
    pub fn new() -> ThreadExit {
        ThreadExit { owner: std::thread::current().id() }
    }
}

impl Drop for ThreadExit {
    fn drop(&mut self) {
        if std::thread::current().id() == self.owner {
            drop_parked();
        }
    }
}
