//! Per-thread reader slots: each thread that reads through a `Reader` holds one slot of that
//! reader's channel, claimed at its first read, kept for its later reads, and given back when
//! the thread exits or the reader is dropped.
//!
//! The hot path finds the calling thread's slot with one thread-local load and one compare
//! ([`current`]): a per-thread cache of the last reader used. Other readers used by the thread
//! are found in a per-thread list ([`find_or_insert`]), whose destructor, at thread exit,
//! gives every slot back to its reader.
//!
//! After `fork()`, the child's (only) thread still has its parent thread's slots in its lists;
//! the child's pins would land in the parent's slots. A fork hook points every such slot at a
//! private dummy word and marks it unclaimed, so the child claims slots of its own and its
//! guards, even one inherited from before the fork, never touch the parent's pins.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Weak;
use std::sync::atomic::AtomicU64;

/// The side that owns slots: gives one back when its thread exits.
pub(crate) trait SlotOwner: Send + Sync {
    /// Releases slot `index` (clears its pin, unlocks it).
    fn release_slot(&self, index: usize);
}

/// Marks a thread slot that holds no slot of the channel.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// Where the pins of an unclaimed (or forked-away) thread slot go: nowhere anyone reads.
static DUMMY_PIN: AtomicU64 = AtomicU64::new(0);

/// One thread's slot of one reader. Lives in a `Box` in the thread's list, so its address is
/// stable for the thread's life; guards point at it.
pub(crate) struct ThreadSlot {
    /// The reader (see `ReaderShared::id`); unique for the process's life.
    reader: u64,
    owner: Weak<dyn SlotOwner>,
    index: Cell<usize>,
    pin: Cell<*const AtomicU64>,
    /// Guards alive beyond the first. The first guard is known by the pin itself: a thread's
    /// pin is non-zero exactly while it holds a guard (so a read stores nothing else).
    extra: Cell<u32>,
    /// Inherited from the parent across `fork()`: never claims a slot again (guards inherited
    /// with it may still drop through it, into the dummy pin).
    forked: Cell<bool>,
    /// The thread's list is gone (the thread is exiting) while a guard still held this slot: the
    /// guard kept in another thread-local that drops last gives the slot back and frees this.
    orphaned: Cell<bool>,
}

impl ThreadSlot {
    /// The slot index, or [`NO_SLOT`].
    #[inline]
    pub fn index(&self) -> usize {
        self.index.get()
    }

    /// The pin word: the slot's in the readers file, or a dummy while unclaimed.
    #[inline]
    pub fn pin(&self) -> &AtomicU64 {
        // SAFETY: points at a slot of a mapping the reader keeps while this thread slot may be
        // used (the reader's id still matches), or at the static dummy.
        unsafe { &*self.pin.get() }
    }

    /// Records the claim of slot `index` whose pin word is `pin`.
    pub fn set_claimed(&self, index: usize, pin: *const AtomicU64) {
        self.index.set(index);
        self.pin.set(pin);
    }

    /// Whether the thread holds a guard on this slot (its pin is set).
    #[inline]
    pub fn holding(&self) -> bool {
        // Relaxed: the pin is this thread's own word; only this thread stores it (the writer
        // clears only the pins of dead readers).
        self.pin().load(std::sync::atomic::Ordering::Relaxed) != 0
    }

    /// A nested guard on the generation already held.
    #[inline]
    pub fn enter_nested(&self) {
        self.extra.set(self.extra.get() + 1);
    }

    /// A guard on this slot drops: guards may drop in any order, and whichever is last must
    /// release the pin (reader step 5, done by `Pinned`'s drop).
    #[inline]
    pub fn leave(&self) -> Left {
        match self.extra.get() {
            0 => Left::Last { orphaned: self.orphaned.get() },
            extra => {
                self.extra.set(extra - 1);
                Left::Nested
            }
        }
    }
}

/// What [`ThreadSlot::leave`] found.
pub(crate) enum Left {
    /// Other guards of the thread still hold the pin.
    Nested,
    /// This was the thread's last guard: the pin must be released; and when the slot outlived
    /// the thread's list (`orphaned`), it must be given back ([`Orphan::give_back`]).
    Last { orphaned: bool },
}

/// A thread slot whose thread's list is gone while a guard held it: the guard was kept in a
/// thread-local that the thread destroys after the list. Its last guard gives the reader slot
/// back and frees the thread slot, so a guard kept until thread exit costs nothing afterwards.
pub(crate) struct Orphan;

impl Orphan {
    /// Gives the reader slot of `slot` back and frees it.
    ///
    /// # Safety
    /// `slot` must be a thread slot whose [`ThreadSlot::leave`] just returned
    /// `Left::Last { orphaned: true }` and whose pin was released since, and the
    /// caller must not use it afterwards (nothing else refers to it: the list that owned it is
    /// gone and the guard that called `leave` was its last).
    pub(crate) unsafe fn give_back(slot: *const ThreadSlot) {
        // SAFETY: an orphaned slot was leaked from its `Box` by `Held::drop`, and the caller
        // guarantees this is its last use.
        let slot = unsafe { Box::from_raw(slot as *mut ThreadSlot) };
        if let Some(owner) = slot.owner.upgrade()
            && slot.index.get() != NO_SLOT
        {
            owner.release_slot(slot.index.get());
        }
    }
}

thread_local! {
    /// The last (reader id, thread slot) this thread used: the hot path's one lookup.
    static CURRENT: Cell<(u64, *const ThreadSlot)> = const { Cell::new((0, ptr::null())) };
    /// Every thread slot of this thread; gives them back at thread exit.
    static HELD: Held = const { Held(RefCell::new(Vec::new())) };
}

// Boxed: guards and the thread cache point at a thread slot, so it must not move when the
// list grows.
#[allow(clippy::vec_box)]
struct Held(RefCell<Vec<Box<ThreadSlot>>>);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set((0, ptr::null())));
        for slot in self.0.get_mut().drain(..) {
            // A slot whose reader is gone points into an unmapped slot table: only the owner's
            // being alive makes its pin readable.
            let Some(owner) = slot.owner.upgrade() else { continue };
            if slot.holding() {
                // A guard kept in another thread-local drops after this list: it gives the slot
                // back when it drops (see `Orphan`).
                slot.orphaned.set(true);
                Box::leak(slot);
            } else if slot.index.get() != NO_SLOT {
                owner.release_slot(slot.index.get());
            }
        }
    }
}

/// The calling thread's slot of reader `reader`, if it is the last one this thread used. The
/// reference lives as long as the caller's borrow of the reader (see the caller).
#[inline(always)]
pub(crate) fn current<'r>(reader: u64) -> Option<&'r ThreadSlot> {
    CURRENT.with(|c| {
        let (id, slot) = c.get();
        // SAFETY: CURRENT pairs a reader id (never 0) only with a non-null pointer to a thread
        // slot of this thread that lives in its list (`find_or_insert`), which keeps it until the
        // thread exits (then CURRENT is reset first); ids are never reused. The caller holds a
        // borrow of the reader, so the slot's pin points into a live mapping.
        if id == reader { Some(unsafe { &*slot }) } else { None }
    })
}

/// The calling thread's slot of reader `reader`, created (unclaimed) if the thread has none.
/// `None` while the thread is exiting (its thread-locals are being destroyed). The hot path
/// does not find it until [`set_current`] is called once it holds a claimed slot. `owner` is
/// asked for only when the slot is created (making a weak reference and dropping it are two
/// locked instructions).
pub(crate) fn find_or_insert(
    reader: u64,
    owner: impl FnOnce() -> Weak<dyn SlotOwner>,
) -> Option<*const ThreadSlot> {
    HELD.try_with(|held| {
        let mut held = held.0.try_borrow_mut().ok()?;
        let found = held.iter().position(|s| s.reader == reader && !s.forked.get());
        let slot: *const ThreadSlot = match found {
            Some(i) => &*held[i],
            None => {
                // Forget thread slots of readers that are gone (no guard outlives its reader).
                held.retain(|s| s.owner.strong_count() > 0);
                held.push(Box::new(ThreadSlot {
                    reader,
                    owner: owner(),
                    index: Cell::new(NO_SLOT),
                    pin: Cell::new(&DUMMY_PIN),
                    extra: Cell::new(0),
                    forked: Cell::new(false),
                    orphaned: Cell::new(false),
                }));
                &**held.last()?
            }
        };
        Some(slot)
    })
    .ok()
    .flatten()
}

/// Makes `slot` the calling thread's cached slot of `reader` for the hot path. Only for a slot
/// that holds a claimed reader slot: the hot path pins through it without further checks.
pub(crate) fn set_current(reader: u64, slot: &ThreadSlot) {
    debug_assert!(slot.index() != NO_SLOT);
    let _ = CURRENT.try_with(|c| c.set((reader, slot)));
}

/// The index of the slot the calling thread holds for `reader`, if any.
pub(crate) fn index_of(reader: u64) -> Option<usize> {
    HELD.try_with(|held| {
        let held = held.0.try_borrow().ok()?;
        held.iter().find(|s| s.reader == reader).map(|s| s.index()).filter(|&i| i != NO_SLOT)
    })
    .ok()
    .flatten()
}

/// Gives back this thread's slot of `reader` now (the reader is being closed by this thread).
pub(crate) fn forget_current(reader: u64) {
    let _ = CURRENT.try_with(|c| {
        if c.get().0 == reader {
            c.set((0, ptr::null()));
        }
    });
}

/// Runs in the child after `fork()`, in the forking thread: every thread slot it inherited
/// stops pointing at the parent's pins. Async-signal-safe: no allocation, no lock.
pub(crate) fn after_fork_in_child() {
    let _ = CURRENT.try_with(|c| c.set((0, ptr::null())));
    let _ = HELD.try_with(|held| {
        if let Ok(held) = held.0.try_borrow() {
            for slot in held.iter() {
                slot.index.set(NO_SLOT);
                slot.pin.set(&DUMMY_PIN);
                slot.forked.set(true);
            }
        }
    });
}
