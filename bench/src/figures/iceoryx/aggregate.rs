//! Aggregate reads per second of 1, 4 and 16 reader processes reading the 40-byte value
//! together: ours (safe `read()`, one field) against the iceoryx2 blackboard (`get()`, one
//! field). Each reader process opens its reader (and, for iceoryx2, a node), says `ready`,
//! and on `go` reads as fast as it can for a fixed time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::{node, service, service_name};
use crate::harness::measure::median;
use crate::harness::report::{Row, Section, Unit, human};
use crate::harness::{ChildProcess, Context, Outcome, Result, sys};
use crate::values::{iceoryx as i, ours as o};

/// Reader processes at each point.
const PROCESSES: [usize; 3] = [1, 4, 16];
/// How long each round reads.
const READ_FOR: Duration = Duration::from_millis(500);
/// Rounds per point, sides alternating.
const ROUNDS: usize = 3;

/// One round: `n` reader processes of `side` on `name` read together; reads of all of them per
/// second, from the first one's start to the last one's end.
fn round(side: &str, name: &str, n: usize) -> Result<f64> {
    let millis = READ_FOR.as_millis().to_string();
    let mut children = (0..n)
        .map(|_| ChildProcess::spawn(&["iceoryx-reads", side, name, &millis]))
        .collect::<Result<Vec<_>>>()?;
    for child in &mut children {
        child.expect("ready")?;
    }
    for child in &mut children {
        child.say("go")?;
    }
    let (mut reads, mut start, mut end) = (0, u64::MAX, 0);
    for child in &mut children {
        let f = child.fields("reads")?;
        reads += f[0];
        start = start.min(f[1]);
        end = end.max(f[2]);
    }
    for child in children {
        child.wait()?;
    }
    Ok(reads as f64 / ((end - start) as f64 / 1e9))
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let path = cx.scratch.path("peer_aggregate_small");
    let mut writer = ours::Writer::<o::Small>::open(&path)?;
    writer.write(&o::small())?;
    let creator = node()?;
    let name = service_name("aggregate_board");
    let _board = creator
        .service_builder(&service(&name)?)
        .blackboard_creator::<u64>()
        .max_readers(32)
        .max_nodes(32)
        .add::<i::Small>(0, i::small())
        .create()?;

    let path_text = path.to_string_lossy().into_owned();
    let mut points = Vec::new();
    for n in PROCESSES {
        let (mut ours, mut peer) = (Vec::new(), Vec::new());
        for r in 0..ROUNDS {
            let mut sides =
                [("ours", path_text.as_str(), &mut ours), ("iceoryx2", &name, &mut peer)];
            if r % 2 == 1 {
                sides.reverse();
            }
            for (side, at, rates) in sides {
                rates.push(round(side, at, n)?);
            }
        }
        points.push((n, median(ours), median(peer)));
    }
    drop(writer);
    cx.scratch.remove_prefixed(&path);

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut section = Section::new("iceoryx2: aggregate reads of several processes");
    section.line(format!(
        "1, 4 and 16 reader processes read the 40-byte value together for {} ms per round: \
         ours with safe `read()` and one field, iceoryx2 with the blackboard's `get()` (a copy \
         of the value) and one field. Each process opens its reader (iceoryx2: a node, the \
         service, a reader port and the entry handle) before the round starts, outside the \
         timed window. Aggregate: reads of all processes per second, from the first one's \
         start to the last one's end; sides alternate over {ROUNDS} rounds, medians. This \
         machine has {cpus} CPUs: beyond {cpus} processes, processes share CPUs and the \
         aggregate cannot grow. A blackboard `get()` ends with a compare-exchange on the \
         entry's shared write-cell word (iceoryx2 0.10's `UnrestrictedAtomic::load`), so its \
         readers write one cache line that every reader process shares.",
        READ_FOR.as_millis()
    ));
    section.line("");
    section.line("| processes | ours | iceoryx2 blackboard | ours / iceoryx2 |");
    section.line("| ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for &(n, ours, peer) in &points {
        section.line(format!(
            "| {n} | {} | {} | {:.2} |",
            human(ours, Unit::PerSec),
            human(peer, Unit::PerSec),
            ours / peer
        ));
        rows.push(
            Row::new(
                format!("aggregate reads/s, {n} reader processes, vs iceoryx2 blackboard `get()`"),
                "40-byte value",
                ours,
            )
            .against(peer, "iceoryx2 blackboard `get()`")
            .unit(Unit::PerSec),
        );
    }
    section.line("");
    let rows = rows.into_iter().map(Row::headline).collect::<Vec<_>>();
    Ok((rows, section).into())
}

/// Child: `iceoryx-reads SIDE NAME MILLIS`: opens a reader at NAME, says `ready`, waits for
/// `go`, reads for MILLIS ms and prints `reads COUNT START_NS END_NS`.
pub fn child(args: &[String]) -> Result<()> {
    let [side, name, millis] = args else {
        return Err("iceoryx-reads SIDE NAME MILLIS".into());
    };
    let read_for = Duration::from_millis(millis.parse()?);
    let (reads, start, end) = match side.as_str() {
        "ours" => {
            let reader = ours::Reader::<o::Small>::open(name)?;
            black_box(reader.read()?.version);
            ready_then_read(read_for, || {
                black_box(reader.read().expect("ours: read").version.to_native())
            })?
        }
        "iceoryx2" => {
            let node = node()?;
            let board = node.service_builder(&service(name)?).blackboard_opener::<u64>().open()?;
            let reader = board.reader_builder().create()?;
            let entry = reader.entry::<i::Small>(&0)?;
            black_box(entry.get().version);
            ready_then_read(read_for, || black_box(entry.get().version))?
        }
        other => return Err(format!("unknown side {other}").into()),
    };
    println!("reads {reads} {start} {end}");
    Ok(())
}

/// Says `ready`, waits for a line on stdin, then runs `read` for `read_for`; returns the reads
/// and the start and end on CLOCK_MONOTONIC.
fn ready_then_read(read_for: Duration, mut read: impl FnMut() -> u64) -> Result<(u64, u64, u64)> {
    println!("ready");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let start = sys::monotonic_ns();
    let deadline = Instant::now() + read_for;
    let mut reads = 0u64;
    loop {
        for _ in 0..1024 {
            read();
        }
        reads += 1024;
        if Instant::now() >= deadline {
            break;
        }
    }
    Ok((reads, start, sys::monotonic_ns()))
}
