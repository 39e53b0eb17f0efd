//! The first read of each new generation, which validates it, against upstream's checked read,
//! with the floor of a read that validates in full.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use crate::harness::measure::{median, median_difference, rounds, timed, timer_samples};
use crate::harness::report::{self, Row, Section, Target, ns};
use crate::harness::{Context, Outcome, Result};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

/// Per-operation samples of a first read after a write.
const FIRST_READ_SAMPLES: usize = 20_000;

/// The first safe read of each new generation: batches of (write, read) minus batches of
/// (write) timed in the same rounds, against upstream's checked read; cross-checked with
/// each read timed on its own.
pub fn run(cx: &mut Context) -> Result<Outcome> {
    let hello = &mut cx.hello;
    let reader = hello.paths.ours_reader()?;
    let mut steady = hello.paths.upstream_reader();
    let mut after_write = hello.paths.upstream_reader();
    let (ours_value, upstream_value) = (o::hello(), u::hello());
    let archived = ours::rkyv::to_bytes::<ours::rkyv::rancor::Error>(&ours_value)?;

    // A write then a read on one thread serves that write.
    let published = hello.ours_writer.write(&ours_value)?;
    if reader.read()?.generation() != published.generation {
        return Err("a read after a write did not return the write".into());
    }

    let writer = RefCell::new(&mut hello.ours_writer);
    let sync_writer = RefCell::new(&mut hello.upstream_writer);
    let write_ours = || {
        black_box(writer.borrow_mut().write(&ours_value).expect("ours: write"));
    };
    let write_upstream = || {
        black_box(
            sync_writer
                .borrow_mut()
                .write(&upstream_value, UPSTREAM_GRACE)
                .expect("upstream: write"),
        );
    };
    let samples = rounds(vec![
        timed(|| {
            write_ours();
            black_box(reader.read().expect("ours: read").version);
        }),
        timed(write_ours),
        timed(|| {
            write_upstream();
            // SAFETY: the guard is dropped before the next write.
            let value = unsafe { after_write.read::<u::HelloWorld>(true) }.expect("upstream: read");
            black_box(value.version);
        }),
        timed(write_upstream),
        timed(|| {
            // SAFETY: as above.
            let value = unsafe { steady.read::<u::HelloWorld>(true) }.expect("upstream: read");
            black_box(value.version);
        }),
        timed(|| {
            black_box(reader.read().expect("ours: read").version);
        }),
        timed(|| {
            let bytes = black_box(archived.as_slice());
            let value =
                ours::rkyv::access::<o::ArchivedHelloWorld, ours::rkyv::rancor::Error>(bytes)
                    .expect("ours: bytecheck");
            black_box(value.version);
            black_box(xxhash_rust::xxh3::xxh3_64(bytes));
        }),
    ]);
    let by_hand = median(samples[6].clone());
    let ours_first = median_difference(&samples[0], &samples[1]);
    let upstream_first = median_difference(&samples[2], &samples[3]);
    let upstream_checked = median(samples[4].clone());
    let ours_repeat = median(samples[5].clone());
    let (ours_write, upstream_write) = (median(samples[1].clone()), median(samples[3].clone()));

    // Cross-check: each read after a write timed on its own, minus the timer's own cost.
    let timer = median(timer_samples(FIRST_READ_SAMPLES));
    let mut ours_single = Vec::with_capacity(FIRST_READ_SAMPLES);
    let mut upstream_single = Vec::with_capacity(FIRST_READ_SAMPLES);
    for _ in 0..FIRST_READ_SAMPLES {
        write_ours();
        let start = Instant::now();
        black_box(reader.read().expect("ours: read").version);
        ours_single.push(start.elapsed().as_nanos() as f64 - timer);
        write_upstream();
        let start = Instant::now();
        // SAFETY: as above.
        let value = unsafe { after_write.read::<u::HelloWorld>(true) }.expect("upstream: read");
        black_box(value.version);
        upstream_single.push(start.elapsed().as_nanos() as f64 - timer);
    }
    let (ours_single, upstream_single) = (median(ours_single), median(upstream_single));

    let mut section = Section::new("The first read of a new generation (#12, target 2)");
    section.line(
        "Official method: batches of (publish, then one safe `read()`) and batches of \
         (publish) alone, timed in the same interleaved rounds; the first read's cost is the \
         median over rounds of the per-round difference. Upstream's checked read validates \
         every time, so its steady checked read is the target's baseline; its read right \
         after a write is measured the same way as ours. Cross-check: each read after a \
         write timed on its own with `Instant`, minus the median cost of two back-to-back \
         `Instant::now()` calls.",
    );
    section.line("");
    section.line("| read | batches (difference) | timed one by one |");
    section.line("| --- | ---: | ---: |");
    section.line(format!(
        "| ours, first safe read of a generation | {} | {} |",
        ns(ours_first),
        ns(ours_single)
    ));
    section.line(format!("| ours, repeat read (same generation) | {} | - |", ns(ours_repeat)));
    section.line(format!(
        "| upstream, checked read right after a write | {} | {} |",
        ns(upstream_first),
        ns(upstream_single)
    ));
    section.line(format!("| upstream, checked read (steady) | {} | - |", ns(upstream_checked)));
    section.line(format!(
        "| (publish alone: ours, upstream) | {}, {} | - |",
        ns(ours_write),
        ns(upstream_write)
    ));
    section.line(format!(
        "| validation by hand: bytecheck (`rkyv::access`) and xxh3 of the {} archived bytes | \
         {} | - |",
        archived.len(),
        ns(by_hand)
    ));
    section.line("");
    section.line(format!(
        "Timer cost subtracted in the cross-check: {}. The first read has to validate the \
         generation (bytecheck, checksum, fingerprint) on top of the read; done by hand on \
         the archived bytes, bytecheck and the checksum alone take {} ({} of upstream's \
         checked read), so with the repeat read's {} the first read cannot cost less than \
         about {} ({} of upstream's checked read) as long as it validates in full.",
        ns(timer),
        ns(by_hand),
        report::ratio_text(by_hand / upstream_checked),
        ns(ours_repeat),
        ns(by_hand + ours_repeat),
        report::ratio_text((by_hand + ours_repeat) / upstream_checked),
    ));
    section.line("");

    let rows = vec![
        Row::new(
            "first safe `read()` of each new generation vs upstream checked read",
            "HelloWorld",
            ours_first,
        )
        .against(upstream_checked, "upstream `read(true)`")
        .target("#12", Target::Ratio(1.5))
        .floor((by_hand + ours_repeat) / upstream_checked),
        Row::new(
            "validation by hand (bytecheck + xxh3) plus a repeat read vs upstream checked read \
             (the floor of a first read)",
            "HelloWorld",
            by_hand + ours_repeat,
        )
        .against(upstream_checked, "upstream `read(true)`"),
    ];
    Ok((rows, section).into())
}
