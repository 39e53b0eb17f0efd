//! `mmap-sync-relay status`: what a relay's status file says, and whether it is healthy.

use std::path::PathBuf;
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

pub fn run(args: StatusArgs) -> ExitCode {
    let path = match (&args.status_file, &args.path) {
        (Some(file), _) => file.clone(),
        (None, Some(path)) => status_path(path),
        (None, None) => unreachable!("clap requires --path or --status-file"),
    };
    let status = match Status::load(&path) {
        Ok(Some(status)) => status,
        Ok(None) => {
            eprintln!("error: no status file at {}", path.display());
            return Exit::NoStatus.into();
        }
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::NoStatus.into();
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
        Exit::NotRunning.into()
    } else if stale || status.behind > 0 || status.last_error.is_some() {
        Exit::Behind.into()
    } else {
        Exit::Ok.into()
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
