//! What the runtime tells an operator, through `tracing` when the `tracing` feature is on, and
//! nothing at all (no code, no cost) when it is off.

use std::path::Path;
use std::time::Duration;

use crate::error::Error;

/// A generation failed validation in this process and will not be served. Each failure is
/// reported once: a reader remembers it and does not validate that generation again.
pub(crate) fn validation_failed(prefix: &Path, generation: u64, error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(channel = %prefix.display(), generation, %error, "generation failed validation; serving the last good one");
    #[cfg(not(feature = "tracing"))]
    let _ = (prefix, generation, error);
}

/// The writer cleared pins of readers that died.
pub(crate) fn readers_reclaimed(prefix: &Path, slots: usize) {
    #[cfg(feature = "tracing")]
    tracing::info!(channel = %prefix.display(), slots, "reclaimed slots of dead readers");
    #[cfg(not(feature = "tracing"))]
    let _ = (prefix, slots);
}

/// A write had to wait for live readers to release a copy.
pub(crate) fn write_waited(prefix: &Path, generation: u64, waited: Duration) {
    #[cfg(feature = "tracing")]
    tracing::info!(channel = %prefix.display(), generation, waited_us = waited.as_micros() as u64, "write waited for readers");
    #[cfg(not(feature = "tracing"))]
    let _ = (prefix, generation, waited);
}

/// The writer replaced the channel's files with a new set.
pub(crate) fn set_replaced(prefix: &Path, reason: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(channel = %prefix.display(), reason, "created a new set of channel files");
    #[cfg(not(feature = "tracing"))]
    let _ = (prefix, reason);
}

/// A reader or writer refused a channel of another schema.
pub(crate) fn schema_mismatch(error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(%error, "schema mismatch");
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}
