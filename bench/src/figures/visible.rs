//! Publish-to-visible latency within one process: a writer thread publishes, a reader thread
//! polls, and each publish is timed from its start to the first read that returns it.

use std::path::Path;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rkyv07::ser::serializers::AllocSerializer;
use upstream::synchronizer::Synchronizer;

use super::reading_threads::{TABLE_COPIES, TABLE_ENTRIES};
use crate::harness::measure::{median, quantile};
use crate::harness::report::{Row, Section, ns};
use crate::harness::{Context, Outcome, Result, StopOnDrop};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

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

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let (scratch, d) = (&cx.scratch, cx.budget);
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
    Ok((rows, section).into())
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
