//! NATS JetStream as a source: a KV bucket holds each channel's manifest, an Object Store bucket
//! holds the archives.
//!
//! For a channel `NAME` both buckets are called `mmap-sync-NAME`; the manifest is the KV key
//! `manifest`, so the KV revision of that key is the channel's source revision. Archives are
//! objects named once per version (`v<millis>-<random>`): an object is never replaced under
//! the same name, because replacing purges the old chunks and a follower still downloading
//! them would stall until its inactivity timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::datetime::DateTime;
use async_nats::jetstream::{self, kv, object_store};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use futures_util::StreamExt;

use crate::connection::{Connection, without_credentials};
use crate::manifest::{MAX_MANIFEST_BYTES, Manifest, Version, check_channel_name, unix_millis};
use crate::source::{Fetch, Source, SourceError, bounded};

/// The KV key that holds a channel's manifest.
pub const MANIFEST_KEY: &str = "manifest";
/// Manifests kept per channel in the KV bucket (JetStream's maximum): the audit trail of the
/// last versions, and what garbage collection reads to know when an object was replaced.
pub const MANIFEST_HISTORY: i64 = 64;

/// The youngest an archive no manifest names can be and still be deleted: it may be another
/// publisher's upload between its upload and its compare-and-set.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(60);

/// Name of both buckets of channel `channel`.
pub fn bucket_name(channel: &str) -> String {
    format!("mmap-sync-{channel}")
}

/// One channel's buckets.
#[derive(Clone)]
pub struct NatsChannel {
    channel: String,
    manifests: kv::Store,
    objects: object_store::ObjectStore,
    /// The Object Store's underlying stream, for listing and purging its subjects.
    object_stream: jetstream::stream::Stream,
}

impl std::fmt::Debug for NatsChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsChannel").field("channel", &self.channel).finish()
    }
}

/// What a compare-and-set of the manifest can end in besides success.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The manifest is not at the revision the caller expected: another publisher moved it.
    #[error("manifest is at another revision than expected")]
    Conflict,
    /// The compare-and-set could not be made (the server failed or did not answer); whether
    /// the manifest moved is then unknown: read it with [`NatsChannel::head`].
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// One of a channel's streams mirrored on a regional server, as
/// [`NatsChannel::create_mirror`] left it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mirror {
    /// The stream's name (`KV_mmap-sync-NAME` or `OBJ_mmap-sync-NAME`).
    pub stream: String,
    /// Whether it was created now; `false`: the same mirror was there already.
    pub created: bool,
    /// Messages the mirror held when it was looked at.
    pub messages: u64,
    /// Messages it was behind its origin then, as far as the server knew.
    pub lag: u64,
    /// How long before then the mirror last heard from its origin; `None`: never yet (the
    /// hub's domain not reachable from this server, or the mirror just created).
    pub contact: Option<Duration>,
}

impl Mirror {
    fn of(stream: String, created: bool, info: &jetstream::stream::Info) -> Self {
        let (lag, contact) = info.mirror.as_ref().map_or((0, None), |m| (m.lag, m.active));
        Mirror { stream, created, messages: info.state.messages, lag, contact }
    }
}

/// Why [`NatsChannel::create_mirror`] did not leave both mirrors in place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// A stream of the mirror's name exists and is not that mirror: typically a relay or a
    /// publisher that used the channel on this server before the mirrors existed, creating
    /// plain buckets. It is left as it is; delete it to create the mirror.
    #[error(
        "stream {stream} exists on this server as {found}, not as a mirror of {stream} in domain \
         {upstream}: it is left as it is (a relay or publisher that used the channel here before \
         the mirror existed creates plain buckets; delete the stream to mirror the channel)"
    )]
    Conflict {
        /// The stream's name.
        stream: String,
        /// What it is.
        found: String,
        /// The domain the mirror was to come from.
        upstream: String,
    },
    /// The server cannot be reached, refused the request, or failed.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl NatsChannel {
    /// Opens channel `channel`'s buckets, creating them if they do not exist yet. Publishers
    /// and relays create them with the same settings, so either may start first.
    pub async fn open(client: async_nats::Client, channel: &str) -> Result<Self, SourceError> {
        check_channel_name(channel).map_err(SourceError::Unavailable)?;
        let jetstream = jetstream::new(client);
        let bucket = bucket_name(channel);
        let manifests = match jetstream.get_key_value(&bucket).await {
            Ok(store) => store,
            Err(_) => {
                // The KV bucket's stream, created by hand rather than through
                // `create_key_value`: that asks the server for account details that servers
                // before 2.10 do not send, and fails on them. The settings are the KV
                // conventions (one stream per bucket, a subject per key, history as the
                // per-subject limit, rollups and direct gets allowed, deletes denied).
                jetstream
                    .create_stream(jetstream::stream::Config {
                        name: format!("KV_{bucket}"),
                        description: Some(format!("mmap-sync manifests of channel {channel}")),
                        subjects: vec![format!("$KV.{bucket}.>")],
                        max_messages_per_subject: MANIFEST_HISTORY,
                        max_message_size: MAX_MANIFEST_BYTES as i32,
                        allow_rollup: true,
                        deny_delete: true,
                        allow_direct: true,
                        discard: jetstream::stream::DiscardPolicy::New,
                        ..Default::default()
                    })
                    .await
                    .map_err(|err| unavailable(&format!("creating KV bucket {bucket}"), err))?;
                jetstream
                    .get_key_value(&bucket)
                    .await
                    .map_err(|err| unavailable(&format!("opening KV bucket {bucket}"), err))?
            }
        };
        let objects = match jetstream.get_object_store(&bucket).await {
            Ok(store) => store,
            Err(_) => jetstream
                .create_object_store(object_store::Config {
                    bucket: bucket.clone(),
                    description: Some(format!("mmap-sync archives of channel {channel}")),
                    ..Default::default()
                })
                .await
                .map_err(|err| unavailable(&format!("object store {bucket}"), err))?,
        };
        let object_stream = jetstream.get_stream(format!("OBJ_{bucket}")).await.map_err(|err| {
            unavailable(&format!("opening the stream of object store {bucket}"), err)
        })?;
        Ok(NatsChannel { channel: channel.to_owned(), manifests, objects, object_stream })
    }

    /// Makes the server `client` is connected to a regional copy of channel `channel`: creates
    /// there mirrors of the channel's two buckets (the streams `KV_mmap-sync-NAME` and
    /// `OBJ_mmap-sync-NAME`) whose origin is in JetStream domain `upstream`, typically a hub
    /// that this server reaches as a leaf node. JetStream then copies every manifest and
    /// archive across once, and relays that follow this server read the local copies: their
    /// KV watch and object reads work on mirrors unchanged. Create the mirrors before any
    /// relay follows the channel here, since a relay creates a missing bucket as a plain one.
    ///
    /// Idempotent: a mirror of the same stream in the same domain that exists already is left
    /// as it is. A stream of that name that is anything else (a plain bucket, a mirror of
    /// another domain) is an error, [`MirrorError::Conflict`], and nothing is changed.
    pub async fn create_mirror(
        client: async_nats::Client,
        channel: &str,
        upstream: &str,
    ) -> Result<Vec<Mirror>, MirrorError> {
        check_channel_name(channel).map_err(SourceError::Unavailable)?;
        let jetstream = jetstream::new(client);
        let bucket = bucket_name(channel);
        // The upstream domain's API, as the server expects it (a `domain` field is only a
        // client-side shorthand, which servers before 2.10 do not know).
        let api_prefix = format!("$JS.{upstream}.API");
        let mut mirrors = Vec::new();
        for (stream, per_subject) in
            [(format!("KV_{bucket}"), MANIFEST_HISTORY), (format!("OBJ_{bucket}"), -1)]
        {
            if let Ok(existing) = jetstream.get_stream(&stream).await {
                let info = existing.cached_info();
                let mirror = info.config.mirror.as_ref();
                let found = match mirror {
                    None => Some("a stream that mirrors nothing".to_owned()),
                    Some(source) => {
                        let api = source.external.as_ref().map(|e| e.api_prefix.as_str());
                        (source.name != stream || api != Some(api_prefix.as_str())).then(|| {
                            format!(
                                "a mirror of {} through {}",
                                source.name,
                                api.unwrap_or("this server's own JetStream")
                            )
                        })
                    }
                };
                if let Some(found) = found {
                    return Err(MirrorError::Conflict { stream, found, upstream: upstream.into() });
                }
                mirrors.push(Mirror::of(stream, false, info));
                continue;
            }
            let config = jetstream::stream::Config {
                name: stream.clone(),
                description: Some(format!("mirror of {stream} in domain {upstream}")),
                mirror: Some(jetstream::stream::Source {
                    name: stream.clone(),
                    external: Some(jetstream::stream::External {
                        api_prefix: api_prefix.clone(),
                        delivery_prefix: None,
                    }),
                    ..Default::default()
                }),
                max_messages_per_subject: per_subject,
                // Object records and KV rollups carry a rollup header; servers before 2.10
                // drop such messages from a mirror that does not allow it.
                allow_rollup: true,
                allow_direct: true,
                mirror_direct: true,
                ..Default::default()
            };
            let created = jetstream
                .create_stream(config)
                .await
                .map_err(|err| unavailable(&format!("creating the mirror {stream}"), err))?;
            mirrors.push(Mirror::of(stream, true, created.cached_info()));
        }
        Ok(mirrors)
    }

    /// The channel's name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The current manifest, `None` if nothing was published (or the manifest was deleted).
    pub async fn head(&self) -> Result<Option<Version>, SourceError> {
        let entry = self
            .manifests
            .entry(MANIFEST_KEY)
            .await
            .map_err(|err| unavailable("reading the manifest", err))?;
        match entry {
            Some(entry) if entry.operation == kv::Operation::Put => parse(&entry).map(Some),
            _ => Ok(None),
        }
    }

    /// Every manifest the bucket still holds (the last [`MANIFEST_HISTORY`]), oldest first,
    /// with the server's time of each in milliseconds. Malformed entries are skipped.
    pub async fn history(&self) -> Result<Vec<(Version, u64)>, SourceError> {
        let mut entries = self
            .manifests
            .history(MANIFEST_KEY)
            .await
            .map_err(|err| unavailable("reading the manifest history", err))?;
        let mut versions = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry.map_err(|err| unavailable("reading the manifest history", err))?;
            if entry.operation != kv::Operation::Put {
                continue;
            }
            if let Ok(version) = parse(&entry) {
                let at_ms = unix_ms(entry.created);
                versions.push((version, at_ms));
            }
        }
        Ok(versions)
    }

    /// Uploads `archive` as object `name`. Names must be fresh: see the module docs.
    pub async fn upload(&self, name: &str, mut archive: &[u8]) -> Result<(), SourceError> {
        self.objects
            .put(name, &mut archive)
            .await
            .map(|_| ())
            .map_err(|err| unavailable(&format!("uploading object {name}"), err))
    }

    /// Moves the manifest to `manifest` if it is still at revision `expected` (`None`: if there
    /// is no manifest yet). Returns the new revision.
    pub async fn swap(&self, expected: Option<u64>, manifest: &Manifest) -> Result<u64, SwapError> {
        let json = manifest.to_json().into();
        match expected {
            None => self.manifests.create(MANIFEST_KEY, json).await.map_err(|err| {
                if err.kind() == kv::CreateErrorKind::AlreadyExists {
                    SwapError::Conflict
                } else {
                    unavailable("creating the manifest", err).into()
                }
            }),
            Some(revision) => {
                self.manifests.update(MANIFEST_KEY, json, revision).await.map_err(|err| {
                    if err.kind() == kv::UpdateErrorKind::WrongLastRevision {
                        SwapError::Conflict
                    } else {
                        unavailable("updating the manifest", err).into()
                    }
                })
            }
        }
    }

    /// Opens object `name` for reading.
    pub async fn download(&self, name: &str) -> Result<object_store::Object, SourceError> {
        self.objects.get(name).await.map_err(|err| {
            if err.kind() == object_store::GetErrorKind::NotFound {
                SourceError::Missing { object: name.to_owned() }
            } else {
                unavailable(&format!("opening object {name}"), err)
            }
        })
    }

    /// Deletes object `name` with its chunks, and the deletion marker the Object Store leaves
    /// behind (one per version would otherwise pile up forever).
    pub async fn delete_object(&self, name: &str) -> Result<(), SourceError> {
        match self.objects.delete(name).await {
            Ok(()) => {}
            Err(err) if err.kind() == object_store::DeleteErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(unavailable(&format!("deleting object {name}"), err)),
        }
        self.object_stream
            .purge()
            .filter(format!("{}{}", self.object_subjects('M'), URL_SAFE.encode(name.as_bytes())))
            .await
            .map(|_| ())
            .map_err(|err| unavailable(&format!("purging the marker of object {name}"), err))
    }

    /// The objects in the bucket (deleted ones left out).
    ///
    /// Lists the stream's metadata subjects in one request and reads each object's record,
    /// rather than using the Object Store's own listing: that waits for a message count taken
    /// when it starts, and never ends if a concurrent deletion purges a record before it is
    /// delivered (two publishers collecting garbage at once).
    pub async fn objects(&self) -> Result<Vec<object_store::ObjectInfo>, SourceError> {
        let encoded = self.subjects_under(&self.object_subjects('M'), "listing objects").await?;
        let names =
            encoded.iter().filter_map(|text| String::from_utf8(URL_SAFE.decode(text).ok()?).ok());
        let mut objects = Vec::new();
        for name in names {
            match self.objects.info(&name).await {
                Ok(info) if !info.deleted => objects.push(info),
                Ok(_) => {}
                Err(err) if err.kind() == object_store::InfoErrorKind::NotFound => {}
                Err(err) => return Err(unavailable(&format!("reading object {name}"), err)),
            }
        }
        Ok(objects)
    }

    /// Names of the objects in the bucket (deleted ones left out).
    pub async fn object_names(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.objects().await?.into_iter().map(|info| info.name).collect())
    }

    /// Deletes the archives no follower can still need, and returns their names.
    ///
    /// An object is kept when it belongs to one of the last `keep` manifests (so the current
    /// version and the `keep - 1` before it are always there), or when it was replaced less
    /// than `grace` ago (a follower that started downloading it just before it was replaced
    /// can finish). An object no manifest in the history names — a lost compare-and-set, a
    /// publisher that died between upload and swap, or one older than the history — is
    /// deleted once it is older than `grace`, and never younger than [`ORPHAN_MIN_AGE`]: it
    /// may be another publisher's upload, about to be named by its swap. Times come from the
    /// server (manifests) and the uploader (objects).
    ///
    /// Chunks that no object record names — an upload whose publisher died before it wrote
    /// the record — are purged under the same rule, timed by their newest chunk (an upload in
    /// progress keeps adding chunks); they are returned as `chunks <nuid>`.
    pub async fn collect_garbage(
        &self,
        keep: usize,
        grace: Duration,
    ) -> Result<Vec<String>, SourceError> {
        self.collect_garbage_with(keep, grace, ORPHAN_MIN_AGE).await
    }

    /// [`collect_garbage`](Self::collect_garbage) with another least age than
    /// [`ORPHAN_MIN_AGE`] for objects and chunks no manifest or record names. Lower it only
    /// where no two publishers upload at once.
    pub async fn collect_garbage_with(
        &self,
        keep: usize,
        grace: Duration,
        orphan_min_age: Duration,
    ) -> Result<Vec<String>, SourceError> {
        let history = self.history().await?;
        let keep = keep.max(1);
        let protected: Vec<&str> =
            history.iter().rev().take(keep).map(|(v, _)| v.manifest.object.as_str()).collect();
        // When each named object was replaced: the time of the manifest after its own.
        let replaced_at = |object: &str| {
            history
                .windows(2)
                .filter(|pair| pair[0].0.manifest.object == object)
                .map(|pair| pair[1].1)
                .max()
        };
        let mut candidates = Vec::new();
        let objects = self.objects().await?;
        let named_chunks: Vec<&str> = objects.iter().map(|info| info.nuid.as_str()).collect();
        let orphan_chunks = self.orphan_chunks(&named_chunks, grace.max(orphan_min_age)).await?;
        for info in &objects {
            if protected.contains(&info.name.as_str()) {
                continue;
            }
            let (since_ms, wait) = match replaced_at(&info.name) {
                Some(at) => (at, grace),
                None => (info.modified.map_or(0, unix_ms), grace.max(orphan_min_age)),
            };
            if aged(since_ms, wait) {
                candidates.push(info.name.clone());
            }
        }
        for name in &candidates {
            self.delete_object(name).await?;
        }
        let chunks = self.object_subjects('C');
        for nuid in orphan_chunks {
            self.object_stream
                .purge()
                .filter(format!("{chunks}{nuid}"))
                .await
                .map_err(|err| unavailable(&format!("purging the orphaned chunks {nuid}"), err))?;
            candidates.push(format!("chunks {nuid}"));
        }
        Ok(candidates)
    }

    /// The chunk sets (by nuid) that no object in `named` owns and whose newest chunk is at
    /// least `min_age` old.
    async fn orphan_chunks(
        &self,
        named: &[&str],
        min_age: Duration,
    ) -> Result<Vec<String>, SourceError> {
        let prefix = self.object_subjects('C');
        let mut unnamed = self.subjects_under(&prefix, "listing chunks").await?;
        unnamed.retain(|nuid| !named.contains(&nuid.as_str()));
        let mut orphans = Vec::new();
        for nuid in unnamed {
            let subject = format!("{prefix}{nuid}");
            let newest = match self.object_stream.get_last_raw_message_by_subject(&subject).await {
                Ok(message) => message.time,
                // Purged meanwhile (another publisher collecting): nothing left to do.
                Err(_) => continue,
            };
            if aged(unix_ms(newest), min_age) {
                orphans.push(nuid);
            }
        }
        Ok(orphans)
    }

    /// The prefix of the object stream's subjects of `kind`: `M` for the objects' records
    /// (followed by the object's name in URL-safe base64), `C` for their chunks (followed by
    /// the object's nuid).
    fn object_subjects(&self, kind: char) -> String {
        format!("$O.{}.{kind}.", bucket_name(&self.channel))
    }

    /// What follows `prefix` in each subject of the object stream that starts with it, listed
    /// in one request; `what` says what the listing is for in its errors.
    async fn subjects_under(&self, prefix: &str, what: &str) -> Result<Vec<String>, SourceError> {
        let mut subjects = self
            .object_stream
            .info_with_subjects(format!("{prefix}>"))
            .await
            .map_err(|err| unavailable(what, err))?;
        let mut tails = Vec::new();
        while let Some(subject) = subjects.next().await {
            let (subject, _) = subject.map_err(|err| unavailable(what, err))?;
            if let Some(tail) = subject.strip_prefix(prefix) {
                tails.push(tail.to_owned());
            }
        }
        Ok(tails)
    }
}

/// `time` in milliseconds since the Unix epoch (0 before it).
fn unix_ms(time: DateTime) -> u64 {
    (time.unix_timestamp_nanos() / 1_000_000).max(0) as u64
}

/// Whether at least `age` has passed on this host's clock since `since_ms` (milliseconds
/// since the Unix epoch).
fn aged(since_ms: u64, age: Duration) -> bool {
    u128::from(unix_millis().saturating_sub(since_ms)) >= age.as_millis()
}

fn parse(entry: &kv::Entry) -> Result<Version, SourceError> {
    Manifest::from_json(&entry.value)
        .map(|manifest| Version { revision: entry.revision, manifest })
        .map_err(|reason| SourceError::Malformed { revision: entry.revision, reason })
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(format!("{what}: {err}"))
}

/// Follows one channel on a NATS server: [`Source`] over [`NatsChannel`].
///
/// The source connects on first use and, until a connection succeeds, again at each use: a
/// relay may start before its server, or with credentials the server refuses, and then reports
/// the server's reason (an authorization violation, a TLS error) at each attempt until it is
/// fixed. Once connected, the client reconnects by itself. The buckets are opened on first use
/// and opened again after any error, and the KV watch that wakes the relay is recreated
/// whenever it fails, so a server that restarts is picked up again without restarting the
/// relay.
pub struct NatsSource {
    server: String,
    channel_name: String,
    connection: Option<Connection>,
    client: Option<async_nats::Client>,
    /// The client's last complaint about its connection (set by its event callback, cleared
    /// when it connects), added to errors so that a request that times out says why.
    connection_problem: Arc<Mutex<Option<String>>>,
    channel: Option<NatsChannel>,
    watch: Option<kv::Watch>,
}

impl std::fmt::Debug for NatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSource")
            .field("server", &self.server)
            .field("channel", &self.channel_name)
            .finish()
    }
}

impl NatsSource {
    /// A source for channel `channel` on `server`, without credentials. Does not wait for the
    /// server: see [`new`](Self::new).
    pub async fn connect(server: &str, channel: &str) -> Result<Self, SourceError> {
        Self::new(Connection::new(server), channel)
    }

    /// A source for channel `channel` through `connection`. Connects on first use, not here:
    /// a relay may start before its server, and reports it unreachable until it answers.
    pub fn new(connection: Connection, channel: &str) -> Result<Self, SourceError> {
        check_channel_name(channel).map_err(SourceError::Unavailable)?;
        Ok(NatsSource {
            server: connection.describe(),
            channel_name: channel.to_owned(),
            connection: Some(connection),
            client: None,
            connection_problem: Arc::default(),
            channel: None,
            watch: None,
        })
    }

    /// A source for channel `channel` through a client connected elsewhere (with any option of
    /// `async_nats::ConnectOptions`). `server` only labels the source in logs and the status
    /// file.
    pub fn from_client(
        client: async_nats::Client,
        server: &str,
        channel: &str,
    ) -> Result<Self, SourceError> {
        check_channel_name(channel).map_err(SourceError::Unavailable)?;
        Ok(NatsSource {
            server: without_credentials(server),
            channel_name: channel.to_owned(),
            connection: None,
            client: Some(client),
            connection_problem: Arc::default(),
            channel: None,
            watch: None,
        })
    }

    async fn channel(&mut self) -> Result<&NatsChannel, SourceError> {
        if self.client.is_none() {
            let connection =
                self.connection.as_ref().expect("a source without a client has a connection");
            let problem = self.connection_problem.clone();
            self.client = Some(connection.connect_watched("mmap-sync-relay", problem).await?);
        }
        if self.channel.is_none() {
            let client = self.client.clone().expect("connected above");
            self.channel = Some(NatsChannel::open(client, &self.channel_name).await?);
        }
        Ok(self.channel.as_ref().expect("just opened"))
    }

    fn forget(&mut self, err: SourceError) -> SourceError {
        match err {
            SourceError::Unavailable(message) => {
                self.channel = None;
                self.watch = None;
                let problem = self.connection_problem.lock().ok().and_then(|p| p.clone());
                SourceError::Unavailable(match problem {
                    Some(problem) => format!("{message} (connection: {problem})"),
                    None => message,
                })
            }
            other => other,
        }
    }
}

impl Source for NatsSource {
    type Archive = object_store::Object;

    fn describe(&self) -> String {
        format!("{} channel {}", self.server, self.channel_name)
    }

    async fn latest(&mut self) -> Result<Option<Version>, SourceError> {
        let result = match self.channel().await {
            Ok(channel) => channel.head().await,
            Err(err) => Err(err),
        };
        result.map_err(|err| self.forget(err))
    }

    async fn changed(&mut self, after: u64, timeout: Duration) -> Result<(), SourceError> {
        let deadline = tokio::time::Instant::now() + bounded(timeout);
        if self.watch.is_none() {
            let store = match self.channel().await {
                Ok(channel) => channel.manifests.clone(),
                Err(err) => return Err(self.forget(err)),
            };
            let watch = tokio::time::timeout_at(deadline, store.watch_with_history(MANIFEST_KEY));
            match watch.await {
                Ok(Ok(watch)) => self.watch = Some(watch),
                Ok(Err(err)) => return Err(self.forget(unavailable("watching the manifest", err))),
                Err(_) => return Ok(()),
            }
        }
        let watch = self.watch.as_mut().expect("watch is set");
        loop {
            match tokio::time::timeout_at(deadline, watch.next()).await {
                Err(_) => return Ok(()),
                Ok(Some(Ok(entry))) if entry.revision > after => return Ok(()),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(err))) => {
                    return Err(self.forget(unavailable("watching the manifest", err)));
                }
                Ok(None) => {
                    return Err(
                        self.forget(SourceError::Unavailable("the manifest watch ended".into()))
                    );
                }
            }
        }
    }

    async fn fetch(
        &mut self,
        version: &Version,
    ) -> Result<Fetch<object_store::Object>, SourceError> {
        let result = match self.channel().await {
            Ok(channel) => channel.download(&version.manifest.object).await,
            Err(err) => Err(err),
        };
        let object = result.map_err(|err| self.forget(err))?;
        let size = Some(object.info().size as u64);
        Ok(Fetch { reader: object, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_carry_the_channel() {
        assert_eq!(bucket_name("routing"), "mmap-sync-routing");
    }
}
