//! The hot read: reading one field of a published value that has not changed.
//!
//! Ours: safe `read()` of a validated generation, one field, guard dropped (zero-copy; the
//! generation was validated at its first read). Blackboard: `get()` on an entry handle, which
//! copies the value out of shared memory (a consistent copy of an entry that may be written
//! meanwhile), then one field. Pub-sub: `receive()` of a sample waiting in the subscriber's
//! buffer, one field, sample dropped (zero-copy; dropping it hands it back to the publisher). A
//! pub-sub sample is consumed by its read, so the publisher fills the buffer before each batch
//! of receives, outside the timed window.

use std::hint::black_box;
use std::time::Instant;

use iceoryx2::prelude::*;

use super::{node, service, service_name};
use crate::harness::measure::{Timed, group, timed};
use crate::harness::report::{Row, Section};
use crate::harness::{Context, Outcome, Result};
use crate::values::{iceoryx as i, ours as o};

/// Samples a subscriber's buffer holds: the receives timed between two refills.
const BUFFER: usize = 256;

/// The hot read of a value of `T` on each side: ours through `reader`, the blackboard through
/// its entry `key`, pub-sub through a new service named `name`. Returns ours, blackboard,
/// pub-sub in ns per read.
fn measure<T, I>(
    reader: &ours::Reader<T>,
    field: fn(&T::Archived) -> u64,
    blackboard: &iceoryx2::port::reader::EntryHandle<ipc::Service, u64, I>,
    node: &super::Node,
    name: &str,
    value: I,
    peer_field: fn(&I) -> u64,
) -> Result<[f64; 3]>
where
    T: ours::SharedState,
    I: Copy + std::fmt::Debug + ZeroCopySend + 'static,
{
    let pubsub = node
        .service_builder(&service(&service_name(name))?)
        .publish_subscribe::<I>()
        .subscriber_max_buffer_size(BUFFER)
        .create()?;
    let publisher = pubsub.publisher_builder().create()?;
    let subscriber = pubsub.subscriber_builder().buffer_size(BUFFER).create()?;
    let receive: Timed = Box::new(move |n| {
        let (mut total, mut left) = (0u128, n);
        while left > 0 {
            let k = left.min(BUFFER as u64);
            for _ in 0..k {
                publisher.send_copy(value).expect("iceoryx2: send");
            }
            let start = Instant::now();
            for _ in 0..k {
                let sample = subscriber.receive().expect("iceoryx2: receive").expect("a sample");
                black_box(peer_field(&sample));
            }
            total += start.elapsed().as_nanos();
            left -= k;
        }
        total as f64 / n as f64
    });
    let m = group(vec![
        timed(|| {
            let guard = reader.read().expect("ours: read");
            black_box(field(&guard));
        }),
        timed(|| {
            black_box(peer_field(&blackboard.get()));
        }),
        receive,
    ]);
    Ok([m[0], m[1], m[2]])
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let path = cx.scratch.path("peer_read_small");
    let mut writer = ours::Writer::<o::Small>::open(&path)?;
    writer.write(&o::small())?;
    let small_reader = ours::Reader::<o::Small>::open(&path)?;
    let hello_reader = cx.hello.paths.ours_reader()?;

    let node = node()?;
    let board = node
        .service_builder(&service(&service_name("read_board"))?)
        .blackboard_creator::<u64>()
        .add::<i::Small>(0, i::small())
        .add::<i::HelloWorld>(1, i::hello())
        .create()?;
    let board_reader = board.reader_builder().create()?;
    let small_entry = board_reader.entry::<i::Small>(&0)?;
    let hello_entry = board_reader.entry::<i::HelloWorld>(&1)?;

    let small = measure(
        &small_reader,
        |v| v.version.to_native(),
        &small_entry,
        &node,
        "read_small",
        i::small(),
        |v| v.version,
    )?;
    let hello = measure(
        &hello_reader,
        |v| v.version.to_native().into(),
        &hello_entry,
        &node,
        "read_hello",
        i::hello(),
        |v| v.version.into(),
    )?;
    drop(writer);
    cx.scratch.remove_prefixed(&path);

    let mut rows = Vec::new();
    for (payload, [ours, board, pubsub]) in
        [("40-byte value", small), ("HelloWorld (iceoryx2: 52 bytes in place)", hello)]
    {
        rows.push(
            Row::new(
                "hot read: safe `read()` vs iceoryx2 blackboard `get()` (a copy)",
                payload,
                ours,
            )
            .against(board, "iceoryx2 blackboard `get()`"),
        );
        rows.push(
            Row::new(
                "hot read: safe `read()` vs iceoryx2 pub-sub `receive()` (zero-copy)",
                payload,
                ours,
            )
            .against(pubsub, "iceoryx2 `receive()` + drop"),
        );
    }
    let mut section = Section::new("iceoryx2: the hot read");
    section.line(
        "Ours: safe `read()` of a validated generation, one field, guard dropped (zero-copy; \
         validated at its first read). iceoryx2 blackboard: `get()` on an entry handle, which \
         copies the value out of shared memory, then one field. iceoryx2 publish-subscribe: \
         `receive()` of a sample waiting in the subscriber's buffer, one field, the sample \
         dropped (zero-copy; dropping hands the sample back to the publisher). A pub-sub sample \
         is consumed by its read, so the publisher refills the buffer (256 samples) before \
         each batch of receives, outside the timed window. The three are timed in one group of \
         interleaved rounds, in one process.",
    );
    section.line("");
    let rows = rows.into_iter().map(Row::headline).collect::<Vec<_>>();
    Ok((rows, section).into())
}
