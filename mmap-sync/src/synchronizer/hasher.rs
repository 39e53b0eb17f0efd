//! [`Xxh3`], the checksum every channel uses, under the name of `Synchronizer`'s hasher
//! parameter.

use std::fmt;
use std::hash::Hasher;

/// The checksum every channel uses, xxh3-64, as a [`Hasher`]: the default of
/// [`Synchronizer`](super::Synchronizer)'s hasher parameter, in place of upstream's `WyHash`.
///
/// The parameter is accepted for source compatibility and does not choose anything: whatever
/// hasher a program names, copies are checksummed with xxh3-64, because every program reading
/// the channel (through the facade or through [`Reader`](crate::Reader)) must agree on it.
#[derive(Default, Clone)]
pub struct Xxh3(xxhash_rust::xxh3::Xxh3);

impl Hasher for Xxh3 {
    fn finish(&self) -> u64 {
        self.0.digest()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl fmt::Debug for Xxh3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xxh3").finish_non_exhaustive()
    }
}
