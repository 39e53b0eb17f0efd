//! The read guard: a pinned, validated copy, dereferencing to the archived value. It releases
//! its own pin (through its thread's slot) when it drops.
//!
//! [`ReadResult`], the upstream-style facade's read result, is also here, at the path mmap-sync
//! 2.x had it.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use rkyv::Archive;

use crate::slots::{Orphan, ThreadSlot};

pub use crate::synchronizer::ReadResult;

/// A pinned generation of the published value. Derefs to `T::Archived` in place (zero-copy).
///
/// While it lives, the writer will not overwrite the copy it reads; drop it promptly: a guard
/// held for long can delay a writer with 2 copies. A guard is not `Send`: its pin belongs to the
/// thread's reader slot. A thread that already holds a guard of a reader and reads again through
/// the same reader (a nested read) gets another guard on the *same* generation: the pin stays
/// until the last of the thread's guards drops.
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<mmap_sync::ReadGuard<'static, u32>>(); // a guard's pin belongs to its thread
/// ```
pub struct ReadGuard<'a, T: Archive> {
    root: &'a T::Archived,
    slot: &'a ThreadSlot,
    generation: u64,
    // Raw pointer: neither Send nor Sync.
    _not_send: PhantomData<*const ()>,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T: Archive> ReadGuard<'a, T> {
    /// # Safety
    /// `root` must point at a valid `T::Archived` that stays unchanged for `'a` while `slot`
    /// pins its generation, and `slot` must have counted this guard (entered).
    #[inline]
    pub(crate) unsafe fn new(root: *const u8, slot: &'a ThreadSlot, generation: u64) -> Self {
        ReadGuard {
            // SAFETY: guaranteed by the caller.
            root: unsafe { &*(root as *const T::Archived) },
            slot,
            generation,
            _not_send: PhantomData,
            _type: PhantomData,
        }
    }

    /// The generation this guard reads.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl<T: Archive> Deref for ReadGuard<'_, T> {
    type Target = T::Archived;

    #[inline]
    fn deref(&self) -> &T::Archived {
        self.root
    }
}

impl<T: Archive> Drop for ReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Reader step 5 when this is the thread's last guard on the reader.
        if self.slot.leave() {
            // SAFETY: `leave` said this guard was the last user of an orphaned thread slot;
            // `self.slot` is not used again.
            unsafe { Orphan::give_back(self.slot) };
        }
    }
}

impl<T: Archive> fmt::Debug for ReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadGuard")
            .field("type", &std::any::type_name::<T>())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}
