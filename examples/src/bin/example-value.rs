//! Writes one version of an example value into a local channel and exits: what a program that
//! produces a value does, for trying the relay (`mmap-sync-relay publish --path` sends the
//! channel's value to the other hosts, which know no Rust type).
//!
//! ```text
//! cargo run -p mmap-sync-examples --bin example-value -- TYPE --version N --path PREFIX
//!     [--routes N]                      routing-table: routes (default 8)
//!     [--entities N] [--dimension N]    feature-table: entities (default 1024), features each (64)
//! ```
//!
//! `TYPE` is `hello-world`, `routing-table` or `feature-table` (the `mmap-sync-schemas` types).
//! The channel keeps the value after the program ends; running it again publishes the next
//! generation. The new generation is printed.

use std::path::PathBuf;
use std::process::ExitCode;

use mmap_sync::{SharedState, Writer};
use mmap_sync_schemas::{FeatureTable, HelloWorld, RoutingTable};

struct Options {
    kind: String,
    version: u64,
    path: PathBuf,
    routes: usize,
    entities: u64,
    dimension: u32,
}

const USAGE: &str = "usage: example-value hello-world|routing-table|feature-table --version N \
                     --path PREFIX [--routes N] [--entities N] [--dimension N]";

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().ok_or(USAGE)?;
    let (mut version, mut path) = (None, None);
    let (mut routes, mut entities, mut dimension) = (8, 1024, 64);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--version" => version = Some(value()?.parse().map_err(|e| format!("--version: {e}"))?),
            "--path" => path = Some(PathBuf::from(value()?)),
            "--routes" => routes = value()?.parse().map_err(|e| format!("--routes: {e}"))?,
            "--entities" => entities = value()?.parse().map_err(|e| format!("--entities: {e}"))?,
            "--dimension" => {
                dimension = value()?.parse().map_err(|e| format!("--dimension: {e}"))?
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Options {
        kind,
        version: version.ok_or("--version is required")?,
        path: path.ok_or("--path is required")?,
        routes,
        entities,
        dimension,
    })
}

/// Publishes `value` as the next generation of the channel at `path`.
fn write<T: SharedState>(path: &PathBuf, value: &T) -> Result<u64, String> {
    let mut writer = Writer::<T>::open(path).map_err(|e| e.to_string())?;
    writer.write(value).map(|published| published.generation).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let (path, version) = (&options.path, options.version);
    let written = match options.kind.as_str() {
        "hello-world" => write(
            path,
            &HelloWorld {
                version: version as u32,
                messages: vec!["Hello".into(), "World".into(), format!("version {version}")],
            },
        ),
        "routing-table" => write(path, &RoutingTable::example(version, options.routes)),
        "feature-table" => {
            write(path, &FeatureTable::synthetic(version, options.entities, options.dimension))
        }
        other => Err(format!("unknown type {other:?}\n{USAGE}")),
    };
    match written {
        Ok(generation) => {
            println!(
                "{}: {} version {version} as generation {generation}",
                path.display(),
                options.kind
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("example-value: {err}");
            ExitCode::FAILURE
        }
    }
}
