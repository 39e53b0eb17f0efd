//! Opening a reader and its first read of the 40-byte value.
//!
//! Ours: `Reader::open` (opens and maps the channel's files, claims a slot on the first read)
//! and the first `read()`, which validates the generation, then one field. iceoryx2: a node
//! (its entry point: every port belongs to one), the blackboard service opened, a reader port
//! created, the entry handle taken, `get()`, one field; and the same with the node made once
//! beforehand. Pub-sub has no row: a new subscriber receives the newest sample only once the
//! publisher next sends or updates its connections, not by itself.

use std::hint::black_box;

use super::{node, service, service_name};
use crate::harness::measure::{group, timed};
use crate::harness::report::{Row, Section};
use crate::harness::{Context, Outcome, Result};
use crate::values::{iceoryx as i, ours as o};

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let path = cx.scratch.path("peer_open_small");
    let mut writer = ours::Writer::<o::Small>::open(&path)?;
    writer.write(&o::small())?;
    writer.write(&o::small())?;

    let creator = node()?;
    let name = service(&service_name("open_board"))?;
    let _board = creator
        .service_builder(&name)
        .blackboard_creator::<u64>()
        .add::<i::Small>(0, i::small())
        .create()?;
    let open_board = |node: &super::Node| {
        let board = node.service_builder(&name).blackboard_opener::<u64>().open().expect("open");
        let reader = board.reader_builder().create().expect("iceoryx2: reader");
        let entry = reader.entry::<i::Small>(&0).expect("iceoryx2: entry");
        black_box(entry.get().version);
    };
    let m = group(vec![
        timed(|| {
            let reader = ours::Reader::<o::Small>::open(&path).expect("ours: open reader");
            black_box(reader.read().expect("ours: read").version);
        }),
        timed(|| open_board(&node().expect("iceoryx2: node"))),
        timed(|| open_board(&creator)),
    ]);
    drop(writer);
    cx.scratch.remove_prefixed(&path);

    let payload = "40-byte value";
    let rows = vec![
        Row::new("open a reader + its first read vs iceoryx2 node + blackboard", payload, m[0])
            .against(m[1], "iceoryx2 node, open, reader port, entry, `get()`"),
        Row::new(
            "open a reader + its first read vs iceoryx2 blackboard, node made beforehand",
            payload,
            m[0],
        )
        .against(m[2], "iceoryx2 open, reader port, entry, `get()`"),
    ];
    let mut section = Section::new("iceoryx2: opening a reader");
    section.line(
        "Ours: `Reader::open` (opens and maps the channel's state, slot table and data copy, \
         claims a slot) and the first `read()`, which validates the generation, then one \
         field. iceoryx2: a node (iceoryx2's entry point; every port belongs to one), the \
         blackboard service opened, a reader port created, the entry handle taken, `get()`, \
         one field; and the same with the node made once beforehand. Each open is dropped \
         before the next; the three are timed in one group of interleaved rounds. \
         Publish-subscribe has no row: a new subscriber receives the newest sample only once \
         the publisher next sends or updates its connections, not by itself.",
    );
    section.line("");
    let rows = rows.into_iter().map(Row::headline).collect::<Vec<_>>();
    Ok((rows, section).into())
}
