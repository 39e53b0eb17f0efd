//! `ReadGuard`: what `reader.read()` returns, the `with` block around one generation.
//!
//! Lifetime rules, as the package's README states them:
//!
//! * the guard pins its generation from `reader.read()` until the `with` block ends (or
//!   `close()`); views of it used afterwards raise `mmap_sync.Released`;
//! * a buffer exported from a view (a `memoryview`, a numpy array) keeps the generation pinned
//!   and its bytes valid for as long as it lives, even past the block, as pyarrow's buffers do:
//!   the pin goes when the block has ended and the last such buffer is released;
//! * an operation on a view in progress (a `to_python()` that allocates, and so may run
//!   another thread's code) keeps the pin too, so that nothing can take it in the middle.
//!
//! One mutex-guarded [`State`] decides when the pin goes; the pin is dropped outside the lock.

use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex, MutexGuard};

use mmap_sync::dynamic::Value;
use pyo3::prelude::*;

use crate::channel::Channel;
use crate::errors;
use crate::pin::Pin;

/// The state of one read.
pub(crate) struct State {
    pub(crate) pin: Option<Pin>,
    /// The `with` block (or the guard, before `close()`) has not ended.
    pub(crate) open: bool,
    /// View operations in progress.
    users: usize,
    /// Buffers exported and not yet released.
    pub(crate) exports: usize,
}

impl State {
    /// The pin, if nothing needs it any more.
    fn release(&mut self) -> Option<Pin> {
        if !self.open && self.users == 0 && self.exports == 0 { self.pin.take() } else { None }
    }
}

/// One pinned generation of a channel: a context manager whose `__enter__` gives the view of
/// the whole value.
#[pyclass(module = "mmap_sync", frozen)]
#[allow(missing_debug_implementations)] // Python shows it by `__repr__`.
pub struct ReadGuard {
    state: Mutex<State>,
    generation: u64,
    pub(crate) root: Stored,
    pub(crate) channel: Arc<Channel>,
}

/// A `Value<'static>` whose borrow the guard's pin vouches for: read only through an
/// [`Access`] of that guard. `MaybeUninit` because the references inside may outlive what they
/// point to (a view object outlives its pin), and a reference that is held but dangling is
/// only allowed where nothing claims it is valid.
#[derive(Clone, Copy)]
pub struct Stored(MaybeUninit<Value<'static>>);

impl Stored {
    pub fn new(value: Value<'_>) -> Stored {
        // SAFETY: only the lifetime changes; `get` gives the value back only with the lifetime
        // of an `Access`, during which the pin keeps everything it borrows alive and unchanged.
        let value = unsafe { std::mem::transmute::<Value<'_>, Value<'static>>(value) };
        Stored(MaybeUninit::new(value))
    }

    /// The value, for as long as `access` holds the pin.
    pub fn get<'a>(&self, _access: &'a Access<'_>) -> Value<'a> {
        // SAFETY: initialised by `new`, and read while an `Access` holds the pin of the guard
        // it was made under (each holder pairs a `Stored` with its own guard's `Access`).
        unsafe { self.0.assume_init() }
    }
}

/// Proof that the guard's pin holds: taken for the length of one operation on a view.
#[allow(missing_debug_implementations)]
pub struct Access<'g> {
    guard: &'g ReadGuard,
}

impl Drop for Access<'_> {
    fn drop(&mut self) {
        let released = {
            let mut state = self.guard.lock();
            state.users -= 1;
            state.release()
        };
        drop(released);
    }
}

impl ReadGuard {
    pub fn new(channel: Arc<Channel>, pin: Pin, root: Value<'_>) -> ReadGuard {
        ReadGuard {
            generation: pin.generation(),
            state: Mutex::new(State { pin: Some(pin), open: true, users: 0, exports: 0 }),
            root: Stored::new(root),
            channel,
        }
    }

    /// The generation this read serves.
    pub fn generation_number(&self) -> u64 {
        self.generation
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while locked leaves counts that are still right: nothing panics in between.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Access for one operation, or `mmap_sync.Released` after the block.
    pub fn access(&self, py: Python<'_>) -> PyResult<Access<'_>> {
        let mut state = self.lock();
        if !state.open {
            return Err(errors::raise(
                py,
                "Released",
                Some(&self.channel.state_path),
                format!(
                    "a view of generation {} was used after its `with` block ended (or the \
                     guard was closed); read again, or copy what you keep with to_python()",
                    self.generation
                ),
            ));
        }
        state.users += 1;
        Ok(Access { guard: self })
    }

    /// One more exported buffer (the caller holds an `Access`).
    pub fn export(&self) {
        self.lock().exports += 1;
    }

    /// A buffer released.
    pub fn unexport(&self) {
        let released = {
            let mut state = self.lock();
            state.exports -= 1;
            state.release()
        };
        drop(released);
    }

    /// Ends the block: the pin goes now, or with the last exported buffer.
    pub(crate) fn end(&self) {
        let released = {
            let mut state = self.lock();
            state.open = false;
            if state.exports > 0
                && let Some(pin) = state.pin.as_mut()
            {
                pin.linger();
            }
            state.release()
        };
        drop(released);
        crate::pin::drop_parked();
    }
}
