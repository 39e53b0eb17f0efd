//! `mmap-sync`: look at an mmap-sync channel from outside, without knowing its type.
//!
//! ```text
//! mmap-sync inspect PATH [--json]                 header, copies, writer, readers, schema
//! mmap-sync watch PATH [--count N] [--json]       one line per publish, until interrupted
//! mmap-sync verify PATH [--json]                  header, descriptors and every copy's checksum
//! mmap-sync dump PATH [--json] [--at P] [--limit N] the value, read through its recorded structure
//! ```
//!
//! `PATH` is the channel's prefix (`/dev/shm/routing_table` for the files
//! `/dev/shm/routing_table_state`, `_readers`, `_data_0`, ...); given one of those files
//! instead, the command says which prefix was probably meant. Install it with
//! `cargo install mmap-sync-cli@3.0.0-alpha.1` (from a checkout: `cargo install --path
//! mmap-sync-cli`).
//!
//! The command only reads: `inspect` and `watch` hold no reader slot, and `verify` holds one
//! only while it checksums a copy, as a read would. It works on channels of any type and of
//! any format version (files of another version are reported, with exit code 4). The same
//! inspection is a library: `mmap_sync::inspect` in the
//! [`mmap-sync`](https://crates.io/crates/mmap-sync) crate.
//!
//! # Exit codes
//!
//! | exit code | meaning |
//! | --- | --- |
//! | 0 | done: the channel and its published value shown or dumped, watched for `--count` publishes, or verified sound |
//! | 1 | the channel is damaged: `verify` found a problem, or the header cannot be read |
//! | 2 | usage: unknown command or option, missing `PATH`, `PATH` naming one of a channel's files instead of its prefix (the message says which prefix), or `dump --at` naming no part of the value |
//! | 3 | nothing to read: no channel at `PATH`, nothing published yet (`inspect` and `verify` still print what they found), a file that cannot be opened, a channel whose writer recorded no structure (`dump`) |
//! | 4 | the files are of a format version this build does not read (the message names it), or `dump` finds a structure it cannot read |
//!
//! Errors are printed to standard error (with `--json`: as a JSON object on standard output)
//! and always name the file they are about.
//!
//! # JSON
//!
//! With `--json`, each command prints one JSON object per line, in shapes that stay stable
//! (new keys may be added); 64-bit hashes are hex strings, times RFC 3339 UTC strings with
//! nanoseconds or `null` when unknown. The crate's
//! [README](https://github.com/mmap-sync/mmap-sync/blob/main/mmap-sync-cli/README.md)
//! lists the shapes and explains what each part of the output means.

#![deny(missing_docs)]

mod channel;
mod commands;
mod exit;
mod failure;
mod output;
mod shapes;
mod text;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;
use crate::exit::Exit;
use crate::output::Output;

/// Inspect, watch and verify mmap-sync channels without knowing their type.
#[derive(Debug, Parser)]
#[command(name = "mmap-sync", version, about, long_about = None)]
#[command(after_help = Exit::help())]
struct Cli {
    /// Print one JSON object per line instead of tables (stable shapes, for scripts).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Prints help or the usage error; exits 0 for --help/--version and 2 for bad usage.
        Err(e) => e.exit(),
    };
    let out = Output::new(cli.json);
    match cli.command.run(out) {
        Ok(exit) => exit.into(),
        Err(failure) => {
            out.fail(&failure);
            failure.exit().into()
        }
    }
}
