//! `mmap-sync-relay publish`: publish a new version of a channel.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mmap_sync::rkyv::{self, rancor};
use mmap_sync_relay::{PublishError, Publisher};

use crate::args::{SourceArgs, parse_duration};
use crate::exit::Exit;
use crate::types::{ExampleSize, ForType, Relayed, dispatch};

#[derive(Args, Debug)]
pub struct PublishArgs {
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

pub fn run(args: PublishArgs) -> ExitCode {
    dispatch(args.source.type_, args)
}

impl ForType for PublishArgs {
    type Output = ExitCode;

    fn run<T: Relayed>(self) -> ExitCode {
        publish::<T>(self)
    }
}

fn publish<T: Relayed>(args: PublishArgs) -> ExitCode {
    let archive = match (&args.file, args.example) {
        (Some(file), _) => match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(err) => {
                eprintln!("error: {}: {err}", file.display());
                return Exit::InvalidInput.into();
            }
        },
        (None, Some(version)) => {
            let size = ExampleSize {
                routes: args.routes,
                entities: args.entities,
                dimension: args.dimension,
            };
            match rkyv::to_bytes::<rancor::Error>(&T::example(version, size)) {
                Ok(bytes) => bytes.to_vec(),
                Err(err) => {
                    eprintln!("error: archiving the example: {err}");
                    return Exit::Failure.into();
                }
            }
        }
        (None, None) => unreachable!("clap requires --file or --example"),
    };
    let connection = match args.source.connection.connection() {
        Ok(connection) => connection,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage.into();
        }
    };
    crate::runtime().block_on(async move {
        let mut publisher =
            match Publisher::<T>::connect_with(&connection, &args.source.channel).await {
                Ok(publisher) => publisher.retention(args.keep, args.grace),
                Err(err) => {
                    eprintln!("error: {err}");
                    return Exit::Unreachable.into();
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
                Exit::Ok.into()
            }
            Err(err) => {
                eprintln!("error: {err}");
                match err {
                    PublishError::Conflict { .. } => Exit::Conflict,
                    PublishError::InvalidArchive { .. } | PublishError::TooLarge { .. } => {
                        Exit::InvalidInput
                    }
                    PublishError::Source(_) => Exit::Unreachable,
                    _ => Exit::Failure,
                }
                .into()
            }
        }
    })
}
