//! The read guard: a pinned, validated copy, dereferencing to the archived value.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use rkyv::Archive;

use crate::reader::Pinned;

/// A pinned copy of the published value. Derefs to `T::Archived` in place (zero-copy). While it
/// lives the writer will not overwrite the copy; drop it promptly, a held guard can delay a
/// writer with 2 copies.
pub struct ReadGuard<'a, T: Archive> {
    root: &'a T::Archived,
    pin: &'a AtomicU64,
    generation: u64,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T: Archive> ReadGuard<'a, T> {
    /// # Safety
    /// `pinned.root` must point at a valid `T::Archived` inside a mapping that outlives `'a`,
    /// and the pin must keep the writer from changing it.
    #[inline]
    pub(crate) unsafe fn new(pinned: Pinned<'a>) -> Self {
        ReadGuard {
            // SAFETY: guaranteed by the caller.
            root: unsafe { &*(pinned.root as *const T::Archived) },
            pin: pinned.pin,
            generation: pinned.generation,
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
        // Step 5. Release: every read of the copy above happens before the writer, having
        // loaded this 0, writes the copy again.
        self.pin.store(0, Ordering::Release);
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
