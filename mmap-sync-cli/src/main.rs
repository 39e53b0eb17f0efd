//! `mmap-sync`: look at an mmap-sync channel from outside, without knowing its type.
//!
//! ```text
//! mmap-sync inspect PATH [--json]                 header, copies, writer, readers, schema
//! mmap-sync watch PATH [--count N] [--json]       one line per publish, until interrupted
//! mmap-sync verify PATH [--json]                  header, descriptors and every copy's checksum
//! ```
//!
//! `PATH` is the channel's prefix (`/dev/shm/routing_table` for the files
//! `/dev/shm/routing_table_state`, `_readers`, `_data_0`, ...); given one of those files
//! instead, the command says which prefix was probably meant. Install it with
//! `cargo install mmap-sync-cli` (from a checkout: `cargo install --path mmap-sync-cli`).
//!
//! The command only reads: `inspect` and `watch` hold no reader slot, and `verify` holds one
//! only while it checksums a copy, as a read would. It works on channels of any type and of
//! any format version (files of another version are reported, with exit code 4). The same
//! inspection is a library: `mmap_sync::inspect` in the
//! [`mmap-sync`](https://docs.rs/mmap-sync) crate.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done: the channel and its published value were shown, watched until `--count` publishes, or verified sound |
//! | 1 | the channel is damaged: `verify` found a problem, or the header cannot be read |
//! | 2 | usage: unknown command or option, missing `PATH`, or `PATH` names one of a channel's files instead of its prefix (the message says which prefix) |
//! | 3 | nothing to read: no channel at `PATH`, nothing published yet (`inspect` and `verify` still show what they found), or a file cannot be opened |
//! | 4 | the channel's files are of a format version this build does not read |
//!
//! Errors are printed to standard error (with `--json`: as a JSON object on standard output)
//! and always name the file they are about.
//!
//! # JSON
//!
//! With `--json`, each command prints one JSON object per line, in shapes that stay stable
//! (new keys may be added); 64-bit hashes are hex strings, times RFC 3339 UTC strings with
//! nanoseconds or `null` when unknown. The README's
//! [Operating a channel](https://github.com/mmap-sync/mmap-sync/blob/main/README.md#operating-a-channel)
//! lists the shapes and explains what each part of the output means.

#![deny(missing_docs)]

mod commands;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Inspect, watch and verify mmap-sync channels without knowing their type.
#[derive(Debug, Parser)]
#[command(name = "mmap-sync", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 ok, 1 the channel is damaged, 2 usage, 3 nothing to read \
                        (no channel, nothing published yet, no access), 4 another format \
                        version.")]
struct Cli {
    /// Print one JSON object per line instead of tables (stable shapes, for scripts).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the header, every copy, the writer's liveness, the reader slots in use (with pids,
    /// pins and dead readers) and the schema description.
    Inspect {
        /// The channel's path prefix (the files are PATH_state, PATH_readers, PATH_data_N).
        path: PathBuf,
    },
    /// Print one line per publish (generation, bytes, time since the previous one) until
    /// interrupted, holding no reader slot.
    Watch {
        /// The channel's path prefix.
        path: PathBuf,
        /// Stop after showing this many publishes (generations overwritten before they could
        /// be seen are reported, not counted).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Check the header, every descriptor and the checksum of every copy; exit 1 and say why
    /// when anything is wrong.
    Verify {
        /// The channel's path prefix.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Prints help or the usage error; exits 0 for --help/--version and 2 for bad usage.
        Err(e) => e.exit(),
    };
    let out = commands::Output { json: cli.json };
    let result = match &cli.command {
        Command::Inspect { path } => commands::inspect(path, out),
        Command::Watch { path, count } => commands::watch(path, *count, out),
        Command::Verify { path } => commands::verify(path, out),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            failure.report(out);
            ExitCode::from(failure.code)
        }
    }
}
