//! The commands, one file each: its arguments (the `--help` text of the command) and what it
//! does. Every command prints through one [`Output`], which chooses text or JSON.

use clap::Subcommand;

use crate::exit::Exit;
use crate::failure::Failure;
use crate::output::Output;

pub mod dump;
pub mod inspect;
pub mod verify;
pub mod watch;

/// A command of `mmap-sync`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the header, every copy, the writer's liveness, the reader slots in use (with pids,
    /// pins and dead readers) and the schema description.
    Inspect(inspect::Args),
    /// Print one line per publish (generation, bytes, time since the previous one) until
    /// interrupted, holding no reader slot.
    Watch(watch::Args),
    /// Check the header, every descriptor and the checksum of every copy; exit 1 and say why
    /// when anything is wrong.
    Verify(verify::Args),
    /// Print the channel's value, read through the structure its writer recorded: an indented
    /// tree, or with --json the value as serde_json prints it; --at prints one part of it.
    Dump(dump::Args),
}

impl Command {
    /// Runs the command; its exit code, or why it stopped.
    pub fn run(&self, out: Output) -> Result<Exit, Failure> {
        match self {
            Command::Inspect(args) => inspect::run(args, out),
            Command::Watch(args) => watch::run(args, out),
            Command::Verify(args) => verify::run(args, out),
            Command::Dump(args) => dump::run(args, out),
        }
    }
}
