//! Reads of a published value: the safe read against the bare protocol and upstream's reads,
//! two reading threads, a large validated value, and opening a reader.

use std::hint::black_box;
use std::path::Path;
use std::sync::Barrier;
use std::time::Instant;

use crate::figures::bare;
use crate::harness::measure::{BATCH, batch, calibrate, group, interleave, pair, timed};
use crate::harness::report::{Row, Target};
use crate::harness::{Context, Outcome, Result, sys};
use crate::values::{STRING_ENTRIES, UPSTREAM_GRACE, ours as o, upstream as u};
use upstream::synchronizer::Synchronizer;

/// The safe read (guard, one field, guard dropped) against the bare protocol and upstream's
/// unchecked and checked reads, all four in one group.
pub fn reads(cx: &mut Context) -> Result<Outcome> {
    let (hello, scratch) = (&cx.hello, &cx.scratch);
    let reader = hello.paths.ours_reader()?;
    let mut unchecked = hello.paths.upstream_reader();
    let mut checked = hello.paths.upstream_reader();
    let bare = bare::Bare::create(&scratch.path("bare_protocol"))?;
    let m = group(vec![
        timed(|| {
            let guard = reader.read().expect("ours: read");
            black_box(guard.version);
        }),
        timed(bare.read_op()),
        timed(|| {
            // SAFETY: nothing writes this channel while the group runs.
            let value = unsafe { unchecked.read::<u::HelloWorld>(false) }.expect("upstream: read");
            black_box(value.version);
        }),
        timed(|| {
            // SAFETY: as above.
            let value = unsafe { checked.read::<u::HelloWorld>(true) }.expect("upstream: read");
            black_box(value.version);
        }),
    ]);
    Ok(Outcome::from(vec![
        Row::new("safe `read()` + guard drop vs the bare read protocol", "HelloWorld", m[0])
            .against(m[1], "bare protocol")
            .target("#12", Target::Ratio(1.5)),
        Row::new("safe `read()` vs upstream unchecked read", "HelloWorld", m[0])
            .against(m[2], "upstream `read(false)`")
            .target("#12", Target::Ratio(0.5))
            .floor(m[1] / m[2]),
        Row::new("safe `read()` vs upstream checked read", "HelloWorld", m[0])
            .against(m[3], "upstream `read(true)`")
            .target("#4", Target::Ratio(0.3)),
        Row::new(
            "the bare read protocol vs upstream unchecked read (the floor of a safe read)",
            "HelloWorld",
            m[1],
        )
        .against(m[2], "upstream `read(false)`"),
    ]))
}

/// Two threads, each with its own reader, reading as fast as they can: wall time per read
/// of both together (so ratio <= 0.125 means ours does at least 8x the reads per second).
pub fn two_threads(cx: &mut Context) -> Result<Outcome> {
    let hello = &cx.hello;
    let single = {
        let reader = hello.paths.ours_reader()?;
        let mut op = || {
            black_box(reader.read().expect("ours: read").version);
        };
        calibrate(&mut op);
        batch(100_000, &mut op)
    };
    let per_thread = (BATCH.as_nanos() as f64 / single) as u64;
    let paths = &hello.paths;
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
                let value = unsafe { sync.read::<u::HelloWorld>(false) }.expect("upstream: read");
                black_box(value.version);
            }
        })
    };
    let (ours, upstream) = interleave(ours, upstream);
    Ok(Outcome::from(
        Row::new(
            "2 reader threads, each its own `Reader`: wall time per read of both",
            "HelloWorld",
            ours,
        )
        .against(upstream, "upstream `read(false)`")
        .target("#4", Target::Ratio(0.125)),
    ))
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
pub fn strings(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
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
    Ok(Outcome::from(
        Row::new(
            "safe `read()` of a validated value vs upstream checked read",
            format!(
                "string-heavy, {}k entries ({:.1} MB ours, {:.1} MB upstream)",
                STRING_ENTRIES / 1000,
                bytes as f64 / 1e6,
                upstream_bytes as f64 / 1e6
            ),
            ours,
        )
        .against(upstream, "upstream `read(true)`")
        .target("#4", Target::Ratio(0.001)),
    ))
}

/// Opening a reader and its first read, against upstream's lazy open and first checked
/// read, and against the system calls alone of opening our channel.
pub fn open_and_first_read(cx: &mut Context) -> Result<Outcome> {
    let hello = &cx.hello;
    let paths = ours::ChannelPaths::new(&hello.paths.ours);
    // The channel has been written more than once: both of its copies exist.
    if !paths.data(0).exists() {
        return Err(format!("{} does not exist", paths.data(0).display()).into());
    }
    let m = group(vec![
        timed(|| {
            let reader = hello.paths.ours_reader().expect("ours: open reader");
            black_box(reader.read().expect("ours: read").version);
        }),
        timed(|| {
            let mut sync = hello.paths.upstream_reader();
            // SAFETY: nothing writes this channel while the group runs.
            let value = unsafe { sync.read::<u::HelloWorld>(true) }.expect("upstream: read");
            black_box(value.version);
        }),
        timed(|| {
            let open = |path: &Path, writable: bool| {
                let file =
                    std::fs::File::options().read(true).write(writable).open(path).expect("open");
                let len = file.metadata().expect("fstat").len() as usize;
                let map = sys::SharedMap::map(&file, len.max(1), writable).expect("mmap");
                (file, map, len)
            };
            let state = open(&paths.state, false);
            let readers = open(&paths.readers, true);
            let data = open(&paths.data(0), false);
            // The last byte of the slot table belongs to no slot's lock.
            sys::ofd_lock_and_unlock(&readers.0, readers.2 as u64 - 1).expect("lock");
            black_box((state, readers, data));
        }),
    ]);
    Ok(Outcome::from(vec![
        Row::new("open a reader + its first read", "HelloWorld", m[0])
            .against(m[1], "upstream `new` + first `read(true)`")
            .target("#12", Target::Ratio(1.0))
            .floor(m[2] / m[1]),
        Row::new(
            "opening and mapping a reader's three files and locking a slot byte, by hand (the \
             floor of opening a reader)",
            "HelloWorld",
            m[2],
        )
        .against(m[1], "upstream `new` + first `read(true)`"),
    ]))
}
