//! Publishing a small value: `write` and `write_bytes` against upstream's, and the writer's
//! latency while a reader pins an old copy.

use std::hint::black_box;
use std::time::{Duration, Instant};

use upstream::synchronizer::Synchronizer;

use crate::harness::measure::{pair, quantile};
use crate::harness::report::{Row, Target};
use crate::harness::{Context, Outcome, Result};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

/// Writes timed while a reader pins an old copy (ours), and upstream samples (about 1 s each).
const PINNED_WRITES: usize = 2000;
const UPSTREAM_PINNED_SAMPLES: usize = 3;

pub fn write(cx: &mut Context) -> Result<Outcome> {
    let hello = &mut cx.hello;
    let (ours_value, upstream_value) = (o::hello(), u::hello());
    let (ours, upstream) = pair(
        || {
            black_box(hello.ours_writer.write(&ours_value).expect("ours: write"));
        },
        || {
            black_box(
                hello
                    .upstream_writer
                    .write(&upstream_value, UPSTREAM_GRACE)
                    .expect("upstream: write"),
            );
        },
    );
    Ok(Outcome::from(
        Row::new("write", "HelloWorld", ours)
            .against(upstream, "upstream `write`")
            .target("#4", Target::Ratio(0.5)),
    ))
}

/// Pre-archived bytes: `write_bytes` (validates them) against upstream's `write_raw`.
pub fn write_bytes(cx: &mut Context) -> Result<Outcome> {
    let hello = &mut cx.hello;
    let ours_bytes = ours::rkyv::to_bytes::<ours::rkyv::rancor::Error>(&o::hello())?;
    let upstream_bytes = rkyv07::to_bytes::<_, 1024>(&u::hello())?;
    let (ours, upstream) = pair(
        || {
            black_box(hello.ours_writer.write_bytes(&ours_bytes).expect("ours: write_bytes"));
        },
        || {
            black_box(
                hello
                    .upstream_writer
                    .write_raw::<u::HelloWorld>(&upstream_bytes, UPSTREAM_GRACE)
                    .expect("upstream: write_raw"),
            );
        },
    );
    Ok(Outcome::from(
        Row::new("`write_bytes` (validates the bytes)", "HelloWorld", ours)
            .against(upstream, "upstream `write_raw`"),
    ))
}

/// p99 write latency while a reader holds a guard on a copy that is no longer active.
///
/// Ours: 3 copies, so the writer rotates through the two unpinned ones. Upstream has two copies;
/// each sample pins the active one (its guard is leaked, so the count stays up), writes once
/// (to the other copy) and times the second write, which finds the pinned copy, sleeps its
/// fixed 1 s step, then resets the count and overwrites the copy under the reader.
pub fn pinned(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
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
    Ok(Outcome::from(
        Row::new(
            "writer latency p99 while a reader pins an old copy (ours: 3 copies)",
            "HelloWorld",
            ours,
        )
        .against(upstream, "upstream `write`")
        .target("#4", Target::Ours(100_000.0)),
    ))
}
