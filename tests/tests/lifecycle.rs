//! Opening, restarting and mixing processes: writer exclusivity, publishing before and after
//! readers arrive, generations across writer restarts, readers of the wrong type.

use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::types::{Note, Other};

const PROBE: &str = env!("CARGO_BIN_EXE_probe");
const LONG: Duration = Duration::from_secs(20);

fn note(version: u32) -> Note {
    Note { version, messages: vec!["Hello".into(), "World".into(), "!".into()] }
}

#[test]
fn a_second_writer_process_gets_writer_exists() {
    let dir = ChannelDir::new("second-writer");
    let path = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    writer.write(&note(1)).unwrap();
    let mut second = Probe::spawn(PROBE, args!["write-note", path, "2"]);
    second.next(LONG).assert_error("WriterExists", &writer.paths().state);
    second.wait_success(LONG);
    // In-process too: each open is its own open file description, so the lock conflicts.
    assert!(matches!(Writer::<Note>::open(&path), Err(Error::WriterExists { .. })));
    // The first writer is undisturbed.
    assert_eq!(writer.write(&note(3)).unwrap().generation, 2);
}

#[test]
fn the_writer_lock_goes_with_a_dead_writer() {
    let dir = ChannelDir::new("dead-writer");
    let path = dir.prefix("note");
    let mut holder = Probe::spawn(PROBE, args!["hold-writer", path, "600000"]);
    holder.expect("ready", LONG);
    assert!(matches!(Writer::<Note>::open(&path), Err(Error::WriterExists { .. })));
    holder.kill();
    let mut writer = Writer::<Note>::open(&path).unwrap();
    assert_eq!(writer.write(&note(2)).unwrap().generation, 2);
}

#[test]
fn a_reader_before_any_write_gets_not_published_and_can_wait_for_the_first_value() {
    let dir = ChannelDir::new("not-published");
    let path = dir.prefix("note");
    // No files at all.
    let err = Reader::<Note>::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotPublished { .. }), "{err:?}");
    assert_eq!(err.path(), dir.paths("note").state, "the error names the state file");

    // A waiting reader process, started before the writer exists.
    let mut waiter = Probe::spawn(PROBE, args!["wait-change", path, "0", "20000"]);
    let mut writer = Writer::<Note>::open(&path).unwrap();
    // Files exist, nothing published: open works, read says NotPublished.
    let reader = Reader::<Note>::open(&path).unwrap();
    assert_eq!(reader.generation(), 0);
    assert!(matches!(reader.read(), Err(Error::NotPublished { .. })));
    assert_eq!(reader.wait_for_change(0, Duration::from_millis(50)).unwrap(), None);

    // Give the waiter time to block on the futex, then publish.
    std::thread::sleep(Duration::from_millis(300));
    writer.write(&note(7)).unwrap();
    let changed = waiter.next(LONG);
    assert!(changed.is("changed") && changed.num::<u64>("generation") == 1, "{changed}");
    waiter.wait_success(LONG);
    assert_eq!(reader.wait_for_change(0, LONG).unwrap(), Some(1));
    let guard = reader.read().unwrap();
    assert_eq!(guard.version, 7);
    assert_eq!(guard.messages.len(), 3);
}

#[test]
fn a_restarted_writer_continues_the_generation_count() {
    let dir = ChannelDir::new("restart");
    let path = dir.prefix("note");
    for expected in 1..=3u64 {
        let mut run = Probe::spawn(PROBE, args!["write-note", path, expected.to_string()]);
        let published = run.next(LONG);
        assert!(published.is("published"), "{published}");
        assert_eq!(published.num::<u64>("generation"), expected);
        run.wait_success(LONG);
    }
    let reader = Reader::<Note>::open(&path).unwrap();
    let guard = reader.read().unwrap();
    assert_eq!((guard.generation(), guard.version.to_native()), (3, 3));
    drop(guard);
    let mut writer = Writer::<Note>::open(&path).unwrap();
    assert_eq!(writer.generation(), 3);
    assert_eq!(writer.write(&note(4)).unwrap().generation, 4);
    assert_eq!(reader.read().unwrap().version, 4);
}

#[test]
fn a_reader_of_another_type_gets_schema_mismatch() {
    let dir = ChannelDir::new("schema");
    let path = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    writer.write(&note(1)).unwrap();
    let mut other = Probe::spawn(PROBE, args!["open-read", path, "other"]);
    let line = other.next(LONG);
    line.assert_error("SchemaMismatch", &writer.paths().state);
    assert_eq!((line.field("expected_type"), line.field("found_type")), ("Other", "Note"));
    assert_eq!(line.num::<u64>("expected_fingerprint"), Other::FINGERPRINT);
    assert_eq!(line.num::<u64>("found_fingerprint"), Note::FINGERPRINT);
    other.wait_success(LONG);
    // A writer of another type refuses the channel too, instead of clobbering it.
    let err = Writer::<Other>::open(&path);
    assert!(matches!(err, Err(Error::WriterExists { .. })));
    drop(writer);
    let err = Writer::<Other>::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
}

#[test]
fn generation_is_one_cheap_load_that_follows_publishes() {
    let dir = ChannelDir::new("generation");
    let path = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    let reader = Reader::<Note>::open(&path).unwrap();
    for expected in 1..=5 {
        writer.write(&note(expected as u32)).unwrap();
        assert_eq!(reader.generation(), expected);
    }
}

#[test]
fn a_restarted_writer_replaces_a_missing_or_damaged_readers_file_keeping_the_last_value() {
    let dir = ChannelDir::new("readers-file");
    let path = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    writer.write(&note(1)).unwrap();
    let readers_file = writer.paths().readers.clone();
    drop(writer);

    std::fs::remove_file(&readers_file).unwrap();
    let err = Reader::<Note>::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }) && err.path() == readers_file, "{err:?}");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    assert_eq!(Reader::<Note>::open(&path).unwrap().read().unwrap().version, 1);
    drop(writer);

    std::fs::write(&readers_file, b"garbage").unwrap();
    assert!(matches!(Reader::<Note>::open(&path), Err(Error::Corrupt { .. })));
    writer = Writer::<Note>::open(&path).unwrap();
    assert_eq!(writer.write(&note(2)).unwrap().generation, 2);
    assert_eq!(Reader::<Note>::open(&path).unwrap().read().unwrap().version, 2);
}

#[test]
fn every_prefix_whose_longest_file_name_fits_works_and_a_longer_one_is_refused_naming_the_limit() {
    use mmap_sync::ChannelPaths;
    let dir = ChannelDir::new("long-prefix");
    let longest = "n".repeat(ChannelPaths::MAX_PREFIX_NAME_LEN);
    assert_eq!(longest.len(), 247, "P_readers and P_data_15 must fit in 255 bytes");
    let path = dir.prefix(&longest);
    // Three copies and a damaged readers file: every file is created, and later replaced, under
    // temporary names.
    let mut writer = Writer::<Note>::builder().copies(3).open(&path).unwrap();
    writer.write(&note(1)).unwrap();
    drop(writer);
    std::fs::write(&dir.paths(&longest).readers, b"garbage").unwrap();
    let mut writer = Writer::<Note>::builder().copies(3).open(&path).unwrap();
    assert_eq!(writer.write(&note(2)).unwrap().generation, 2);
    let reader = Reader::<Note>::open(&path).unwrap();
    assert_eq!(reader.read().unwrap().version, 2);
    drop((reader, writer));

    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    let before = files();
    let too_long = dir.prefix(&"n".repeat(ChannelPaths::MAX_PREFIX_NAME_LEN + 1));
    for err in
        [Writer::<Note>::open(&too_long).unwrap_err(), Reader::<Note>::open(&too_long).unwrap_err()]
    {
        let Error::Io { path, source } = &err else { panic!("expected Io: {err:?}") };
        assert_eq!(path, &too_long);
        assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput);
        assert!(source.to_string().contains("at most 247"), "{err}");
    }
    assert_eq!(files(), before, "nothing was created for the refused prefix");
}
