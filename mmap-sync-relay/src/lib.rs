//! Beyond one host: follow a NATS JetStream source and publish each new version into a local
//! mmap-sync channel.
//!
//! ```text
//!  publisher ──▶ JetStream ──▶ relay (host A) ──▶ /dev/shm channel ──▶ readers on A
//!   (Publisher)  KV: manifest  relay (host B) ──▶ /dev/shm channel ──▶ readers on B
//!                Objects:      relay (host C) ──▶ /dev/shm channel ──▶ readers on C
//!                archives
//! ```
//!
//! - A [`Publisher`] archives a value, uploads the archive to the channel's Object Store bucket
//!   under a name used once, then moves the channel's [`Manifest`] in the KV bucket with
//!   compare-and-set: two publishers cannot silently overwrite each other.
//! - A [`Relay`] per host is the channel's only writer there. It follows the manifest, always
//!   converging on the newest version; checks type, fingerprint and size before downloading;
//!   downloads with an inactivity timeout; verifies digest, checksum and (through the runtime)
//!   the archive itself before publishing; keeps the current value live on any failure; and
//!   records what it published in a status file next to the channel, so a restarted relay does
//!   not download again a version the channel already holds.
//! - [`Source`] is the small interface a relay follows; [`nats::NatsSource`] implements it.
//!
//! The `mmap-sync-relay` binary wraps both for the workspace's `schemas` types
//! (`follow`, `publish`, `status`, `demo`).

pub mod local_server;
pub mod manifest;
pub mod nats;
pub mod publisher;
pub mod relay;
pub mod source;
pub mod status;

pub use manifest::{Manifest, Version};
pub use nats::{NatsChannel, NatsSource};
pub use publisher::{PublishError, Publisher, Receipt};
pub use relay::{Relay, RelayError, RelayOptions};
pub use source::{Fetch, Source, SourceError};
pub use status::Status;
