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
//! (`follow`, `publish`, `status`, `demo`). For a type of your own, the same takes a few lines:
//!
//! ```no_run
//! use mmap_sync_relay::{NatsSource, Publisher, Relay, RelayOptions};
//! use schemas::RoutingTable; // any `SharedState` type
//!
//! # async fn publisher() -> Result<(), Box<dyn std::error::Error>> {
//! // Wherever the value is produced:
//! let mut publisher = Publisher::<RoutingTable>::connect("nats://nats:4222", "routing").await?;
//! let receipt = publisher.publish(&RoutingTable::example(1, 8)).await?;
//! println!("revision {}", receipt.revision);
//! # Ok(()) }
//! # async fn relay() -> Result<(), Box<dyn std::error::Error>> {
//! // On every host, as the channel's only writer:
//! let source = NatsSource::connect("nats://nats:4222", "routing").await?;
//! let relay = Relay::<RoutingTable, _>::open(source, RelayOptions::new("/dev/shm/routing"))?;
//! relay.run(async { tokio::signal::ctrl_c().await.unwrap_or(()) }).await?;
//! # Ok(()) }
//! ```

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
