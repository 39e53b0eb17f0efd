//! `mmap-sync-relay status`: what a relay's status file says, and whether it is healthy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mmap_sync_relay::manifest::unix_millis;
use mmap_sync_relay::status::{State, Status, status_path};

use crate::args::parse_duration;
use crate::exit::Exit;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Path prefix of the channel the relay writes.
    #[arg(long, required_unless_present_any = ["status_file", "config"])]
    path: Option<PathBuf>,
    /// Show every channel of this `follow --config` file (the exit code is the worst one's).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["path", "status_file"])]
    config: Option<PathBuf>,
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

pub fn run(args: StatusArgs) -> ExitCode {
    let path = match (&args.config, &args.status_file, &args.path) {
        (Some(config), ..) => return every_channel(config, &args).into(),
        (None, Some(file), _) => file.clone(),
        (None, None, Some(path)) => status_path(path),
        (None, None, None) => unreachable!("clap requires --path, --status-file or --config"),
    };
    if args.json {
        let (exit, status) = evaluate(&path, &args);
        match status {
            Ok(status) => {
                println!("{}", serde_json::to_string_pretty(&status).expect("status serializes"))
            }
            Err(err) => eprintln!("error: {err}"),
        }
        exit.into()
    } else {
        show(&path, &args).into()
    }
}

/// `status --config`: every channel, one after the other (as a JSON array with `--json`).
fn every_channel(config: &Path, args: &StatusArgs) -> Exit {
    let channels = match crate::config::status_files(config) {
        Ok(channels) => channels,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage;
        }
    };
    let mut worst = Exit::Ok;
    let mut json = Vec::new();
    for (index, (name, path, status_file)) in channels.iter().enumerate() {
        let exit = if args.json {
            let (exit, status) = evaluate(status_file, args);
            json.push(serde_json::json!({
                "name": name,
                "path": path,
                "status_file": status_file,
                "exit_code": exit as u8,
                "status": status.as_ref().ok(),
                "error": status.as_ref().err(),
            }));
            exit
        } else {
            if index > 0 {
                println!();
            }
            println!("== {name} ({})", path.display());
            show(status_file, args)
        };
        worst = worst.max(exit);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json).expect("statuses serialize"));
    }
    worst
}

/// Prints the status file at `path` and returns its verdict.
fn show(path: &Path, args: &StatusArgs) -> Exit {
    let (exit, status) = evaluate(path, args);
    match status {
        Ok(status) => {
            let running = exit != Exit::NotRunning;
            print_status(&status, running);
            let silent_ms = unix_millis().saturating_sub(status.updated_at_ms);
            if running && u128::from(silent_ms) > args.stale_after.as_millis() {
                println!(
                    "STALE      no status written for {:.1}s: the relay may be stuck",
                    silent_ms as f64 / 1000.0
                );
            }
        }
        Err(err) => eprintln!("error: {err}"),
    }
    exit
}

/// The status file at `path` and what it means: up to date, behind (or failing, or silent),
/// not running, or no readable file.
fn evaluate(path: &Path, args: &StatusArgs) -> (Exit, Result<Status, String>) {
    let status = match Status::load(path) {
        Ok(Some(status)) => status,
        Ok(None) => {
            return (Exit::NoStatus, Err(format!("no status file at {}", path.display())));
        }
        Err(err) => return (Exit::NoStatus, Err(err)),
    };
    let running =
        status.state != State::Stopped && PathBuf::from(format!("/proc/{}", status.pid)).exists();
    let silent_ms = unix_millis().saturating_sub(status.updated_at_ms);
    let stale = running && u128::from(silent_ms) > args.stale_after.as_millis();
    let exit = if !running {
        Exit::NotRunning
    } else if stale || status.behind > 0 || status.last_error.is_some() {
        Exit::Behind
    } else {
        Exit::Ok
    };
    (exit, Ok(status))
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
