//! `mmap-sync-relay follow`: be the writer of one channel, or of every channel a configuration
//! file lists, on this host.
//!
//! Each channel is a task of its own: one whose server is down, whose credentials are wrong,
//! whose download is slow or whose versions are refused never delays another (the process
//! runs on several threads, and a large archive's validation steps aside from the others).
//! With `--config`, SIGHUP reads the file again: added channels start, removed ones stop,
//! changed ones restart, and the others are not touched; a file that does not load is
//! reported and the channels go on as they were. Without it, the single channel's fatal
//! errors (another writer, another type, an unwritable status file) end the process with their
//! exit code, as before; with it, they are logged and the channel is opened again after a
//! backoff, since the other channels must go on.
//!
//! No channel type is compiled in: each version carries its type, and a channel that does not
//! exist yet is created with the type of the first version taken. `--expect-type` (the
//! configuration's `expect_type`) makes the relay refuse versions, and channels, of any other
//! type name.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use mmap_sync_relay::status::clear_cannot_open;
use mmap_sync_relay::{NatsSource, Relay, RelayError, RelayOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, error, info, info_span, warn};

use crate::args::{ConnectionArgs, parse_channel, parse_duration, parse_size};
use crate::config::{self, ChannelConfig, Timings};
use crate::exit::Exit;
use crate::metrics::{ChannelLabels, Metrics};

#[derive(Args, Debug)]
pub struct FollowArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Channel name on the server (letters, digits, '-', '_').
    #[arg(long, value_parser = parse_channel, required_unless_present = "config")]
    channel: Option<String>,
    /// Refuse versions of any type but this one (its Rust name, e.g. RoutingTable), and do not
    /// open a channel that holds another. Default: take the type each version carries.
    #[arg(long, value_name = "TYPE_NAME")]
    expect_type: Option<String>,
    /// Path prefix of the local channel (e.g. /dev/shm/routing_table).
    #[arg(long, required_unless_present = "config")]
    path: Option<PathBuf>,
    /// Follow every channel this TOML file lists (SIGHUP reads it again); the command line's
    /// server, authentication, TLS and timings are then defaults beneath the file's.
    #[arg(long, value_name = "FILE")]
    #[arg(conflicts_with_all = ["channel", "expect_type", "path", "max_size", "status_file"])]
    config: Option<PathBuf>,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Largest archive accepted (e.g. "512 MiB"); default: an existing channel's max_size, and
    /// 64 MiB for a channel the relay creates.
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

impl FollowArgs {
    fn timings(&self) -> Timings {
        Timings {
            inactivity_timeout: self.inactivity_timeout,
            recheck: self.recheck,
            retry_max: self.retry_max,
        }
    }

    /// The one channel the command line describes (without `--config`).
    fn channel(&self) -> Result<ChannelConfig, String> {
        let (Some(name), Some(path)) = (&self.channel, &self.path) else {
            unreachable!("clap requires --channel and --path without --config")
        };
        Ok(ChannelConfig {
            name: name.clone(),
            connection: self.connection.connection()?,
            options: RelayOptions {
                expect_type: self.expect_type.clone(),
                status_path: self.status_file.clone(),
                max_size: self.max_size,
                inactivity_timeout: self.inactivity_timeout,
                recheck: self.recheck,
                retry_max: self.retry_max,
                ..RelayOptions::new(path.clone())
            },
        })
    }
}

pub fn run(args: FollowArgs) -> ExitCode {
    let loaded = match &args.config {
        Some(file) => config::load(file, &args.connection, args.timings()),
        None => args.channel().map(|channel| vec![channel]),
    };
    let channels = match loaded {
        Ok(channels) => channels,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage.into();
        }
    };
    // Several channels run on several threads, so that one channel's work never waits for
    // another's; one channel needs one.
    let runtime = if args.config.is_some() {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the runtime: {err}");
            return Exit::Failure.into();
        }
    };
    runtime.block_on(async move {
        let metrics = match args.metrics {
            Some(addr) => match crate::metrics::bind(addr).await {
                Ok(listener) => {
                    let metrics = Metrics::new();
                    info!("metrics on http://{addr}/metrics");
                    tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
                    Some(metrics)
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    return Exit::Usage.into();
                }
            },
            None => None,
        };
        match &args.config {
            Some(file) => {
                let reload = || config::load(file, &args.connection, args.timings());
                supervise(channels, reload, metrics).await
            }
            None => {
                let channel = channels.into_iter().next().expect("one channel");
                let (stop, stopped) = watch::channel(false);
                let task = ChannelTask { config: channel, stopped, metrics, keep_going: false };
                let relay = task.run();
                tokio::pin!(relay);
                let result = tokio::select! {
                    result = &mut relay => result,
                    () = signals(None) => {
                        // The relay records that it stopped before it returns.
                        let _ = stop.send(true);
                        relay.await
                    }
                };
                match result {
                    Ok(()) => Exit::Ok.into(),
                    Err(err) => relay_exit(&err),
                }
            }
        }
    })
}

/// A channel being followed.
struct Running {
    config: ChannelConfig,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), RelayError>>,
}

/// Runs every channel of a configuration until SIGTERM or SIGINT, reloading it on SIGHUP.
async fn supervise(
    channels: Vec<ChannelConfig>,
    reload: impl Fn() -> Result<Vec<ChannelConfig>, String>,
    metrics: Option<Arc<Metrics>>,
) -> ExitCode {
    let mut running: HashMap<PathBuf, Running> = HashMap::new();
    apply(&mut running, channels, &metrics).await;
    let (hup_tx, mut hup) = tokio::sync::mpsc::channel(1);
    let shutdown = signals(Some(hup_tx));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hup.recv() => match reload() {
                Ok(channels) => apply(&mut running, channels, &metrics).await,
                Err(err) => error!("SIGHUP: {err}; the channels go on as they were"),
            },
        }
    }
    let stopping: Vec<Running> = running.into_values().collect();
    for channel in &stopping {
        let _ = channel.stop.send(true);
    }
    for channel in stopping {
        let _ = channel.task.await;
    }
    info!("stopped");
    Exit::Ok.into()
}

/// Moves the running channels to `wanted`: stops removed and changed ones (waiting until each
/// has let go of its channel), then starts changed and added ones. Unchanged ones are not
/// touched.
async fn apply(
    running: &mut HashMap<PathBuf, Running>,
    wanted: Vec<ChannelConfig>,
    metrics: &Option<Arc<Metrics>>,
) {
    let mut wanted: HashMap<PathBuf, ChannelConfig> =
        wanted.into_iter().map(|c| (c.options.path.clone(), c)).collect();
    let leaving: Vec<PathBuf> = running
        .iter()
        .filter(|(path, r)| wanted.get(*path) != Some(&r.config))
        .map(|(path, _)| path.clone())
        .collect();
    let mut stopping = Vec::new();
    for path in leaving {
        let channel = running.remove(&path).expect("listed above");
        let what = if wanted.contains_key(&path) { "changed: restarting" } else { "removed" };
        info!(channel = %channel.config.name, path = %path.display(), "{what}");
        let _ = channel.stop.send(true);
        stopping.push(channel);
    }
    for channel in stopping {
        let _ = channel.task.await;
        if let Some(metrics) = metrics {
            metrics.forget(&labels(&channel.config));
        }
    }
    wanted.retain(|path, _| !running.contains_key(path));
    for (path, config) in wanted {
        info!(channel = %config.name, path = %path.display(), "starting");
        let (stop, stopped) = watch::channel(false);
        let task = ChannelTask {
            config: config.clone(),
            stopped,
            metrics: metrics.clone(),
            keep_going: true,
        };
        let task = tokio::spawn(task.run());
        running.insert(path, Running { config, stop, task });
    }
    info!(channels = running.len(), "following");
}

fn labels(config: &ChannelConfig) -> ChannelLabels {
    ChannelLabels { channel: config.name.clone(), path: config.options.path.display().to_string() }
}

/// One channel's relay, run until `stopped` turns true.
struct ChannelTask {
    config: ChannelConfig,
    stopped: watch::Receiver<bool>,
    metrics: Option<Arc<Metrics>>,
    /// Open the channel again after a fatal error (several channels), rather than return it.
    keep_going: bool,
}

type RelayFuture = Pin<Box<dyn Future<Output = Result<(), RelayError>> + Send>>;

impl ChannelTask {
    fn run(self) -> RelayFuture {
        let span = info_span!("channel", path = %self.config.options.path.display());
        Box::pin(follow(self).instrument(span))
    }
}

async fn follow(task: ChannelTask) -> Result<(), RelayError> {
    let ChannelTask { config, stopped, metrics, keep_going } = task;
    let mut delay = Duration::from_millis(200);
    loop {
        let source = NatsSource::new(config.connection.clone(), &config.name)
            .expect("configurations hold checked channel names");
        let result = match Relay::open(source, config.options.clone()) {
            Ok(relay) => {
                let relay = match &metrics {
                    Some(metrics) => relay.observe(metrics.channel(labels(&config))),
                    None => relay,
                };
                let held = &relay.status().type_name;
                info!(
                    status = %relay.status_path().display(),
                    "following {} on {} into a channel of {}",
                    config.name,
                    config.connection.describe(),
                    if held.is_empty() { "the first version's type" } else { held }
                );
                delay = Duration::from_millis(200);
                relay.run(until_stopped(stopped.clone())).await
            }
            Err(err) => Err(err),
        };
        let err = match result {
            Ok(()) => {
                info!("stopped");
                return Ok(());
            }
            Err(err) if !keep_going => return Err(err),
            Err(err) => err,
        };
        error!("{err}; opening the channel again in {delay:?} (the other channels go on)");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = until_stopped(stopped.clone()) => {
                // No longer trying: the record of why it could not open goes too.
                clear_cannot_open(&config.options.status_file());
                return Ok(());
            }
        }
        delay = (delay * 2).min(config.options.retry_max.max(Duration::from_millis(200)));
    }
}

/// Completes once `stopped` is (or becomes) true, or its sender is gone.
async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Completes on SIGTERM or SIGINT. SIGHUP is sent to `reload` when given, and otherwise
/// logged (nothing to reload): it never ends the process.
pub async fn signals(reload: Option<tokio::sync::mpsc::Sender<()>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut terminate, mut hangup) =
        match (signal(SignalKind::terminate()), signal(SignalKind::hangup())) {
            (Ok(terminate), Ok(hangup)) => (terminate, hangup),
            (Err(err), _) | (_, Err(err)) => {
                warn!("cannot listen for SIGTERM and SIGHUP: {err}");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    loop {
        tokio::select! {
            _ = terminate.recv() => return info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => return info!("SIGINT: stopping"),
            _ = hangup.recv() => match &reload {
                Some(reload) => {
                    info!("SIGHUP: reading the configuration again");
                    let _ = reload.try_send(());
                }
                None => info!("SIGHUP: no --config to read again"),
            },
        }
    }
}

fn relay_exit(err: &RelayError) -> ExitCode {
    tracing::error!("{err}");
    eprintln!("error: {err}");
    let code = match err {
        RelayError::Channel(mmap_sync::Error::WriterExists { .. }) => Exit::WriterExists,
        RelayError::Channel(
            mmap_sync::Error::SchemaMismatch { .. }
            | mmap_sync::Error::Incompatible { .. }
            | mmap_sync::Error::Corrupt { .. }
            | mmap_sync::Error::NoStructure { .. },
        )
        | RelayError::UnexpectedType { .. } => Exit::WrongChannel,
        RelayError::Channel(mmap_sync::Error::Io { .. }) | RelayError::Status { .. } => {
            Exit::ChannelIo
        }
        _ => Exit::Failure,
    };
    code.into()
}
