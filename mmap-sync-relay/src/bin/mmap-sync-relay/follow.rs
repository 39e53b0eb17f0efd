//! `mmap-sync-relay follow`: be a channel's writer on this host.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mmap_sync_relay::{NatsSource, Relay, RelayError, RelayOptions};

use crate::args::{SourceArgs, parse_duration, parse_size};
use crate::exit::Exit;
use crate::types::{ForType, Relayed, dispatch};

#[derive(Args, Debug)]
pub struct FollowArgs {
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

pub fn run(args: FollowArgs) -> ExitCode {
    dispatch(args.source.type_, args)
}

impl ForType for FollowArgs {
    type Output = ExitCode;

    fn run<T: Relayed>(self) -> ExitCode {
        follow::<T>(self)
    }
}

fn follow<T: Relayed>(args: FollowArgs) -> ExitCode {
    let mut options = RelayOptions::new(&args.path);
    options.max_size = args.max_size;
    options.inactivity_timeout = args.inactivity_timeout;
    options.recheck = args.recheck;
    options.retry_max = args.retry_max;
    options.status_path = args.status_file;
    let connection = match args.source.connection.connection() {
        Ok(connection) => connection,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage.into();
        }
    };
    crate::runtime().block_on(async move {
        let source = match NatsSource::new(connection, &args.source.channel) {
            Ok(source) => source,
            Err(err) => {
                eprintln!("error: {err}");
                return Exit::Unreachable.into();
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
        match relay.run(crate::shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("stopped");
                Exit::Ok.into()
            }
            Err(err) => relay_exit(&err),
        }
    })
}

fn relay_exit(err: &RelayError) -> ExitCode {
    tracing::error!("{err}");
    eprintln!("error: {err}");
    let code = match err {
        RelayError::Channel(mmap_sync::Error::WriterExists { .. }) => Exit::WriterExists,
        RelayError::Channel(
            mmap_sync::Error::SchemaMismatch { .. }
            | mmap_sync::Error::Incompatible { .. }
            | mmap_sync::Error::Corrupt { .. },
        ) => Exit::WrongChannel,
        RelayError::Channel(mmap_sync::Error::Io { .. }) | RelayError::Status { .. } => {
            Exit::ChannelIo
        }
        _ => Exit::Failure,
    };
    code.into()
}
