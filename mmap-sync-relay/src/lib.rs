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
//! - A [`Publisher`] checks an archive through its type's structure, uploads it to the
//!   channel's Object Store bucket under a name used once, then moves the channel's
//!   [`Manifest`] in the KV bucket with compare-and-set: two publishers cannot silently
//!   overwrite each other. The manifest carries the value's type whole — name, fingerprints
//!   and structure, a [`ChannelType`] — so nothing downstream needs the Rust type.
//! - A [`Relay`] per host is the channel's only writer there, and knows no Rust type: it
//!   writes the channel through the runtime's `DynWriter`, with the type the versions carry.
//!   It follows the manifest, always converging on the newest version; checks type,
//!   fingerprints, structure and size before downloading; downloads with an inactivity
//!   timeout; verifies digest and checksum, and (through the runtime) checks the archive whole
//!   through the structure before publishing; keeps the current value live on any failure;
//!   and records what it published in a status file next to the channel, so a restarted relay
//!   does not download again a version the channel already holds.
//! - [`Source`] is the small interface a relay follows; [`nats::NatsSource`] implements it.
//!
//! The `mmap-sync-relay` binary wraps both for channels of any type that records a structure
//! (every `#[derive(SharedState)]` type): `follow` writes a channel on each host, `publish`
//! sends a local channel's value (or each new one, `--watch`), and `status`, `mirror` and
//! `demo` (`mmap-sync-relay --help` lists them with their exit codes), with credentials and
//! TLS, many channels per process (`follow --config`) and Prometheus metrics. It is built by
//! the default `cli` feature; the library needs none of its dependencies
//! (`default-features = false`), and no item of the library depends on a feature. In a
//! program of your own:
//!
//! ```no_run
//! use mmap_sync::dynamic::ChannelType;
//! use mmap_sync::{SharedState, rkyv};
//! use mmap_sync_relay::{NatsSource, Publisher, Relay, RelayOptions};
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
//! #[rkyv(crate = mmap_sync::rkyv)]
//! #[shared_state(path = "/dev/shm/routing")]
//! pub struct Routes {
//!     pub version: u64,
//!     pub backends: Vec<String>,
//! }
//!
//! # async fn publisher() -> Result<(), Box<dyn std::error::Error>> {
//! // Wherever the value is produced:
//! let routes = ChannelType::of::<Routes>().expect("a derived SharedState type has a structure");
//! let mut publisher = Publisher::connect("nats://nats:4222", "routing", routes).await?;
//! let receipt = publisher.publish(&Routes { version: 1, backends: vec!["a:80".into()] }).await?;
//! println!("revision {}", receipt.revision);
//! # Ok(()) }
//! # async fn relay() -> Result<(), Box<dyn std::error::Error>> {
//! // On every host, as the channel's only writer (no Rust type needed):
//! let source = NatsSource::connect("nats://nats:4222", "routing").await?;
//! let relay = Relay::open(source, RelayOptions::new("/dev/shm/routing"))?;
//! relay.run(async { tokio::signal::ctrl_c().await.unwrap_or(()) }).await?;
//! # Ok(()) }
//! ```
//!
//! Readers on each host do not change: they open the channel with `mmap_sync::Reader` as
//! always (or `mmap_sync::dynamic::DynReader`, without the type).
//!
//! # Where to read next
//!
//! - [`relay`]: the steps a relay takes for each version, what it refuses and what it retries,
//!   and where the channel's type comes from; [`RelayOptions`] for its timeouts and backoff.
//! - [`status`]: the status file next to the channel, how a restarted relay resumes without
//!   downloading again, and what operators read in it.
//! - [`publisher`] and [`manifest`]: compare-and-set publishing, retention of old archives,
//!   and the record a follower checks before downloading.
//! - [`connection`]: the server, credentials and TLS ([`Connection`]); [`nats`]: the buckets on
//!   the server, and mirrors of them on a regional server
//!   ([`NatsChannel::create_mirror`]); [`source`]: the interface for another engine.
//! - [`Observer`]: the hooks a metrics exporter needs.
//! - The "Fleets" section of the repository's README: how to run the binary, the guarantees
//!   with the tests behind them, and what the relay does not do.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The crate README's example compiles.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod connection;
pub mod manifest;
pub mod nats;
pub mod publisher;
pub mod relay;
pub mod source;
pub mod status;

pub use connection::{Auth, Connection, Tls};
pub use manifest::{Manifest, Version};
pub use mmap_sync::dynamic::ChannelType;
pub use nats::{Mirror, MirrorError, NatsChannel, NatsSource};
pub use publisher::{PublishError, Publisher, Receipt};
pub use relay::{Observer, RefusalReason, Relay, RelayError, RelayOptions};
pub use source::{Fetch, Source, SourceError};
pub use status::Status;
