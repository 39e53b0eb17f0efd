//! Figures of the process-wide reader (#9): read latency while a large value is republished,
//! validation work per publish against the number of reading threads, the hot read from several
//! threads, and publish-to-visible latency.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::{JoinHandle, ScopedJoinHandle};
use std::time::{Duration, Instant};

use rkyv07::ser::serializers::AllocSerializer;
use upstream::synchronizer::Synchronizer;

use crate::measure::{Histogram, ROUNDS, alternate, batch, calibrate, median, quantile};
use crate::report::{Row, Section, Target, Unit, human, ns, ratio_text};
use crate::sys;
use crate::types::{ours as o, upstream as u};
use crate::{Budget, HelloPaths, Result, Scratch, UPSTREAM_GRACE};

/// Entries of the string table (about 10 MB archived).
const TABLE_ENTRIES: usize = crate::STRING_ENTRIES;
/// A read slower than this is a "slow read" (#9).
const SLOW_NS: u64 = 100_000;
/// Data copies of the table channels: with `validate_in_background`, the validator pins the
/// newest validated copy, so a third copy lets the writer publish without waiting for it.
const TABLE_COPIES: usize = 3;

/// Sets a stop flag when dropped: threads of a scope that ends early (on an error) stop too,
/// instead of keeping the scope from ending.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        // Relaxed: a stop flag; the scope's joins order everything else.
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How a run's readers are set up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// One `Reader` with `validate_in_background(true)`, cloned into every thread.
    Background,
    /// One `Reader` (default: the first thread that reads a generation validates it), cloned.
    Shared,
    /// Each thread opens a `Reader` of its own, as before the process-wide reader.
    PerThread,
}

impl Mode {
    fn describe(self) -> &'static str {
        match self {
            Mode::Background => "shared `Reader`, `validate_in_background(true)`",
            Mode::Shared => "shared `Reader`, default mode",
            Mode::PerThread => "one `Reader` per thread",
        }
    }

    fn open(self, path: &Path) -> ours::Result<ours::Reader<o::Strings>> {
        ours::Reader::<o::Strings>::builder()
            .validate_in_background(self == Mode::Background)
            .open(path)
    }
}

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

// ---------------------------------------------------------------------------------------------
// Read latency while the table is republished
// ---------------------------------------------------------------------------------------------

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

/// Spawns `count` reading threads in `s`, each with its reader for `mode` (its clone of `shared`,
/// or one it opens), meeting each other and the caller at `barrier`, then running `body` on the
/// reader. Each returns what `body` returned and its reader's statistics over the body.
fn spawn_readers<'scope, 'env, T, B>(
    s: &'scope std::thread::Scope<'scope, 'env>,
    count: usize,
    mode: Mode,
    path: &'env Path,
    shared: &Option<ours::Reader<o::Strings>>,
    barrier: &'env Barrier,
    body: B,
) -> Vec<ScopedJoinHandle<'scope, Result<(T, ours::ReaderStats), String>>>
where
    T: Send + 'scope,
    B: Fn(&ours::Reader<o::Strings>) -> Result<T, String> + Copy + Send + 'scope,
{
    (0..count)
        .map(|_| {
            let shared = shared.clone();
            s.spawn(move || {
                let reader = match shared {
                    Some(reader) => Ok(reader),
                    None => mode.open(path).map_err(|e| e.to_string()),
                };
                // Even a thread that failed to open meets the others at the start.
                barrier.wait();
                let reader = reader?;
                let before = reader.stats();
                let out = body(&reader)?;
                Ok((out, delta(before, reader.stats())))
            })
        })
        .collect()
}

fn delta(before: ours::ReaderStats, after: ours::ReaderStats) -> ours::ReaderStats {
    let mut d = ours::ReaderStats::default();
    d.validations = after.validations - before.validations;
    d.validations_in_reads = after.validations_in_reads - before.validations_in_reads;
    d.served_older = after.served_older - before.served_older;
    d.waited = after.waited - before.waited;
    d
}

fn sum(a: ours::ReaderStats, b: ours::ReaderStats) -> ours::ReaderStats {
    let mut d = ours::ReaderStats::default();
    d.validations = a.validations + b.validations;
    d.validations_in_reads = a.validations_in_reads + b.validations_in_reads;
    d.served_older = a.served_older + b.served_older;
    d.waited = a.waited + b.waited;
    d
}

pub fn read_latency(scratch: &Scratch, d: Budget) -> Result<(Vec<Row>, Section)> {
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
    Ok((rows, section))
}

fn per_publish(count: u64, publishes: u64) -> String {
    if publishes == 0 { "-".into() } else { format!("{:.2}", count as f64 / publishes as f64) }
}

// ---------------------------------------------------------------------------------------------
// Validation work per publish against reading threads
// ---------------------------------------------------------------------------------------------

const CPU_INTERVAL: Duration = Duration::from_millis(50);

struct CpuRun {
    mode: Mode,
    threads: usize,
    publishes: u64,
    /// CPU of the reading threads, summed.
    readers_ns: u64,
    /// CPU of the process minus the reading threads and the writing (main) thread: the
    /// background validator, when there is one.
    other_ns: u64,
    validations: u64,
}

impl CpuRun {
    fn per_publish(&self, ns: u64) -> f64 {
        ns as f64 / self.publishes.max(1) as f64
    }

    /// CPU spent on the readers' side per publish: reading threads plus other threads.
    fn total(&self) -> f64 {
        self.per_publish(self.readers_ns + self.other_ns)
    }
}

/// Reading threads that each read once per publish: wait for a publish (futex), read, repeat.
/// Their CPU time is then the validation work plus one wake-up and one read per publish each.
fn cpu_run(path: &Path, mode: Mode, threads: usize, publishes: usize) -> Result<CpuRun> {
    let mut writer = ours::Writer::<o::Strings>::builder().copies(TABLE_COPIES).open(path)?;
    let mut value = o::strings(TABLE_ENTRIES);
    writer.write(&value)?;
    let shared = match mode {
        Mode::PerThread => None,
        _ => Some(mode.open(path)?),
    };
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| -> Result<CpuRun> {
        let handles = spawn_readers(s, threads, mode, path, &shared, &barrier, |reader| {
            let cpu = sys::thread_cpu_ns();
            // Relaxed: a stop flag (a last publish wakes the waits).
            while !stop.load(Ordering::Relaxed) {
                let published = reader.generation();
                black_box(reader.read().map_err(|e| e.to_string())?.version);
                reader
                    .wait_for_change(published, Duration::from_millis(500))
                    .map_err(|e| e.to_string())?;
            }
            Ok(sys::thread_cpu_ns() - cpu)
        });
        let stop_guard = StopOnDrop(&stop);
        let before = shared.as_ref().map(|r| r.stats());
        barrier.wait();
        std::thread::sleep(CPU_INTERVAL);
        let process = sys::process_cpu_ns();
        let main = sys::thread_cpu_ns();
        for _ in 0..publishes {
            value.version += 1;
            writer.write(&value)?;
            std::thread::sleep(CPU_INTERVAL);
        }
        let main_ns = sys::thread_cpu_ns() - main;
        let process_ns = sys::process_cpu_ns() - process;
        // The publish below wakes the threads to see the flag.
        drop(stop_guard);
        value.version += 1;
        let stats_before_stop = shared.as_ref().zip(before).map(|(r, b)| delta(b, r.stats()));
        writer.write(&value)?;
        let mut readers_ns = 0;
        let mut per_thread_validations = 0;
        for handle in handles {
            let (cpu, stats) = handle.join().map_err(|_| "a reading thread panicked")??;
            readers_ns += cpu;
            per_thread_validations += stats.validations;
        }
        // The reading threads' CPU includes the last wake-up (after the timed window); it is
        // one wake-up and one read each, against `publishes` of them.
        let validations = stats_before_stop.map_or(per_thread_validations, |s| s.validations);
        Ok(CpuRun {
            mode,
            threads,
            publishes: publishes as u64,
            readers_ns,
            other_ns: process_ns.saturating_sub(readers_ns + main_ns),
            validations,
        })
    })
}

pub fn validation_cpu(scratch: &Scratch, d: Budget) -> Result<(Vec<Row>, Section)> {
    let mut runs = Vec::new();
    for mode in [Mode::Shared, Mode::Background, Mode::PerThread] {
        for threads in [1, 4, 16] {
            let path = scratch.path(&format!("cpu_{mode:?}_{threads}"));
            runs.push(cpu_run(&path, mode, threads, d.cpu_publishes)?);
            scratch.remove_prefixed(&path);
        }
    }
    let mut section = Section::new("Validation work per publish (#9)");
    section.line(format!(
        "The {}k-entry table is published {} times, {} ms apart, by the main thread; 1, 4 or 16 \
         threads each wait for a publish (`wait_for_change`, a futex), read once, and wait \
         again. CPU per publish: the reading threads' CPU time (CLOCK_THREAD_CPUTIME_ID) summed, \
         and the rest of the process's CPU time minus the writing thread's (the background \
         validator, when there is one), divided by the publishes. Besides validation, each \
         reading thread pays one wake-up and one read per publish.",
        TABLE_ENTRIES / 1000,
        d.cpu_publishes,
        CPU_INTERVAL.as_millis()
    ));
    section.line("");
    section.line(
        "| readers | threads | reading threads' CPU / publish | other threads' CPU / publish \
         | total / publish | validations / publish |",
    );
    section.line("| --- | ---: | ---: | ---: | ---: | ---: |");
    for run in &runs {
        section.line(format!(
            "| {} | {} | {} | {} | {} | {:.2} |",
            run.mode.describe(),
            run.threads,
            ns(run.per_publish(run.readers_ns)),
            ns(run.per_publish(run.other_ns)),
            ns(run.total()),
            run.validations as f64 / run.publishes as f64
        ));
    }
    section.line("");
    let find = |mode, threads| {
        runs.iter().find(|r| r.mode == mode && r.threads == threads).expect("every run is made")
    };
    let payload = format!("{}k-entry table", TABLE_ENTRIES / 1000);
    let mut rows = Vec::new();
    for mode in [Mode::Shared, Mode::Background] {
        let (one, many) = (find(mode, 1), find(mode, 16));
        rows.push(
            Row::new(
                format!("validation CPU per publish, 16 reading threads vs 1, {}", mode.describe()),
                payload.clone(),
                many.total(),
            )
            .against(one.total(), "1 thread")
            .target("#9", Target::Ratio(1.5)),
        );
        rows.push(
            Row::new(
                format!("validations per publish, 16 reading threads, {}", mode.describe()),
                payload.clone(),
                many.validations as f64 / many.publishes as f64,
            )
            .unit(Unit::Count)
            .target("#9", Target::Ours(1.0)),
        );
    }
    let (one, many) = (find(Mode::PerThread, 1), find(Mode::PerThread, 16));
    rows.push(
        Row::new(
            "validation CPU per publish, 16 reading threads vs 1, one `Reader` per thread",
            payload,
            many.total(),
        )
        .against(one.total(), "1 thread"),
    );
    Ok((rows, section))
}

// ---------------------------------------------------------------------------------------------
// The hot read from 1, 2 and 4 threads
// ---------------------------------------------------------------------------------------------

/// One round: `threads` threads each run `n` operations made by `make` (called on the thread)
/// after a common start. Returns the mean over threads of CPU time per operation, and the
/// aggregate rate (operations of all threads per second of wall time).
fn threads_round<M, F>(threads: usize, n: u64, make: &M) -> (f64, f64)
where
    M: Fn() -> F + Sync,
    F: FnMut(),
{
    let barrier = Barrier::new(threads);
    let results: Vec<(u64, Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut op = make();
                    for _ in 0..1000 {
                        op();
                    }
                    barrier.wait();
                    let (cpu, start) = (sys::thread_cpu_ns(), Instant::now());
                    batch(n, &mut op);
                    let end = Instant::now();
                    (sys::thread_cpu_ns() - cpu, start, end)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a reading thread panicked")).collect()
    });
    let cpu = results.iter().map(|r| r.0 as f64 / n as f64).sum::<f64>() / threads as f64;
    let start = results.iter().map(|r| r.1).min().expect("threads > 0");
    let end = results.iter().map(|r| r.2).max().expect("threads > 0");
    (cpu, (threads as u64 * n) as f64 / end.duration_since(start).as_secs_f64())
}

pub fn hot_read(paths: &HelloPaths) -> Result<(Vec<Row>, Section)> {
    let reader = paths.ours_reader()?;
    let ours_make = || {
        let reader = reader.clone();
        move || {
            black_box(reader.read().expect("ours: read").version);
        }
    };
    let upstream_make = || {
        let mut sync = paths.upstream_reader();
        move || {
            // SAFETY: nothing writes this channel while the reads run.
            let value = unsafe { sync.read::<u::HelloWorld>(false) }.expect("upstream: read");
            black_box(value.version);
        }
    };
    // Operations per thread and round: one batch's worth on one thread.
    let n_ours = calibrate(&mut ours_make());
    let n_upstream = calibrate(&mut upstream_make());

    let counts = [1, 2, 4];
    let mut results = Vec::new();
    for threads in counts {
        let (mut ours_cpu, mut ours_rate, mut up_cpu, mut up_rate) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        alternate(
            || {
                let (c, r) = threads_round(threads, n_ours, &ours_make);
                ours_cpu.push(c);
                ours_rate.push(r);
            },
            || {
                let (c, r) = threads_round(threads, n_upstream, &upstream_make);
                up_cpu.push(c);
                up_rate.push(r);
            },
        );
        results.push((
            threads,
            median(ours_cpu),
            median(ours_rate),
            median(up_cpu),
            median(up_rate),
        ));
    }

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut section = Section::new("The hot read from several threads (#9)");
    section.line(format!(
        "HelloWorld, no publishes. Ours: one `Reader` cloned into each thread (safe `read()`). \
         Upstream: a `Synchronizer` per thread (unchecked `read(false)`). Each round starts all \
         threads together, each running the same number of reads; ours and upstream alternate \
         over {ROUNDS} rounds; medians. Per-thread cost: CPU time per read of each thread \
         (CLOCK_THREAD_CPUTIME_ID, so time spent descheduled does not count), averaged over the \
         threads. Aggregate: reads of all threads per second of wall time. This machine has \
         {cpus} CPUs: beyond {cpus} threads, threads share CPUs and the aggregate cannot grow."
    ));
    section.line("");
    section.line(
        "| threads | ours per read | upstream per read | ratio | ours aggregate | upstream \
         aggregate | ours aggregate vs 1 thread |",
    );
    section.line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let base_rate = results[0].2;
    for &(threads, oc, or, uc, ur) in &results {
        section.line(format!(
            "| {threads} | {} | {} | {} | {} | {} | {:.2}x |",
            ns(oc),
            ns(uc),
            ratio_text(oc / uc),
            human(or, Unit::PerSec),
            human(ur, Unit::PerSec),
            or / base_rate
        ));
    }
    section.line("");

    let mut rows = Vec::new();
    for &(threads, oc, _, uc, _) in &results {
        rows.push(
            Row::new(
                if threads == 1 {
                    "safe `read()`, 1 thread with its clone of the `Reader`".to_owned()
                } else {
                    format!("safe `read()` per thread, {threads} threads sharing one `Reader`")
                },
                "HelloWorld",
                oc,
            )
            .against(uc, "upstream `read(false)`, a `Synchronizer` per thread")
            .target("#9", Target::Ratio(0.9)),
        );
    }
    // Growth up to the CPUs there are.
    let top = results.iter().rfind(|r| r.0 <= cpus).expect("1 thread is measured");
    if top.0 > 1 {
        rows.push(
            Row::new(
                format!("aggregate reads/s, {} threads sharing one `Reader` vs 1 thread", top.0),
                "HelloWorld",
                top.2,
            )
            .against(base_rate, "1 thread")
            .unit(Unit::PerSec)
            .target("#9", Target::AtLeast(0.75 * top.0 as f64)),
        );
    }
    Ok((rows, section))
}

// ---------------------------------------------------------------------------------------------
// Publish-to-visible latency
// ---------------------------------------------------------------------------------------------

/// Publishes `count` values `gap` apart with `write(i)` (i = 1, 2, ...) on this thread while
/// another thread polls with `read()` (made on that thread by `make`) for the value's version;
/// returns, for each publish the reader saw, the time from the start of the publish and from
/// the end of it to the end of the first read that returned it; and every publish's duration.
fn visible<W, M, R>(count: u32, gap: Duration, mut write: W, make: M) -> Result<Samples>
where
    W: FnMut(u32) -> Result<()>,
    M: FnOnce() -> R + Send,
    R: FnMut() -> u32,
{
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(2);
    let mut times = Vec::with_capacity(count as usize);
    let seen = std::thread::scope(|s| -> Result<Vec<(u32, Instant)>> {
        let reader = s.spawn(|| {
            let mut read = make();
            let mut last = read();
            let mut seen = Vec::with_capacity(count as usize);
            ready.wait();
            // Relaxed: a stop flag.
            while !stop.load(Ordering::Relaxed) {
                let version = read();
                if version != last {
                    seen.push((version, Instant::now()));
                    last = version;
                }
            }
            seen
        });
        let stop_guard = StopOnDrop(&stop);
        ready.wait();
        for i in 1..=count {
            std::thread::sleep(gap);
            let start = Instant::now();
            write(i)?;
            times.push((start, Instant::now()));
        }
        std::thread::sleep(gap.max(Duration::from_millis(50)));
        drop(stop_guard);
        Ok(reader.join().map_err(|_| "the reading thread panicked")?)
    })?;
    let latencies = seen
        .into_iter()
        .filter(|&(v, _)| v >= 1 && v <= count)
        .map(|(v, at)| {
            let (start, end) = times[v as usize - 1];
            (
                at.saturating_duration_since(start).as_nanos() as u64,
                at.saturating_duration_since(end).as_nanos() as u64,
            )
        })
        .collect();
    let publishes = times.iter().map(|(s, e)| e.duration_since(*s).as_nanos() as f64).collect();
    Ok(Samples { latencies, publishes })
}

/// What [`visible`] measured.
struct Samples {
    /// For each publish seen: ns from its start, and from its end, to the read that saw it.
    latencies: Vec<(u64, u64)>,
    /// Every publish's duration, ns.
    publishes: Vec<f64>,
}

struct Visible {
    payload: &'static str,
    side: &'static str,
    publishes: u32,
    from_start: Vec<f64>,
    from_end: Vec<f64>,
    /// Duration of each publish call.
    publish: Vec<f64>,
}

pub fn publish_to_visible(scratch: &Scratch, d: Budget) -> Result<(Vec<Row>, Section)> {
    let mut results = Vec::new();
    let mut push = |payload, side, publishes, samples: Samples| {
        let (from_start, from_end) =
            samples.latencies.into_iter().map(|(a, b)| (a as f64, b as f64)).unzip();
        let publish = samples.publishes;
        results.push(Visible { payload, side, publishes, from_start, from_end, publish });
    };
    let small = (d.visible_small, Duration::from_millis(1));
    let table = (d.visible_table, Duration::from_millis(20));

    for background in [false, true] {
        let side = if background { "ours, background validation" } else { "ours" };
        let samples = ours_visible(
            &scratch.path(&format!("visible_hello_{background}")),
            background,
            o::hello(),
            |v, i| v.version = i,
            |v| v.version.to_native(),
            small,
        )?;
        push("HelloWorld", side, small.0, samples);
        let samples = ours_visible(
            &scratch.path(&format!("visible_table_{background}")),
            background,
            o::strings(TABLE_ENTRIES),
            |v, i| v.version = i,
            |v| v.version.to_native(),
            table,
        )?;
        push("table", side, table.0, samples);
    }
    for check in [true, false] {
        let side = if check { "upstream, checked `read(true)`" } else { "upstream, `read(false)`" };
        let samples = upstream_visible(
            &scratch.path(&format!("visible_hello_upstream_{check}")),
            check,
            u::hello(),
            |v, i| v.version = i,
            |v| v.version,
            small,
        )?;
        push("HelloWorld", side, small.0, samples);
        let samples = upstream_visible(
            &scratch.path(&format!("visible_table_upstream_{check}")),
            check,
            u::strings(TABLE_ENTRIES),
            |v, i| v.version = i,
            |v| v.version,
            table,
        )?;
        push("table", side, table.0, samples);
    }

    let mut section = Section::new("Publish-to-visible latency (#9)");
    section.line(format!(
        "A writer on the main thread publishes HelloWorld {} times, {} ms apart, and the \
         {}k-entry table {} times, {} ms apart, each publish carrying its number in `version`; \
         a reader thread of the same process reads in a loop and notes when a read first \
         returns each number. Latency: from the start of the writer's publish call (and from \
         its return) to the end of that read. Ours reads safely: in the default mode the first \
         read of a generation validates it; in background mode the read returns it once the \
         background thread has validated it. Upstream reads checked (validating every read) or \
         unchecked. Publishes the reader never saw (superseded before it looked) are left out.",
        small.0,
        small.1.as_millis(),
        TABLE_ENTRIES / 1000,
        table.0,
        table.1.as_millis()
    ));
    section.line("");
    section.line(
        "| payload | reader | seen / published | median from publish start | p99 | max | median \
         from publish return | publish median | publish p99 |",
    );
    section.line("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &results {
        let publish = (ns(median(r.publish.clone())), ns(quantile(r.publish.clone(), 0.99)));
        if r.from_start.is_empty() {
            section.line(format!(
                "| {} | {} | 0 / {} | - | - | - | - | {} | {} |",
                r.payload, r.side, r.publishes, publish.0, publish.1
            ));
            continue;
        }
        section.line(format!(
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            r.payload,
            r.side,
            r.from_start.len(),
            r.publishes,
            ns(median(r.from_start.clone())),
            ns(quantile(r.from_start.clone(), 0.99)),
            ns(quantile(r.from_start.clone(), 1.0)),
            ns(median(r.from_end.clone())),
            publish.0,
            publish.1,
        ));
    }
    section.line("");

    let get = |payload: &str, side: &str| {
        let r = results
            .iter()
            .find(|r| r.payload == payload && r.side == side)
            .expect("every configuration is measured");
        if r.from_start.is_empty() { f64::NAN } else { median(r.from_start.clone()) }
    };
    let rows = vec![
        Row::new("publish-to-visible, median", "HelloWorld", get("HelloWorld", "ours"))
            .against(get("HelloWorld", "upstream, checked `read(true)`"), "upstream, checked"),
        Row::new(
            "publish-to-visible, median",
            format!("{}k-entry table", TABLE_ENTRIES / 1000),
            get("table", "ours"),
        )
        .against(get("table", "upstream, checked `read(true)`"), "upstream, checked"),
    ];
    Ok((rows, section))
}

/// [`visible`] on a new channel of ours at `path`, `count` publishes `gap` apart: `value` is
/// published with version 0, a `Reader` (validating in the background or not) opened, then
/// `value` republished with versions 1 to `count` (`set_version`) while the reader thread reads
/// the version back (`version`).
fn ours_visible<T: ours::SharedState>(
    path: &Path,
    background: bool,
    mut value: T,
    set_version: fn(&mut T, u32),
    version: fn(&T::Archived) -> u32,
    (count, gap): (u32, Duration),
) -> Result<Samples> {
    let mut writer = ours::Writer::<T>::builder().copies(TABLE_COPIES).open(path)?;
    set_version(&mut value, 0);
    writer.write(&value)?;
    let reader = ours::Reader::<T>::builder().validate_in_background(background).open(path)?;
    visible(
        count,
        gap,
        |i| {
            set_version(&mut value, i);
            writer.write(&value)?;
            Ok(())
        },
        || move || reader.read().map_or(0, |g| version(&g)),
    )
}

/// [`visible`] for upstream, as [`ours_visible`]: the reader thread's `Synchronizer` reads
/// checked or not.
fn upstream_visible<T>(
    path: &Path,
    check: bool,
    mut value: T,
    set_version: fn(&mut T, u32),
    version: fn(&T::Archived) -> u32,
    (count, gap): (u32, Duration),
) -> Result<Samples>
where
    T: rkyv07::Serialize<AllocSerializer<1024>>,
    T::Archived: for<'b> rkyv07::CheckBytes<rkyv07::validation::validators::DefaultValidator<'b>>,
{
    let mut writer = Synchronizer::new(path.as_os_str());
    set_version(&mut value, 0);
    writer.write(&value, UPSTREAM_GRACE)?;
    visible(
        count,
        gap,
        |i| {
            set_version(&mut value, i);
            writer.write(&value, UPSTREAM_GRACE)?;
            Ok(())
        },
        || {
            let mut sync = Synchronizer::new(path.as_os_str());
            move || {
                // SAFETY: each read is dropped long before the writer could need its copy back.
                let value = unsafe { sync.read::<T>(check) }.expect("upstream: read");
                version(&value)
            }
        },
    )
}
