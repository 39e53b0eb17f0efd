//! Validation work per publish against the number of reading threads: each generation is
//! validated once per process, however many threads read it.

use std::hint::black_box;
use std::path::Path;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::reading_threads::{Mode, TABLE_COPIES, TABLE_ENTRIES, delta, spawn_readers};
use crate::harness::report::{Row, Section, Target, Unit, ns};
use crate::harness::{Context, Outcome, Result, StopOnDrop, sys};
use crate::values::ours as o;

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

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let (scratch, d) = (&cx.scratch, cx.budget);
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
    Ok((rows, section).into())
}
