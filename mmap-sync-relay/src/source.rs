//! Where versions come from: the interface a relay follows.
//!
//! A source answers three questions: which version is current, has anything changed, and what
//! are the bytes of a version. Everything a relay checks — format, type, fingerprint, size,
//! digest, checksum, archive validation — happens in the relay, on the manifest and bytes a
//! source hands over, so a new engine (Redis Streams, a config pipeline, plain HTTP) only has
//! to implement this trait and inherits every check unchanged. NATS JetStream is the one
//! shipped ([`crate::nats::NatsSource`]).

use std::future::Future;
use std::time::Duration;

use tokio::io::AsyncRead;

use crate::manifest::Version;

/// A source of versions for one channel.
pub trait Source {
    /// The bytes of one version, in order.
    type Archive: AsyncRead + Unpin + Send;

    /// A short description for logs and the status file (e.g. the server and channel).
    fn describe(&self) -> String;

    /// The current version, or `None` when nothing was published on the channel yet.
    ///
    /// A stored manifest that cannot be parsed is [`SourceError::Malformed`], naming its
    /// revision, so the relay can refuse that revision and wait for a newer one.
    fn latest(&mut self) -> impl Future<Output = Result<Option<Version>, SourceError>> + Send;

    /// Waits until a revision newer than `after` may exist, or `timeout` passes. Returning
    /// early is allowed (the relay asks [`latest`](Self::latest) again either way); returning
    /// late is not: a relay relies on `timeout` to re-check a source whose notifications stall.
    /// Any `timeout`, including `Duration::MAX`, is valid.
    fn changed(
        &mut self,
        after: u64,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;

    /// Starts downloading the archive that `version`'s manifest names.
    fn fetch(
        &mut self,
        version: &Version,
    ) -> impl Future<Output = Result<Fetch<Self::Archive>, SourceError>> + Send;
}

/// An archive being downloaded.
#[derive(Debug)]
pub struct Fetch<R> {
    /// The archive's bytes.
    pub reader: R,
    /// The size the source's own records give for the object, when it has any; the relay
    /// refuses an object whose size disagrees with the manifest before reading a byte.
    pub size: Option<u64>,
}

/// What can go wrong talking to a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source cannot be reached or did not answer in time; worth retrying.
    #[error("source unavailable: {0}")]
    Unavailable(String),

    /// The object a manifest names does not exist (any more): typically an archive collected
    /// after newer versions replaced it. Retried; the relay then takes the newest version.
    #[error("object {object:?} not found in the source")]
    Missing {
        /// Name of the missing object, as the manifest gives it.
        object: String,
    },

    /// The manifest stored at `revision` is not a manifest this relay can read. The relay
    /// refuses that revision for good and waits for a newer one.
    #[error("manifest at revision {revision} is malformed: {reason}")]
    Malformed {
        /// The source revision of the unreadable manifest.
        revision: u64,
        /// What is wrong with it (the parser's message).
        reason: String,
    },
}

/// A timeout that every timer accepts: very long durations (up to `Duration::MAX`) are capped
/// at a century, which no process outlives.
pub(crate) fn bounded(timeout: Duration) -> Duration {
    timeout.min(Duration::from_secs(100 * 365 * 24 * 3600))
}
