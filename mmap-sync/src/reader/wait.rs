//! Waiting for a publish: the futex wait on the state file's publish word, the waiter bit each
//! waiting slot sets so that the writer wakes it, and making a new generation readable before a
//! wait returns it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::shared::ReaderShared;
use crate::error::{Error, Result};
use crate::os;
use crate::protocol;
use crate::set::ReaderFiles;

/// How often a waiting reader asks whether its path still names its set: the longest a waiter
/// takes to learn that its files were deleted and a new channel created at the path.
pub const SUPERSEDED_CHECK: Duration = Duration::from_millis(500);

/// How long a waiter sleeps at a time while another thread validates what it waits for.
const VALIDATION_POLL: Duration = Duration::from_millis(20);

/// What [`make_readable`] achieved.
enum Readable {
    /// A read on the thread serves this generation.
    Served(u64),
    /// The generation (or a newer one published meanwhile) failed validation.
    Failed,
    /// The deadline passed first.
    TimedOut,
}

/// The time left until `deadline` (`None` has none: wait forever), or `None` once it passed.
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        Some(deadline) => deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()),
        None => Some(Duration::MAX),
    }
}

/// Blocks until a read on this thread serves a generation other than `since` (and not 0), or
/// `timeout` passes (`None`). See [`Reader::wait_for_change`](crate::Reader::wait_for_change).
pub(crate) fn wait_for_change(
    shared: &Arc<ReaderShared>,
    since: u64,
    timeout: Duration,
) -> Result<Option<u64>> {
    wait_readable(shared, timeout, |g| g != since && g != 0)
}

/// Blocks until a read on this thread serves a generation newer than `since`, or `timeout`
/// passes (`None`). See [`Reader::wait_for_validated`](crate::Reader::wait_for_validated).
pub(super) fn wait_for_validated(
    shared: &Arc<ReaderShared>,
    since: u64,
    timeout: Duration,
) -> Result<Option<u64>> {
    wait_readable(shared, timeout, |g| g > since)
}

/// The one wait: sleeps on the publish futex until a published generation is `wanted`, makes it
/// readable (validates it, or waits for the thread that does), and returns the generation a read
/// now serves. A generation that fails validation is not a change: the wait goes on for the
/// next publish, so a wait-then-read loop never spins on it. Every [`SUPERSEDED_CHECK`] it asks
/// whether the path still names this set.
fn wait_readable(
    shared: &Arc<ReaderShared>,
    timeout: Duration,
    wanted: impl Fn(u64) -> bool,
) -> Result<Option<u64>> {
    let files = &shared.files;
    let header = files.state.header();
    let deadline = Instant::now().checked_add(timeout);
    // The slot whose waiter bit this wait set, once it has set it.
    let mut waiting = None;
    let result = loop {
        // Load the futex word before checking the generation: a publish after this load changes
        // the word, so the wait below returns at once instead of missing it.
        // SeqCst (these two): after the waiter bit is set in the total order (on the iterations
        // that sleep), so that a publish either changed what they load or sees the bit.
        let futex = header.publish_futex.load(Ordering::SeqCst);
        let published = protocol::generation(header.active.load(Ordering::SeqCst));
        if wanted(published) && !shared.validated.failed_at_or_after(files, published) {
            match make_readable(shared, published, deadline) {
                Ok(Readable::Served(generation)) if wanted(generation) => {
                    break Ok(Some(generation));
                }
                // Failed validation (recorded), or served something not wanted: look again.
                Ok(Readable::Served(_) | Readable::Failed) => continue,
                Ok(Readable::TimedOut) => break Ok(None),
                Err(e) => break Err(e),
            }
        }
        if shared.is_superseded() {
            break Err(Error::Superseded { path: files.paths.state.clone() });
        }
        let Some(remaining) = remaining(deadline) else { break Ok(None) };
        if waiting.is_none() {
            let index = match shared.thread_slot() {
                Ok(slot) => slot.index(),
                Err(e) => break Err(e),
            };
            set_waiting(files, index, true);
            waiting = Some(index);
            // Look again with the bit set before sleeping.
            continue;
        }
        if let Err(e) =
            os::futex_wait(&header.publish_futex, futex, Some(remaining.min(SUPERSEDED_CHECK)))
        {
            break Err(Error::io(&files.paths.state, e));
        }
    };
    if let Some(index) = waiting {
        set_waiting(files, index, false);
    }
    result
}

/// Makes `published` (or a newer generation) what a read on this thread serves: returns at once
/// if it is validated, else validates the active copy on this thread (default mode), or waits
/// for the thread that validates it (another reading thread, or the background validator)
/// until `deadline`.
fn make_readable(
    shared: &Arc<ReaderShared>,
    published: u64,
    deadline: Option<Instant>,
) -> Result<Readable> {
    let (files, validated) = (&shared.files, &shared.validated);
    loop {
        let now = shared.validated_generation();
        if now >= published {
            return Ok(Readable::Served(now));
        }
        if validated.failed_at_or_after(files, published) {
            return Ok(Readable::Failed);
        }
        let Some(remaining) = remaining(deadline) else { return Ok(Readable::TimedOut) };
        if shared.validator_runs() {
            validated.wait_validated(files, remaining.min(VALIDATION_POLL));
            continue;
        }
        let slot = shared.thread_slot()?;
        if slot.holding() {
            // The thread holds a guard: its reads serve that guard's generation until it drops,
            // and its pin cannot be moved to validate another.
            return Ok(Readable::Served(published));
        }
        let Some(memo) = validated.try_lock(files) else {
            // Another thread validates: wait for it rather than block on the lock.
            validated.wait_validated(files, remaining.min(VALIDATION_POLL));
            continue;
        };
        // The copy stays pinned only while it is validated: its drop releases it.
        if let Err(e) = shared.validate_active(slot.pin(), memo)
            && !validated.failed_at_or_after(files, published)
        {
            // Not a verdict on the generation (a remap failed, say): the caller's error.
            return Err(e);
        }
    }
}

/// Waits (at most `timeout`) for a publish other than `since`, for the background validator,
/// whose waiter bit stays set for its whole life.
pub(super) fn wait_for_publish(files: &ReaderFiles, since: u64, timeout: Duration) {
    let header = files.state.header();
    // SeqCst: the futex word before the generation, as in `wait_readable`.
    let futex = header.publish_futex.load(Ordering::SeqCst);
    if protocol::generation(header.active.load(Ordering::SeqCst)) != since {
        return;
    }
    let _ = os::futex_wait(&header.publish_futex, futex, Some(timeout));
}

/// Sets (or clears) the waiter bit of slot `index`: while some bit is set, every publish wakes
/// the futex waiters (the writer skips the wake otherwise).
pub(super) fn set_waiting(files: &ReaderFiles, index: usize, waiting: bool) {
    let word = &files.readers.waiters()[index / 64];
    let bit = 1u64 << (index % 64);
    // SeqCst: the writer bumps the futex word, then loads the bitmap; a waiter sets its bit,
    // then loads the futex word. One of the two sees the other. (Clearing: no weaker ordering is
    // worth reasoning about on this cold path.)
    if waiting {
        word.fetch_or(bit, Ordering::SeqCst);
    } else {
        word.fetch_and(!bit, Ordering::SeqCst);
    }
}
