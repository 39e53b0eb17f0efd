//! `mmap-sync-relay`: follow a NATS JetStream source into a local channel, publish versions,
//! show a relay's status, mirror channels onto a regional server, or run a local demo fleet.
//! One file per command; [`exit`] is the one list of exit codes. The binary knows no channel
//! type: a channel's versions carry their type, and `publish` reads it from the local channel.

#![deny(missing_docs)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod config;
mod demo;
mod exit;
mod follow;
mod local_server;
mod metrics;
mod mirror;
mod publish;
mod status;

use exit::Exit;

#[derive(Parser, Debug)]
#[command(
    name = "mmap-sync-relay",
    version,
    about = "Follow a NATS JetStream source and publish each new version into a local mmap-sync channel",
    after_help = Exit::help()
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log level: error, warn, info, debug or trace [default: info; warn for publish, mirror,
    /// demo].
    #[arg(long, global = true)]
    log_level: Option<tracing::Level>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Be a channel's writer on this host (or every channel of --config): follow the source,
    /// publish every new version.
    #[command(after_help = Exit::help())]
    Follow(follow::FollowArgs),
    /// Publish the value of a local channel (or each new one, with --watch) as the next version
    /// of a channel on the server: check, upload, compare-and-set the manifest.
    #[command(after_help = Exit::help())]
    Publish(publish::PublishArgs),
    /// Show a relay's status (lag, last error) from its status file.
    #[command(after_help = Exit::help())]
    Status(status::StatusArgs),
    /// Make a regional server (--server) a copy of channels of a hub: create there, once, the
    /// JetStream mirrors of each channel's buckets, fed from the hub's domain over the
    /// server's leaf node connection. Relays of the region then follow the regional server.
    #[command(after_help = Exit::help())]
    Mirror(mirror::MirrorArgs),
    /// Run a local fleet: a nats-server, a publisher and relays for several hosts.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and a publish print their own story; their log only needs to carry problems.
    let default = match cli.command {
        Command::Demo(_) | Command::Publish(_) | Command::Mirror(_) => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    };
    init_logging(cli.log_level.unwrap_or(default));
    match cli.command {
        Command::Follow(args) => follow::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Status(args) => status::run(args),
        Command::Mirror(args) => mirror::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

fn init_logging(level: tracing::Level) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // The client library logs every reconnect attempt at info; keep it to warnings unless
    // asked for everything.
    let client_level = if level == tracing::Level::TRACE { level } else { tracing::Level::WARN };
    let filter =
        Targets::new().with_default(level).with_target("async_nats", client_level.min(level));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(tracing::Level::TRACE)
        .finish()
        .with(filter)
        .try_init();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime always builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
