//! The hot read from 1, 2 and 4 threads of one process: CPU per read and aggregate reads per
//! second, ours (one `Reader` cloned) against upstream (a `Synchronizer` per thread).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use crate::harness::measure::{ROUNDS, alternate, batch, calibrate, median};
use crate::harness::report::{Row, Section, Target, Unit, human, ns, ratio_text};
use crate::harness::{Context, Outcome, Result, sys};
use crate::values::upstream as u;

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

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let paths = &cx.hello.paths;
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
    Ok((rows, section).into())
}
