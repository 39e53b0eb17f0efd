//! The reader: one handle for the whole process. Every thread that reads holds a slot of its
//! own; every generation is validated once for the process, by the first thread that reads it or
//! by a background thread; reads never wait for a validation another thread runs, while a
//! validated generation is there to serve.
//!
//! This file is the face ([`Reader`], [`ReaderBuilder`]); the rooms behind it hold one piece of
//! state each:
//!
//! * [`shared`]: the state one reader's clones and threads share, and the read itself;
//! * [`pinned`]: pins as values, whose drop is reader step 5, and [`guard`]: the guard a read
//!   returns, which holds one;
//! * [`validated`]: what the process validated (memo, roots, fast word, failures, counters),
//!   [`validation_lock`]: the lock that elects one validator at a time, and [`check_copy`]:
//!   the one-time check of a published copy;
//! * [`claims`]: the slots a process holds; [`thread_slot`]: each thread's slot of each reader;
//! * [`wait`]: futex waits and waiter bits; [`background`]: the background validator.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use crate::error::{Result, Schema};
use crate::paths::ChannelPaths;
use crate::shared_state::SharedState;
use crate::value_type::ValueType;

mod background;
mod check_copy;
mod claims;
mod guard;
mod handle;
mod pinned;
mod shared;
mod thread_slot;
mod untyped;
mod validated;
mod validation_lock;
mod wait;

pub use guard::ReadGuard;
pub(crate) use handle::open_wait;
pub(crate) use pinned::PinnedCopy;
pub(crate) use shared::ReaderShared;
pub(crate) use untyped::{BytesGuard, ReaderCore};
pub(crate) use validated::Check;
pub use validated::{ReaderStats, ValidationFailure};
pub use wait::SUPERSEDED_CHECK;
pub(crate) use wait::wait_for_change;

/// Reads values of type `T` from the channel at a path.
///
/// One `Reader` serves a whole process: it is `Clone + Send + Sync`, and clones share one set of
/// mappings and one validation state. Each thread that reads holds a reader slot of its own,
/// claimed at its first read through this reader and given back when the thread exits or the
/// last clone drops. Each published generation is validated once for the process (bytecheck,
/// checksum, schema fingerprint); every other read of it is a pointer cast.
pub struct Reader<T: SharedState> {
    core: ReaderCore,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> Clone for Reader<T> {
    fn clone(&self) -> Self {
        Reader { core: self.core.clone(), _type: PhantomData }
    }
}

impl<T: SharedState> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.core.shared, f)
    }
}

impl<T: SharedState> Reader<T> {
    /// Opens the channel at `path` and validates its current generation, so that the first
    /// read is already fast. Fails with [`Error::NotPublished`](crate::Error::NotPublished) if no writer has created it yet,
    /// and [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) if it holds another type.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().open(path)
    }

    /// A builder to turn off the checksum pass, validate in the background, or wait for the
    /// channel to appear.
    pub fn builder() -> ReaderBuilder<T> {
        ReaderBuilder { checksum: true, background: false, _type: PhantomData }
    }

    /// The newest validated value. Wait-free on the hot path: one thread-local lookup, the pin,
    /// the re-load. When a new generation is published, the first thread to read it validates
    /// it (or, with [`ReaderBuilder::validate_in_background`], a background thread does) while
    /// other threads keep reading the newest validated generation. A generation that fails
    /// validation is never served; see [`last_failure`](Self::last_failure).
    ///
    /// A thread that holds a guard of this reader and reads again gets a guard on the same
    /// generation.
    #[inline]
    pub fn read(&self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.core.read(Check::Safe)?;
        // SAFETY: the root is that of a generation validated as `T::Archived` for this process,
        // and the pin the guard holds keeps the writer away from it until the guard drops.
        Ok(unsafe { ReadGuard::new(pinned) })
    }

    /// Like [`read`](Self::read) but skips bytecheck (checksum and fingerprint are still
    /// checked once per generation).
    ///
    /// # Safety
    /// The writer must be trusted to publish only valid archives of `T`: a malformed archive
    /// read this way is undefined behaviour.
    #[inline]
    pub unsafe fn read_unchecked(&self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.core.read(Check::Unchecked)?;
        // SAFETY: the caller vouches for the bytes; the pin keeps the copy stable.
        Ok(unsafe { ReadGuard::new(pinned) })
    }

    /// The published generation (0 before the first publish): one atomic load, for cheap
    /// change polling. It may be newer than what [`read`](Self::read) serves while that
    /// generation is being validated.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.core.generation()
    }

    /// The newest generation validated by this process (0 if none): what a read serves when
    /// nothing newer is validated.
    pub fn validated_generation(&self) -> u64 {
        self.core.validated_generation()
    }

    /// The newest generation that failed validation (it is never served), unless a newer
    /// generation has been validated since.
    pub fn last_failure(&self) -> Option<ValidationFailure> {
        self.core.last_failure()
    }

    /// What this reader (all its clones, in this process) has done so far: validations, and
    /// reads that served an older validated generation or waited for one.
    pub fn stats(&self) -> ReaderStats {
        self.core.stats()
    }

    /// Whether the files this reader maps are no longer the channel at its path: a writer
    /// replaced them by a new set, or they were deleted and a new channel was created at the
    /// path. The reader keeps its last value; open a new reader to follow the channel. Asks the
    /// filesystem (one `stat`) until the answer is yes.
    pub fn is_superseded(&self) -> bool {
        self.core.is_superseded()
    }

    /// Blocks until a generation other than `since` (and not 0) is published and readable, or
    /// `timeout` passes (any duration, `Duration::MAX` included). Returns `Ok(Some(generation))`
    /// with the generation a [`read`](Self::read) on this thread now serves (the new one, or a
    /// newer one), and `Ok(None)` on timeout. So a loop of `wait_for_change(seen)`, `read()`,
    /// `seen = guard.generation()` sleeps between publishes, on any number of threads.
    ///
    /// The thread sleeps on a futex; the writer wakes it only when some reader waits. A wait
    /// that finds a new generation makes it readable before it returns: it validates it, or
    /// waits for the thread that does (another thread, or the background validator). The
    /// deadline bounds the waiting, not a validation this thread runs itself. A generation that
    /// fails validation is not a change: the wait goes on for the next publish (see
    /// [`last_failure`](Self::last_failure)). A thread that holds a guard of this reader keeps
    /// reading that guard's generation; for it the wait returns on the publish alone.
    ///
    /// Fails with [`Error::Superseded`](crate::Error::Superseded) when the files this reader maps are no longer the
    /// channel at its path: a writer replaced them by a new set, or they were deleted and a new
    /// channel was created at the path, which a waiting reader learns within
    /// [`SUPERSEDED_CHECK`](crate::SUPERSEDED_CHECK).
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.core.wait_for_change(since, timeout)
    }

    /// Blocks until a read serves a generation newer than `since`, or `timeout` passes.
    /// Returns that generation, or `None` on timeout. Generations that fail validation are
    /// skipped (see [`last_failure`](Self::last_failure)). Like
    /// [`wait_for_change`](Self::wait_for_change), with "newer than" for "other than".
    pub fn wait_for_validated(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.core.wait_for_validated(since, timeout)
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.core.paths()
    }

    /// The schema recorded by the writer.
    pub fn schema(&self) -> Schema {
        self.core.schema()
    }

    /// Index of the reader slot the calling thread holds through this reader, if any.
    pub fn slot(&self) -> Option<usize> {
        self.core.slot()
    }
}

/// Builds a [`Reader`] with non-default settings.
pub struct ReaderBuilder<T: SharedState> {
    checksum: bool,
    background: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> fmt::Debug for ReaderBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderBuilder")
            .field("verify_checksum", &self.checksum)
            .field("validate_in_background", &self.background)
            .finish()
    }
}

impl<T: SharedState> ReaderBuilder<T> {
    /// Whether to checksum each generation once before reading it (default on). Off saves one
    /// pass over very large values; bytecheck still runs.
    pub fn verify_checksum(mut self, verify: bool) -> Self {
        self.checksum = verify;
        self
    }

    /// Validate every new generation on a background thread (one per reader and process) as
    /// soon as it is published, so that no read ever runs a validation; reads serve the newest
    /// validated generation (default off: the first thread that reads a generation validates
    /// it). The mode for large values read on latency-sensitive paths. The background thread
    /// holds two reader slots, one of them pinning the newest validated generation: with 2
    /// copies, the writer then waits for each validation before it can publish twice.
    pub fn validate_in_background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Opens the channel at `path` (see [`Reader::open`]).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Reader<T>> {
        let ty = |_: &_, _: &_| Ok(ValueType::of::<T>());
        let core = ReaderCore::open(path.as_ref(), ty, self.checksum, self.background)?;
        Ok(Reader { core, _type: PhantomData })
    }

    /// Opens the channel at `path`, retrying while it is [`Error::NotPublished`](crate::Error::NotPublished) for at most
    /// `timeout` (any duration, `Duration::MAX` included; polling every few milliseconds: no
    /// file exists yet to wait on).
    pub fn open_wait(&self, path: impl AsRef<Path>, timeout: Duration) -> Result<Reader<T>> {
        open_wait(|| self.open(path.as_ref()), timeout)
    }
}
