//! [`ReadResult`], what `Synchronizer::read` returns, as in mmap-sync 2.x: a pinned, validated
//! value; also at upstream's path `mmap_sync::guard::ReadResult`.

use std::fmt;

use rkyv::Archive;

use super::instance::InstanceVersion;
use crate::reader::ReadGuard;

/// The result of a read: derefs to the archived value, which it pins (the writer will not
/// overwrite it) until it drops. Also at upstream's path, `mmap_sync::guard::ReadResult`.
///
/// Not `Send`: the pin belongs to the reading thread's reader slot.
pub struct ReadResult<'a, T: Archive> {
    pub(super) guard: ReadGuard<'a, T>,
    /// The generation of the synchronizer's previous read (0 for none).
    pub(super) previous: u64,
}

impl<T: Archive> ReadResult<'_, T> {
    /// Whether this read returned another generation than the previous read through the same
    /// synchronizer (true for the first read), as upstream's did.
    #[inline]
    pub fn is_switched(&self) -> bool {
        self.guard.generation() != self.previous
    }

    /// The generation read.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.guard.generation()
    }

    /// The generation read, as `version()` reports it.
    #[inline]
    pub fn version(&self) -> InstanceVersion {
        InstanceVersion::from_generation(self.guard.generation())
            .expect("a read never serves generation 0")
    }
}

impl<T: Archive> std::ops::Deref for ReadResult<'_, T> {
    type Target = T::Archived;

    #[inline]
    fn deref(&self) -> &T::Archived {
        &self.guard
    }
}

impl<T: Archive> fmt::Debug for ReadResult<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadResult")
            .field("generation", &self.generation())
            .field("switched", &self.is_switched())
            .finish()
    }
}
