//! Publishing: a 40-byte value, HelloWorld and 1 MiB, each side with one idle reader
//! connected.
//!
//! Ours: `write`, which serializes the value into a free copy, checksums it, describes it and
//! publishes it (one reader holds a slot). Blackboard: `update_with_copy` on an entry handle,
//! a store of the value into shared memory (one reader port open). Pub-sub: `loan_uninit` (or
//! `loan_slice_uninit`), the value written into the loaned sample, `send` to the one
//! subscriber, whose buffer of one keeps the newest sample (it never receives). 1 MiB: ours a
//! `Vec<u64>` of 1 MiB, pub-sub a slice of 1 MiB of u64 copied in with `write_from_slice`; the
//! blackboard has no 1 MiB entry (its values are `Copy` types passed by value).

use std::hint::black_box;

use super::{node, service, service_name};
use crate::harness::measure::{group, timed};
use crate::harness::report::{Row, Section, Target};
use crate::harness::{Context, Outcome, Result};
use crate::values::{MIB_LEN, iceoryx as i, ours as o};

/// An idle reader of ours that has read once, so it holds a slot the writer scans.
fn idle_reader<T: ours::SharedState>(path: &std::path::Path) -> Result<ours::Reader<T>> {
    let reader = ours::Reader::<T>::open(path)?;
    drop(reader.read()?);
    Ok(reader)
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
    let node = node()?;
    let board = node
        .service_builder(&service(&service_name("publish_board"))?)
        .blackboard_creator::<u64>()
        .add::<i::Small>(0, i::small())
        .add::<i::HelloWorld>(1, i::hello())
        .create()?;
    let board_writer = board.writer_builder().create()?;
    let _board_reader = board.reader_builder().create()?;

    // The 40-byte value and HelloWorld.
    let mut small = [0.0; 3];
    let mut hello = [0.0; 3];
    {
        let small_path = scratch.path("peer_publish_small");
        let hello_path = scratch.path("peer_publish_hello");
        let mut small_writer = ours::Writer::<o::Small>::open(&small_path)?;
        let mut hello_writer = ours::Writer::<o::HelloWorld>::open(&hello_path)?;
        let (small_value, hello_value) = (o::small(), o::hello());
        small_writer.write(&small_value)?;
        hello_writer.write(&hello_value)?;
        let _small_reader = idle_reader::<o::Small>(&small_path)?;
        let _hello_reader = idle_reader::<o::HelloWorld>(&hello_path)?;

        let small_entry = board_writer.entry::<i::Small>(&0)?;
        let hello_entry = board_writer.entry::<i::HelloWorld>(&1)?;
        let small_service = node
            .service_builder(&service(&service_name("publish_small"))?)
            .publish_subscribe::<i::Small>()
            .subscriber_max_buffer_size(1)
            .create()?;
        let hello_service = node
            .service_builder(&service(&service_name("publish_hello"))?)
            .publish_subscribe::<i::HelloWorld>()
            .subscriber_max_buffer_size(1)
            .create()?;
        let small_publisher = small_service.publisher_builder().create()?;
        let hello_publisher = hello_service.publisher_builder().create()?;
        let _small_subscriber = small_service.subscriber_builder().buffer_size(1).create()?;
        let _hello_subscriber = hello_service.subscriber_builder().buffer_size(1).create()?;
        let (small_peer, hello_peer) = (i::small(), i::hello());

        let m = group(vec![
            timed(|| {
                black_box(small_writer.write(&small_value).expect("ours: write"));
            }),
            timed(|| small_entry.update_with_copy(black_box(small_peer))),
            timed(|| {
                let sample = small_publisher.loan_uninit().expect("iceoryx2: loan");
                sample.write_payload(black_box(small_peer)).send().expect("iceoryx2: send");
            }),
            timed(|| {
                black_box(hello_writer.write(&hello_value).expect("ours: write"));
            }),
            timed(|| hello_entry.update_with_copy(black_box(hello_peer))),
            timed(|| {
                let sample = hello_publisher.loan_uninit().expect("iceoryx2: loan");
                sample.write_payload(black_box(hello_peer)).send().expect("iceoryx2: send");
            }),
        ]);
        small.copy_from_slice(&m[..3]);
        hello.copy_from_slice(&m[3..]);
        scratch.remove_prefixed(&small_path);
        scratch.remove_prefixed(&hello_path);
    }

    // 1 MiB.
    let mib_path = scratch.path("peer_publish_mib");
    let big = o::big(MIB_LEN);
    let mut big_writer = ours::Writer::<o::Big>::open(&mib_path)?;
    big_writer.write(&big)?;
    let _big_reader = idle_reader::<o::Big>(&mib_path)?;
    let mib_service = node
        .service_builder(&service(&service_name("publish_mib"))?)
        .publish_subscribe::<[u64]>()
        .subscriber_max_buffer_size(1)
        .create()?;
    let mib_publisher = mib_service.publisher_builder().initial_max_slice_len(MIB_LEN).create()?;
    let _mib_subscriber = mib_service.subscriber_builder().buffer_size(1).create()?;
    let source: &[u64] = &big.values;
    let mut touched = vec![1u64; MIB_LEN];
    let m = group(vec![
        timed(|| {
            black_box(big_writer.write(&big).expect("ours: write"));
        }),
        timed(|| {
            let sample = mib_publisher.loan_slice_uninit(MIB_LEN).expect("iceoryx2: loan");
            sample.write_from_slice(black_box(source)).send().expect("iceoryx2: send");
        }),
        timed(|| {
            touched.copy_from_slice(black_box(source));
            black_box(touched.as_ptr());
        }),
    ]);
    let mib = [m[0], m[1], m[2]];
    drop(big_writer);
    scratch.remove_prefixed(&mib_path);

    let board_label = "iceoryx2 blackboard `update_with_copy`";
    let pubsub_label = "iceoryx2 pub-sub loan + write + `send`";
    let rows = vec![
        Row::new("publish vs iceoryx2 blackboard store", "40-byte value", small[0])
            .against(small[1], board_label)
            .target("#21", Target::Ratio(15.0)),
        Row::new("publish vs iceoryx2 pub-sub send", "40-byte value", small[0])
            .against(small[2], pubsub_label),
        Row::new("publish vs iceoryx2 blackboard store", "HelloWorld", hello[0])
            .against(hello[1], board_label),
        Row::new("publish vs iceoryx2 pub-sub send", "HelloWorld", hello[0])
            .against(hello[2], pubsub_label),
        Row::new("publish vs iceoryx2 pub-sub send", "1 MiB", mib[0])
            .against(mib[1], "iceoryx2 pub-sub loan + copy + `send`")
            .target("#21", Target::Ratio(1.5)),
        Row::new("publish vs one plain copy of the bytes", "1 MiB", mib[0])
            .against(mib[2], "`copy_from_slice`, touched buffer"),
    ];
    let mut section = Section::new("iceoryx2: publishing");
    section.line(
        "Each side has one idle reader connected. Ours: `write`, which serializes the value \
         straight into a free copy, checksums it (xxh3), writes its descriptor and publishes it \
         (one `Reader` holds a slot the writer scans). iceoryx2 blackboard: `update_with_copy` \
         on an entry handle, one store of the value into shared memory (one reader port open). \
         iceoryx2 publish-subscribe: `loan_uninit` (1 MiB: `loan_slice_uninit`), the value \
         written into the loaned sample (1 MiB: `write_from_slice`, one copy), `send` to the \
         one subscriber, whose buffer of one keeps the newest sample (it never receives). The \
         40-byte value is five u64s on both sides; HelloWorld is ours with its `Vec` of \
         strings, iceoryx2's with three 12-byte messages in place (52 bytes); 1 MiB is ours a \
         `Vec<u64>`, iceoryx2's a slice of u64. The blackboard has no 1 MiB row: its values \
         are `Copy` types passed by value. Each payload's operations, and the 1 MiB copy into \
         a touched buffer, are timed in one group of interleaved rounds.",
    );
    section.line("");
    let rows = rows.into_iter().map(Row::headline).collect::<Vec<_>>();
    Ok((rows, section).into())
}
