//! The relay: the single writer of one local channel, following a [`Source`].
//!
//! A relay knows no Rust type. Each version's manifest carries its type — name, fingerprints
//! and structure, a [`ChannelType`] — and the relay writes the channel through the runtime's
//! [`DynWriter`], which checks every archive whole through the structure before publishing it
//! (what bytecheck does for a typed writer). The channel's type is the one it records when the
//! relay opens it; a channel that does not exist yet is created, with the type of the first
//! version the relay takes. [`RelayOptions::channel_type`] fixes the type in advance (the
//! relay then creates the channel at once) and [`RelayOptions::expect_type`] checks its name.
//!
//! Each turn of the loop asks the source for its current version and, when it is not the one
//! the channel holds, applies it:
//!
//! 1. **check the manifest** — format; type name, fingerprints and structure against the
//!    channel's (and the expected name); size against the channel's `max_size` — before a byte
//!    is downloaded;
//! 2. **download** into the buffer of the next copy, with an inactivity timeout (a stalled
//!    transfer fails, a slow one does not), computing the SHA-256 digest and the xxh3
//!    checksum on the way;
//! 3. **verify** the size, the digest and the checksum against the manifest. The checksum is
//!    the runtime's per-copy hash: the publisher took it of the copy its own channel held, and
//!    the copy the relay publishes gets it again, so a value is checksummed end to end, from
//!    the channel it left to the channel it reaches;
//! 4. **publish** through the runtime, which checks the archive whole through the structure
//!    and only then makes it the next generation.
//!
//! A version that fails 1, 3 or 4 is *refused*: it is recorded, reported, and not downloaded
//! again; the relay waits for a newer revision. Anything else (source unreachable, timeouts, a
//! channel whose copies are all pinned) is *retried* with exponential backoff and jitter. In
//! every case the value already in the channel stays live: nothing reaches the channel before
//! step 4 accepts it. The relay always goes for the newest version: after each version it asks
//! again, so intermediate versions published meanwhile are skipped.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmap_sync::dynamic::{ChannelType, DynArchive, DynWriter};
use mmap_sync::{Published, Schema};
use tokio::io::AsyncReadExt;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::manifest::{
    MANIFEST_FORMAT, Sha256, Version, encode_structure, format_checksum, unix_millis,
};
use crate::source::{Source, SourceError, bounded};
use crate::status::{
    FileId, Problem, Progress, Record, Refusal, Resume, STATUS_FORMAT, State, Status,
    clear_cannot_open, resume, status_path,
};

/// The largest archive a relay accepts unless told otherwise ([`RelayOptions::max_size`]):
/// the runtime's `DynWriter` default. A type's own `max_size` does not travel with its
/// versions.
pub const DEFAULT_MAX_SIZE: u64 = 64 << 20;

/// Copies of a channel the relay creates, unless told otherwise: one for readers, one being
/// written, and one a slow reader may pin without holding the relay up.
pub const DEFAULT_COPIES: usize = 3;

/// Settings of a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayOptions {
    /// Path prefix of the channel the relay writes.
    pub path: PathBuf,
    /// The channel's type, when it is known in advance (`ChannelType::of::<T>()` for a Rust
    /// type): the relay then opens the channel with it at once, creating it if needed, and
    /// refuses versions of any other type. `None`: the type the channel records, or for a
    /// channel that does not exist yet, the type of the first version the relay takes.
    pub channel_type: Option<ChannelType>,
    /// A type name (`SharedState::TYPE_NAME`) every version must have: versions of another
    /// type are refused, and a channel that holds another is not opened. `None`: any.
    pub expect_type: Option<String>,
    /// Largest archive accepted; `None`: an existing channel's own `max_size`, and
    /// [`DEFAULT_MAX_SIZE`] for a channel the relay creates.
    pub max_size: Option<u64>,
    /// Copies of a channel the relay creates; `None`: [`DEFAULT_COPIES`]. An existing channel
    /// keeps its own.
    pub copies: Option<usize>,
    /// Reader slots of a channel the relay creates; `None`: the runtime's default (128). An
    /// existing channel keeps its own.
    pub reader_slots: Option<usize>,
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
    /// Defaults for the channel at `path`: any type, the channel's `max_size` (or
    /// [`DEFAULT_MAX_SIZE`]), 30 s inactivity timeout, recheck every 5 s, retries from 200 ms
    /// to 30 s, progress lines every 2 s for downloads of 16 MiB or more.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RelayOptions {
            path: path.into(),
            channel_type: None,
            expect_type: None,
            max_size: None,
            copies: None,
            reader_slots: None,
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

    /// The type name the relay expects, if any: `channel_type`'s, else `expect_type`.
    fn expected_name(&self) -> Option<&str> {
        self.channel_type.as_ref().map(|t| t.type_name.as_str()).or(self.expect_type.as_deref())
    }
}

/// Why a relay stopped (or could not start). Each variant maps to an exit code of the binary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The channel cannot be opened or written for a reason a retry will not fix: another
    /// writer holds it, it holds another type or layout, it records no structure (a
    /// hand-written `SharedState`), its files are damaged.
    #[error("channel: {0}")]
    Channel(#[from] mmap_sync::Error),

    /// The channel holds a type of another name than [`RelayOptions::expect_type`].
    #[error(
        "channel: {}: holds {found}, and this relay expects {expected}: it is left as it is",
        path.display()
    )]
    UnexpectedType {
        /// The channel's state file.
        path: PathBuf,
        /// The type name the relay expects.
        expected: String,
        /// What the channel holds.
        found: Schema,
    },

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
    /// The manifest cannot be read, is of another format, or carries a structure that
    /// cannot be decoded.
    Manifest,
    /// The version is of another type than the channel's or the expected one (name,
    /// fingerprints or structure), or of a type whose archives this build cannot check.
    Type,
    /// Larger than the channel's `max_size`, or empty.
    Size,
    /// The object's bytes do not match the manifest's size, or the source rejected them.
    Object,
    /// The bytes do not hash to the manifest's digest or checksum.
    Digest,
    /// The bytes are not a valid archive of the channel's type (the check through its
    /// structure).
    Archive,
}

impl RefusalReason {
    /// Every reason, in declaration order.
    pub const ALL: [RefusalReason; 6] = [
        RefusalReason::Manifest,
        RefusalReason::Type,
        RefusalReason::Size,
        RefusalReason::Object,
        RefusalReason::Digest,
        RefusalReason::Archive,
    ];

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
pub struct Relay<S: Source> {
    source: S,
    /// The channel, once open: from the start when it exists (or its type is given), else
    /// from the first version the relay takes.
    channel: Option<Channel>,
    options: RelayOptions,
    status_path: PathBuf,
    /// What the relay last wrote to its status file; `status.published` is the version the
    /// channel's current generation holds, when known.
    status: Status,
    backoff: Backoff,
    observer: Option<Arc<dyn Observer>>,
}

/// The channel a relay writes, with its type.
struct Channel {
    writer: DynWriter,
    ty: ChannelType,
    /// `ty`'s structure as a manifest carries it: a version whose manifest has this text has
    /// the channel's structure without decoding it.
    structure: String,
    state_file: FileId,
}

impl Channel {
    /// Opens the channel at `path` as its writer for values of `ty`, creating it if there is
    /// none. An existing channel keeps its copies, reader slots and (unless `options` says
    /// otherwise) `max_size`.
    fn open(options: &RelayOptions, ty: ChannelType) -> Result<Channel, mmap_sync::Error> {
        let path = &options.path;
        let mut builder = DynWriter::builder();
        match mmap_sync::inspect::Channel::open(path) {
            Ok(existing) => {
                let header = existing.header();
                builder = builder
                    .copies(header.copies)
                    .reader_slots(header.reader_slots)
                    .max_size(options.max_size.unwrap_or(header.max_size));
            }
            Err(mmap_sync::Error::NotPublished { .. }) => {
                builder = builder
                    .copies(options.copies.unwrap_or(DEFAULT_COPIES))
                    .max_size(options.max_size.unwrap_or(DEFAULT_MAX_SIZE));
                if let Some(slots) = options.reader_slots {
                    builder = builder.reader_slots(slots);
                }
            }
            Err(err) => return Err(err),
        }
        let writer = builder.open(path, &ty)?;
        let state = writer.paths().state.clone();
        let state_file =
            FileId::of(&state).map_err(|source| mmap_sync::Error::Io { path: state, source })?;
        let structure = encode_structure(&ty.structure);
        Ok(Channel { writer, ty, structure, state_file })
    }
}

impl<S: Source> fmt::Debug for Relay<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("type", &self.channel.as_ref().map(|c| &c.ty.type_name))
            .field("source", &self.source.describe())
            .field("path", &self.options.path)
            .field("current", &self.status.published)
            .finish()
    }
}

impl<S: Source> Relay<S> {
    /// Opens the channel as its writer, if it exists or its type is given, and works out from
    /// the status file which version it holds. Fails if the channel cannot be written
    /// (another writer, another type, no structure recorded) or the status file cannot be
    /// written; the failure is then recorded beside the status file
    /// ([`cannot_open_path`](crate::status::cannot_open_path)), and that record is removed
    /// once an open succeeds.
    pub fn open(source: S, options: RelayOptions) -> Result<Self, RelayError> {
        let status_file = options.status_file();
        let (path, described) = (options.path.clone(), source.describe());
        let expected = options.expected_name().unwrap_or_default().to_owned();
        let result = Self::open_channel(source, options, status_file.clone());
        match &result {
            Ok(_) => clear_cannot_open(&status_file),
            Err(err) => record_cannot_open(&status_file, &path, described, expected, err),
        }
        result
    }

    fn open_channel(
        source: S,
        options: RelayOptions,
        status_path: PathBuf,
    ) -> Result<Self, RelayError> {
        let ty = match &options.channel_type {
            Some(ty) => Some(ty.clone()),
            None => match ChannelType::recorded(&options.path) {
                Ok(ty) => Some(ty),
                // No channel yet: the first version the relay takes creates it.
                Err(mmap_sync::Error::NotPublished { .. }) => None,
                Err(err) => return Err(err.into()),
            },
        };
        // Checked before the writer opens, so that a channel of another type is not touched.
        if let (Some(ty), Some(expected)) = (&ty, &options.expect_type)
            && ty.type_name != *expected
        {
            return Err(RelayError::UnexpectedType {
                path: mmap_sync::ChannelPaths::new(&options.path).state,
                expected: expected.clone(),
                found: ty.schema(),
            });
        }
        let channel = ty.map(|ty| Channel::open(&options, ty)).transpose()?;
        let previous = match Status::load(&status_path) {
            Ok(previous) => previous,
            Err(err) => {
                warn!("ignoring the status file: {err}");
                None
            }
        };
        let state_file = channel.as_ref().map(|c| c.state_file);
        let published = match &channel {
            None => {
                info!("no channel yet: the first version taken creates it, of that version's type");
                None
            }
            Some(channel) => {
                let generation = channel.writer.generation();
                match resume(previous.as_ref(), generation, channel.state_file) {
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
                }
            }
        };
        // A refusal stays valid across restarts as long as the channel is the same one (or
        // there still is none).
        let refused = previous.filter(|p| p.state_file == state_file).and_then(|p| p.refused);
        let status = Status {
            format: STATUS_FORMAT,
            channel: options.path.display().to_string(),
            source: source.describe(),
            type_name: channel.as_ref().map(|c| c.ty.type_name.clone()).unwrap_or_default(),
            fingerprint: channel.as_ref().map_or(0, |c| c.ty.fingerprint),
            pid: std::process::id(),
            started_at_ms: unix_millis(),
            state: State::Starting,
            state_file,
            published,
            refused,
            ..Status::default()
        };
        let backoff = Backoff::new(options.retry_min, options.retry_max);
        let mut relay =
            Relay { source, channel, status_path, status, backoff, options, observer: None };
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
        if let (None, Err(err @ RelayError::Channel(_))) = (&self.channel, &result) {
            // The relay never held the channel: it failed to create it, typically because
            // another relay did first. The status file is that relay's now; say why here.
            let expected = self.options.expected_name().unwrap_or_default().to_owned();
            let source = self.source.describe();
            record_cannot_open(&self.status_path, &self.options.path, source, expected, err);
            return result;
        }
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
        let ty =
            self.check_manifest(version).map_err(|(why, reason)| Failure::Refused(why, reason))?;
        let len = manifest.size as usize;
        info!(type_name = %manifest.type_name, object = %manifest.object, "applying");
        self.set_state(State::Applying);
        if self.channel.is_none() {
            self.create_channel(
                ty.expect("a version's type is decoded while there is no channel"),
            )?;
        }

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
        let generation = self.channel.as_ref().map_or(0, |c| c.writer.generation()) + 1;
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
        let channel = self.channel.as_mut().expect("opened or created above");
        let download = Download {
            revision: version.revision,
            expected_digest: &manifest.digest,
            expected_checksum: &manifest.checksum,
            inactivity: bounded(self.options.inactivity_timeout),
            progress_min_bytes: self.options.progress_min_bytes,
            progress_every: self.options.progress_every,
            status: &mut self.status,
            status_path: &self.status_path,
            observer: self.observer.as_deref(),
            source: &mut self.source,
            recheck: self.options.recheck.max(Duration::from_millis(10)),
        };
        let (published, publish_time) = publish_archive(
            &mut channel.writer,
            &channel.ty,
            len,
            async move |buf: &mut [u8]| download.run(reader, buf).await,
        )
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

    /// The checks that need only the manifest. Returns the version's type as decoded from the
    /// manifest, or `None` when the manifest carries the channel's structure in the channel's
    /// own text (so never without a channel).
    fn check_manifest(
        &self,
        version: &Version,
    ) -> Result<Option<ChannelType>, (RefusalReason, String)> {
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
        if let Some(expected) = self.options.expected_name()
            && manifest.type_name != expected
        {
            return Err((
                RefusalReason::Type,
                format!(
                    "type mismatch: the version is a {}, this relay expects {expected}",
                    manifest.schema()
                ),
            ));
        }
        if let Some(channel) = &self.channel {
            let found = (&manifest.type_name, manifest.fingerprint, manifest.layout_fingerprint);
            let held =
                (&channel.ty.type_name, channel.ty.fingerprint, channel.ty.layout_fingerprint);
            if found != held {
                return Err((
                    RefusalReason::Type,
                    format!(
                        "type mismatch: the version is a {}, this channel holds {}",
                        manifest.schema(),
                        channel.ty.schema()
                    ),
                ));
            }
        }
        // A structure in the channel's own text is the channel's: nothing to decode.
        let ty = match &self.channel {
            Some(channel) if channel.structure == manifest.structure => None,
            channel => {
                let ty = manifest.channel_type().map_err(|reason| {
                    (
                        RefusalReason::Manifest,
                        format!("the manifest's type cannot be read: {reason}"),
                    )
                })?;
                match channel {
                    Some(channel) if channel.ty.structure != ty.structure => {
                        return Err((
                            RefusalReason::Type,
                            format!(
                                "type mismatch: the version's structure of {} differs from the \
                                 channel's, under the same name and fingerprints",
                                manifest.schema()
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => DynArchive::check_structure(&ty.structure).map_err(|err| {
                        (
                            RefusalReason::Type,
                            format!(
                                "values of {} cannot be checked by this relay: {err}",
                                manifest.schema()
                            ),
                        )
                    })?,
                }
                Some(ty)
            }
        };
        let max_size = match &self.channel {
            Some(channel) => channel.writer.max_size(),
            None => self.options.max_size.unwrap_or(DEFAULT_MAX_SIZE),
        };
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
        Ok(ty)
    }

    /// Creates the channel, which did not exist when the relay opened, for the first version
    /// it takes: `ty` is that version's type.
    fn create_channel(&mut self, ty: ChannelType) -> Result<(), Failure> {
        let channel = match Channel::open(&self.options, ty) {
            Ok(channel) => channel,
            // Someone else made the channel meanwhile, of another type, or the structure is
            // one the runtime cannot write: this version cannot go in.
            Err(
                err @ (mmap_sync::Error::SchemaMismatch { .. }
                | mmap_sync::Error::Incompatible { .. }),
            ) => {
                return Err(Failure::Refused(
                    RefusalReason::Type,
                    format!("the channel cannot be created for this version: {err}"),
                ));
            }
            Err(err) => return Err(Failure::Fatal(RelayError::Channel(err))),
        };
        info!(
            type_name = %channel.ty.type_name,
            state = %channel.writer.paths().state.display(),
            "created the channel, of the first version's type"
        );
        self.status.type_name = channel.ty.type_name.clone();
        self.status.fingerprint = channel.ty.fingerprint;
        self.status.state_file = Some(channel.state_file);
        self.channel = Some(channel);
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
/// bytes into the buffer it is given and verifies them; then the runtime checks them whole
/// through the structure of `ty` and publishes them as the next generation. If `fill` fails,
/// nothing is published.
///
/// The buffer is a free data copy of the channel itself (`DynWriter::stage`): the download
/// lands where readers will read it, and a large value is never copied a second time. Returns
/// the publish and how long its last step (the check, the checksum, the publish) took.
async fn publish_archive(
    writer: &mut DynWriter,
    ty: &ChannelType,
    len: usize,
    fill: impl AsyncFnOnce(&mut [u8]) -> Result<(), Failure>,
) -> Result<(Published, Duration), Failure> {
    let channel_error = |err| match err {
        mmap_sync::Error::InvalidValue { reason, .. } => Failure::Refused(
            RefusalReason::Archive,
            format!("archive failed validation as {}: {reason}", ty.type_name),
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
    expected_checksum: &'a str,
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
        let mut xxh3 = xxhash_rust::xxh3::Xxh3Default::new();
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
            xxh3.update(&buf[done..done + n]);
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
        let checksum = format_checksum(xxh3.digest());
        if checksum != self.expected_checksum {
            return Err(Failure::Refused(
                RefusalReason::Digest,
                format!(
                    "checksum mismatch: the manifest says {}, the object's bytes hash to \
                     {checksum}",
                    self.expected_checksum
                ),
            ));
        }
        info!("verified: {total} bytes, digest and checksum match the manifest");
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

/// Records at [`cannot_open_path`](crate::status::cannot_open_path) why the relay could not open
/// (or create) its channel, logging a failure to do so.
fn record_cannot_open(
    status_file: &Path,
    channel: &Path,
    source: String,
    type_name: String,
    err: &RelayError,
) {
    let reason = err.to_string();
    if let Err(io) = Status::store_cannot_open(status_file, channel, source, type_name, reason) {
        warn!("recording why the channel cannot be opened: {io}");
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
    fn a_relay_can_run_on_any_runtime_thread(relay: Relay<crate::NatsSource>) {
        fn send<F: Send>(_: F) {}
        send(relay.run(std::future::pending()));
    }

    #[test]
    fn log_lines_show_a_short_digest() {
        assert_eq!(short("sha-256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("odd"), "odd");
    }
}
