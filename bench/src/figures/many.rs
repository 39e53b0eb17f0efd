//! Many readers: what a HelloWorld publish and a read cost with 1, 10, 100 and 1,000 live
//! readers, ours and upstream, all channels measured in one interleaved group.
//!
//! Ours: one channel per reader count, created with 1,024 reader slots. The main thread opens
//! one `Reader` (its open reads, so the main thread holds a slot) and clones it into N - 1
//! threads, each of which reads once (claiming its own slot) and then parks, keeping the slot
//! until the end. The writer's publish scans the slots below the high-water mark; the main
//! thread's reads are the "read cost at each point".
//!
//! Upstream: one channel per reader count, with N `Synchronizer`s in the main thread, each of
//! which has read once and stays open (its mappings live). Upstream readers leave nothing on the
//! writer's path between reads (a read increments and decrements one shared counter), so its
//! publish cost does not depend on N; the row shows that rather than assuming it.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use ours::format::SLOT_SIZE;
use upstream::synchronizer::Synchronizer;

use crate::harness::measure::{group, timed};
use crate::harness::report::{self, Row, Section, Target, human, ns};
use crate::harness::{Context, Outcome, Result, Scratch, sys};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

/// Live readers at each point of the curve.
pub const COUNTS: [usize; 4] = [1, 10, 100, 1000];
/// Reader slots of each of our channels.
const SLOTS: usize = 1024;
/// Parked reader threads need little stack.
const STACK: usize = 128 << 10;

/// Threads that each read once through a clone of a reader, then hold their slot until dropped.
struct Parked {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Parked {
    /// Starts `n` threads reading through clones of `reader`; returns once each has read, with
    /// the slot index each one holds.
    fn start(reader: &ours::Reader<o::HelloWorld>, n: usize) -> Result<(Parked, Vec<usize>)> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::with_capacity(n);
        for _ in 0..n {
            let (reader, stop, tx) = (reader.clone(), stop.clone(), tx.clone());
            let thread = std::thread::Builder::new().stack_size(STACK).spawn(move || {
                let slot = reader.read().map(|guard| {
                    black_box(guard.version);
                    reader.slot()
                });
                let _ = tx.send(slot.map_err(|e| e.to_string()));
                // Relaxed: the flag carries no data; `unpark` wakes the thread to look.
                while !stop.load(Ordering::Relaxed) {
                    std::thread::park();
                }
            })?;
            threads.push(thread);
        }
        drop(tx);
        let parked = Parked { stop, threads };
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            let slot = rx.recv_timeout(Duration::from_secs(60))??;
            slots.push(slot.ok_or("a reading thread holds no slot")?);
        }
        Ok((parked, slots))
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        // Relaxed: see the loop in `start`.
        self.stop.store(true, Ordering::Relaxed);
        for thread in &self.threads {
            thread.thread().unpark();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Our channel at one point of the curve.
struct OursPoint {
    writer: ours::Writer<o::HelloWorld>,
    reader: ours::Reader<o::HelloWorld>,
    _parked: Parked,
}

impl OursPoint {
    fn open(scratch: &Scratch, readers: usize) -> Result<OursPoint> {
        let path = scratch.path(&format!("many_{readers}_ours"));
        let mut writer =
            ours::Writer::<o::HelloWorld>::builder().reader_slots(SLOTS).open(&path)?;
        writer.write(&o::hello())?;
        // Its open reads on this thread: the main thread holds one slot.
        let reader = ours::Reader::<o::HelloWorld>::open(&path)?;
        let main_slot = reader.slot().ok_or("the main thread holds no slot after open")?;
        let (parked, mut slots) = Parked::start(&reader, readers - 1)?;
        slots.push(main_slot);
        slots.sort_unstable();
        slots.dedup();
        if slots.len() != readers {
            return Err(format!("{readers} readers hold {} distinct slots", slots.len()).into());
        }
        Ok(OursPoint { writer, reader, _parked: parked })
    }
}

/// Upstream's channel at one point of the curve.
struct UpstreamPoint {
    writer: Synchronizer,
    readers: Vec<Synchronizer>,
}

impl UpstreamPoint {
    fn open(scratch: &Scratch, readers: usize) -> Result<UpstreamPoint> {
        let path = scratch.path(&format!("many_{readers}_upstream"));
        let mut writer = Synchronizer::new(path.as_os_str());
        writer.write(&u::hello(), UPSTREAM_GRACE)?;
        let mut syncs = Vec::with_capacity(readers);
        for _ in 0..readers {
            let mut sync = Synchronizer::new(path.as_os_str());
            // SAFETY: the value is only read while the writer does not write it.
            black_box(unsafe { sync.read::<u::HelloWorld>(false) }?.version);
            syncs.push(sync);
        }
        Ok(UpstreamPoint { writer, readers: syncs })
    }
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
    let mut ours_points = Vec::with_capacity(COUNTS.len());
    let mut upstream_points = Vec::with_capacity(COUNTS.len());
    for readers in COUNTS {
        ours_points.push(OursPoint::open(scratch, readers)?);
        upstream_points.push(UpstreamPoint::open(scratch, readers)?);
    }
    let (ours_value, upstream_value) = (o::hello(), u::hello());

    // Publishes: every channel of both sides in one group.
    let mut ops = Vec::new();
    for point in &mut ours_points {
        let (writer, value) = (&mut point.writer, &ours_value);
        ops.push(timed(move || {
            black_box(writer.write(value).expect("ours: write"));
        }));
    }
    for point in &mut upstream_points {
        let (writer, value) = (&mut point.writer, &upstream_value);
        ops.push(timed(move || {
            black_box(writer.write(value, UPSTREAM_GRACE).expect("upstream: write"));
        }));
    }
    // The floor the scan sets: one load per live reader's slot line, at the slot table's
    // stride, on a shared mapping.
    let table = sys::SharedMap::create(&scratch.path("many_scan"), SLOTS * SLOT_SIZE)?;
    let first = black_box(table.as_ptr());
    ops.push(timed(move || {
        for i in 0..COUNTS[COUNTS.len() - 1] {
            // SAFETY: slot `i` < SLOTS lies inside the mapping; its first word is 8-aligned
            // (page-aligned mapping, 128-byte stride) and only accessed atomically.
            let pin = unsafe { &*first.add(i * SLOT_SIZE).cast::<AtomicU64>() };
            black_box(pin.load(Ordering::SeqCst));
        }
    }));
    let writes = group(ops);
    let scan = writes[2 * COUNTS.len()];

    // Reads: the main thread's reader of each of our channels, the first upstream reader of
    // each upstream channel (unchecked, as a user who trusts the writer reads upstream).
    let mut ops = Vec::new();
    for point in &ours_points {
        let reader = &point.reader;
        ops.push(timed(move || {
            black_box(reader.read().expect("ours: read").version);
        }));
    }
    for point in &mut upstream_points {
        let sync = &mut point.readers[0];
        ops.push(timed(move || {
            // SAFETY: the writer does not write while the reads are timed.
            let value = unsafe { sync.read::<u::HelloWorld>(false) }.expect("upstream: read");
            black_box(value.version);
        }));
    }
    let reads = group(ops);

    let n = COUNTS.len();
    let (ours_write, upstream_write) = (&writes[..n], &writes[n..2 * n]);
    let (ours_read, upstream_read) = (&reads[..n], &reads[n..]);

    let mut section = Section::new("Many readers (#12, target 5)");
    section.line(format!(
        "HelloWorld channels with {} live readers each, one channel per point, every channel of \
         both sides timed in one interleaved group (publishes), then another (reads). Ours: the \
         channel has {SLOTS} reader slots; one `Reader` opened on the main thread (which holds a \
         slot) is cloned into N - 1 threads that each read once, claiming a slot of their own, \
         and then park holding it. Upstream: N `Synchronizer`s in the main thread, each of \
         which has read once and stays open; an upstream reader leaves nothing on the writer's \
         path between reads. Read cost: the main thread's safe `read()` (ours) and one \
         `Synchronizer`'s unchecked `read(false)` (upstream).",
        COUNTS.map(|c| c.to_string()).join(", ")
    ));
    section.line("");
    section.line("| live readers | ours publish | upstream publish | ours read | upstream read |");
    section.line("| ---: | ---: | ---: | ---: | ---: |");
    for i in 0..n {
        section.line(format!(
            "| {} | {} | {} | {} | {} |",
            COUNTS[i],
            ns(ours_write[i]),
            ns(upstream_write[i]),
            ns(ours_read[i]),
            ns(upstream_read[i])
        ));
    }
    let last = n - 1;
    let per_reader = (ours_write[last] - ours_write[0]) / (COUNTS[last] - COUNTS[0]) as f64;
    section.line("");
    let floor = ours_write[0] + scan;
    section.line(format!(
        "Ours grows by {} per live reader. On each publish the writer loads the pin of every \
         slot below the high-water mark, to find a copy no reader may be reading: one cache \
         line per live reader ({SLOT_SIZE}-byte slots, {} of slot table for 1,000 readers). \
         Those 1,000 loads alone, on a shared mapping at the same stride and timed in the same \
         group, take {}; so as long as a publish reads every live reader's slot, it cannot \
         cost less than {} with 1,000 readers, {} times the cost with one. Meeting 2x needs a \
         publish that does not visit every live reader's slot.",
        ns(per_reader),
        human((COUNTS[last] * SLOT_SIZE) as f64 / 1024.0, report::Unit::KiB),
        ns(scan),
        ns(floor),
        report::ratio_text(floor / ours_write[0]),
    ));
    section.line("");

    let rows = vec![
        Row::new(
            "publish with 1,000 live readers vs with 1",
            format!("HelloWorld, {SLOTS} slots"),
            ours_write[last],
        )
        .against(ours_write[0], "ours, 1 reader")
        .target("#12", Target::Ratio(2.0))
        .floor(floor / ours_write[0]),
        Row::new(
            "floor of a publish with 1,000 live readers (1 reader's publish + a scan of 1,000 slot lines) vs with 1",
            format!("HelloWorld, {SLOTS} slots"),
            floor,
        )
        .against(ours_write[0], "ours, 1 reader"),
        Row::new("publish with 1,000 live readers vs upstream's", "HelloWorld", ours_write[last])
            .against(upstream_write[last], "upstream, 1,000 readers"),
        Row::new("safe `read()` with 1,000 live readers vs with 1", "HelloWorld", ours_read[last])
            .against(ours_read[0], "ours, 1 reader"),
    ];
    Ok((rows, section).into())
}
