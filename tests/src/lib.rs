//! The helper library of the cross-process tests: the programs under `src/bin` and the tests
//! under `tests/` both use it, so that a value, a channel directory or a report line means the
//! same thing on both sides of a process boundary.
//!
//! * [`channel`]: a private directory for a test's channels (the workspace's shared
//!   `ChannelDir`), and their [`ChannelPaths`];
//! * [`types`]: the values the tests publish (derived `SharedState` types);
//! * [`report`]: the line format the test programs print and the tests parse ([`Line`]);
//! * [`process`]: spawned test programs ([`Probe`]) and one-shot runs ([`process::run`]);
//! * [`files`]: patching and cutting a channel's files at the format's own offsets;
//! * [`skip`]: checks that need root, and how a test says it could not run;
//! * [`rng`] and [`scale`]: seeded randomness and the size of the stress runs.
//!
//! A cross-process test, in outline: a channel in a private directory, a program of this
//! package spawned against it, its report lines compared by field.
//!
//! ```no_run
//! use std::time::Duration;
//! use mmap_sync::Writer;
//! use mmap_sync_tests::args;
//! use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
//! use mmap_sync_tests::process::Probe;
//! use mmap_sync_tests::types::Note;
//!
//! # const PROBE: &str = "probe"; // in a test: env!("CARGO_BIN_EXE_probe")
//! let dir = ChannelDir::new("second-writer");
//! let paths = dir.paths("note");
//! let mut writer = Writer::<Note>::open(&paths.prefix).unwrap();
//! writer.write(&Note { version: 1, messages: vec![] }).unwrap();
//!
//! let mut second = Probe::spawn(PROBE, args!["write-note", paths.prefix, "2"]);
//! let line = second.next(Duration::from_secs(20));
//! line.assert_error("WriterExists", &paths.state);
//! second.wait_success(Duration::from_secs(20));
//! ```
//!
//! A new program goes under `src/bin` (`src/bin/<name>.rs`, or `src/bin/<name>/main.rs` for one
//! of several files) and reports with [`report::say`]; a new test goes under `tests/`. Cargo
//! finds both; a test reaches a program through `env!("CARGO_BIN_EXE_<name>")`.
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

/// The repository's README, its examples compiled as doctests so they cannot drift from the API.
/// (Each published crate compiles its own README the same way.)
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// MIGRATING.md's examples of the runtime's API, compiled as doctests. Its blocks of upstream
/// code, `Cargo.toml` and diffs are marked as such and not compiled.
#[cfg(doctest)]
#[doc = include_str!("../../MIGRATING.md")]
pub struct MigratingDoctests;
