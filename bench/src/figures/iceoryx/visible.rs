//! Publish-to-visible in another process, with notification: the main process publishes, a
//! reader process sleeps until it is told and reads, and each publish is timed from its start
//! to the end of the first read in the other process that returns it (CLOCK_MONOTONIC, which
//! both processes share).
//!
//! Ours: `write`; the reader process sleeps in `wait_for_change` (a futex the writer wakes),
//! then `read()`s, which validates the new generation in full (bytecheck, checksum, schema
//! fingerprint) before it returns it, and reads the version. iceoryx2: loan, write, `send`,
//! then `notify` on an event service; the reader process sleeps in the listener's
//! `timed_wait`, then `receive`s the sample (zero-copy, not validated) and reads the version.
//! The floor of the 1 MiB rows is a third side, measured the same way: iceoryx2 as above, with
//! the checksum kept at both ends as ours keeps it: the publisher copies the value into the
//! sample and hashes it in the same pass (the writer's copy-and-hash of ours), and the reader
//! hashes each received sample in full (xxh3, as a reader of ours checks a new generation's
//! checksum) before it reads the version.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use iceoryx2::prelude::*;

use super::{node, service, service_name};
use crate::harness::measure::{group, median, quantile, timed};
use crate::harness::report::{Row, Section, Target, ns};
use crate::harness::{ChildProcess, Context, Outcome, Result, sys};
use crate::values::{MIB_LEN, iceoryx as i, ours as o};

/// Untimed publishes before the timed ones.
const WARM_UP: u32 = 4;
/// How long a reader process waits for the next publish before it gives up.
const PATIENCE: Duration = Duration::from_secs(10);

/// The two payloads: HelloWorld and 1 MiB.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    Hello,
    Mib,
}

impl Payload {
    fn name(self) -> &'static str {
        match self {
            Payload::Hello => "hello",
            Payload::Mib => "mib",
        }
    }

    fn parse(s: &str) -> Result<Payload> {
        match s {
            "hello" => Ok(Payload::Hello),
            "mib" => Ok(Payload::Mib),
            other => Err(format!("unknown payload {other}").into()),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Payload::Hello => "HelloWorld",
            Payload::Mib => "1 MiB",
        }
    }
}

/// One side's run: each publish's start and end, and when the reader process saw each version.
struct Run {
    publishes: Vec<(u64, u64)>,
    seen: Vec<(u64, u64)>,
}

impl Run {
    /// ns from each seen publish's start to the end of the read that returned it.
    fn latencies(&self) -> Vec<f64> {
        self.seen
            .iter()
            .filter(|&&(v, _)| v >= 1 && v as usize <= self.publishes.len())
            .map(|&(v, at)| at.saturating_sub(self.publishes[v as usize - 1].0) as f64)
            .collect()
    }

    fn publish_times(&self) -> Vec<f64> {
        self.publishes.iter().map(|&(s, e)| (e - s) as f64).collect()
    }
}

/// How one side publishes version `v`.
type Publish = Box<dyn FnMut(u32) -> Result<()>>;

/// One side being measured: its reader process and how it publishes.
struct Side {
    reader: ChildProcess,
    publish: Publish,
}

impl Side {
    /// Starts the reader process (`iceoryx-visible SIDE PAYLOAD NAME COUNT`) of a side whose
    /// channel or service is `name` and waits until it is ready.
    fn start(
        side: &str,
        payload: Payload,
        name: &str,
        count: u32,
        publish: Publish,
    ) -> Result<Side> {
        let mut reader = ChildProcess::spawn(&[
            "iceoryx-visible",
            side,
            payload.name(),
            name,
            &count.to_string(),
        ])?;
        reader.expect("ready")?;
        Ok(Side { reader, publish })
    }

    /// Collects what the reader process saw, once every version was published.
    fn finish(mut self, publishes: Vec<(u64, u64)>) -> Result<Run> {
        let mut seen = Vec::with_capacity(publishes.len());
        loop {
            let line = self.reader.line()?;
            if line == "done" {
                break;
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("seen"), Some(v), Some(at)) => seen.push((v.parse()?, at.parse()?)),
                _ => return Err(format!("unexpected line from a reader: {line:?}").into()),
            }
        }
        self.reader.wait()?;
        Ok(Run { publishes, seen })
    }
}

/// Publishes versions 1 to `count` on every side, the sides taking turns publish by publish,
/// `gap` apart (each side's reader sleeps while the others publish, so every side meets the
/// machine in the same state), and collects what each side's reader saw.
fn run_sides(mut sides: Vec<Side>, count: u32, gap: Duration) -> Result<Vec<Run>> {
    // Let the readers reach their waits.
    std::thread::sleep(Duration::from_millis(50));
    // Untimed publishes of version 0 first: the first publish into each copy (ours) or sample
    // (iceoryx2), and the reader's first look at it, set things up once.
    for _ in 0..WARM_UP {
        for side in &mut sides {
            std::thread::sleep(gap);
            (side.publish)(0)?;
        }
    }
    let mut publishes = vec![Vec::with_capacity(count as usize); sides.len()];
    for v in 1..=count {
        for (side, times) in sides.iter_mut().zip(&mut publishes) {
            std::thread::sleep(gap);
            let start = sys::monotonic_ns();
            (side.publish)(v)?;
            times.push((start, sys::monotonic_ns()));
        }
    }
    sides.into_iter().zip(publishes).map(|(side, times)| side.finish(times)).collect()
}

/// Ours: a writer of the payload at a channel under the scratch directory.
fn ours_side(cx: &Context, payload: Payload, count: u32) -> Result<(Side, PathBuf)> {
    let path = cx.scratch.path(&format!("peer_visible_{}", payload.name()));
    let name = path.to_string_lossy().into_owned();
    let publish: Publish = match payload {
        Payload::Hello => {
            let mut writer = ours::Writer::<o::HelloWorld>::open(&path)?;
            let mut value = o::hello();
            value.version = 0;
            writer.write(&value)?;
            Box::new(move |v| {
                value.version = v;
                writer.write(&value)?;
                Ok(())
            })
        }
        Payload::Mib => {
            let mut writer = ours::Writer::<o::Big>::open(&path)?;
            let mut value = o::big(MIB_LEN);
            value.version = 0;
            writer.write(&value)?;
            Box::new(move |v| {
                value.version = v;
                writer.write(&value)?;
                Ok(())
            })
        }
    };
    Ok((Side::start("ours", payload, &name, count, publish)?, path))
}

/// iceoryx2's side; `hashed`: its publisher copies each sample in and hashes it in one pass,
/// and its reader hashes each sample in full before reading it (the floor of ours, which
/// checksums every generation it publishes and checks the checksum of every one it reads).
fn iceoryx_side(payload: Payload, count: u32, hashed: bool) -> Result<Side> {
    let side = if hashed { "iceoryx2-hashed" } else { "iceoryx2" };
    let node = node()?;
    let name = service_name(&format!("visible_{side}_{}", payload.name()));
    let event = node.service_builder(&service(&format!("{name}/event"))?).event().create()?;
    let notifier = event.notifier_builder().create()?;
    let publish: Publish = match payload {
        Payload::Hello => {
            let pubsub = node
                .service_builder(&service(&name)?)
                .publish_subscribe::<i::HelloWorld>()
                .subscriber_max_buffer_size(1)
                .create()?;
            let publisher = pubsub.publisher_builder().create()?;
            let mut value = i::hello();
            // The node and the services live as long as the ports that use them.
            let keep = (node, event, pubsub);
            Box::new(move |v| {
                let _ = &keep;
                value.version = v;
                publisher.loan_uninit()?.write_payload(value).send()?;
                notifier.notify()?;
                Ok(())
            })
        }
        Payload::Mib => {
            let pubsub = node
                .service_builder(&service(&name)?)
                .publish_subscribe::<[u64]>()
                .subscriber_max_buffer_size(1)
                .create()?;
            let publisher = pubsub.publisher_builder().initial_max_slice_len(MIB_LEN).create()?;
            let mut source: Vec<u64> = (0..MIB_LEN as u64).collect();
            let keep = (node, event, pubsub);
            Box::new(move |v| {
                let _ = &keep;
                source[0] = u64::from(v);
                let mut sample = publisher.loan_slice_uninit(MIB_LEN)?;
                let sample = if hashed {
                    let payload = sample.payload_mut();
                    // SAFETY: the payload's bytes, which the loaned sample owns while it is
                    // held; writing initialized bytes into MaybeUninit<u64> storage is always
                    // valid.
                    let bytes = unsafe {
                        std::slice::from_raw_parts_mut(
                            payload.as_mut_ptr().cast::<u8>(),
                            std::mem::size_of_val(payload),
                        )
                    };
                    let words = sys::word_bytes(&source);
                    black_box(ours::__private::copy_checksummed(bytes, words));
                    // SAFETY: every element was just written (the copy covers the payload).
                    unsafe { sample.assume_init() }
                } else {
                    sample.write_from_slice(&source)
                };
                sample.send()?;
                notifier.notify()?;
                Ok(())
            })
        }
    };
    Side::start(side, payload, &name, count, publish)
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let small = (cx.budget.visible_small, Duration::from_millis(1));
    let mib = (cx.budget.visible_mib, Duration::from_millis(4));
    let mut results = Vec::new();
    for (payload, (count, gap)) in [(Payload::Hello, small), (Payload::Mib, mib)] {
        let (ours, path) = ours_side(cx, payload, count)?;
        let mut sides = vec![ours, iceoryx_side(payload, count, false)?];
        if payload == Payload::Mib {
            sides.push(iceoryx_side(payload, count, true)?);
        }
        let mut runs = run_sides(sides, count, gap)?.into_iter();
        let (ours, peer, hashed) = (runs.next(), runs.next(), runs.next());
        cx.scratch.remove_prefixed(&path);
        let (Some(ours), Some(peer)) = (ours, peer) else {
            return Err("a side of the publish-to-visible figure did not run".into());
        };
        results.push((payload, count, ours, peer, hashed));
    }

    // The reader's checksum pass over 1 MiB, as a reader of ours validates a generation
    // (xxh3-64 of the copy's bytes, as the runtime hashes them today).
    let mib_bytes: Vec<u8> = (0..(MIB_LEN * 8) as u64).map(|i| (i * 7) as u8).collect();
    let checksum = group(vec![timed(|| {
        black_box(ours::__private::copy_checksum(black_box(&mib_bytes)));
    })])[0];

    let mut section = Section::new("iceoryx2: publish-to-visible in another process");
    section.line(format!(
        "The main process publishes HelloWorld {} times, {} ms apart, and 1 MiB {} times, {} ms \
         apart, on each side, the sides taking turns publish by publish (so that every side \
         meets the machine in the same state), each publish carrying its number as the version, after {WARM_UP} untimed \
         publishes (the first publish into each copy or sample, and the reader's first look at \
         it, set things up once); a reader process sleeps until it is told of a publish and \
         reads it. Latency: from the start of the publish to the \
         end of the first read in the reader process that returns it (CLOCK_MONOTONIC, shared \
         by both processes). Ours: `write`; the reader sleeps in `wait_for_change` (a futex \
         the writer wakes), then `read()`s, which validates the new generation in full \
         (bytecheck, checksum, schema fingerprint) before returning it, and reads the version. \
         iceoryx2: `loan_uninit` (1 MiB: `loan_slice_uninit`), the value written into the \
         sample (1 MiB: `write_from_slice`), `send`, then `notify` on an event service; the \
         reader sleeps in the listener's `timed_wait`, then `receive`s the sample (zero-copy, \
         not validated) and reads the version. iceoryx2 + checksum (1 MiB only): the same with \
         the checksum kept at both ends as ours keeps it, the publisher copying the value into \
         the sample and hashing it in one pass (`copy_checksummed`, the writer's \
         copy-and-hash of ours) and the reader hashing the received sample in full (xxh3-64, \
         as ours checks a checksum) before it reads the version.",
        small.0,
        small.1.as_millis(),
        mib.0,
        mib.1.as_millis()
    ));
    section.line("");
    section.line(
        "| payload | side | seen / published | p50 | p99 | max | publish median | publish p99 |",
    );
    section.line("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for (payload, count, ours, peer, hashed) in &results {
        let mut sides = vec![("ours", ours), ("iceoryx2 pub-sub + event", peer)];
        if let Some(hashed) = hashed {
            sides.push(("iceoryx2 pub-sub + event + checksum", hashed));
        }
        for (side, run) in sides {
            let latencies = run.latencies();
            if latencies.is_empty() {
                return Err(format!("{side} saw none of the {count} publishes").into());
            }
            section.line(format!(
                "| {} | {side} | {} / {count} | {} | {} | {} | {} | {} |",
                payload.describe(),
                latencies.len(),
                ns(median(latencies.clone())),
                ns(quantile(latencies.clone(), 0.99)),
                ns(quantile(latencies, 1.0)),
                ns(median(run.publish_times())),
                ns(quantile(run.publish_times(), 0.99)),
            ));
        }
        let (o, p) = (ours.latencies(), peer.latencies());
        let (pm, p9) = (median(p.clone()), quantile(p.clone(), 0.99));
        let label = "iceoryx2 pub-sub + event";
        let mut p50 = Row::new(
            "publish-to-visible in another process, with notification, p50",
            payload.describe(),
            median(o.clone()),
        )
        .against(pm, label);
        let mut p99 = Row::new(
            "publish-to-visible in another process, with notification, p99",
            payload.describe(),
            quantile(o, 0.99),
        )
        .against(p9, label);
        if let Some(hashed) = hashed {
            // Ours moves the bytes as iceoryx2 does, hashing them as it writes them, then a
            // reader hashes them once: at least iceoryx2's latency with the same checksum.
            let h = hashed.latencies();
            if h.is_empty() {
                return Err(
                    format!("the checksumming side saw none of the {count} publishes").into()
                );
            }
            let (hm, h9) = (median(h.clone()), quantile(h, 0.99));
            p50 = p50.target("#21", Target::Ratio(1.25)).floor(hm / pm);
            p99 = p99.target("#21", Target::Ratio(2.0)).floor(h9 / p9);
        }
        rows.push(p50);
        rows.push(p99);
    }
    section.line("");
    section.line(format!(
        "A reader of ours validates each new generation before it returns it, and the checksum \
         pass reads every byte: xxh3-64 of 1 MiB takes {} here on a buffer in cache, and more \
         on bytes another core just wrote; and the checksum it checks is one the writer \
         computed as it copied the value in. Ours moves the bytes into shared memory as \
         iceoryx2's publisher does, so its latency cannot be less than iceoryx2's with the \
         same checksum at both ends (the publisher hashing each sample as it copies it in, the \
         reader hashing it in full) while readers check the whole value: that side's p50 and \
         p99 over iceoryx2's, measured in the same run, are the *floor* of the 1 MiB rows.",
        ns(checksum)
    ));
    section.line("");
    let rows = rows.into_iter().map(Row::headline).collect::<Vec<_>>();
    Ok((rows, section).into())
}

/// Child: `iceoryx-visible SIDE PAYLOAD NAME COUNT`: opens a reader of the channel (ours) or a
/// subscriber and a listener of the services (iceoryx2) at NAME, says `ready`, then waits for
/// publishes and reads each, printing `seen VERSION NS` for each version it sees, until it sees
/// version COUNT (then `done`).
pub fn child(args: &[String]) -> Result<()> {
    let [side, payload, name, count] = args else {
        return Err("iceoryx-visible SIDE PAYLOAD NAME COUNT".into());
    };
    let (payload, count) = (Payload::parse(payload)?, count.parse::<u64>()?);
    let mut seen = Vec::with_capacity(count as usize);
    match (side.as_str(), payload) {
        ("ours", Payload::Hello) => {
            ours_reader::<o::HelloWorld>(name, count, |v| v.version.to_native().into(), &mut seen)?
        }
        ("ours", Payload::Mib) => {
            ours_reader::<o::Big>(name, count, |v| v.version.to_native().into(), &mut seen)?
        }
        (side @ ("iceoryx2" | "iceoryx2-hashed"), payload) => {
            let hashed = side == "iceoryx2-hashed";
            let node = node()?;
            let event = node.service_builder(&service(&format!("{name}/event"))?).event().open()?;
            let listener = event.listener_builder().create()?;
            match payload {
                Payload::Hello => {
                    let pubsub = node
                        .service_builder(&service(name)?)
                        .publish_subscribe::<i::HelloWorld>()
                        .open()?;
                    let subscriber = pubsub.subscriber_builder().buffer_size(1).create()?;
                    println!("ready");
                    wait_and_receive(&listener, count, &mut seen, || {
                        Ok(subscriber.receive()?.map(|s| u64::from(s.version)))
                    })?;
                }
                Payload::Mib => {
                    let pubsub = node
                        .service_builder(&service(name)?)
                        .publish_subscribe::<[u64]>()
                        .open()?;
                    let subscriber = pubsub.subscriber_builder().buffer_size(1).create()?;
                    println!("ready");
                    wait_and_receive(&listener, count, &mut seen, || {
                        Ok(subscriber.receive()?.map(|s| {
                            if hashed {
                                black_box(ours::__private::copy_checksum(sys::word_bytes(&s)));
                            }
                            s[0]
                        }))
                    })?;
                }
            }
        }
        (other, _) => return Err(format!("unknown side {other}").into()),
    }
    for (v, at) in seen {
        println!("seen {v} {at}");
    }
    println!("done");
    Ok(())
}

/// Ours: wait for each new generation, read it (the first read validates it), note its version.
fn ours_reader<T: ours::SharedState>(
    path: &str,
    count: u64,
    version: fn(&T::Archived) -> u64,
    seen: &mut Vec<(u64, u64)>,
) -> Result<()> {
    let reader = ours::Reader::<T>::open(path)?;
    let mut generation = reader.read()?.generation();
    println!("ready");
    loop {
        if reader.wait_for_change(generation, PATIENCE)?.is_none() {
            return Err("no publish for 10 s".into());
        }
        let guard = reader.read()?;
        let v = version(&guard);
        let at = sys::monotonic_ns();
        generation = guard.generation();
        drop(guard);
        seen.push((v, at));
        if v >= count {
            return Ok(());
        }
    }
}

/// iceoryx2: wait for a notification, then take every waiting sample (`receive` returns its
/// version), noting each version.
fn wait_and_receive(
    listener: &iceoryx2::port::listener::Listener<ipc::Service>,
    count: u64,
    seen: &mut Vec<(u64, u64)>,
    mut receive: impl FnMut() -> Result<Option<u64>>,
) -> Result<()> {
    loop {
        if listener.timed_wait(|_| {}, PATIENCE)? == 0 {
            return Err("no notification for 10 s".into());
        }
        while let Some(v) = receive()? {
            seen.push((v, sys::monotonic_ns()));
            if v >= count {
                return Ok(());
            }
        }
    }
}
