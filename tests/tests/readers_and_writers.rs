//! How live, slow and dead reader processes affect the writer.

use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::types::Stamp;

const PROBE: &str = env!("CARGO_BIN_EXE_probe");
const LONG: Duration = Duration::from_secs(20);
const WORDS: usize = 512;

fn publish(writer: &mut Writer<Stamp>) -> mmap_sync::Result<mmap_sync::Published> {
    let next = writer.generation() + 1;
    writer.write(&Stamp::new(next, WORDS))
}

#[test]
fn a_reader_killed_while_holding_a_guard_is_reclaimed_by_the_next_write() {
    let dir = ChannelDir::new("dead-reader");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder()
        .copies(2)
        .max_wait(Duration::from_millis(100))
        .open(&path)
        .unwrap();
    publish(&mut writer).unwrap();
    let mut holder = Probe::spawn(PROBE, args!["hold", path, "600000"]);
    assert_eq!(holder.expect("holding", LONG).num::<u64>("generation"), 1);
    // Generation 2 goes to the other copy; generation 3 needs the pinned one.
    publish(&mut writer).unwrap();
    let blocked = publish(&mut writer).unwrap_err();
    assert!(matches!(blocked, Error::WriterBlocked { .. }), "{blocked:?}");

    holder.kill();
    // The limit is what makes "promptly" a behaviour: without reclamation this is WriterBlocked.
    let published = publish(&mut writer).unwrap();
    assert_eq!(published.generation, 3);
    assert_eq!(published.reclaimed, 1, "{published:?}");
    for _ in 0..10 {
        assert_eq!(publish(&mut writer).unwrap().reclaimed, 0);
    }
}

#[test]
fn a_slow_reader_keeps_its_copy_intact_and_three_copies_never_make_the_writer_wait() {
    let dir = ChannelDir::new("slow-reader-3");
    let path = dir.prefix("stamp");
    // Zero wait limit: any publish that would have to wait for the reader fails instead.
    let mut writer =
        Writer::<Stamp>::builder().copies(3).max_wait(Duration::ZERO).open(&path).unwrap();
    publish(&mut writer).unwrap();
    let mut holder = Probe::spawn(PROBE, args!["hold", path, "1500"]);
    assert_eq!(holder.expect("holding", LONG).num::<u64>("generation"), 1);
    let mut count = 0;
    while count < 500 {
        let published = publish(&mut writer).expect("3 copies: a slow reader must not block");
        assert_ne!(published.copy, 0, "the pinned copy was overwritten");
        count += 1;
    }
    let verdict = holder.next(LONG);
    assert!(verdict.is("intact") && verdict.num::<u64>("generation") == 1, "{verdict}");
    holder.wait_success(LONG);
}

#[test]
fn with_two_copies_a_slow_reader_makes_the_writer_wait_or_give_up_but_stays_intact() {
    let dir = ChannelDir::new("slow-reader-2");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder()
        .copies(2)
        .max_wait(Duration::from_millis(200))
        .open(&path)
        .unwrap();
    publish(&mut writer).unwrap();
    let mut holder = Probe::spawn(PROBE, args!["hold", path, "1500"]);
    assert_eq!(holder.expect("holding", LONG).num::<u64>("generation"), 1);
    publish(&mut writer).unwrap();
    let err = publish(&mut writer).unwrap_err();
    assert!(matches!(err, Error::WriterBlocked { .. }), "{err:?}");
    assert_eq!(writer.generation(), 2, "a blocked write must not publish");

    // With a limit longer than the hold, the same write waits for the reader, then succeeds.
    writer.set_max_wait(Duration::from_secs(30));
    let published = publish(&mut writer).unwrap();
    assert_eq!(published.generation, 3);
    assert!(published.waited > Duration::ZERO);
    let verdict = holder.next(LONG);
    assert!(verdict.is("intact") && verdict.num::<u64>("generation") == 1, "{verdict}");
    holder.wait_success(LONG);
}

#[test]
fn a_full_slot_table_refuses_readers_until_one_leaves() {
    let dir = ChannelDir::new("readers-full");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().reader_slots(2).open(&path).unwrap();
    publish(&mut writer).unwrap();
    let first = Reader::<Stamp>::open(&path).unwrap();
    let _second = Reader::<Stamp>::open(&path).unwrap();
    let err = Reader::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::ReadersFull { slots: 2, .. }), "{err:?}");
    drop(first);
    let third = Reader::<Stamp>::open(&path).unwrap();
    assert_eq!(third.read().unwrap().generation(), 1);
}
