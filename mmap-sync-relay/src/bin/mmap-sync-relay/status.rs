//! `mmap-sync-relay status`: what a relay's status file says, and whether it is healthy.
//!
//! Beside the status file (which only the relay holding the channel writes) there may be the
//! record of a relay that cannot open the channel. It is shown instead of the status file when
//! no running relay writes that file and the record is the newer, and besides it when both
//! relays run (two relays configured for one channel); either way a running relay that cannot
//! open its channel makes the verdict "failing" (exit code 9).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mmap_sync_relay::manifest::unix_millis;
use mmap_sync_relay::status::{State, Status, cannot_open_path, process_exists, status_path};

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
    /// Print the status record's JSON instead of a summary (with --config, an array that also
    /// holds, under "cannot_open", the record of another running relay that cannot open the
    /// channel).
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
        let seen = evaluate(&path, &args);
        match seen.status {
            Ok(status) => {
                println!("{}", serde_json::to_string_pretty(&status).expect("status serializes"))
            }
            Err(err) => eprintln!("error: {err}"),
        }
        seen.exit.into()
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
            let seen = evaluate(status_file, args);
            json.push(serde_json::json!({
                "name": name,
                "path": path,
                "status_file": status_file,
                "exit_code": seen.exit as u8,
                "status": seen.status.as_ref().ok(),
                "error": seen.status.as_ref().err(),
                "cannot_open": seen.cannot_open,
            }));
            seen.exit
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

/// Prints what the status file at `path` (and the record of a relay that cannot open the
/// channel, beside it) says, and returns the verdict.
fn show(path: &Path, args: &StatusArgs) -> Exit {
    let seen = evaluate(path, args);
    match &seen.status {
        Ok(status) => {
            print_status(status, seen.running);
            if let Some(silent_ms) = seen.stale_ms {
                println!(
                    "STALE      no status written for {:.1}s: the relay may be stuck",
                    silent_ms as f64 / 1000.0
                );
            }
        }
        Err(err) => eprintln!("error: {err}"),
    }
    if let Some(other) = &seen.cannot_open {
        println!("also       relay pid {} running, {}", other.pid, cannot_open_line(other));
    }
    seen.exit
}

/// What `status` makes of a channel's records.
struct Seen {
    exit: Exit,
    /// The record shown: the status file, or the record of a relay that cannot open the
    /// channel when no running relay writes the status file and that record is newer.
    status: Result<Status, String>,
    /// A running relay that cannot open the channel, when the record shown is another's (two
    /// relays for one channel: the one holding it writes the status file).
    cannot_open: Option<Status>,
    /// Whether the relay that wrote the record shown still runs.
    running: bool,
    /// How long the running relay has written no status, in milliseconds, when that is longer
    /// than `--stale-after`.
    stale_ms: Option<u64>,
}

/// Whether the relay that wrote `status` still runs (and did not stop following).
fn running(status: &Status) -> bool {
    status.state != State::Stopped && process_exists(status.pid)
}

/// The status file at `path`, the record beside it of a relay that cannot open the channel,
/// and what they mean: up to date, behind (or failing, or silent, or unable to open the
/// channel), not running, or no readable record.
fn evaluate(path: &Path, args: &StatusArgs) -> Seen {
    // A damaged record of a failed open is no worse than none: the status file still speaks.
    let failed_open = Status::load(&cannot_open_path(path)).ok().flatten();
    let status = match Status::load(path) {
        Ok(Some(status)) => Ok(status),
        Ok(None) => Err(format!("no status file at {}", path.display())),
        Err(err) => Err(err),
    };
    let (status, cannot_open) = match (status, failed_open) {
        (Ok(status), Some(failed)) if running(&status) => {
            let other = running(&failed).then_some(failed);
            (Ok(status), other)
        }
        (Ok(status), Some(failed))
            if running(&failed) || failed.updated_at_ms > status.updated_at_ms =>
        {
            (Ok(failed), None)
        }
        (Err(_), Some(failed)) => (Ok(failed), None),
        (status, _) => (status, None),
    };
    let Ok(shown) = &status else {
        return Seen { exit: Exit::NoStatus, status, cannot_open, running: false, stale_ms: None };
    };
    let running = running(shown);
    let silent_ms = unix_millis().saturating_sub(shown.updated_at_ms);
    let stale_ms =
        (running && u128::from(silent_ms) > args.stale_after.as_millis()).then_some(silent_ms);
    let exit = if !running {
        Exit::NotRunning
    } else if stale_ms.is_some()
        || shown.behind > 0
        || shown.last_error.is_some()
        || cannot_open.is_some()
    {
        Exit::Behind
    } else {
        Exit::Ok
    };
    Seen { exit, status, cannot_open, running, stale_ms }
}

/// "cannot open the channel (3 attempts since 12.0s ago): REASON".
fn cannot_open_line(record: &Status) -> String {
    let since = unix_millis().saturating_sub(record.started_at_ms) as f64 / 1000.0;
    let reason = record.last_error.as_ref().map_or("(no reason recorded)", |e| &e.message);
    format!(
        "cannot open the channel ({} attempt(s) since {since:.1}s ago): {reason}",
        record.counters.retries + 1
    )
}

fn print_status(status: &Status, running: bool) {
    let now = unix_millis();
    let ago = |ms: u64| format!("{:.1}s ago", now.saturating_sub(ms) as f64 / 1000.0);
    match (status.type_name.as_str(), status.state) {
        // A relay that cannot open its channel and expects no type in particular.
        ("", State::CannotOpen) => println!("channel    {}", status.channel),
        ("", _) => println!("channel    {} (none yet: the first version makes it)", status.channel),
        (type_name, _) => println!("channel    {} ({type_name})", status.channel),
    }
    println!("source     {}", status.source);
    println!(
        "relay      pid {} {} ({:?}), status written {}",
        status.pid,
        if running { "running" } else { "NOT RUNNING" },
        status.state,
        ago(status.updated_at_ms)
    );
    if status.state == State::CannotOpen {
        // Nothing else is known: the relay never held the channel.
        println!("CANNOT OPEN {}", cannot_open_line(status).trim_start_matches("cannot open "));
        return;
    }
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
