//! [`InstanceVersion`], the type `Synchronizer::version` returns, as in mmap-sync 2.x.

use std::fmt;
use std::num::NonZeroU64;

/// Which published value a channel holds: its generation.
///
/// Upstream packed the active copy's index, the value's size and 24 bits of its checksum into
/// this number, so two versions could only be compared for equality, and equal versions could
/// name two different values. Here it is the generation: 1 for the first value ever published
/// at a path, one more for each publish, never reused, also across writer restarts. Versions
/// are ordered (a larger one is newer), and `u64::from(version)` is the number that
/// [`Reader::generation`](crate::Reader::generation),
/// [`ReadGuard::generation`](crate::ReadGuard::generation) and
/// [`Published::generation`](crate::Published) report for the same value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceVersion(NonZeroU64);

impl InstanceVersion {
    /// The version of generation `generation`; `None` for 0 ("nothing published").
    pub fn from_generation(generation: u64) -> Option<Self> {
        NonZeroU64::new(generation).map(InstanceVersion)
    }

    /// The generation this version names (never 0).
    pub fn generation(self) -> u64 {
        self.0.get()
    }
}

impl From<InstanceVersion> for u64 {
    /// The generation.
    fn from(version: InstanceVersion) -> u64 {
        version.generation()
    }
}

impl fmt::Display for InstanceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "generation {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synchronizer::SynchronizerError;

    #[test]
    fn a_version_converts_to_and_from_its_generation() {
        let v = InstanceVersion::try_from(42).unwrap();
        assert_eq!(u64::from(v), 42);
        assert_eq!(v.generation(), 42);
        assert!(InstanceVersion::try_from(43).unwrap() > v, "a newer generation is greater");
        assert!(matches!(InstanceVersion::try_from(0), Err(SynchronizerError::UninitializedState)));
        assert_eq!(size_of::<Option<InstanceVersion>>(), 8);
    }
}
