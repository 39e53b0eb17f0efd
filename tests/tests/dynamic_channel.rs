//! The dynamic view on real channels: `DynReader` reads what a writer process publishes, through
//! the structure the channel records, never a torn value; channels without a structure are
//! refused by name; `DynWriter` publishes archives of a type it knows only as a structure, which
//! typed readers read, and refuses a damaged archive naming the field.

use std::time::{Duration, Instant};

use mmap_sync::dynamic::{ChannelType, DynReader, DynWriter, NumericKind};
use mmap_sync::synchronizer::Synchronizer;
use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::types::{Note, Stamp};

const PROBE: &str = env!("CARGO_BIN_EXE_probe");
const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_dynamic_reader_reads_a_writer_process_without_a_torn_value() {
    let dir = ChannelDir::new("dynamic-stamps");
    let path = dir.prefix("stamp");
    // Sizes change with every publish (0): some copies are large, some small.
    let mut writer = Probe::spawn(PROBE, args!["stamp-writer", &path, "2", "1500", "0"]);
    writer.expect("ready", LONG);
    let reader = DynReader::builder().open_wait(&path, LONG).expect("the writer creates it");
    reader.wait_for_change(0, LONG).unwrap().expect("the writer publishes");
    let (mut reads, mut generations) = (0u64, std::collections::BTreeSet::new());
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) {
        let guard = reader.read().unwrap();
        let value = guard.value().unwrap();
        let stamped = value.field("generation").unwrap().as_u64().unwrap();
        let words = value.field("words").unwrap().numeric().unwrap().expect("a Vec<u64>");
        assert_eq!(words.kind(), NumericKind::U64);
        let torn = words
            .bytes()
            .chunks_exact(8)
            .any(|word| u64::from_le_bytes(word.try_into().unwrap()) != stamped);
        assert!(!torn, "generation {} read torn", guard.generation());
        assert_eq!(stamped, guard.generation());
        generations.insert(stamped);
        reads += 1;
    }
    writer.expect("published", LONG);
    writer.wait_success(LONG);
    assert!(generations.len() > 1, "{reads} reads saw {generations:?}");
}

#[test]
fn a_channel_without_a_structure_is_refused_naming_its_type_and_file() {
    let dir = ChannelDir::new("dynamic-facade");
    let path = dir.prefix("hello");
    let mut facade = Synchronizer::new(path.as_os_str());
    let value = mmap_sync_schemas::HelloWorld { version: 1, messages: vec!["hi".into()] };
    facade.write(&value, Duration::from_secs(1)).unwrap();
    let error = DynReader::open(&path).unwrap_err();
    assert!(matches!(&error, Error::NoStructure { type_name, .. } if type_name == "HelloWorld"));
    assert_eq!(error.path(), mmap_sync::ChannelPaths::new(&path).state);
    assert!(error.to_string().contains("recorded no structure"), "{error}");
}

#[test]
fn a_dynamic_reader_waits_for_changes_and_reads_nested_values() {
    let dir = ChannelDir::new("dynamic-wait");
    let path = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    writer.write(&Note { version: 1, messages: vec!["one".into()] }).unwrap();
    let reader = DynReader::open(&path).unwrap();
    assert_eq!(reader.structure().root_name(), "Note");
    let seen = reader.read().unwrap().generation();
    assert_eq!(reader.wait_for_change(seen, Duration::from_millis(10)).unwrap(), None);
    let publisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let long = "a message longer than eight bytes".to_owned();
        writer.write(&Note { version: 2, messages: vec!["two".into(), long] }).unwrap();
    });
    let changed = reader.wait_for_change(seen, Duration::MAX).unwrap();
    publisher.join().unwrap();
    assert_eq!(changed, Some(2));
    let guard = reader.read().unwrap();
    let value = guard.value().unwrap();
    assert_eq!(value.field("version").unwrap().as_u64().unwrap(), 2);
    assert_eq!(
        value.at("messages[1]").unwrap().as_str().unwrap(),
        "a message longer than eight bytes"
    );
    assert_eq!(
        value.to_json().unwrap(),
        r#"{"version":2,"messages":["two","a message longer than eight bytes"]}"#
    );
}

fn stamp_bytes(generation: u64, len: usize) -> rkyv::util::AlignedVec {
    rkyv::to_bytes::<rkyv::rancor::Error>(&Stamp::new(generation, len)).unwrap()
}

#[test]
fn a_dynamic_writer_publishes_what_a_typed_reader_reads() {
    let dir = ChannelDir::new("dynamic-writer");
    let path = dir.prefix("stamp");
    let ty = ChannelType::of::<Stamp>().expect("a derived type has a structure");
    let mut writer = DynWriter::builder().copies(2).open(&path, &ty).unwrap();
    writer.write_bytes(&stamp_bytes(1, 100)).unwrap();
    assert_eq!(ChannelType::recorded(&path).unwrap(), ty);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    assert_eq!(reader.read().unwrap().words.len(), 100);

    // In place, as a relay downloads a large value.
    let bytes = stamp_bytes(2, 1 << 16);
    let mut staged = writer.stage(bytes.len()).unwrap();
    staged.bytes_mut().copy_from_slice(&bytes);
    assert_eq!(staged.publish().unwrap().generation, 2);
    let guard = reader.read().unwrap();
    assert!(guard.words.iter().all(|&w| w == 2) && guard.words.len() == 1 << 16);
}

#[test]
fn a_dynamic_writer_refuses_a_damaged_archive_naming_the_field_and_keeps_the_last_value() {
    let dir = ChannelDir::new("dynamic-writer-damaged");
    let path = dir.prefix("note");
    let ty = ChannelType::of::<Note>().unwrap();
    let mut writer = DynWriter::open(&path, &ty).unwrap();
    let good = Note { version: 3, messages: vec!["a message longer than eight bytes".into()] };
    let good = rkyv::to_bytes::<rkyv::rancor::Error>(&good).unwrap();
    writer.write_bytes(&good).unwrap();
    // The out-of-line string's bytes start the archive: make them invalid UTF-8.
    let mut bad = good.to_vec();
    bad[0] = 0xff;
    let error = writer.write_bytes(&bad).unwrap_err();
    assert!(matches!(error, Error::InvalidValue { .. }), "{error}");
    assert!(error.to_string().contains("messages[0]"), "names the field: {error}");
    let reader = Reader::<Note>::open(&path).unwrap();
    let guard = reader.read().unwrap();
    assert_eq!((guard.generation(), guard.version.to_native()), (1, 3));
}

#[test]
fn a_dynamic_writer_of_another_type_is_refused() {
    let dir = ChannelDir::new("dynamic-writer-other");
    let path = dir.prefix("note");
    Writer::<Note>::open(&path).unwrap().write(&Note { version: 1, messages: vec![] }).unwrap();
    let error = DynWriter::open(&path, &ChannelType::of::<Stamp>().unwrap()).unwrap_err();
    assert!(matches!(error, Error::SchemaMismatch { .. } | Error::WriterExists { .. }), "{error}");
}
