//! The write-lock strategies of mmap-sync 2.x, kept as names so that
//! `Synchronizer<WyHash, SingleWriter>` and `Synchronizer<WyHash, LockDisabled>` still compile.
//!
//! They no longer choose anything: every channel has at most one live writer, whatever strategy a
//! program names. The writer takes an exclusive lock on the channel's `P_writer` file when it
//! opens (at a synchronizer's first write) and holds it until it is dropped; the kernel releases
//! it when the process dies. A second writer gets
//! [`SynchronizerError::WriteLockConflict`](crate::synchronizer::SynchronizerError::WriteLockConflict)
//! (from the facade) or [`Error::WriterExists`](crate::Error::WriterExists) (from
//! [`Writer`](crate::Writer)). Upstream's `LockDisabled` let two writers corrupt a channel; here
//! it behaves exactly like `SingleWriter`.

/// A write-lock strategy, as named by `Synchronizer`'s second type parameter. Sealed: the
/// strategies are [`LockDisabled`] and [`SingleWriter`], and both mean "one writer, enforced".
///
/// The lifetime parameter is upstream's; it is kept so that bounds written against it
/// (`WL: WriteLockStrategy<'a>`) still compile.
pub trait WriteLockStrategy<'a>: sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

/// Upstream's default strategy ("the caller guarantees a single writer"). Here the runtime
/// guarantees it: a second writer is refused, as with [`SingleWriter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockDisabled {
    _private: (),
}

/// Upstream's `flock`-based strategy. The same as [`LockDisabled`] here: the single writer is
/// always enforced, with an open-file-description lock that the kernel drops when the writer's
/// process dies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SingleWriter {
    _private: (),
}

impl sealed::Sealed for LockDisabled {}
impl sealed::Sealed for SingleWriter {}
impl WriteLockStrategy<'_> for LockDisabled {}
impl WriteLockStrategy<'_> for SingleWriter {}
