//! The trust model, one test per claim (README, "Guarantees and limits"). Each attack runs in a
//! child process (`neighbour`) with the access the claim is about, against victims that are
//! child processes too, so a crash is a failed test rather than a silent pass.
//!
//! What a process with a reader's access (read on `P_state` and the data files, read-write on
//! `P_readers`) cannot do: lower the writer's slot scan, crash the writer or a reader by
//! truncating `P_readers`, keep the writer out with a lock, make the writer skip a wake, or make a
//! restarted writer overwrite what live readers hold. What it can (and the README says so): erase
//! another reader's pin (`a_reader_can_erase_another_readers_pin_as_documented`).

use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::types::Stamp;

const NEIGHBOUR: &str = env!("CARGO_BIN_EXE_neighbour");
const LONG: Duration = Duration::from_secs(20);

fn publish(writer: &mut Writer<Stamp>) -> mmap_sync::Result<mmap_sync::Published> {
    writer.write(&Stamp::new(writer.generation() + 1, 512))
}

fn attack(role: &str, path: &std::path::Path, extra: &[&str]) {
    let mut args = vec![role, path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut attacker = Probe::spawn(NEIGHBOUR, args);
    attacker.expect("done", LONG);
    attacker.wait_success(LONG);
}

#[test]
fn a_reader_lowering_the_high_water_mark_cannot_hide_a_pinned_copy() {
    for copies in [2, 3] {
        let dir = ChannelDir::new("high-water");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder()
            .copies(copies)
            .max_wait(Duration::from_millis(50))
            .open(&path)
            .unwrap();
        publish(&mut writer).unwrap();
        let mut victim = Probe::spawn(NEIGHBOUR, args!["hold", path, "1500"]);
        let held: u64 = victim.expect("holding", LONG).num("generation");
        // The writer sees the victim's slot once...
        publish(&mut writer).unwrap();
        // ... then a reader sets the shared mark to 0.
        attack("lower-high-water", &path, &[]);
        let mut blocked = 0;
        for _ in 0..20 {
            match publish(&mut writer) {
                Ok(_) => {}
                Err(Error::WriterBlocked { .. }) => blocked += 1,
                Err(e) => panic!("{e}"),
            }
        }
        let line = victim.expect("held", LONG);
        assert_eq!(line.field("intact"), "true", "copies {copies}: the held value changed: {line}");
        assert_eq!(line.num::<u64>("generation"), held);
        victim.wait_success(LONG);
        // With 2 copies the victim's pin blocks the only other copy: the writer waits and gives
        // up rather than overwrite it; with 3 it always has a free copy.
        if copies == 2 {
            assert!(blocked > 0, "the writer never saw the victim's pin");
        } else {
            assert_eq!(blocked, 0);
        }
    }
}

/// The limit the README states: `P_readers` is writable by every reader, so a reader can erase
/// another reader's pin, and the writer may then overwrite the copy that reader is reading. This
/// pins the limit down (if it ever stops being possible, the README must change).
#[test]
fn a_reader_can_erase_another_readers_pin_as_documented() {
    let dir = ChannelDir::new("erase-pin");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    publish(&mut writer).unwrap();
    let mut victim = Probe::spawn(NEIGHBOUR, args!["hold", path, "1500"]);
    let line = victim.expect("holding", LONG);
    attack("zero-pin", &path, &[line.field("slot")]);
    // Two copies: the second publish goes to the victim's copy, whose pin is gone.
    publish(&mut writer).unwrap();
    publish(&mut writer).unwrap();
    let line = victim.expect("held", LONG);
    assert_eq!(line.field("intact"), "false", "the erased pin still protected the copy: {line}");
}

#[test]
fn truncating_the_readers_file_crashes_neither_writer_nor_readers() {
    let dir = ChannelDir::new("truncate-readers");
    let path = dir.prefix("stamp");
    // Created here so the readers find it; the writer process continues it.
    drop(Writer::<Stamp>::open(&path).unwrap());
    let mut writer = Probe::spawn(NEIGHBOUR, args!["write-loop", path, "200", "5"]);
    writer.expect("writing", LONG);
    let mut readers: Vec<Probe> =
        (0..2).map(|_| Probe::spawn(NEIGHBOUR, args!["read-loop", path, "1500"])).collect();
    for reader in &mut readers {
        reader.expect("reading", LONG);
    }
    std::thread::sleep(Duration::from_millis(200));
    attack("truncate-readers", &path, &[]);
    for mut reader in readers {
        let line = reader.expect("reads", LONG);
        eprintln!("reader: {line}");
        // The writer saw the slot table cut short and went on in a new set of files.
        assert_eq!(line.field("superseded"), "true", "{line}");
        assert_eq!(line.num::<u64>("torn"), 0, "{line}");
        assert_eq!(line.num::<u64>("backwards"), 0, "{line}");
        assert!(line.num::<u64>("count") > 0, "{line}");
        reader.wait_success(LONG);
    }
    let line = writer.expect("wrote", LONG);
    writer.wait_success(LONG);
    // The writer went on in a new set of files and published there.
    assert!(line.num::<u64>("published") > 150, "{line}");
    let fresh = Reader::<Stamp>::open(&path).unwrap();
    let guard = fresh.read().unwrap();
    assert!(guard.is_intact(guard.generation()));
    assert_eq!(guard.generation(), line.num::<u64>("last"));
}

#[test]
fn another_users_read_locks_cannot_keep_the_writer_out() {
    if !mmap_sync_tests::skip::needs_root("switching to another user") {
        return;
    }
    let dir = ChannelDir::new("read-locks");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let path = dir.prefix("stamp");
    let mut writer =
        Writer::<Stamp>::builder().file_mode(0o644).readers_mode(0o666).open(&path).unwrap();
    publish(&mut writer).unwrap();
    drop(writer);
    let mut locker = Probe::spawn(NEIGHBOUR, args!["read-lock", path, "nobody"]);
    let line = locker.expect("locked", LONG);
    // Everything a reader may open is locked; the writer's lock file cannot even be opened.
    assert_eq!(line.field("files"), "state,readers,0,1", "{line}");
    assert_eq!(line.field("refused"), "writer", "{line}");
    let mut writer = Writer::<Stamp>::open(&path).expect("a read lock kept the writer out");
    assert_eq!(publish(&mut writer).unwrap().generation, 2);
    locker.kill();
}

#[test]
fn the_writers_own_user_holding_its_lock_file_is_a_live_writer() {
    // The same user can open the lock file: a process of the writer's user is trusted, and one
    // holding the lock is treated as a writer.
    let dir = ChannelDir::new("own-user-lock");
    let path = dir.prefix("stamp");
    drop(Writer::<Stamp>::open(&path).unwrap());
    let mut locker = Probe::spawn(NEIGHBOUR, args!["read-lock", path, "self"]);
    let line = locker.expect("locked", LONG);
    assert_eq!(line.field("files"), "state,readers,writer,0,1", "{line}");
    let err = Writer::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::WriterExists { .. }), "{err:?}");
    locker.kill();
    Writer::<Stamp>::open(&path).expect("the lock went with the process");
}

#[test]
fn every_timeout_is_valid_input_including_duration_max() {
    let dir = ChannelDir::new("duration-max");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().max_wait(Duration::MAX).open(&path).unwrap();
    publish(&mut writer).unwrap();
    let reader = Reader::<Stamp>::builder().open_wait(&path, Duration::MAX).unwrap();
    let waiter = {
        let reader = reader.clone();
        std::thread::spawn(move || reader.wait_for_change(1, Duration::MAX))
    };
    std::thread::sleep(Duration::from_millis(50));
    publish(&mut writer).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), Some(2));
    assert_eq!(reader.wait_for_validated(1, Duration::MAX).unwrap(), Some(2));
    writer.set_max_wait(Duration::MAX);
    assert_eq!(publish(&mut writer).unwrap().generation, 3);
    // A zero timeout is valid too: it returns at once.
    assert_eq!(reader.wait_for_change(3, Duration::ZERO).unwrap(), None);
}

#[test]
fn a_readers_file_deleted_under_live_readers_makes_the_next_writer_leave_their_copies_alone() {
    let dir = ChannelDir::new("readers-deleted");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    for _ in 0..5 {
        publish(&mut writer).unwrap();
    }
    let mut victim = Probe::spawn(NEIGHBOUR, args!["hold", path, "1000"]);
    assert_eq!(victim.expect("holding", LONG).num::<u64>("generation"), 5);
    drop(writer);
    std::fs::remove_file(mmap_sync::ChannelPaths::new(&path).readers).unwrap();
    // The next writer cannot see the victim's pin: it must not write the files the victim maps.
    let mut next = Writer::<Stamp>::open(&path).unwrap();
    assert_eq!(next.generation(), 5, "the last value is carried into the new set");
    for _ in 0..10 {
        publish(&mut next).unwrap();
    }
    let line = victim.expect("held", LONG);
    assert_eq!(line.field("intact"), "true", "{line}");
    assert_eq!(victim.expect("superseded", LONG).field("value"), "true");
    victim.wait_success(LONG);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    assert!(reader.read().unwrap().is_intact(15));
}

#[test]
fn a_readers_file_with_a_damaged_header_is_repaired_without_losing_the_pins() {
    let dir = ChannelDir::new("readers-magic");
    let path = dir.prefix("stamp");
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(20)).open(&path).unwrap();
    publish(&mut writer).unwrap();
    let mut victim = Probe::spawn(NEIGHBOUR, args!["hold", path, "1000"]);
    victim.expect("holding", LONG);
    drop(writer);
    attack("zero-readers-magic", &path, &[]);
    let err = Reader::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }) && err.to_string().contains("magic"), "{err}");
    // The restarted writer repairs the header in place and still sees the victim's pin: with two
    // copies it cannot publish twice while the victim holds generation 1.
    let mut next =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(20)).open(&path).unwrap();
    publish(&mut next).unwrap();
    let err = publish(&mut next).unwrap_err();
    assert!(matches!(err, Error::WriterBlocked { .. }), "{err:?}");
    let line = victim.expect("held", LONG);
    assert_eq!(line.field("intact"), "true", "{line}");
    assert_eq!(victim.expect("superseded", LONG).field("value"), "false");
    victim.wait_success(LONG);
    Reader::<Stamp>::open(&path).expect("the repaired readers file opens");
}

#[test]
fn a_state_file_deleted_under_a_live_writer_does_not_admit_a_second_writer() {
    let dir = ChannelDir::new("state-deleted");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    for _ in 0..5 {
        publish(&mut writer).unwrap();
    }
    std::fs::remove_file(mmap_sync::ChannelPaths::new(&path).state).unwrap();
    let err = Writer::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::WriterExists { .. }), "{err:?}");
}

#[test]
fn a_writer_started_after_every_file_was_deleted_never_writes_the_old_files() {
    let dir = ChannelDir::new("all-deleted");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    for _ in 0..5 {
        publish(&mut writer).unwrap();
    }
    let mut victim = Probe::spawn(NEIGHBOUR, args!["hold", path, "1000"]);
    assert_eq!(victim.expect("holding", LONG).num::<u64>("generation"), 5);
    for file in mmap_sync::ChannelPaths::new(&path).all(2) {
        std::fs::remove_file(file).unwrap();
    }
    // The old writer still runs (on its unlinked files); a new one starts a new channel.
    let mut second = Writer::<Stamp>::open(&path).unwrap();
    assert_eq!(second.generation(), 0);
    for _ in 0..10 {
        publish(&mut second).unwrap();
    }
    let line = victim.expect("held", LONG);
    assert_eq!(line.field("intact"), "true", "{line}");
    victim.wait_success(LONG);
    publish(&mut writer).expect("the first writer keeps its own files");
}

#[test]
fn a_reader_used_after_fork_takes_a_slot_of_its_own_and_leaves_the_parents_pin() {
    let dir = ChannelDir::new("fork-reader");
    let path = dir.prefix("stamp");
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(20)).open(&path).unwrap();
    publish(&mut writer).unwrap();
    let mut forked = Probe::spawn(NEIGHBOUR, args!["fork-reader", path]);
    let child = forked.expect("child", LONG);
    let parent = forked.expect("parent", LONG);
    assert_eq!(child.num::<u64>("read"), 1, "{child}");
    assert_eq!(child.field("intact"), "true", "{child}");
    assert_eq!(child.num::<u64>("again"), 1, "{child}");
    assert_ne!(child.field("slot"), parent.field("slot"), "child {child} parent {parent}");
    assert_eq!(parent.field("child_ok"), "true", "{parent}");
    forked.expect("publish-now", LONG);
    // The parent still holds generation 1 in one of the two copies: one publish fits, the next
    // must wait for it.
    publish(&mut writer).unwrap();
    let err = publish(&mut writer).unwrap_err();
    assert!(matches!(err, Error::WriterBlocked { .. }), "the parent's pin was lost: {err:?}");
    let line = forked.expect("parent-held", LONG);
    assert_eq!(line.field("intact"), "true", "{line}");
    forked.wait_success(LONG);
}

#[test]
fn a_writer_used_after_fork_refuses_in_the_child_and_goes_on_in_the_parent() {
    let dir = ChannelDir::new("fork-writer");
    let path = dir.prefix("stamp");
    let mut forked = Probe::spawn(NEIGHBOUR, args!["fork-writer", path]);
    let child = forked.next(LONG);
    child.assert_error("Forked", &mmap_sync::ChannelPaths::new(&path).writer);
    let parent = forked.expect("parent", LONG);
    assert_eq!(parent.num::<u64>("published"), 2, "{parent}");
    forked.wait_success(LONG);
}

#[test]
fn a_writer_asking_for_other_counts_than_the_channel_has_is_refused() {
    let dir = ChannelDir::new("counts");
    let path = dir.prefix("stamp");
    drop(Writer::<Stamp>::open(&path).unwrap());
    let err = Writer::<Stamp>::builder().reader_slots(4).open(&path).unwrap_err();
    assert!(matches!(err, Error::Incompatible { .. }), "{err:?}");
    assert!(err.to_string().contains("128 reader slots"), "{err}");
    let err = Writer::<Stamp>::builder().copies(3).open(&path).unwrap_err();
    assert!(matches!(err, Error::Incompatible { .. }), "{err:?}");
    let err = Writer::<Stamp>::builder().max_size(4 << 30).open(&path).unwrap_err();
    assert!(matches!(err, Error::Incompatible { .. }), "{err:?}");
    Writer::<Stamp>::builder().max_size(1 << 20).open(&path).expect("a smaller max_size is fine");
}

#[test]
fn a_flooded_waiter_bitmap_cannot_make_the_writer_skip_a_wake() {
    let dir = ChannelDir::new("waiters");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    publish(&mut writer).unwrap();
    // All ones, before the victim starts waiting: a counter would wrap to 0 on its increment.
    attack("flood-waiters", &path, &[]);
    let mut waiter = Probe::spawn(NEIGHBOUR, args!["wait", path, "1", "10000"]);
    waiter.expect("waiting", LONG);
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    publish(&mut writer).unwrap();
    let line = waiter.next(LONG);
    assert!(line.is("changed"), "{line}");
    assert_eq!(line.num::<u64>("generation"), 2, "{line}");
    eprintln!("woken {:?} after the publish", started.elapsed());
    waiter.wait_success(LONG);
}
