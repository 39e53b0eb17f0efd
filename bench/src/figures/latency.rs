//! Read latency while a large value is republished: every read of four threads timed on its
//! own, slow reads told apart by whether a validation caused them.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::reading_threads::{Mode, TABLE_COPIES, TABLE_ENTRIES, delta, spawn_readers, sum};
use crate::harness::measure::Histogram;
use crate::harness::report::{Row, Section, Target, Unit, ns};
use crate::harness::{Context, Outcome, Result, StopOnDrop, sys};
use crate::values::ours as o;

/// A read slower than this is a "slow read" (#9).
const SLOW_NS: u64 = 100_000;

/// A thread of this process that publishes the table at a fixed interval, between `go` and
/// `stop`.
struct Republisher {
    go: mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<u64, String>>,
}

impl Republisher {
    /// Opens a writer on a new channel at `path` and publishes once; after [`go`](Self::go)
    /// the thread publishes every `interval` until [`stop`](Self::stop).
    fn start(path: &Path, interval: Duration) -> Result<Republisher> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let (path, flag) = (path.to_owned(), stop.clone());
        let thread = std::thread::spawn(move || -> Result<u64, String> {
            let fail = |e: &dyn std::fmt::Display| e.to_string();
            let mut value = o::strings(TABLE_ENTRIES);
            let mut writer = ours::Writer::<o::Strings>::builder()
                .copies(TABLE_COPIES)
                .open(&path)
                .map_err(|e| fail(&e))?;
            writer.write(&value).map_err(|e| fail(&e))?;
            let _ = ready_tx.send(());
            if go_rx.recv().is_err() {
                return Ok(0);
            }
            let mut publishes = 0;
            let mut next = Instant::now();
            // Relaxed: a stop flag; the join orders everything else.
            while !flag.load(Ordering::Relaxed) {
                next += interval;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                value.version += 1;
                writer.write(&value).map_err(|e| fail(&e))?;
                publishes += 1;
            }
            Ok(publishes)
        });
        ready_rx.recv_timeout(Duration::from_secs(60)).map_err(|_| "the writer did not start")?;
        Ok(Republisher { go, stop, thread })
    }

    fn go(&self) {
        let _ = self.go.send(());
    }

    /// Stops publishing; returns the publishes made after the first.
    fn stop(self) -> Result<u64> {
        // Relaxed: see the loop.
        self.stop.store(true, Ordering::Relaxed);
        drop(self.go);
        Ok(self.thread.join().map_err(|_| "the writer thread panicked")??)
    }
}

/// One reading thread's latencies.
struct ThreadLatency {
    hist: Histogram,
    slow: u64,
    /// Slow reads whose thread computed for at least half the slow threshold while a read of
    /// the process validated: the read that ran the validation.
    slow_computing: u64,
    /// Slow reads during which the process's count of reads that waited for a validation grew.
    slow_waiting: u64,
}

impl ThreadLatency {
    /// Slow reads caused by validation: those that ran one or waited for one.
    fn slow_validating(&self) -> u64 {
        self.slow_computing + self.slow_waiting
    }
}

/// One mode's run.
struct LatencyRun {
    label: String,
    publishes: u64,
    /// Steal time during the run (see `sys::steal_ns`).
    steal_ns: u64,
    stats: ours::ReaderStats,
    threads: Vec<ThreadLatency>,
}

impl LatencyRun {
    fn slow_validating(&self) -> u64 {
        self.threads.iter().map(ThreadLatency::slow_validating).sum()
    }

    fn slow(&self) -> u64 {
        self.threads.iter().map(|t| t.slow).sum()
    }
}

const LATENCY_THREADS: usize = 4;
const REPUBLISH_EVERY: Duration = Duration::from_millis(100);
/// After the last publish, the readers go on this long before they stop, so that the last
/// generation is read (and validated) within the run.
const SETTLE: Duration = Duration::from_millis(300);

/// Reads through `reader` until `stop`, timing each read on its own.
///
/// Before each read (outside the timed window) the thread reads its CPU clock and the
/// process's counts of validations run by reads and of reads that waited for a validation. A
/// slow read ran a validation when its thread computed for at least half the threshold during
/// it *and* a read of the process validated meanwhile (the CPU clock alone is not enough: on a
/// virtual machine it also counts time the vCPU lost to the host); it waited when the count of
/// waiting reads grew during it. A slow read that did neither was descheduled: the machine's
/// doing, not the reader's.
fn time_reads(reader: &ours::Reader<o::Strings>, stop: &AtomicBool) -> ThreadLatency {
    let mut t =
        ThreadLatency { hist: Histogram::new(), slow: 0, slow_computing: 0, slow_waiting: 0 };
    // Relaxed: a stop flag.
    while !stop.load(Ordering::Relaxed) {
        let cpu = sys::thread_cpu_ns();
        let before = reader.stats();
        let start = Instant::now();
        {
            let guard = reader.read().expect("ours: read");
            black_box(guard.version);
        }
        let elapsed = start.elapsed().as_nanos() as u64;
        t.hist.record(elapsed);
        if elapsed > SLOW_NS {
            t.slow += 1;
            let after = reader.stats();
            if sys::thread_cpu_ns() - cpu >= SLOW_NS / 2
                && after.validations_in_reads > before.validations_in_reads
            {
                t.slow_computing += 1;
            } else if after.waited > before.waited {
                t.slow_waiting += 1;
            }
        }
    }
    t
}

fn latency_run(
    path: &Path,
    mode: Mode,
    interval: Option<Duration>,
    run: Duration,
) -> Result<LatencyRun> {
    let writer = Republisher::start(path, interval.unwrap_or(REPUBLISH_EVERY))?;
    let steal = sys::steal_ns();
    let shared = match mode {
        Mode::PerThread => None,
        _ => Some(mode.open(path)?),
    };
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(LATENCY_THREADS + 1);
    let (threads, stats, publishes) = std::thread::scope(|s| -> Result<_> {
        let handles = spawn_readers(s, LATENCY_THREADS, mode, path, &shared, &barrier, |reader| {
            Ok(time_reads(reader, &stop))
        });
        let _stop = StopOnDrop(&stop);
        let before = shared.as_ref().map(|r| r.stats());
        barrier.wait();
        if interval.is_some() {
            writer.go();
        }
        std::thread::sleep(run);
        let publishes = writer.stop()?;
        std::thread::sleep(SETTLE);
        // Relaxed: a stop flag; the joins order the results.
        stop.store(true, Ordering::Relaxed);
        let mut threads = Vec::new();
        let mut per_thread = ours::ReaderStats::default();
        for handle in handles {
            let (t, stats) = handle.join().map_err(|_| "a reading thread panicked")??;
            per_thread = sum(per_thread, stats);
            threads.push(t);
        }
        let stats = match (&shared, before) {
            (Some(reader), Some(before)) => delta(before, reader.stats()),
            _ => per_thread,
        };
        Ok((threads, stats, publishes))
    })?;
    Ok(LatencyRun {
        label: match interval {
            Some(_) => mode.describe().to_owned(),
            None => format!("{} (control: no publishes)", mode.describe()),
        },
        publishes,
        steal_ns: sys::steal_ns() - steal,
        stats,
        threads,
    })
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let (scratch, d) = (&cx.scratch, cx.budget);
    let mut runs = Vec::new();
    for (name, mode, interval) in [
        ("background", Mode::Background, Some(REPUBLISH_EVERY)),
        ("shared", Mode::Shared, Some(REPUBLISH_EVERY)),
        ("per_thread", Mode::PerThread, Some(REPUBLISH_EVERY)),
        ("control", Mode::Shared, None),
    ] {
        let path = scratch.path(&format!("latency_{name}"));
        runs.push(latency_run(&path, mode, interval, d.latency_run)?);
        scratch.remove_prefixed(&path);
    }
    let payload = format!("{}k-entry table, republished every 100 ms", TABLE_ENTRIES / 1000);

    let mut section = Section::new("Read latency while the table is republished (#9)");
    section.line(format!(
        "{LATENCY_THREADS} threads read as fast as they can for {} s per mode while a writer \
         thread of the same process republishes the {}k-entry string table (about 12 MB) every \
         100 ms (the readers go on for {} ms after the last publish). Every read is timed on \
         its own (`Instant` around `read()`, a field load and the guard's drop; timer cost \
         included). Before each read, outside the timed window, the thread reads its own CPU \
         clock (a system call, so a thread makes fewer reads than it could) and the reader's \
         statistics (the process's counts of validations run by reads and of reads that waited \
         for a validation). A read slower than 100 µs is *caused by validation* when its thread \
         computed for at least 50 µs during it while a read of the process validated (it ran \
         the validation), or when the count of waiting reads grew during it. The other slow \
         reads were descheduled, as the control run with no publishes shows ({LATENCY_THREADS} \
         reading threads, the writer and, in background mode, the validator share {} CPUs). On \
         a virtual machine a thread's CPU clock also counts time the host took from its vCPU \
         (the steal time column says how much the host reported), which is why the CPU clock \
         alone does not decide. The counts are the process's: a slow read of one thread while \
         another thread validates or waits is counted as caused by validation too, so the \
         column errs against the reader.",
        d.latency_run.as_secs(),
        TABLE_ENTRIES / 1000,
        SETTLE.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    ));
    section.line("");
    section.line(
        "| readers | thread | reads | p50 | p99.99 | max | reads > 100 µs | of them validating \
         | of them waiting |",
    );
    section.line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for run in &runs {
        for (i, t) in run.threads.iter().enumerate() {
            section.line(format!(
                "| {} | {i} | {} | {} | {} | {} | {} | {} | {} |",
                run.label,
                t.hist.total(),
                ns(t.hist.quantile(0.5) as f64),
                ns(t.hist.quantile(0.9999) as f64),
                ns(t.hist.max() as f64),
                t.slow,
                t.slow_computing,
                t.slow_waiting
            ));
        }
    }
    section.line("");
    section.line(
        "| readers | publishes | validations | of them in reads | reads served an older \
         generation | reads that waited | reads > 100 µs | caused by validation | per publish \
         | steal time |",
    );
    section.line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for run in &runs {
        section.line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.label,
            run.publishes,
            run.stats.validations,
            run.stats.validations_in_reads,
            run.stats.served_older,
            run.stats.waited,
            run.slow(),
            run.slow_validating(),
            per_publish(run.slow_validating(), run.publishes),
            ns(run.steal_ns as f64),
        ));
    }
    section.line("");

    let background = &runs[0];
    section.line(format!(
        "In background mode the validator validated {} of the {} publishes (generations \
         superseded before it looked are skipped), reads served an older generation {} times, \
         and {} reads had to wait for a validation.",
        background.stats.validations,
        background.publishes,
        background.stats.served_older,
        background.stats.waited
    ));
    section.line("");
    let per = |run: &LatencyRun| run.slow_validating() as f64 / run.publishes.max(1) as f64;
    let rows = vec![
        Row::new(
            format!(
                "reads > 100 µs caused by validation, {LATENCY_THREADS} threads, background mode"
            ),
            payload.clone(),
            runs[0].slow_validating() as f64,
        )
        .unit(Unit::Count)
        .target("#9", Target::Ours(0.0)),
        Row::new(
            format!(
                "reads > 100 µs caused by validation per publish, {LATENCY_THREADS} threads, \
                 default mode"
            ),
            payload.clone(),
            per(&runs[1]),
        )
        .unit(Unit::Count)
        .target("#9", Target::Ours(1.0)),
        Row::new(
            format!(
                "reads > 100 µs caused by validation per publish, {LATENCY_THREADS} threads, one \
                 `Reader` per thread"
            ),
            payload,
            per(&runs[2]),
        )
        .unit(Unit::Count),
    ];
    Ok((rows, section).into())
}

fn per_publish(count: u64, publishes: u64) -> String {
    if publishes == 0 { "-".into() } else { format!("{:.2}", count as f64 / publishes as f64) }
}
