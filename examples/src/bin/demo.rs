//! The demo: one writer process and several reader processes share a `HelloWorld` channel on
//! `/dev/shm`. Once a second it prints the published generation, the readers' total reads per
//! second and the read latency percentiles; at the end, a summary.
//!
//! ```text
//! cargo run --release -p mmap-sync-examples --bin demo -- [--seconds 10] [--readers 3]
//!                                                          [--interval-ms 1]
//! ```
//!
//! Every read is also checked: the writer publishes `version == generation`, and a reader that
//! ever saw them disagree (a torn or stale read) makes the demo fail.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mmap_sync::{Reader, Writer};
use mmap_sync_schemas::HelloWorld;

struct Options {
    seconds: u64,
    readers: usize,
    interval: Duration,
    role: Option<String>,
    path: Option<PathBuf>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        seconds: 10,
        readers: 3,
        interval: Duration::from_millis(1),
        role: None,
        path: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                options.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?
            }
            "--readers" => {
                options.readers = value()?.parse().map_err(|e| format!("--readers: {e}"))?
            }
            "--interval-ms" => {
                options.interval = Duration::from_millis(
                    value()?.parse().map_err(|e| format!("--interval-ms: {e}"))?,
                )
            }
            "--role" => options.role = Some(value()?),
            "--path" => options.path = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                return Err("usage: demo [--seconds N] [--readers N] [--interval-ms N]".into());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if options.readers == 0 || options.seconds == 0 {
        return Err("--readers and --seconds must be at least 1".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let result = match (options.role.as_deref(), &options.path) {
        (None, _) => run_demo(&options),
        (Some("writer"), Some(path)) => run_writer(path, &options),
        (Some("reader"), Some(path)) => run_reader(path, &options),
        _ => Err("--role needs writer or reader, and --path".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

type DemoResult = Result<(), String>;

/// Latency histogram: 4 ns buckets below 1 µs, then one bucket per power of two.
struct Histogram([u64; Histogram::BUCKETS]);

impl Histogram {
    const BUCKETS: usize = 256 + 54;

    fn new() -> Self {
        Histogram([0; Self::BUCKETS])
    }

    fn record(&mut self, nanos: u64) {
        let index = if nanos < 1024 {
            (nanos / 4) as usize
        } else {
            (256 + (63 - nanos.leading_zeros() as usize) - 10).min(Self::BUCKETS - 1)
        };
        self.0[index] += 1;
    }

    /// Upper bound of bucket `index`, in nanoseconds.
    fn bound(index: usize) -> u64 {
        if index < 256 { (index as u64 + 1) * 4 } else { 1u64 << (index - 256 + 11) }
    }

    fn percentile(&self, fraction: f64) -> u64 {
        let total: u64 = self.0.iter().sum();
        let target = ((total as f64) * fraction).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.0.iter().enumerate() {
            seen += count;
            if seen >= target {
                return Self::bound(index);
            }
        }
        0
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    fn encode(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| format!("{i}:{c}"))
            .collect();
        pairs.join(",")
    }

    fn decode(text: &str) -> Histogram {
        let mut histogram = Histogram::new();
        for pair in text.split(',').filter(|p| !p.is_empty()) {
            if let Some((i, c)) = pair.split_once(':')
                && let (Ok(i), Ok(c)) = (i.parse::<usize>(), c.parse::<u64>())
                && i < Self::BUCKETS
            {
                histogram.0[i] += c;
            }
        }
        histogram
    }
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The writer process: publishes `version == generation` every interval.
fn run_writer(path: &Path, options: &Options) -> DemoResult {
    let mut writer: Writer<HelloWorld> = Writer::open(path).map_err(|e| e.to_string())?;
    let mut value = HelloWorld {
        version: 0,
        messages: vec!["Hello".to_string(), "World".to_string(), "!".to_string()],
    };
    let deadline =
        Instant::now() + Duration::from_secs(options.seconds) + Duration::from_millis(500);
    let mut published = 0u64;
    while Instant::now() < deadline {
        value.version = (writer.generation() + 1) as u32;
        writer.write(&value).map_err(|e| e.to_string())?;
        published += 1;
        std::thread::sleep(options.interval);
    }
    say(format!("published {published}"));
    Ok(())
}

/// A reader process: reads as fast as it can, timing one read in 16, and reports each second.
fn run_reader(path: &Path, options: &Options) -> DemoResult {
    let reader: Reader<HelloWorld> =
        Reader::builder().open_wait(path, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    while reader.generation() == 0 {
        reader.wait_for_change(0, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let mut histogram = Histogram::new();
    let (mut reads, mut mismatches) = (0u64, 0u64);
    let mut second = 1;
    loop {
        for i in 0..1024u32 {
            let timed = i % 16 == 0;
            let t0 = timed.then(Instant::now);
            let guard = reader.read().map_err(|e| e.to_string())?;
            let consistent =
                u64::from(guard.version.to_native()) == guard.generation() & 0xffff_ffff;
            drop(guard);
            if let Some(t0) = t0 {
                histogram.record(t0.elapsed().as_nanos() as u64);
            }
            mismatches += u64::from(!consistent);
        }
        reads += 1024;
        if start.elapsed() >= Duration::from_secs(second) {
            say(format!("stats {second} {reads} {mismatches} {}", histogram.encode()));
            histogram = Histogram::new();
            reads = 0;
            if second == options.seconds {
                return Ok(());
            }
            second += 1;
        }
    }
}

fn spawn(exe: &Path, args: &[&str]) -> Result<Child, String> {
    Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))
}

/// The cost of one timer pair, which every timed read includes.
fn timer_overhead() -> u64 {
    (0..10_000).map(|_| Instant::now().elapsed().as_nanos() as u64).min().unwrap_or(0)
}

/// The files of the demo's channel, every one of them (the writer's lock file too) removed when
/// dropped, however the demo ends.
struct RemovedOnDrop(mmap_sync::ChannelPaths);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        for file in self.0.all(mmap_sync::format::MAX_COPIES) {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn run_demo(options: &Options) -> DemoResult {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = mmap_sync_examples::shm_dir();
    let path = dir.join(format!("mmap_sync_demo_{}", std::process::id()));
    let files = RemovedOnDrop(mmap_sync::ChannelPaths::new(&path));
    let path_arg = path.to_str().ok_or("non-UTF-8 temp path")?.to_owned();
    let seconds = options.seconds.to_string();
    let interval = options.interval.as_millis().to_string();
    println!(
        "mmap-sync demo: 1 writer (publishing every {} ms), {} readers, {} s, channel {}",
        options.interval.as_millis(),
        options.readers,
        options.seconds,
        path.display()
    );
    println!(
        "latency is measured on one read in 16 and includes ~{} ns of timer overhead",
        timer_overhead()
    );

    let common = [
        "--path",
        path_arg.as_str(),
        "--seconds",
        seconds.as_str(),
        "--interval-ms",
        interval.as_str(),
    ];
    let mut children = Vec::new();
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let writer = spawn(&exe, &[&["--role", "writer"][..], &common].concat())?;
    children.push(writer);
    for _ in 0..options.readers {
        children.push(spawn(&exe, &[&["--role", "reader"][..], &common].concat())?);
    }
    for (index, child) in children.iter_mut().enumerate() {
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((index, line));
            }
        });
    }
    drop(tx);

    let observer: Option<Reader<HelloWorld>> =
        Reader::builder().open_wait(&path, Duration::from_secs(10)).ok();
    let mut total = Histogram::new();
    let (mut total_reads, mut mismatches, mut published) = (0u64, 0u64, None);
    let mut per_second: std::collections::BTreeMap<u64, Vec<(u64, Histogram)>> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(options.seconds + 30);
    println!("{:>5}  {:>12}  {:>14}  {:>8}  {:>8}", "time", "generation", "reads/s", "p50", "p99");
    while let Ok((index, line)) =
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["published", n] => published = n.parse::<u64>().ok(),
            ["stats", second, reads, bad, rest @ ..] => {
                let (Ok(second), Ok(reads), Ok(bad)) =
                    (second.parse(), reads.parse(), bad.parse::<u64>())
                else {
                    continue;
                };
                mismatches += bad;
                let histogram = Histogram::decode(rest.first().copied().unwrap_or(""));
                let entry = per_second.entry(second).or_default();
                entry.push((reads, histogram));
                if entry.len() == options.readers {
                    let mut merged = Histogram::new();
                    let mut reads = 0;
                    for (r, h) in entry.iter() {
                        reads += r;
                        merged.merge(h);
                    }
                    let generation = observer.as_ref().map_or(0, Reader::generation);
                    println!(
                        "{:>4}s  {:>12}  {:>14}  {:>6}ns  {:>6}ns",
                        second,
                        generation,
                        format_rate(reads),
                        merged.percentile(0.50),
                        merged.percentile(0.99)
                    );
                    total_reads += reads;
                    total.merge(&merged);
                    per_second.remove(&second);
                }
            }
            _ => println!("[{index}] {line}"),
        }
    }

    let mut failed = Vec::new();
    for (index, mut child) in children.into_iter().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("process {index} exited with {status}")),
            Err(e) => failed.push(format!("process {index}: {e}")),
        }
    }
    drop(files);

    println!();
    println!("summary");
    println!("  generations published  {}", published.map_or("?".into(), |p| p.to_string()));
    println!(
        "  reads                  {total_reads} ({} per second)",
        format_rate(total_reads / options.seconds)
    );
    println!(
        "  read latency           p50 {} ns, p99 {} ns, p99.9 {} ns",
        total.percentile(0.50),
        total.percentile(0.99),
        total.percentile(0.999)
    );
    println!("  inconsistent reads     {mismatches}");
    if mismatches > 0 {
        failed
            .push(format!("{mismatches} reads saw a version that disagrees with their generation"));
    }
    if total_reads == 0 {
        failed.push("no reads were reported".into());
    }
    if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) }
}

fn format_rate(per_second: u64) -> String {
    match per_second {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
