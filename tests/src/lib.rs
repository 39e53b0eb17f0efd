//! The helper library of the cross-process tests: the programs under `src/bin` and the tests
//! under `tests/` both use it, so that a value, a channel directory or a report line means the
//! same thing on both sides of a process boundary.
//!
//! * [`channel`]: a private directory for a test's channels, and their [`ChannelPaths`];
//! * [`types`]: the values the tests publish (derived `SharedState` types);
//! * [`report`]: the line format the test programs print and the tests parse ([`Line`]);
//! * [`process`]: spawned test programs ([`Probe`]) and one-shot runs ([`process::run`]);
//! * [`files`]: patching and cutting a channel's files at the format's own offsets;
//! * [`skip`]: checks that need root, and how a test says it could not run;
//! * [`rng`] and [`scale`]: seeded randomness and the size of the stress runs.
//!
//! [`ChannelPaths`]: mmap_sync::ChannelPaths
//! [`Line`]: report::Line
//! [`Probe`]: process::Probe

pub mod channel;
pub mod files;
pub mod process;
pub mod report;
pub mod rng;
pub mod scale;
pub mod skip;
pub mod types;
