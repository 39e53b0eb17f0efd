//! Times this repository's mmap-sync against upstream mmap-sync 2.0.4 in one process, pair by
//! pair, in interleaved rounds, and prints `name ours upstream ratio` per pair (ratio = ours /
//! upstream). With `--markdown FILE` it also writes the targets table of issue 4 to FILE.
//!
//! Everything lives under /dev/shm in files named after this process id, removed on exit.
//! `rss <ours|upstream> PATH` is the child mode used to measure a fresh reader's memory.

mod measure;
mod types;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use measure::{BATCH, batch, calibrate, interleave, median, pair, quantile};
use types::{ours as o, upstream as u};
use upstream::synchronizer::Synchronizer;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Entries of the string-heavy value (about 10 MB archived).
const STRING_ENTRIES: usize = 100_000;
/// u64s of the large value: 64 MiB.
const BIG_LEN: usize = 64 << 17;
/// Upstream's wait for readers before it resets their count (its sleep step is fixed at 1 s).
const UPSTREAM_GRACE: Duration = Duration::from_millis(100);
/// Writes timed while a reader pins an old copy (ours), and upstream samples (about 1 s each).
const PINNED_WRITES: usize = 2000;
const UPSTREAM_PINNED_SAMPLES: usize = 3;

/// Files of this run: `/dev/shm/mmap_sync_bench_<pid>_<name>...`, all removed on drop.
struct Scratch {
    dir: PathBuf,
    stem: String,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: PathBuf::from("/dev/shm"),
            stem: format!("mmap_sync_bench_{}_", std::process::id()),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}{name}", self.stem))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&self.stem) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// What a row must show to meet its target.
#[derive(Clone, Copy)]
enum Target {
    /// ours / upstream at most this.
    Ratio(f64),
    /// ours at most this, in the row's unit.
    Ours(f64),
    /// Reported for information only.
    None,
}

struct Row {
    name: &'static str,
    path: &'static str,
    payload: String,
    unit: &'static str,
    ours: f64,
    upstream: f64,
    target: Target,
    target_text: &'static str,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.ours / self.upstream
    }

    fn met(&self) -> Option<bool> {
        match self.target {
            Target::Ratio(max) => Some(self.ratio() <= max),
            Target::Ours(max) => Some(self.ours <= max),
            Target::None => None,
        }
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("rss") {
        return rss_child(&args[2], Path::new(&args[3]));
    }
    let markdown = match args.get(1).map(String::as_str) {
        Some("--markdown") => Some(PathBuf::from(args.get(2).ok_or("--markdown needs a file")?)),
        Some(other) => return Err(format!("unknown argument {other}").into()),
        None => None,
    };

    let scratch = Scratch::new();
    let mut rows = Vec::new();
    let mut run = |row: Row| {
        println!("{} {:.1} {:.1} {:.4}", row.name, row.ours, row.upstream, row.ratio());
        rows.push(row);
    };

    let mut hello = Hello::open(&scratch)?;
    for row in hello.reads()? {
        run(row);
    }
    run(hello.two_threads()?);
    run(strings_read(&scratch)?);
    run(hello.write()?);
    run(hello.write_bytes()?);
    run(big_write(&scratch)?);
    run(pinned_write_latency(&scratch)?);
    run(rss(&scratch)?);
    run(hello.open_and_first_read()?);

    if let Some(file) = markdown {
        std::fs::write(file, table(&rows))?;
    }
    Ok(())
}

/// A HelloWorld channel on each side, written once, shared by the small-value pairs.
struct Hello {
    paths: HelloPaths,
    ours_writer: ours::Writer<o::HelloWorld>,
    upstream_writer: Synchronizer,
}

/// Where the HelloWorld channels live; shared with reader threads.
struct HelloPaths {
    ours: PathBuf,
    upstream: PathBuf,
}

impl HelloPaths {
    fn ours_reader(&self) -> Result<ours::Reader<o::HelloWorld>> {
        Ok(ours::Reader::open(&self.ours)?)
    }

    fn upstream_reader(&self) -> Synchronizer {
        Synchronizer::new(self.upstream.as_os_str())
    }
}

impl Hello {
    fn open(scratch: &Scratch) -> Result<Self> {
        let ours_path = scratch.path("hello_ours");
        let upstream_path = scratch.path("hello_upstream");
        let mut ours_writer = ours::Writer::<o::HelloWorld>::open(&ours_path)?;
        let mut upstream_writer = Synchronizer::new(upstream_path.as_os_str());
        ours_writer.write(&o::hello())?;
        upstream_writer.write(&u::hello(), UPSTREAM_GRACE)?;
        let paths = HelloPaths { ours: ours_path, upstream: upstream_path };
        Ok(Hello { paths, ours_writer, upstream_writer })
    }

    /// Safe read (guard plus one field) against upstream's unchecked, then checked, read.
    fn reads(&self) -> Result<Vec<Row>> {
        let reader = self.paths.ours_reader()?;
        let mut sync = self.paths.upstream_reader();
        let mut rows = Vec::new();
        for (check_bytes, name, target, target_text) in [
            (false, "read_hello_vs_unchecked", Target::Ratio(0.9), "ratio <= 0.9"),
            (true, "read_hello_vs_checked", Target::Ratio(0.3), "ratio <= 0.3"),
        ] {
            let (ours, upstream) = pair(
                || {
                    let guard = reader.read().expect("ours: read");
                    black_box(guard.version);
                },
                || {
                    // SAFETY: nothing writes this channel while the pair runs.
                    let value =
                        unsafe { sync.read::<u::HelloWorld>(check_bytes) }.expect("upstream: read");
                    black_box(value.version);
                },
            );
            rows.push(Row {
                name,
                path: if check_bytes {
                    "safe read vs upstream `read(check_bytes=true)`"
                } else {
                    "safe read vs upstream `read(check_bytes=false)` (unchecked)"
                },
                payload: "HelloWorld".into(),
                unit: "ns",
                ours,
                upstream,
                target,
                target_text,
            });
        }
        Ok(rows)
    }

    /// Two threads, each with its own reader, reading as fast as they can: wall time per read
    /// of both together (so ratio <= 0.125 means ours does at least 8x the reads per second).
    fn two_threads(&self) -> Result<Row> {
        let single = {
            let reader = self.paths.ours_reader()?;
            let mut op = || {
                black_box(reader.read().expect("ours: read").version);
            };
            calibrate(&mut op);
            batch(100_000, &mut op)
        };
        let per_thread = (BATCH.as_nanos() as f64 / single) as u64;
        let paths = &self.paths;
        let ours = || {
            aggregate(per_thread, || {
                let reader = paths.ours_reader().expect("ours: open reader");
                move || {
                    black_box(reader.read().expect("ours: read").version);
                }
            })
        };
        let upstream = || {
            aggregate(per_thread / 4, || {
                let mut sync = paths.upstream_reader();
                move || {
                    // SAFETY: nothing writes this channel while the pair runs.
                    let value =
                        unsafe { sync.read::<u::HelloWorld>(false) }.expect("upstream: read");
                    black_box(value.version);
                }
            })
        };
        let (ours, upstream) = interleave(ours, upstream);
        Ok(Row {
            name: "read_hello_2_threads",
            path: "2 reader threads, aggregate time per read (ours safe, upstream unchecked)",
            payload: "HelloWorld".into(),
            unit: "ns",
            ours,
            upstream,
            target: Target::Ratio(0.125),
            target_text: "ratio <= 0.125 (>= 8x reads/s)",
        })
    }

    fn write(&mut self) -> Result<Row> {
        let (ours_value, upstream_value) = (o::hello(), u::hello());
        let (ours, upstream) = pair(
            || {
                black_box(self.ours_writer.write(&ours_value).expect("ours: write"));
            },
            || {
                black_box(
                    self.upstream_writer
                        .write(&upstream_value, UPSTREAM_GRACE)
                        .expect("upstream: write"),
                );
            },
        );
        Ok(Row {
            name: "write_hello",
            path: "write vs upstream `write`",
            payload: "HelloWorld".into(),
            unit: "ns",
            ours,
            upstream,
            target: Target::Ratio(0.5),
            target_text: "ratio <= 0.5",
        })
    }

    /// Pre-archived bytes: `write_bytes` (validates them) against upstream's `write_raw`.
    fn write_bytes(&mut self) -> Result<Row> {
        let ours_bytes = ours::rkyv::to_bytes::<ours::rkyv::rancor::Error>(&o::hello())?;
        let upstream_bytes = rkyv07::to_bytes::<_, 1024>(&u::hello())?;
        let (ours, upstream) = pair(
            || {
                black_box(self.ours_writer.write_bytes(&ours_bytes).expect("ours: write_bytes"));
            },
            || {
                black_box(
                    self.upstream_writer
                        .write_raw::<u::HelloWorld>(&upstream_bytes, UPSTREAM_GRACE)
                        .expect("upstream: write_raw"),
                );
            },
        );
        Ok(Row {
            name: "write_bytes_hello",
            path: "`write_bytes` vs upstream `write_raw`",
            payload: "HelloWorld".into(),
            unit: "ns",
            ours,
            upstream,
            target: Target::None,
            target_text: "(no target)",
        })
    }

    /// Opening a reader and its first (validating) read, against upstream's lazy open and
    /// first checked read.
    fn open_and_first_read(&self) -> Result<Row> {
        let (ours, upstream) = pair(
            || {
                let reader = self.paths.ours_reader().expect("ours: open reader");
                black_box(reader.read().expect("ours: read").version);
            },
            || {
                let mut sync = self.paths.upstream_reader();
                // SAFETY: nothing writes this channel while the pair runs.
                let value = unsafe { sync.read::<u::HelloWorld>(true) }.expect("upstream: read");
                black_box(value.version);
            },
        );
        Ok(Row {
            name: "open_and_first_read_hello",
            path: "open a reader + first read vs upstream `new` + first checked read",
            payload: "HelloWorld".into(),
            unit: "ns",
            ours,
            upstream,
            target: Target::None,
            target_text: "(no target)",
        })
    }
}

/// Wall time per operation of two threads each running `per_thread` operations made by `make`
/// (called on the thread, so each thread opens its own reader).
fn aggregate<M, F>(per_thread: u64, make: M) -> f64
where
    M: Fn() -> F + Sync,
    F: FnMut(),
{
    let per_thread = per_thread.max(1);
    let barrier = Barrier::new(3);
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut op = make();
                for _ in 0..1000 {
                    op();
                }
                barrier.wait();
                for _ in 0..per_thread {
                    op();
                }
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    start.elapsed().as_nanos() as f64 / (2 * per_thread) as f64
}

/// Safe read of a validated ~10 MB string-heavy value against upstream's checked read, which
/// validates the whole archive on every call.
fn strings_read(scratch: &Scratch) -> Result<Row> {
    let ours_path = scratch.path("strings_ours");
    let upstream_path = scratch.path("strings_upstream");
    let mut writer = ours::Writer::<o::Strings>::open(&ours_path)?;
    let bytes = writer.write(&o::strings(STRING_ENTRIES))?.bytes;
    let mut sync_writer = Synchronizer::new(upstream_path.as_os_str());
    let (upstream_bytes, _) = sync_writer.write(&u::strings(STRING_ENTRIES), UPSTREAM_GRACE)?;
    let reader = ours::Reader::<o::Strings>::open(&ours_path)?;
    let mut sync = Synchronizer::new(upstream_path.as_os_str());
    let (ours, upstream) = pair(
        || {
            let guard = reader.read().expect("ours: read");
            black_box(guard.version);
        },
        || {
            // SAFETY: nothing writes this channel while the pair runs.
            let value = unsafe { sync.read::<u::Strings>(true) }.expect("upstream: read");
            black_box(value.version);
        },
    );
    Ok(Row {
        name: "read_strings_vs_checked",
        path: "safe read vs upstream `read(check_bytes=true)`",
        payload: format!(
            "string-heavy, {}k entries ({:.1} MB ours, {:.1} MB upstream)",
            STRING_ENTRIES / 1000,
            bytes as f64 / 1e6,
            upstream_bytes as f64 / 1e6
        ),
        unit: "ns",
        ours,
        upstream,
        target: Target::Ratio(0.001),
        target_text: "ratio <= 0.001",
    })
}

fn big_write(scratch: &Scratch) -> Result<Row> {
    let (ours_value, upstream_value) = (o::big(BIG_LEN), u::big(BIG_LEN));
    let mut writer = ours::Writer::<o::Big>::open(scratch.path("big_ours"))?;
    let mut sync = Synchronizer::new(scratch.path("big_upstream").as_os_str());
    let (ours, upstream) = pair(
        || {
            black_box(writer.write(&ours_value).expect("ours: write"));
        },
        || {
            black_box(sync.write(&upstream_value, UPSTREAM_GRACE).expect("upstream: write"));
        },
    );
    Ok(Row {
        name: "write_vec_64mib",
        path: "write vs upstream `write`",
        payload: "64 MiB `Vec<u64>`".into(),
        unit: "ns",
        ours,
        upstream,
        target: Target::Ratio(0.6),
        target_text: "ratio <= 0.6",
    })
}

/// p99 write latency while a reader holds a guard on a copy that is no longer active.
///
/// Ours: 3 copies, so the writer rotates through the two unpinned ones. Upstream has two copies;
/// each sample pins the active one (its guard is leaked, so the count stays up), writes once
/// (to the other copy) and times the second write, which finds the pinned copy, sleeps its
/// fixed 1 s step, then resets the count and overwrites the copy under the reader.
fn pinned_write_latency(scratch: &Scratch) -> Result<Row> {
    let ours_path = scratch.path("pinned_ours");
    let value = o::hello();
    let mut writer = ours::Writer::<o::HelloWorld>::builder()
        .copies(3)
        .max_wait(Duration::from_secs(1))
        .open(&ours_path)?;
    for _ in 0..3 {
        writer.write(&value)?;
    }
    let reader = ours::Reader::<o::HelloWorld>::open(&ours_path)?;
    let guard = reader.read()?;
    let mut samples = Vec::with_capacity(PINNED_WRITES);
    for _ in 0..PINNED_WRITES {
        let start = Instant::now();
        black_box(writer.write(&value)?);
        samples.push(start.elapsed().as_nanos() as f64);
    }
    drop(guard);
    let ours = quantile(samples, 0.99);

    let upstream_path = scratch.path("pinned_upstream");
    let value = u::hello();
    let mut sync_writer = Synchronizer::new(upstream_path.as_os_str());
    sync_writer.write(&value, UPSTREAM_GRACE)?;
    let mut sync_reader = Synchronizer::new(upstream_path.as_os_str());
    let mut samples = Vec::with_capacity(UPSTREAM_PINNED_SAMPLES);
    for _ in 0..UPSTREAM_PINNED_SAMPLES {
        // SAFETY: the guard is leaked, never dereferenced after the writer resets it.
        std::mem::forget(unsafe { sync_reader.read::<u::HelloWorld>(false) }?);
        sync_writer.write(&value, UPSTREAM_GRACE)?;
        let start = Instant::now();
        black_box(sync_writer.write(&value, UPSTREAM_GRACE)?);
        samples.push(start.elapsed().as_nanos() as f64);
    }
    let upstream = quantile(samples, 0.99);
    Ok(Row {
        name: "write_p99_reader_pins_old_copy",
        path: "writer latency p99 while a reader pins an old copy (ours: 3 copies)",
        payload: "HelloWorld".into(),
        unit: "ns",
        ours,
        upstream,
        target: Target::Ours(100_000.0),
        target_text: "ours p99 <= 100 us",
    })
}

/// RssAnon of a fresh reader process after reading one field of a 64 MiB value, minus the same
/// for an empty value, each the median of three child processes.
fn rss(scratch: &Scratch) -> Result<Row> {
    let mut deltas = Vec::new();
    for side in ["ours", "upstream"] {
        let empty = scratch.path(&format!("rss_empty_{side}"));
        let full = scratch.path(&format!("rss_full_{side}"));
        // Keep the writers open while the children read, as on a live channel.
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        for (path, len) in [(&empty, 0), (&full, BIG_LEN)] {
            if side == "ours" {
                let mut w = ours::Writer::<o::Big>::open(path)?;
                w.write(&o::big(len))?;
                keep.push(Box::new(w));
            } else {
                let mut w = Synchronizer::new(path.as_os_str());
                w.write(&u::big(len), UPSTREAM_GRACE)?;
                keep.push(Box::new(w));
            }
        }
        let child = |path: &Path| -> Result<f64> {
            let mut runs = Vec::new();
            for _ in 0..3 {
                let out = std::process::Command::new(std::env::current_exe()?)
                    .arg("rss")
                    .arg(side)
                    .arg(path)
                    .output()?;
                if !out.status.success() {
                    return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
                }
                runs.push(String::from_utf8(out.stdout)?.trim().parse::<f64>()?);
            }
            Ok(median(runs))
        };
        deltas.push(child(&full)? - child(&empty)?);
    }
    Ok(Row {
        name: "reader_rss_anon_64mib_minus_empty",
        path: "reader RssAnon after reading one field of a 64 MiB value, minus an empty value's",
        payload: "64 MiB `Vec<u64>`".into(),
        unit: "KiB",
        ours: deltas[0],
        upstream: deltas[1],
        target: Target::Ours(4096.0),
        target_text: "ours <= 4096 KiB",
    })
}

/// Child mode: open a reader at `path`, read one field, print RssAnon in KiB.
fn rss_child(side: &str, path: &Path) -> Result<()> {
    match side {
        "ours" => {
            let reader = ours::Reader::<o::Big>::open(path)?;
            let guard = reader.read()?;
            black_box(guard.version);
            println!("{}", rss_anon_kib()?);
        }
        "upstream" => {
            let mut sync = Synchronizer::new(path.as_os_str());
            // SAFETY: the writer does not write this channel again.
            let value = unsafe { sync.read::<u::Big>(true) }?;
            black_box(value.version);
            println!("{}", rss_anon_kib()?);
        }
        other => return Err(format!("unknown side {other}").into()),
    }
    Ok(())
}

fn rss_anon_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .ok_or("no RssAnon in /proc/self/status")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| path | payload | ours | upstream 2.0.4 | ratio | target | met |\n\
         | --- | --- | ---: | ---: | ---: | --- | --- |\n",
    );
    for row in rows {
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.path,
            row.payload,
            human(row.ours, row.unit),
            human(row.upstream, row.unit),
            ratio_text(row.ratio()),
            row.target_text,
            met
        ));
    }
    out
}

fn ratio_text(ratio: f64) -> String {
    if !ratio.is_finite() || ratio <= 0.0 {
        "-".into()
    } else if ratio < 0.01 {
        format!("{ratio:.2e}")
    } else {
        format!("{ratio:.3}")
    }
}

/// A value in its unit, with ns scaled to the most readable unit.
fn human(value: f64, unit: &str) -> String {
    if unit != "ns" {
        return format!("{value:.0} {unit}");
    }
    if value >= 1e9 {
        format!("{:.2} s", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.2} ms", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.2} µs", value / 1e3)
    } else {
        format!("{value:.1} ns")
    }
}
