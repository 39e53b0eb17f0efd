//! The relay: the single writer of one local channel, following a [`Source`].
//!
//! Each turn of the loop asks the source for its current version and, when it is not the one
//! the channel holds, applies it:
//!
//! 1. **check the manifest** — format, type name and fingerprint, size against the channel's
//!    `max_size` — before a byte is downloaded;
//! 2. **download** into the buffer of the next copy, with an inactivity timeout (a stalled
//!    transfer fails, a slow one does not), computing the SHA-256 digest on the way;
//! 3. **verify** the size and the digest against the manifest (the digest is the integrity
//!    check; the manifest's xxh3 checksum, the runtime's own per-copy hash, is carried for
//!    cheap comparisons with a local copy and not recomputed here);
//! 4. **publish** through the runtime, which validates the archive as `T` (bytecheck) and only
//!    then makes it the next generation.
//!
//! A version that fails 1, 3 or 4 is *refused*: it is recorded, reported, and not downloaded
//! again; the relay waits for a newer revision. Anything else (source unreachable, timeouts, a
//! channel whose copies are all pinned) is *retried* with exponential backoff and jitter. In
//! every case the value already in the channel stays live: nothing reaches the channel before
//! step 4 accepts it. The relay always goes for the newest version: after each version it asks
//! again, so intermediate versions published meanwhile are skipped.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmap_sync::{Published, Schema, SharedState, Writer};
use tokio::io::AsyncReadExt;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::manifest::{MANIFEST_FORMAT, Sha256, Version, unix_millis};
use crate::source::{Source, SourceError, bounded};
use crate::status::{
    FileId, Problem, Progress, Record, Refusal, Resume, STATUS_FORMAT, State, Status,
    clear_cannot_open, resume, status_path,
};

/// Settings of a relay.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// Path prefix of the channel the relay writes.
    pub path: PathBuf,
    /// Largest archive accepted; `None`: the type's `max_size`.
    pub max_size: Option<u64>,
    /// A download that receives nothing for this long fails (and is retried).
    pub inactivity_timeout: Duration,
    /// How often the source is asked again when it sends no notification (at least 10 ms).
    pub recheck: Duration,
    /// First wait between retries (at least 1 ms). Each wait is random between half and all
    /// of the current step; the step starts here, doubles after each failure up to
    /// `retry_max`, and starts here again once a version is published, or the source's current
    /// version is one the channel already holds or has refused.
    pub retry_min: Duration,
    /// Longest step between retries (at least `retry_min`).
    pub retry_max: Duration,
    /// Where the status file goes; `None`: `{path}_relay.json`.
    pub status_path: Option<PathBuf>,
    /// Downloads at least this large log a progress line every `progress_every`.
    pub progress_min_bytes: u64,
    /// How often a download in progress is written to the status file (every download) and
    /// to the log (downloads of `progress_min_bytes` or more).
    pub progress_every: Duration,
}

impl RelayOptions {
    /// Defaults for the channel at `path`: type's `max_size`, 30 s inactivity timeout, recheck
    /// every 5 s, retries from 200 ms to 30 s, progress lines every 2 s for downloads of
    /// 16 MiB or more.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RelayOptions {
            path: path.into(),
            max_size: None,
            inactivity_timeout: Duration::from_secs(30),
            recheck: Duration::from_secs(5),
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(30),
            status_path: None,
            progress_min_bytes: 16 << 20,
            progress_every: Duration::from_secs(2),
        }
    }

    /// The status file: `status_path`, or `{path}_relay.json`.
    pub fn status_file(&self) -> PathBuf {
        self.status_path.clone().unwrap_or_else(|| status_path(&self.path))
    }
}

/// Why a relay stopped (or could not start). Each variant maps to an exit code of the binary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The channel cannot be opened or written for a reason a retry will not fix: another
    /// writer holds it, it holds another type or layout, its files are damaged.
    #[error("channel: {0}")]
    Channel(#[from] mmap_sync::Error),

    /// The status file cannot be written when the relay starts or before a download (the
    /// record that lets a restarted relay know what its channel holds). Later failures to
    /// update it are logged and do not stop the relay.
    #[error("status file {}: {source}", path.display())]
    Status {
        /// The status file's path.
        path: PathBuf,
        /// The error writing it.
        source: std::io::Error,
    },
}

/// Why a version was refused, in one word (a metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The manifest cannot be read, or is of another format.
    Manifest,
    /// The version is of another type or layout (type name or fingerprint).
    Type,
    /// Larger than the channel's `max_size`, or empty.
    Size,
    /// The object's bytes do not match the manifest's size, or the source rejected them.
    Object,
    /// The bytes do not hash to the manifest's digest.
    Digest,
    /// The bytes are not a valid archive of the channel's type.
    Archive,
}

impl RefusalReason {
    /// The reason as a lower-case word: `manifest`, `type`, `size`, `object`, `digest`,
    /// `archive`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Manifest => "manifest",
            RefusalReason::Type => "type",
            RefusalReason::Size => "size",
            RefusalReason::Object => "object",
            RefusalReason::Digest => "digest",
            RefusalReason::Archive => "archive",
        }
    }
}

/// What a relay reports as it works, besides its status file: the hooks a metrics exporter
/// needs. Every method has an empty default; calls come from the relay's task, in order.
pub trait Observer: Send + Sync {
    /// The relay's status changed (called whenever it writes its status file, and once when
    /// the observer is attached).
    fn status(&self, status: &Status) {
        let _ = status;
    }
    /// A download of `bytes` bytes starts.
    fn downloading(&self, bytes: u64) {
        let _ = bytes;
    }
    /// `bytes` more bytes of the current download arrived.
    fn downloaded(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A version was published into the channel, `publish_to_visible` after its publisher
    /// finished uploading it (on the publisher's clock; zero if that clock is ahead).
    fn published(&self, record: &Record, publish_to_visible: Duration) {
        let _ = (record, publish_to_visible);
    }
    /// A version was refused for good.
    fn refused(&self, reason: RefusalReason) {
        let _ = reason;
    }
    /// An attempt failed and will be retried after a backoff.
    fn retried(&self) {}
}

/// How one attempt at a version failed.
#[derive(Debug)]
enum Failure {
    /// This version will never be accepted; wait for a newer one.
    Refused(RefusalReason, String),
    /// Worth trying again after a backoff.
    Retry(String),
    /// A newer version arrived while this one's download was less than half done: the
    /// download was dropped, and the relay goes straight for the newest version.
    Superseded,
    /// The relay cannot go on.
    Fatal(RelayError),
}

impl From<SourceError> for Failure {
    fn from(err: SourceError) -> Self {
        match err {
            SourceError::Malformed { reason, .. } => {
                Failure::Refused(RefusalReason::Manifest, reason)
            }
            other => Failure::Retry(other.to_string()),
        }
    }
}

/// Exponential backoff with jitter: each wait is uniformly random between half and all of the
/// current step; the step doubles from `min` up to `max`.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        let min = bounded(min).max(Duration::from_millis(1));
        Backoff { min, max: bounded(max).max(min), step: min }
    }

    fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = self.step.saturating_mul(2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }

    fn reset(&mut self) {
        self.step = self.min;
    }
}

/// The single writer of one channel, following a source. See the module docs.
pub struct Relay<T: SharedState, S: Source> {
    source: S,
    writer: Writer<T>,
    options: RelayOptions,
    status_path: PathBuf,
    /// What the relay last wrote to its status file; `status.published` is the version the
    /// channel's current generation holds, when known.
    status: Status,
    backoff: Backoff,
    observer: Option<Arc<dyn Observer>>,
    _type: PhantomData<fn(&T)>,
}

impl<T: SharedState, S: Source> fmt::Debug for Relay<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("type", &T::TYPE_NAME)
            .field("source", &self.source.describe())
            .field("path", &self.options.path)
            .field("current", &self.status.published)
            .finish()
    }
}

impl<T: SharedState, S: Source> Relay<T, S> {
    /// Opens the channel as its writer and works out from the status file which version it
    /// holds. Fails if the channel cannot be written (another writer, another type) or the
    /// status file cannot be written; the failure is then recorded beside the status file
    /// ([`cannot_open_path`](crate::status::cannot_open_path)), and that record is removed
    /// once an open succeeds.
    pub fn open(source: S, options: RelayOptions) -> Result<Self, RelayError> {
        let status_file = options.status_file();
        let (channel, described) = (options.path.clone(), source.describe());
        let result = Self::open_channel(source, options, status_file.clone());
        match &result {
            Ok(_) => clear_cannot_open(&status_file),
            Err(err) => {
                let reason = err.to_string();
                if let Err(io) =
                    Status::store_cannot_open::<T>(&status_file, &channel, described, reason)
                {
                    warn!("recording why the channel cannot be opened: {io}");
                }
            }
        }
        result
    }

    fn open_channel(
        source: S,
        options: RelayOptions,
        status_path: PathBuf,
    ) -> Result<Self, RelayError> {
        let max_size = options.max_size.unwrap_or(T::MAX_SIZE);
        let writer = Writer::<T>::builder().max_size(max_size).open(&options.path)?;
        let state_file = FileId::of(&writer.paths().state).map_err(|source| {
            RelayError::Channel(mmap_sync::Error::Io { path: writer.paths().state.clone(), source })
        })?;
        let previous = match Status::load(&status_path) {
            Ok(previous) => previous,
            Err(err) => {
                warn!("ignoring the status file: {err}");
                None
            }
        };
        let generation = writer.generation();
        let published = match resume(previous.as_ref(), generation, state_file) {
            Resume::Holds(record) => {
                info!(
                    revision = record.revision,
                    generation,
                    digest = %record.digest,
                    "resumed: the channel holds this revision; it is not downloaded again"
                );
                Some(record)
            }
            Resume::Empty => {
                info!("nothing published in the channel yet");
                None
            }
            Resume::Unknown { reason } => {
                warn!(
                    generation,
                    "the channel's current version is unknown ({reason}); the source's current version will be applied"
                );
                None
            }
        };
        // A refusal stays valid across restarts as long as the channel is the same one.
        let refused = previous.filter(|p| p.state_file == Some(state_file)).and_then(|p| p.refused);
        let status = Status {
            format: STATUS_FORMAT,
            channel: options.path.display().to_string(),
            source: source.describe(),
            type_name: T::TYPE_NAME.to_owned(),
            fingerprint: T::FINGERPRINT,
            pid: std::process::id(),
            started_at_ms: unix_millis(),
            state: State::Starting,
            state_file: Some(state_file),
            published,
            refused,
            ..Status::default()
        };
        let backoff = Backoff::new(options.retry_min, options.retry_max);
        let mut relay = Relay {
            source,
            writer,
            status_path,
            status,
            backoff,
            options,
            observer: None,
            _type: PhantomData,
        };
        relay
            .save()
            .map_err(|source| RelayError::Status { path: relay.status_path.clone(), source })?;
        Ok(relay)
    }

    /// Reports what the relay does to `observer` too (metrics, typically).
    pub fn observe(mut self, observer: Arc<dyn Observer>) -> Self {
        observer.status(&self.status);
        self.observer = Some(observer);
        self
    }

    /// The relay's status, as last written to its status file.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Where the status file is.
    pub fn status_path(&self) -> &Path {
        &self.status_path
    }

    /// Follows the source until `shutdown` completes (then returns `Ok`) or the channel fails
    /// for good. A version being downloaded when `shutdown` completes is dropped unpublished.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        let mut shutdown = pin!(shutdown);
        let result = loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                result = self.step() => if let Err(err) = result { break Err(err) },
            }
        };
        self.status.state = State::Stopped;
        self.status.download = None;
        self.save_or_warn();
        result
    }

    /// One turn: look at the source, apply its current version if the channel does not hold
    /// it, or wait for a change.
    async fn step(&mut self) -> Result<(), RelayError> {
        let latest = match self.source.latest().await {
            Ok(latest) => latest,
            Err(SourceError::Malformed { revision, reason }) => {
                self.note_source(Some(revision));
                // Reported once per revision, not at every recheck.
                if self.status.refused.as_ref().map(|r| r.revision) != Some(revision) {
                    let reason = format!("malformed manifest: {reason}");
                    self.refuse(revision, String::new(), RefusalReason::Manifest, reason);
                }
                self.wait_for_change(revision).await;
                return Ok(());
            }
            Err(err) => {
                self.retry_later(None, err.to_string()).await;
                return Ok(());
            }
        };
        self.note_source(latest.as_ref().map(|v| v.revision));
        let Some(version) = latest else {
            self.set_state(State::Following);
            self.wait_for_change(0).await;
            return Ok(());
        };
        if self.holds(&version) || self.refused(&version) {
            self.backoff.reset();
            self.set_state(State::Following);
            self.wait_for_change(version.revision).await;
            return Ok(());
        }
        let span = info_span!(
            "version",
            revision = version.revision,
            bytes = version.manifest.size,
            digest = %short(&version.manifest.digest),
        );
        match self.apply(&version).instrument(span.clone()).await {
            Ok(()) => self.backoff.reset(),
            Err(Failure::Refused(why, reason)) => {
                let _entered = span.enter();
                self.refuse(version.revision, version.manifest.digest.clone(), why, reason);
            }
            Err(Failure::Retry(reason)) => {
                self.retry_later(Some(version.revision), reason).instrument(span).await;
            }
            Err(Failure::Superseded) => {
                self.status.publishing = None;
                self.status.download = None;
            }
            Err(Failure::Fatal(err)) => return Err(err),
        }
        Ok(())
    }

    /// Whether the channel holds `version` already.
    fn holds(&self, version: &Version) -> bool {
        self.status
            .published
            .as_ref()
            .is_some_and(|r| r.revision == version.revision && r.digest == version.manifest.digest)
    }

    fn refused(&self, version: &Version) -> bool {
        self.status
            .refused
            .as_ref()
            .is_some_and(|r| r.revision == version.revision && r.digest == version.manifest.digest)
    }

    /// Downloads, verifies and publishes `version`.
    async fn apply(&mut self, version: &Version) -> Result<(), Failure> {
        let manifest = &version.manifest;
        self.check_manifest(version).map_err(|(why, reason)| Failure::Refused(why, reason))?;
        let len = manifest.size as usize;
        info!(type_name = %manifest.type_name, object = %manifest.object, "applying");
        self.set_state(State::Applying);

        let fetch = self.source.fetch(version).await?;
        if let Some(size) = fetch.size.filter(|s| *s != manifest.size) {
            return Err(Failure::Refused(
                RefusalReason::Object,
                format!(
                    "object {} holds {size} bytes, the manifest says {}",
                    manifest.object, manifest.size
                ),
            ));
        }
        // Recorded before the channel can change: if the process dies after the publish but
        // before the record below, the restarted relay finds the channel at this generation
        // and knows which version it holds.
        let generation = self.writer.generation() + 1;
        let record = Record {
            revision: version.revision,
            generation,
            digest: manifest.digest.clone(),
            checksum: manifest.checksum.clone(),
            bytes: manifest.size,
            object: manifest.object.clone(),
            source_published_at_ms: manifest.published_at_ms,
            visible_at_ms: None,
        };
        self.status.publishing = Some(record.clone());
        self.status.counters.downloads += 1;
        if let Some(observer) = &self.observer {
            observer.downloading(manifest.size);
        }
        self.save().map_err(|source| {
            Failure::Fatal(RelayError::Status { path: self.status_path.clone(), source })
        })?;

        let started = Instant::now();
        let reader = fetch.reader;
        let download = Download {
            revision: version.revision,
            expected_digest: &manifest.digest,
            inactivity: bounded(self.options.inactivity_timeout),
            progress_min_bytes: self.options.progress_min_bytes,
            progress_every: self.options.progress_every,
            status: &mut self.status,
            status_path: &self.status_path,
            observer: self.observer.as_deref(),
            source: &mut self.source,
            recheck: self.options.recheck.max(Duration::from_millis(10)),
        };
        let (published, publish_time) =
            publish_archive(&mut self.writer, len, async move |buf: &mut [u8]| {
                download.run(reader, buf).await
            })
            .await?;

        let now = unix_millis();
        let visible_after = now.saturating_sub(manifest.published_at_ms);
        info!(
            generation = published.generation,
            download_ms = started.elapsed().as_millis() as u64,
            publish_us = publish_time.as_micros() as u64,
            publish_to_visible_ms = visible_after,
            "published"
        );
        if published.generation != generation {
            // Only this process writes the channel (it holds the writer lock), so this cannot
            // happen; if it does, the record would be wrong, so say so and keep the truth.
            warn!(expected = generation, got = published.generation, "unexpected generation");
        }
        let record =
            Record { generation: published.generation, visible_at_ms: Some(now), ..record };
        if let Some(observer) = &self.observer {
            observer.published(&record, Duration::from_millis(visible_after));
        }
        self.status.published = Some(record);
        self.status.publishing = None;
        self.status.download = None;
        self.status.last_error = None;
        self.status.counters.published += 1;
        self.status.update_lag(now);
        self.save_or_warn();
        Ok(())
    }

    /// The checks that need only the manifest.
    fn check_manifest(&self, version: &Version) -> Result<(), (RefusalReason, String)> {
        let manifest = &version.manifest;
        if manifest.format != MANIFEST_FORMAT {
            return Err((
                RefusalReason::Manifest,
                format!(
                    "manifest format {} (this relay reads format {MANIFEST_FORMAT})",
                    manifest.format
                ),
            ));
        }
        let found =
            Schema { type_name: manifest.type_name.clone(), fingerprint: manifest.fingerprint };
        let expected = Schema { type_name: T::TYPE_NAME.to_owned(), fingerprint: T::FINGERPRINT };
        if found != expected {
            return Err((
                RefusalReason::Type,
                format!("type mismatch: the version is a {found}, this channel holds {expected}"),
            ));
        }
        let max_size = self.writer.max_size();
        if manifest.size > max_size || usize::try_from(manifest.size).is_err() {
            return Err((
                RefusalReason::Size,
                format!(
                    "too large: {} bytes exceeds the channel's max_size of {max_size} bytes",
                    manifest.size
                ),
            ));
        }
        if manifest.size == 0 {
            return Err((
                RefusalReason::Size,
                "empty archive: no value of any type archives to 0 bytes".into(),
            ));
        }
        Ok(())
    }

    fn note_source(&mut self, revision: Option<u64>) {
        let now = unix_millis();
        self.status.source_checked_at_ms = Some(now);
        if revision.is_some() {
            self.status.source_revision = revision;
        }
        self.status.update_lag(now);
    }

    fn refuse(&mut self, revision: u64, digest: String, why: RefusalReason, reason: String) {
        warn!(revision, "refused: {reason}; the channel keeps its current value");
        if let Some(observer) = &self.observer {
            observer.refused(why);
        }
        self.status.refused = Some(Refusal { revision, digest, reason: reason.clone() });
        self.status.counters.refused += 1;
        self.record_failure(Some(revision), "refused", reason, State::Following);
    }

    async fn retry_later(&mut self, revision: Option<u64>, reason: String) {
        let delay = self.backoff.next();
        warn!(
            retry_in_ms = delay.as_millis() as u64,
            "failed: {reason}; the channel keeps its current value"
        );
        self.status.counters.retries += 1;
        if let Some(observer) = &self.observer {
            observer.retried();
        }
        self.record_failure(revision, "retrying", reason, State::Retrying);
        tokio::time::sleep(delay).await;
    }

    /// Records a failed attempt as the status's last error (nothing is being published or
    /// downloaded any more), moves to `state` and writes the status file.
    fn record_failure(&mut self, revision: Option<u64>, kind: &str, message: String, state: State) {
        self.status.last_error =
            Some(Problem { revision, kind: kind.into(), message, at_ms: unix_millis() });
        self.status.publishing = None;
        self.status.download = None;
        self.status.state = state;
        self.save_or_warn();
    }

    async fn wait_for_change(&mut self, after: u64) {
        self.save_or_warn();
        // A zero recheck would ask the source in a busy loop.
        let recheck = self.options.recheck.max(Duration::from_millis(10));
        if let Err(err) = self.source.changed(after, recheck).await {
            self.retry_later(None, err.to_string()).await;
        }
    }

    fn set_state(&mut self, state: State) {
        if self.status.state != state {
            debug!(?state, "state");
            self.status.state = state;
            self.save_or_warn();
        }
    }

    fn save(&mut self) -> std::io::Result<()> {
        self.status.updated_at_ms = unix_millis();
        if let Some(observer) = &self.observer {
            observer.status(&self.status);
        }
        self.status.store(&self.status_path)
    }

    fn save_or_warn(&mut self) {
        if let Err(err) = self.save() {
            warn!("writing the status file {}: {err}", self.status_path.display());
        }
    }
}

/// The first 12 hex digits of a digest, for log lines.
fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha-256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}

/// The one place where a downloaded archive enters the channel: `fill` writes exactly `len`
/// bytes into the buffer it is given and verifies them; then the runtime validates them as
/// `T` and publishes them as the next generation. If `fill` fails, nothing is published.
///
/// The buffer is a free data copy of the channel itself (`Writer::stage`): the download lands
/// where readers will read it, and a large value is never copied a second time. Returns the
/// publish and how long its last step (validation, checksum, publish) took.
async fn publish_archive<T: SharedState>(
    writer: &mut Writer<T>,
    len: usize,
    fill: impl AsyncFnOnce(&mut [u8]) -> Result<(), Failure>,
) -> Result<(Published, Duration), Failure> {
    let channel_error = |err| match err {
        mmap_sync::Error::InvalidValue { reason, .. } => Failure::Refused(
            RefusalReason::Archive,
            format!("archive failed validation as {}: {reason}", T::TYPE_NAME),
        ),
        err @ mmap_sync::Error::TooLarge { .. } => {
            Failure::Refused(RefusalReason::Size, err.to_string())
        }
        err @ (mmap_sync::Error::WriterBlocked { .. } | mmap_sync::Error::Io { .. }) => {
            Failure::Retry(format!("publishing into the channel: {err}"))
        }
        err => Failure::Fatal(RelayError::Channel(err)),
    };
    // The download goes straight into a free data copy; dropping `staged` on a failed
    // download publishes nothing.
    let mut staged = writer.stage(len).map_err(channel_error)?;
    fill(staged.bytes_mut()).await?;
    let started = Instant::now();
    let published = cpu_bound(|| staged.publish()).map_err(channel_error)?;
    Ok((published, started.elapsed()))
}

/// Runs `work`, which may keep a core busy for a while (validating a large archive), without
/// holding up the other tasks of a multi-threaded runtime: the other channels of a relay
/// process. On a current-thread runtime there are no others to hold up.
fn cpu_bound<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// One download into a buffer, with its checks.
struct Download<'a, S> {
    revision: u64,
    expected_digest: &'a str,
    inactivity: Duration,
    progress_min_bytes: u64,
    progress_every: Duration,
    status: &'a mut Status,
    status_path: &'a Path,
    observer: Option<&'a dyn Observer>,
    /// Watched during the download for a newer version.
    source: &'a mut S,
    recheck: Duration,
}

impl<S: Source> Download<'_, S> {
    async fn run<R>(self, mut reader: R, buf: &mut [u8]) -> Result<(), Failure>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        let total = buf.len() as u64;
        let report = total >= self.progress_min_bytes;
        let started = Instant::now();
        let mut last_report = started;
        let mut sha256 = Sha256::new();
        let mut done = 0usize;
        let (revision, inactivity, recheck) = (self.revision, self.inactivity, self.recheck);
        // Resolves to a revision newer than this one's, once the source has one.
        let newer = newer_revision(&mut *self.source, revision, recheck);
        let mut newer = pin!(newer);
        let mut watching = true;
        while done < buf.len() {
            let read = read_within(inactivity, &mut reader, &mut buf[done..]);
            let n = if watching {
                // The newer-version check goes first: on a fast link the read is always ready
                // and would otherwise never let it be polled.
                tokio::select! {
                    biased;
                    newest = &mut newer => {
                        // Less than half done: the newer version is the shorter way to the
                        // newest value. Otherwise finishing is: a fast publisher could
                        // otherwise starve a host of every large version.
                        if (done as u64) * 2 < total {
                            info!(
                                newer = newest,
                                "abandoned at {done} of {total} bytes: revision {newest} is newer"
                            );
                            self.status.counters.abandoned += 1;
                            return Err(Failure::Superseded);
                        }
                        info!(
                            newer = newest,
                            "revision {newest} is newer; {done} of {total} bytes are here, \
                             more than half: finishing this one first"
                        );
                        watching = false;
                        continue;
                    }
                    n = read => n?,
                }
            } else {
                read.await?
            };
            if n == 0 {
                return Err(Failure::Refused(
                    RefusalReason::Object,
                    format!("object ended after {done} of {total} bytes"),
                ));
            }
            sha256.update(&buf[done..done + n]);
            done += n;
            self.status.counters.downloaded_bytes += n as u64;
            if let Some(observer) = self.observer {
                observer.downloaded(n as u64);
            }
            // The status file shows every download's progress (and so stays fresh, however
            // slow the download); the log shows only large ones'.
            if last_report.elapsed() >= self.progress_every {
                last_report = Instant::now();
                if report {
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    info!(
                        "downloading: {:.1} of {:.1} MiB ({}%), {:.0} MiB/s",
                        done as f64 / 1048576.0,
                        total as f64 / 1048576.0,
                        done as u64 * 100 / total,
                        done as f64 / 1048576.0 / secs
                    );
                }
                self.status.download =
                    Some(Progress { revision: self.revision, done: done as u64, total });
                self.status.updated_at_ms = unix_millis();
                let _ = self.status.store(self.status_path);
            }
        }
        // The object must end exactly here.
        let mut probe = [0u8; 1];
        if read_within(inactivity, &mut reader, &mut probe).await? != 0 {
            return Err(Failure::Refused(
                RefusalReason::Object,
                format!("object holds more than the manifest's {total} bytes"),
            ));
        }
        let digest = sha256.finish();
        if digest != self.expected_digest {
            return Err(Failure::Refused(
                RefusalReason::Digest,
                format!(
                    "digest mismatch: the manifest says {}, the object's bytes hash to {digest}",
                    self.expected_digest
                ),
            ));
        }
        info!("verified: {total} bytes, digest matches the manifest");
        Ok(())
    }
}

/// Resolves to the source's current revision once it is newer than `revision`; until then it
/// waits for changes (and asks again every `recheck`). Source errors are not the download's
/// business: they only delay the answer.
async fn newer_revision<S: Source>(source: &mut S, revision: u64, recheck: Duration) -> u64 {
    loop {
        if source.changed(revision, recheck).await.is_err() {
            tokio::time::sleep(recheck).await;
        }
        if let Ok(Some(latest)) = source.latest().await
            && latest.revision > revision
        {
            return latest.revision;
        }
    }
}

/// One read of the download, failing after `inactivity` without a byte.
async fn read_within<R>(
    inactivity: Duration,
    reader: &mut R,
    buf: &mut [u8],
) -> Result<usize, Failure>
where
    R: tokio::io::AsyncRead + Unpin + Send,
{
    match tokio::time::timeout(inactivity, reader.read(buf)).await {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::InvalidData => Err(Failure::Refused(
            RefusalReason::Object,
            format!("the source rejected the object's bytes: {err}"),
        )),
        Ok(Err(err)) => Err(Failure::Retry(format!("download failed: {err}"))),
        Err(_) => {
            Err(Failure::Retry(format!("download stalled: nothing received for {inactivity:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let steps = [100, 200, 400, 800, 800, 800];
        for step in steps {
            let delay = backoff.next().as_millis() as u64;
            assert!((step / 2..=step).contains(&delay), "delay {delay} for step {step}");
        }
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_accepts_any_durations() {
        let mut backoff = Backoff::new(Duration::ZERO, Duration::MAX);
        for _ in 0..200 {
            let _ = backoff.next();
        }
        let mut backoff = Backoff::new(Duration::MAX, Duration::ZERO);
        let _ = backoff.next();
    }

    /// Compiles only if a NATS relay's future can move between threads (`tokio::spawn`).
    #[allow(dead_code)]
    fn a_relay_can_run_on_any_runtime_thread(
        relay: Relay<mmap_sync_schemas::HelloWorld, crate::NatsSource>,
    ) {
        fn send<F: Send>(_: F) {}
        send(relay.run(std::future::pending()));
    }

    #[test]
    fn log_lines_show_a_short_digest() {
        assert_eq!(short("sha-256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("odd"), "odd");
    }
}
