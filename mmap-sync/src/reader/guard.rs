//! The read guard: a pinned, validated copy, dereferencing to the archived value; the pin it
//! holds is released when it drops.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use rkyv::Archive;

use super::pinned::Pinned;

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
    /// Released (reader step 5) when the guard drops.
    pinned: Pinned<'a>,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T: Archive> ReadGuard<'a, T> {
    /// # Safety
    /// `pinned`'s root must point at a valid `T::Archived`, which stays unchanged for `'a` while
    /// the pin holds.
    #[inline]
    pub(crate) unsafe fn new(pinned: Pinned<'a>) -> Self {
        // SAFETY: guaranteed by the caller.
        let root = unsafe { &*(pinned.root() as *const T::Archived) };
        ReadGuard { root, pinned, _type: PhantomData }
    }

    /// The generation this guard reads.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.pinned.generation()
    }
}

impl<T: Archive> Deref for ReadGuard<'_, T> {
    type Target = T::Archived;

    #[inline]
    fn deref(&self) -> &T::Archived {
        self.root
    }
}

impl<T: Archive> fmt::Debug for ReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadGuard")
            .field("type", &std::any::type_name::<T>())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}
