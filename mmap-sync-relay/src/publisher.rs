//! Publishing a version: check the archive through its type's structure, upload it under a
//! fresh name, then move the manifest with compare-and-set.

use std::time::Duration;

use mmap_sync::SharedState;
use mmap_sync::dynamic::{ChannelType, DynArchive};
use mmap_sync::rkyv::{self, api::high::HighSerializer, rancor, ser::allocator::ArenaHandle};
use tracing::{info, warn};

use crate::connection::Connection;
use crate::manifest::{MAX_MANIFEST_BYTES, Manifest, Version, unix_millis};
use crate::nats::{NatsChannel, SwapError};
use crate::source::SourceError;

/// How many of the newest versions' archives are always kept.
pub const DEFAULT_KEEP: usize = 3;
/// How long an archive is kept after a newer version replaced it.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(600);

/// Publishes versions of one type on one channel.
///
/// The type is a [`ChannelType`]: from a Rust type (`ChannelType::of::<T>()`, for a type that
/// derives `SharedState`), from a local channel (`ChannelType::recorded(path)`), or decoded
/// from elsewhere. Every archive is checked whole through its structure before it is uploaded,
/// and every manifest carries the type, so the relays that follow the channel need no Rust
/// type of their own.
///
/// A publisher remembers the revision it builds on (its *base*): the revision current when it
/// was opened, then each revision it published. A publish succeeds only if the manifest is
/// still at the base, so a publisher never replaces a version it has not seen: when another
/// publisher got in first, the publish fails with [`PublishError::Conflict`], nothing is
/// published, and the caller decides — typically [`rebase`](Self::rebase) and publish again
/// on top of the winner.
pub struct Publisher {
    channel: NatsChannel,
    ty: ChannelType,
    base: Option<u64>,
    keep: usize,
    grace: Duration,
    orphan_min_age: Duration,
    check_archives: bool,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("type", &self.ty.type_name)
            .field("channel", &self.channel.channel())
            .field("base", &self.base)
            .finish()
    }
}

/// What one publish did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The new source revision.
    pub revision: u64,
    /// The revision it replaced (`None` for a channel's first version).
    pub replaced: Option<u64>,
    /// The manifest that now is current.
    pub manifest: Manifest,
    /// Archives of older versions deleted after this publish.
    pub collected: Vec<String>,
}

/// Why a publish failed. Nothing was published in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Another publisher moved the manifest since this publisher's base.
    #[error(
        "channel {channel}: another publisher moved the manifest to revision {} since {} \
         (this publisher's base); nothing was published. Rebase and publish again to publish \
         on top of it",
        show(*current),
        show(*expected)
    )]
    Conflict {
        /// The channel's name.
        channel: String,
        /// The revision this publish expected the manifest at (the publisher's base; `None`:
        /// no manifest).
        expected: Option<u64>,
        /// The revision the manifest was found at just after the compare-and-set failed
        /// (`None` if it could not be read). A hint for the message only: it may have moved
        /// again since; [`Publisher::rebase`] reads it anew.
        current: Option<u64>,
    },

    /// The bytes are not a valid archive of the publisher's type.
    #[error("archive is not a valid {type_name}: {reason}")]
    InvalidArchive {
        /// The publisher's type name.
        type_name: String,
        /// What the check through the type's structure found, naming the field.
        reason: String,
    },

    /// The value is of another Rust type than the publisher's ([`Publisher::publish`]).
    #[error("a {found} cannot be published as a {expected}: the publisher's type is {expected}")]
    WrongType {
        /// The publisher's type name and fingerprint.
        expected: mmap_sync::Schema,
        /// The value's.
        found: mmap_sync::Schema,
    },

    /// The type cannot be published: its structure is one this build cannot check archives
    /// through, or too large for a manifest.
    #[error("values of {type_name} cannot be published: {reason}")]
    Unpublishable {
        /// The type's name.
        type_name: String,
        /// Why not.
        reason: String,
    },

    /// The archive exceeds the type's `max_size` ([`Publisher::publish`]).
    #[error("archive of {size} bytes exceeds {type_name}'s max_size of {max_size} bytes")]
    TooLarge {
        /// The type's name.
        type_name: String,
        /// The archive's length in bytes.
        size: u64,
        /// The type's `SharedState::MAX_SIZE` in bytes.
        max_size: u64,
    },

    /// The value could not be archived.
    #[error("archiving a {type_name} failed: {reason}")]
    Serialize {
        /// The value's type name.
        type_name: String,
        /// rkyv's serialization error.
        reason: String,
    },

    /// The source failed: the server cannot be reached, did not answer in time, or refused a
    /// request. Nothing was published; publishing again is safe.
    #[error(transparent)]
    Source(#[from] SourceError),
}

fn show(revision: Option<u64>) -> String {
    revision.map_or_else(|| "none".into(), |r| format!("revision {r}"))
}

impl Publisher {
    /// Connects to `server` and opens channel `channel` for values of `ty`, creating its
    /// buckets if needed. Fails at once if the server cannot be reached, or if `ty` cannot be
    /// published ([`PublishError::Unpublishable`]).
    pub async fn connect(
        server: &str,
        channel: &str,
        ty: ChannelType,
    ) -> Result<Self, PublishError> {
        Self::connect_with(&Connection::new(server), channel, ty).await
    }

    /// Like [`connect`](Self::connect), with credentials and TLS settings.
    pub async fn connect_with(
        connection: &Connection,
        channel: &str,
        ty: ChannelType,
    ) -> Result<Self, PublishError> {
        check_type(&ty)?;
        Self::open(connection.connect("mmap-sync-relay publisher").await?, channel, ty).await
    }

    /// Opens channel `channel` for values of `ty` through an existing client. The base is the
    /// current revision.
    pub async fn open(
        client: async_nats::Client,
        channel: &str,
        ty: ChannelType,
    ) -> Result<Self, PublishError> {
        check_type(&ty)?;
        let channel = NatsChannel::open(client, channel).await?;
        let base = channel.head().await?.map(|v| v.revision);
        Ok(Publisher {
            channel,
            ty,
            base,
            keep: DEFAULT_KEEP,
            grace: DEFAULT_GRACE,
            orphan_min_age: crate::nats::ORPHAN_MIN_AGE,
            check_archives: true,
        })
    }

    /// Keeps the archives of the newest `keep` versions (at least 1), and any older archive
    /// until `grace` after it was replaced. Defaults: [`DEFAULT_KEEP`], [`DEFAULT_GRACE`].
    pub fn retention(mut self, keep: usize, grace: Duration) -> Self {
        self.keep = keep.max(1);
        self.grace = grace;
        self
    }

    /// Collects uploads that no manifest or object record names once they are this old (and
    /// older than the grace period), instead of [`ORPHAN_MIN_AGE`](crate::nats::ORPHAN_MIN_AGE).
    /// Lower it only where no other publisher may be uploading at the same time.
    pub fn orphan_min_age(mut self, age: Duration) -> Self {
        self.orphan_min_age = age;
        self
    }

    /// Whether [`publish_archive`](Self::publish_archive) checks each archive whole through
    /// the structure before uploading it (default `true`). Turn it off for archives checked
    /// already — a local channel's values, which the channel's writer checked when it
    /// published them — to save a pass over each value. The followers check every archive
    /// whatever this says: a bad one is then refused by each of them, after the download,
    /// rather than here.
    pub fn check_archives(mut self, check: bool) -> Self {
        self.check_archives = check;
        self
    }

    /// The type this publisher publishes.
    pub fn channel_type(&self) -> &ChannelType {
        &self.ty
    }

    /// The revision the next publish expects the manifest to be at (`None`: no manifest yet).
    pub fn base(&self) -> Option<u64> {
        self.base
    }

    /// Moves the base to the current revision and returns the current version, e.g. after a
    /// [`PublishError::Conflict`], to publish on top of the winner.
    pub async fn rebase(&mut self) -> Result<Option<Version>, PublishError> {
        let head = self.channel.head().await?;
        self.base = head.as_ref().map(|v| v.revision);
        Ok(head)
    }

    /// The channel's buckets, for lower-level use (reading the history, uploading by hand).
    pub fn channel(&self) -> &NatsChannel {
        &self.channel
    }

    /// Archives `value` and publishes it as the channel's next version. `T` must be the
    /// publisher's type (same name and fingerprint), else [`PublishError::WrongType`]; the
    /// archive must fit `T`'s `max_size`, else [`PublishError::TooLarge`]. An archive rkyv
    /// made of a `T` is not checked again.
    pub async fn publish<T>(&mut self, value: &T) -> Result<Receipt, PublishError>
    where
        T: SharedState
            + for<'a> rkyv::Serialize<
                HighSerializer<rkyv::util::AlignedVec, ArenaHandle<'a>, rancor::Error>,
            >,
    {
        if (T::TYPE_NAME, T::FINGERPRINT) != (self.ty.type_name.as_str(), self.ty.fingerprint) {
            return Err(PublishError::WrongType {
                expected: self.ty.schema(),
                found: mmap_sync::Schema {
                    type_name: T::TYPE_NAME.to_owned(),
                    fingerprint: T::FINGERPRINT,
                },
            });
        }
        let archive = rkyv::to_bytes::<rancor::Error>(value).map_err(|err| {
            PublishError::Serialize { type_name: T::TYPE_NAME.to_owned(), reason: err.to_string() }
        })?;
        let size = archive.len() as u64;
        if size > T::MAX_SIZE {
            return Err(PublishError::TooLarge {
                type_name: T::TYPE_NAME.to_owned(),
                size,
                max_size: T::MAX_SIZE,
            });
        }
        self.publish_checked(&archive).await
    }

    /// Publishes bytes archived elsewhere (a whole archive, as `rkyv::to_bytes` writes it and
    /// a channel's copy holds it: `DynGuard::bytes`), after checking them whole through the
    /// type's structure, as every follower will ([`PublishError::InvalidArchive`] names the
    /// field otherwise), unless [`check_archives`](Self::check_archives) is off.
    pub async fn publish_archive(&mut self, archive: &[u8]) -> Result<Receipt, PublishError> {
        let checked = match self.check_archives {
            true => DynArchive::new(&self.ty.structure, archive)
                .and_then(|archive| archive.root().check()),
            false => Ok(()),
        };
        if let Err(err) = checked {
            return Err(PublishError::InvalidArchive {
                type_name: self.ty.type_name.clone(),
                reason: err.to_string(),
            });
        }
        self.publish_checked(archive).await
    }

    /// Like [`publish_archive`](Self::publish_archive), but only if the manifest is at
    /// revision `expected` (`None`: only if the channel has no manifest yet), whatever the
    /// publisher's base was.
    pub async fn publish_archive_on(
        &mut self,
        expected: Option<u64>,
        archive: &[u8],
    ) -> Result<Receipt, PublishError> {
        self.base = expected;
        self.publish_archive(archive).await
    }

    async fn publish_checked(&mut self, archive: &[u8]) -> Result<Receipt, PublishError> {
        let size = archive.len() as u64;
        let object = format!("v{}-{:016x}", unix_millis(), fastrand::u64(..));
        self.channel.upload(&object, archive).await?;
        let manifest = Manifest::describe(&self.ty, archive, object, self.base);
        match self.channel.swap(self.base, &manifest).await {
            Ok(revision) => {
                let replaced = self.base.replace(revision);
                info!(
                    channel = self.channel.channel(),
                    revision,
                    bytes = size,
                    digest = %manifest.digest,
                    "published"
                );
                let collected = match self
                    .channel
                    .collect_garbage_with(self.keep, self.grace, self.orphan_min_age)
                    .await
                {
                    Ok(collected) => collected,
                    Err(err) => {
                        // The version is published; old archives wait for the next publish.
                        warn!(channel = self.channel.channel(), "removing old archives: {err}");
                        Vec::new()
                    }
                };
                Ok(Receipt { revision, replaced, manifest, collected })
            }
            Err(SwapError::Conflict) => {
                // Nobody can have seen the object: no manifest ever named it.
                if let Err(err) = self.channel.delete_object(&manifest.object).await {
                    warn!(object = %manifest.object, "removing the unpublished archive: {err}");
                }
                let current = self.channel.head().await.ok().flatten().map(|v| v.revision);
                Err(PublishError::Conflict {
                    channel: self.channel.channel().to_owned(),
                    expected: self.base,
                    current,
                })
            }
            Err(SwapError::Source(err)) => Err(err.into()),
        }
    }
}

/// Refuses a type whose archives could not be checked, or whose manifest would not fit the
/// bucket: better at open than after an upload.
fn check_type(ty: &ChannelType) -> Result<(), PublishError> {
    let unpublishable =
        |reason: String| PublishError::Unpublishable { type_name: ty.type_name.clone(), reason };
    DynArchive::check_structure(&ty.structure).map_err(|err| unpublishable(err.to_string()))?;
    let manifest = Manifest::describe(ty, b"", String::from("v0-0000000000000000"), Some(0));
    // Room for the largest numbers and names a real manifest carries.
    let len = manifest.to_json().len() + 128;
    if len > MAX_MANIFEST_BYTES {
        return Err(unpublishable(format!(
            "its structure makes a manifest of {len} bytes, over the {MAX_MANIFEST_BYTES} bytes \
             a manifest may take"
        )));
    }
    Ok(())
}
