//! `mmap-sync-relay`: follow a NATS JetStream source into a local channel, publish versions,
//! show a relay's status, or run a local demo fleet.

#![deny(missing_docs)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mmap_sync::SharedState;
use mmap_sync::rkyv::{self, api::high::HighSerializer, rancor, ser::allocator::ArenaHandle};
use mmap_sync_relay::manifest::{check_channel_name, unix_millis};
use mmap_sync_relay::status::{State, Status, status_path};
use mmap_sync_relay::{NatsSource, PublishError, Publisher, Relay, RelayError, RelayOptions};
use mmap_sync_schemas::{FeatureTable, HelloWorld, RoutingTable};

mod demo;

const EXIT_CODES: &str = "\
Exit codes:
  0   follow: stopped by SIGTERM or SIGINT; publish: published; status: up to date and running
  1   unexpected failure (see the message)
  2   usage error
  3   follow: another writer holds the channel (do not restart in a loop: find the other writer)
  4   follow: the channel holds another type or layout, or its files are damaged
  5   follow: I/O error on the channel or the status file (permissions, disk)
  6   publish: conflict, another publisher moved the manifest first (nothing was published)
  7   publish: the input is not a valid archive of the type, or exceeds its max_size
  8   publish, demo: the server cannot be reached
  9   status: the relay is behind the source, its last attempt failed, or it went silent
  10  status: the relay is not running
  11  status: no readable status file at that path

A source that is unreachable or misbehaving never makes `follow` exit: it retries with backoff
and reports the problem in its status file and logs, keeping the channel's value live.";

#[derive(Parser, Debug)]
#[command(
    name = "mmap-sync-relay",
    version,
    about = "Follow a NATS JetStream source and publish each new version into a local mmap-sync channel",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log level: error, warn, info, debug or trace [default: info; warn for publish, demo].
    #[arg(long, global = true)]
    log_level: Option<tracing::Level>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Be the channel's writer on this host: follow the source, publish every new version.
    #[command(after_help = EXIT_CODES)]
    Follow(FollowArgs),
    /// Publish a new version of a channel (archive, upload, compare-and-set the manifest).
    #[command(after_help = EXIT_CODES)]
    Publish(PublishArgs),
    /// Show a relay's status (lag, last error) from its status file.
    #[command(after_help = EXIT_CODES)]
    Status(StatusArgs),
    /// Run a local fleet: a nats-server, a publisher and relays for several hosts.
    Demo(demo::DemoArgs),
}

/// The channel types this binary knows. A relay must know the type to validate archives; to
/// relay your own type, build a binary around `mmap_sync_relay::Relay<YourType, _>`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TypeArg {
    /// mmap_sync_schemas::HelloWorld
    HelloWorld,
    /// mmap_sync_schemas::FeatureTable
    FeatureTable,
    /// mmap_sync_schemas::RoutingTable
    RoutingTable,
}

#[derive(Args, Debug)]
struct SourceArgs {
    /// NATS server URL.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    server: String,
    /// Channel name on the server (letters, digits, '-', '_').
    #[arg(long, value_parser = parse_channel)]
    channel: String,
    /// Type of the channel's value.
    #[arg(long = "type", value_enum)]
    type_: TypeArg,
}

#[derive(Args, Debug)]
struct FollowArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Path prefix of the local channel (e.g. /dev/shm/routing_table).
    #[arg(long)]
    path: PathBuf,
    /// Largest archive accepted (e.g. "64 MiB"); default: the type's max_size.
    #[arg(long, value_parser = parse_size)]
    max_size: Option<u64>,
    /// A download that receives nothing for this long fails and is retried.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    inactivity_timeout: Duration,
    /// How often to ask the source again when it sends no notification.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    recheck: Duration,
    /// Longest wait between retries (waits start at 200ms and double, with jitter).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    retry_max: Duration,
    /// Status file; default: "{path}_relay.json".
    #[arg(long)]
    status_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct PublishArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Publish this file: bytes archived with rkyv::to_bytes (checked before upload).
    #[arg(long, conflicts_with = "example", required_unless_present = "example")]
    file: Option<PathBuf>,
    /// Publish the type's example value with this version number.
    #[arg(long)]
    example: Option<u64>,
    /// --example: routes of a routing table.
    #[arg(long, default_value_t = 8)]
    routes: usize,
    /// --example: entities of a feature table.
    #[arg(long, default_value_t = 1024)]
    entities: u64,
    /// --example: features per entity of a feature table.
    #[arg(long, default_value_t = 64)]
    dimension: u32,
    /// Publish only if the manifest is at this revision (default: at the revision current
    /// when the command starts).
    #[arg(long, conflicts_with = "expect_none")]
    expect_revision: Option<u64>,
    /// Publish only if the channel has no manifest yet.
    #[arg(long)]
    expect_none: bool,
    /// Archives of this many newest versions are always kept.
    #[arg(long, default_value_t = mmap_sync_relay::publisher::DEFAULT_KEEP)]
    keep: usize,
    /// Older archives are deleted this long after a newer version replaced them.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    grace: Duration,
}

#[derive(Args, Debug)]
struct StatusArgs {
    /// Path prefix of the channel the relay writes.
    #[arg(long, required_unless_present = "status_file")]
    path: Option<PathBuf>,
    /// Status file, when not "{path}_relay.json".
    #[arg(long)]
    status_file: Option<PathBuf>,
    /// Print the status file's JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// A running relay that has not written its status for this long counts as failing (it
    /// writes at least every --recheck, and during retries every --retry-max).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    stale_after: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and a publish print their own story; their log only needs to carry problems.
    let default = match cli.command {
        Command::Demo(_) | Command::Publish(_) => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    };
    init_logging(cli.log_level.unwrap_or(default));
    match cli.command {
        Command::Follow(args) => match args.source.type_ {
            TypeArg::HelloWorld => follow::<HelloWorld>(args),
            TypeArg::FeatureTable => follow::<FeatureTable>(args),
            TypeArg::RoutingTable => follow::<RoutingTable>(args),
        },
        Command::Publish(args) => match args.source.type_ {
            TypeArg::HelloWorld => publish::<HelloWorld>(args),
            TypeArg::FeatureTable => publish::<FeatureTable>(args),
            TypeArg::RoutingTable => publish::<RoutingTable>(args),
        },
        Command::Status(args) => status(args),
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

fn follow<T: SharedState>(args: FollowArgs) -> ExitCode {
    let mut options = RelayOptions::new(&args.path);
    options.max_size = args.max_size;
    options.inactivity_timeout = args.inactivity_timeout;
    options.recheck = args.recheck;
    options.retry_max = args.retry_max;
    options.status_path = args.status_file;
    runtime().block_on(async move {
        let source = match NatsSource::connect(&args.source.server, &args.source.channel).await {
            Ok(source) => source,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(8);
            }
        };
        let relay = match Relay::<T, _>::open(source, options) {
            Ok(relay) => relay,
            Err(err) => return relay_exit(&err),
        };
        tracing::info!(
            channel = %args.path.display(),
            status = %relay.status_path().display(),
            "following {} as {}", args.source.channel, T::TYPE_NAME
        );
        match relay.run(shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(err) => relay_exit(&err),
        }
    })
}

fn relay_exit(err: &RelayError) -> ExitCode {
    tracing::error!("{err}");
    eprintln!("error: {err}");
    let code = match err {
        RelayError::Channel(mmap_sync::Error::WriterExists { .. }) => 3,
        RelayError::Channel(
            mmap_sync::Error::SchemaMismatch { .. }
            | mmap_sync::Error::Incompatible { .. }
            | mmap_sync::Error::Corrupt { .. },
        ) => 4,
        RelayError::Channel(mmap_sync::Error::Io { .. }) | RelayError::Status { .. } => 5,
        _ => 1,
    };
    ExitCode::from(code)
}

async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM: {err}");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
    }
}

/// The example value of a type, for `publish --example` and the demo.
trait Example: Sized {
    fn example(version: u64, args: &PublishArgs) -> Self;
}

impl Example for HelloWorld {
    fn example(version: u64, _: &PublishArgs) -> Self {
        HelloWorld {
            version: version as u32,
            messages: vec!["Hello".into(), "World".into(), format!("version {version}")],
        }
    }
}

impl Example for RoutingTable {
    fn example(version: u64, args: &PublishArgs) -> Self {
        RoutingTable::example(version, args.routes)
    }
}

impl Example for FeatureTable {
    fn example(version: u64, args: &PublishArgs) -> Self {
        FeatureTable::synthetic(version, args.entities, args.dimension)
    }
}

fn publish<T>(args: PublishArgs) -> ExitCode
where
    T: SharedState
        + Example
        + for<'a> rkyv::Serialize<
            HighSerializer<rkyv::util::AlignedVec, ArenaHandle<'a>, rancor::Error>,
        >,
{
    let archive = match (&args.file, args.example) {
        (Some(file), _) => match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(err) => {
                eprintln!("error: {}: {err}", file.display());
                return ExitCode::from(7);
            }
        },
        (None, Some(version)) => match rkyv::to_bytes::<rancor::Error>(&T::example(version, &args))
        {
            Ok(bytes) => bytes.to_vec(),
            Err(err) => {
                eprintln!("error: archiving the example: {err}");
                return ExitCode::FAILURE;
            }
        },
        (None, None) => unreachable!("clap requires --file or --example"),
    };
    runtime().block_on(async move {
        let mut publisher =
            match Publisher::<T>::connect(&args.source.server, &args.source.channel).await {
                Ok(publisher) => publisher.retention(args.keep, args.grace),
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::from(8);
                }
            };
        let result = if args.expect_none || args.expect_revision.is_some() {
            publisher.publish_archive_on(args.expect_revision, &archive).await
        } else {
            publisher.publish_archive(&archive).await
        };
        match result {
            Ok(receipt) => {
                println!(
                    "published {} revision {} ({} bytes, {}) replacing {}",
                    args.source.channel,
                    receipt.revision,
                    receipt.manifest.size,
                    receipt.manifest.digest,
                    receipt.replaced.map_or_else(|| "nothing".into(), |r| format!("revision {r}"))
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(match err {
                    PublishError::Conflict { .. } => 6,
                    PublishError::InvalidArchive { .. } | PublishError::TooLarge { .. } => 7,
                    PublishError::Source(_) => 8,
                    _ => 1,
                })
            }
        }
    })
}

fn status(args: StatusArgs) -> ExitCode {
    let path = match (&args.status_file, &args.path) {
        (Some(file), _) => file.clone(),
        (None, Some(path)) => status_path(path),
        (None, None) => unreachable!("clap requires --path or --status-file"),
    };
    let status = match Status::load(&path) {
        Ok(Some(status)) => status,
        Ok(None) => {
            eprintln!("error: no status file at {}", path.display());
            return ExitCode::from(11);
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(11);
        }
    };
    let running =
        status.state != State::Stopped && PathBuf::from(format!("/proc/{}", status.pid)).exists();
    let silent_ms = unix_millis().saturating_sub(status.updated_at_ms);
    let stale = running && u128::from(silent_ms) > args.stale_after.as_millis();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status).expect("status serializes"));
    } else {
        print_status(&status, running);
        if stale {
            println!(
                "STALE      no status written for {:.1}s: the relay may be stuck",
                silent_ms as f64 / 1000.0
            );
        }
    }
    if !running {
        ExitCode::from(10)
    } else if stale || status.behind > 0 || status.last_error.is_some() {
        ExitCode::from(9)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_status(status: &Status, running: bool) {
    let now = unix_millis();
    let ago = |ms: u64| format!("{:.1}s ago", now.saturating_sub(ms) as f64 / 1000.0);
    println!("channel    {} ({})", status.channel, status.type_name);
    println!("source     {}", status.source);
    println!(
        "relay      pid {} {} ({:?}), status written {}",
        status.pid,
        if running { "running" } else { "NOT RUNNING" },
        status.state,
        ago(status.updated_at_ms)
    );
    match &status.published {
        Some(p) => println!(
            "published  revision {} as generation {} ({} bytes, {})",
            p.revision, p.generation, p.bytes, p.digest
        ),
        None => println!("published  nothing known"),
    }
    match status.source_revision {
        Some(revision) => println!(
            "source     revision {revision}, checked {}",
            status.source_checked_at_ms.map_or_else(|| "never".into(), ago)
        ),
        None => println!("source     no version seen"),
    }
    match status.behind_since_ms {
        Some(since) => {
            println!("lag        {} revision(s) behind since {}", status.behind, ago(since))
        }
        None => println!("lag        up to date"),
    }
    if let Some(download) = &status.download {
        println!(
            "download   revision {}: {} of {} bytes",
            download.revision, download.done, download.total
        );
    }
    if let Some(refused) = &status.refused {
        println!("refused    revision {}: {}", refused.revision, refused.reason);
    }
    if let Some(problem) = &status.last_error {
        println!("last error {} ({}): {}", problem.kind, ago(problem.at_ms), problem.message);
    }
    let c = &status.counters;
    println!(
        "counters   {} downloads ({} bytes), {} published, {} refused, {} retries",
        c.downloads, c.downloaded_bytes, c.published, c.refused, c.retries
    );
}

fn parse_channel(name: &str) -> Result<String, String> {
    check_channel_name(name).map(|()| name.to_owned())
}

/// "500ms", "5s", "2m", "1h", or a plain number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration like 500ms, 5s or 2m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("{text:?}: {err}"))
}

/// "4096", "64 KiB", "64MiB", "1 GB".
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a size like 4096, 64 KiB or 1 GiB"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => return Err(format!("unknown unit {other:?} in {text:?}")),
    };
    value.checked_mul(scale).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse_or_say_why_not() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1e400").is_err());
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("99999999999 GiB").unwrap_err().contains("too large"));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
