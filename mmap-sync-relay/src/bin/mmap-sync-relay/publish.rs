//! `mmap-sync-relay publish`: publish the value of a local channel as the next version of a
//! channel on the server, or, with `--watch`, each new value as it comes.
//!
//! The type is the one the local channel records (its structure): the binary knows none, and
//! the followers take it from the manifest. The value is copied out of the channel before it
//! is uploaded, so a publish never pins one of the channel's copies for the length of an
//! upload (its writer, with two copies, would wait for it); it is not checked again, since the
//! channel's writer checked it when it published it (the followers check every archive).
//! `--file` publishes the bytes of a file instead (a whole archive, as `rkyv::to_bytes` writes
//! it), of the type the channel at `--path` records, checked whole through the structure before
//! it is uploaded.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mmap_sync::dynamic::{ChannelType, DynReader};
use mmap_sync_relay::manifest::checksum_of;
use mmap_sync_relay::{PublishError, Publisher, Receipt};
use tracing::{info, warn};

use crate::args::{SourceArgs, parse_duration};
use crate::exit::Exit;

#[derive(Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The local channel (its path prefix, e.g. /dev/shm/routing_table) whose value is
    /// published, of the type it records: any #[derive(SharedState)] type.
    #[arg(long)]
    path: PathBuf,
    /// Publish this file instead of the channel's value: a whole archive (rkyv::to_bytes
    /// output) of the type the channel at --path records, checked before upload.
    #[arg(long, value_name = "FILE", conflicts_with = "watch")]
    file: Option<PathBuf>,
    /// Keep running, and publish each new value of the local channel (the newest, when several
    /// came during an upload) until SIGTERM or SIGINT. A value the channel on the server holds
    /// already is not published again.
    #[arg(long, conflicts_with_all = ["expect_revision", "expect_none"])]
    watch: bool,
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

/// A failure, with the exit code it ends the command with.
struct Failed(Exit, String);

pub fn run(args: PublishArgs) -> ExitCode {
    let connection = match args.source.connection.connection() {
        Ok(connection) => connection,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage.into();
        }
    };
    let result = crate::runtime().block_on(async move {
        let ty = ChannelType::recorded(&args.path).map_err(local_channel(&args.path))?;
        let mut publisher =
            match Publisher::connect_with(&connection, &args.source.channel, ty).await {
                // A channel's values were checked by its writer; a file's were not.
                Ok(publisher) => {
                    publisher.retention(args.keep, args.grace).check_archives(args.file.is_some())
                }
                Err(err) => return Err(Failed(publish_exit(&err), err.to_string())),
            };
        if args.watch {
            return watch(&args, &mut publisher).await;
        }
        let (archive, from) = match &args.file {
            Some(file) => {
                let bytes = std::fs::read(file).map_err(|err| {
                    Failed(Exit::InvalidInput, format!("{}: {err}", file.display()))
                })?;
                (bytes, file.display().to_string())
            }
            None => {
                let reader = open_reader(&args.path, publisher.channel_type())?;
                let (bytes, generation) = current_value(&reader, &args.path)?;
                (bytes, format!("generation {generation} of {}", args.path.display()))
            }
        };
        let result = if args.expect_none || args.expect_revision.is_some() {
            publisher.publish_archive_on(args.expect_revision, &archive).await
        } else {
            publisher.publish_archive(&archive).await
        };
        match result {
            Ok(receipt) => {
                print_receipt(&args.source.channel, &receipt, &from);
                Ok(())
            }
            Err(err) => Err(Failed(publish_exit(&err), err.to_string())),
        }
    });
    match result {
        Ok(()) => Exit::Ok.into(),
        Err(Failed(exit, message)) => {
            eprintln!("error: {message}");
            exit.into()
        }
    }
}

/// `--watch`: publishes the channel's value, then each new one, until SIGTERM or SIGINT.
async fn watch(args: &PublishArgs, publisher: &mut Publisher) -> Result<(), Failed> {
    let reader = open_reader(&args.path, publisher.channel_type())?;
    // What the server holds: a restarted publisher does not publish the same value again.
    let head =
        publisher.rebase().await.map_err(|err| Failed(publish_exit(&err), err.to_string()))?;
    let mut on_server = head.map(|version| (version.manifest.size, version.manifest.checksum));
    let mut published = 0; // the last generation published (or found on the server)
    let mut delay = Duration::from_millis(200);
    let shutdown = crate::follow::signals(None);
    tokio::pin!(shutdown);
    loop {
        if reader.generation() == published {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = wait_for_change(&reader, published) => continue,
            }
        }
        let (archive, generation) = current_value(&reader, &args.path)?;
        if let Some((size, checksum)) = on_server.take()
            && (size, checksum) == (archive.len() as u64, checksum_of(&archive))
        {
            info!(generation, "the channel on the server holds this value already");
            published = generation;
            continue;
        }
        let result = tokio::select! {
            () = &mut shutdown => return Ok(()),
            result = publisher.publish_archive(&archive) => result,
        };
        match result {
            Ok(receipt) => {
                let from = format!("generation {generation} of {}", args.path.display());
                print_receipt(&args.source.channel, &receipt, &from);
                (published, delay) = (generation, Duration::from_millis(200));
            }
            Err(PublishError::Source(err)) => {
                warn!("{err}; publishing again in {delay:?}");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(err) => return Err(Failed(publish_exit(&err), err.to_string())),
        }
    }
}

/// Completes once the channel's generation is not `since` any more (or after a second, to
/// look at the shutdown signal again).
async fn wait_for_change(reader: &DynReader, since: u64) {
    let reader = reader.clone();
    let wait = tokio::task::spawn_blocking(move || {
        let _ = reader.wait_for_change(since, Duration::from_secs(1));
    });
    let _ = wait.await;
}

/// A reader of the channel at `path`, which must still hold values of `ty`.
fn open_reader(path: &Path, ty: &ChannelType) -> Result<DynReader, Failed> {
    let reader = DynReader::open(path).map_err(local_channel(path))?;
    if reader.schema().fingerprint != ty.fingerprint || reader.structure() != &ty.structure {
        return Err(Failed(
            Exit::InvalidInput,
            format!("{}: the channel changed its type while being opened", path.display()),
        ));
    }
    Ok(reader)
}

/// The channel's current value, copied out (the copy is not pinned while it is uploaded), and
/// its generation.
fn current_value(reader: &DynReader, path: &Path) -> Result<(Vec<u8>, u64), Failed> {
    let guard = reader.read().map_err(local_channel(path))?;
    Ok((guard.bytes().to_vec(), guard.generation()))
}

/// A local channel that cannot be published from: nothing in it, no structure recorded, not
/// readable.
fn local_channel(path: &Path) -> impl Fn(mmap_sync::Error) -> Failed + '_ {
    move |err| {
        let message = match err {
            mmap_sync::Error::NotPublished { .. } => {
                format!("nothing is published in the channel at {}", path.display())
            }
            mmap_sync::Error::NoStructure { .. } => format!(
                "{err}: the relay publishes channels whose type records its structure (types \
                 that derive SharedState)"
            ),
            err => err.to_string(),
        };
        Failed(Exit::InvalidInput, message)
    }
}

fn publish_exit(err: &PublishError) -> Exit {
    match err {
        PublishError::Conflict { .. } => Exit::Conflict,
        PublishError::InvalidArchive { .. }
        | PublishError::TooLarge { .. }
        | PublishError::Unpublishable { .. } => Exit::InvalidInput,
        PublishError::Source(_) => Exit::Unreachable,
        _ => Exit::Failure,
    }
}

fn print_receipt(channel: &str, receipt: &Receipt, from: &str) {
    println!(
        "published {channel} revision {} ({} bytes, {}) replacing {}, from {from}",
        receipt.revision,
        receipt.manifest.size,
        receipt.manifest.digest,
        receipt.replaced.map_or_else(|| "nothing".into(), |r| format!("revision {r}"))
    );
}
