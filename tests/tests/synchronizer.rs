//! The upstream-shaped facade: same method names as mmap-sync 2.x, safe reads.

use std::time::Duration;

use mmap_sync::synchronizer::{Synchronizer, SynchronizerError};
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
struct HelloWorld {
    version: u32,
    messages: Vec<String>,
}

#[derive(rkyv::Archive, rkyv::Serialize, Debug)]
struct Different {
    x: u64,
    y: u64,
}

#[test]
fn a_synchronizer_writes_and_another_reads_with_upstream_method_names() {
    let dir = ChannelDir::new("facade");
    let path = dir.prefix("hello_world");
    let mut writer = Synchronizer::new(path.as_os_str());
    let mut reader = Synchronizer::new(path.as_os_str());
    assert!(
        matches!(reader.version(), Err(SynchronizerError::FailedStateRead(e)) if e.kind() == std::io::ErrorKind::NotFound)
    );

    let value =
        HelloWorld { version: 7, messages: vec!["Hello".into(), "World".into(), "!".into()] };
    let (bytes, reset) = writer.write(&value, Duration::from_secs(1)).unwrap();
    assert!(bytes > 0);
    assert!(!reset);
    assert_eq!(u64::from(writer.version().unwrap()), 1);

    let read = reader.read::<HelloWorld>(false).unwrap();
    assert!(read.is_switched(), "the first read switches to a generation");
    assert_eq!(read.version, 7);
    assert_eq!(
        read.messages.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["Hello", "World", "!"]
    );
    let owned: HelloWorld = rkyv::deserialize::<_, rkyv::rancor::Error>(&*read).unwrap();
    assert_eq!(owned, value);
    drop(read);
    assert!(!reader.read::<HelloWorld>(false).unwrap().is_switched(), "same generation again");
    assert_eq!(u64::from(reader.version().unwrap()), 1);

    let raw = rkyv::to_bytes::<rkyv::rancor::Error>(&HelloWorld { version: 8, messages: vec![] })
        .unwrap();
    writer.write_raw::<HelloWorld>(&raw, Duration::from_secs(1)).unwrap();
    let read = reader.read::<HelloWorld>(true).unwrap();
    assert!(read.is_switched());
    assert_eq!(read.version, 8);
    drop(read);

    // Bytes that are not a HelloWorld are refused and the last value stays.
    let err = writer.write_raw::<HelloWorld>(&[0xff; 7], Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err.error(), Some(mmap_sync::Error::InvalidValue { .. })), "{err:?}");
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 8);

    // Writing another type through the same synchronizer is refused, and changes nothing.
    let err = writer.write(&Different { x: 1, y: 2 }, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err.error(), Some(mmap_sync::Error::SchemaMismatch { .. })), "{err:?}");
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 8);

    // Reading as another type is a schema mismatch, not garbage.
    let err = reader.read::<Different>(true).unwrap_err();
    assert!(matches!(err.error(), Some(mmap_sync::Error::SchemaMismatch { .. })), "{err:?}");
}

/// Upstream's README code, with only the import changed: `new` takes `&OsStr` (so
/// `"...".as_ref()` infers), `write` returns `(usize, bool)`, and `read` may still be called in
/// an `unsafe` block although it is safe here.
#[test]
fn code_written_for_upstream_compiles_and_runs_after_changing_the_import() {
    let dir = ChannelDir::new("facade-port");
    let path = dir.prefix("hello_world");
    let prefix: &str = path.to_str().unwrap();

    let mut synchronizer = Synchronizer::new(prefix.as_ref());
    let data = HelloWorld {
        version: 7,
        messages: vec!["Hello".to_string(), "World".to_string(), "!".to_string()],
    };
    let (written, reset) =
        synchronizer.write(&data, Duration::from_secs(1)).expect("failed to write data");
    assert!(written > 0 && !reset);

    let mut synchronizer = Synchronizer::new(prefix.as_ref());
    // SAFETY: nothing to uphold: `read` is safe here; the block is upstream's calling code.
    #[allow(unused_unsafe)]
    let data = unsafe { synchronizer.read::<HelloWorld>(false) }.expect("failed to read data");
    assert_eq!(data.version, 7);
    assert_eq!(format!("{:?}", data.messages), r#"["Hello", "World", "!"]"#);
}

/// The same definition as `mmap_sync_schemas::HelloWorld`, which derives `SharedState`; this one does not.
mod plain {
    #[derive(rkyv::Archive, rkyv::Serialize, Debug)]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<String>,
    }
}

#[test]
fn a_derived_type_and_the_same_definition_without_the_derive_share_a_channel() {
    use mmap_sync::{Reader, Writer};

    let dir = ChannelDir::new("facade-derive");
    // The facade creates the channel with a type that has no derive; the derived type reads it
    // through `Reader`, then takes it over with `Writer`, and the facade reads that back.
    let path = dir.prefix("facade_first");
    let mut facade = Synchronizer::new(path.as_os_str());
    let value = plain::HelloWorld { version: 1, messages: vec!["plain".into()] };
    facade.write(&value, Duration::from_secs(1)).unwrap();
    let reader = Reader::<mmap_sync_schemas::HelloWorld>::open(&path).unwrap();
    assert_eq!(reader.read().unwrap().version, 1);
    drop(facade); // gives up the writer lock
    let mut writer = Writer::<mmap_sync_schemas::HelloWorld>::open(&path).unwrap();
    assert_eq!(writer.write(&mmap_sync_schemas::HelloWorld::example()).unwrap().generation, 2);
    let mut facade = Synchronizer::new(path.as_os_str());
    assert_eq!(facade.read::<plain::HelloWorld>(true).unwrap().version, 7);
    // A derived type may be used through the facade too.
    let read = facade.read::<mmap_sync_schemas::HelloWorld>(true).unwrap();
    assert_eq!((read.version.to_native(), read.generation()), (7, 2));
    drop(read);
    drop(writer);

    // A channel the derived type created is written and read through the facade.
    let path = dir.prefix("native_first");
    let mut writer = Writer::<mmap_sync_schemas::HelloWorld>::open(&path).unwrap();
    writer.write(&mmap_sync_schemas::HelloWorld::example()).unwrap();
    drop(writer);
    let mut facade = Synchronizer::new(path.as_os_str());
    assert_eq!(facade.read::<plain::HelloWorld>(true).unwrap().version, 7);
    facade.write(&value, Duration::from_secs(1)).unwrap();
    let reader = Reader::<mmap_sync_schemas::HelloWorld>::open(&path).unwrap();
    assert_eq!(reader.read().unwrap().version, 1);
    assert_eq!(u64::from(facade.version().unwrap()), reader.generation());
}

#[test]
fn waiting_for_a_change_returns_the_next_version_and_none_when_nothing_changes() {
    let dir = ChannelDir::new("facade-wait");
    let path = dir.prefix("hello_world");
    let value = HelloWorld { version: 1, messages: vec![] };

    // Nothing exists yet: the wait looks for the files until a writer creates them.
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let mut writer = Synchronizer::new(writer_path.as_os_str());
        writer.write(&value, Duration::from_secs(1)).unwrap();
        writer
    });
    let mut reader = Synchronizer::new(path.as_os_str());
    let first = reader.wait_for_change::<HelloWorld>(None, Duration::from_secs(30)).unwrap();
    let first = first.expect("the writer published within the timeout");
    assert_eq!(first.generation(), 1);
    let mut writer = writer.join().unwrap();

    // Nothing new: the wait ends at its timeout with `None`.
    let none = reader.wait_for_change::<HelloWorld>(Some(first), Duration::from_millis(20));
    assert_eq!(none.unwrap(), None);

    let waiter = std::thread::spawn(move || {
        let next = reader.wait_for_change::<HelloWorld>(Some(first), Duration::from_secs(30));
        let next = next.unwrap().expect("the writer published within the timeout");
        (next, reader.read::<HelloWorld>(true).unwrap().version)
    });
    writer.write(&HelloWorld { version: 2, messages: vec![] }, Duration::from_secs(1)).unwrap();
    let (next, version) = waiter.join().unwrap();
    assert!(next > first);
    assert_eq!(version, 2);
}

#[test]
fn a_durable_synchronizer_publishes_and_continues_the_generations() {
    let dir = ChannelDir::new("facade-durable");
    let path = dir.prefix("hello_world");
    let mut writer = Synchronizer::new(path.as_os_str());
    let mut reader = Synchronizer::new(path.as_os_str());
    let value = |version| HelloWorld { version, messages: vec!["x".into()] };
    writer.write(&value(1), Duration::from_secs(1)).unwrap();
    // Switching durability reopens the writer at the next write; the channel goes on.
    writer.set_durable(true);
    writer.write(&value(2), Duration::from_secs(1)).unwrap();
    assert_eq!(u64::from(writer.version().unwrap()), 2);
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 2);
    writer.set_durable(false);
    writer.write(&value(3), Duration::from_secs(1)).unwrap();
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 3);
}

#[test]
fn a_state_file_left_by_upstream_is_refused_with_its_name_not_reinitialised() {
    let dir = ChannelDir::new("facade-upstream-files");
    let path = dir.prefix("hello_world");
    // Upstream's state file: 16 bytes (version word and two reader counts).
    let state = dir.paths("hello_world").state;
    std::fs::write(&state, [0u8; 16]).unwrap();
    let mut writer = Synchronizer::new(path.as_os_str());
    let err = writer.write(&HelloWorld { version: 1, messages: vec![] }, Duration::from_secs(1));
    let err = err.unwrap_err();
    assert!(matches!(err, SynchronizerError::FailedStateRead(_)), "{err:?}");
    assert!(err.to_string().contains("hello_world_state"), "{err}");
    assert_eq!(std::fs::read(&state).unwrap(), [0u8; 16], "the file is left as it was");
    let err = Synchronizer::new(path.as_os_str()).read::<HelloWorld>(true).unwrap_err();
    assert!(matches!(err.error(), Some(mmap_sync::Error::Corrupt { .. })), "{err:?}");
}

#[test]
fn a_reader_follows_a_replaced_set_of_files_once_version_is_asked() {
    let dir = ChannelDir::new("facade-superseded");
    let path = dir.prefix("hello_world");
    let value = |version| HelloWorld { version, messages: vec![] };
    let mut writer = Synchronizer::new(path.as_os_str());
    writer.write(&value(1), Duration::from_secs(1)).unwrap();
    let mut reader = Synchronizer::new(path.as_os_str());
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 1);

    // A restarted writer that finds the readers file missing starts a new set of files.
    drop(writer);
    std::fs::remove_file(dir.paths("hello_world").readers).unwrap();
    let mut writer = Synchronizer::new(path.as_os_str());
    writer.write(&value(2), Duration::from_secs(1)).unwrap();

    // Reads keep the old set's last value until the replacement is noticed...
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 1);
    // ...which `version` does; the next read follows the new set.
    assert_eq!(reader.version().unwrap(), writer.version().unwrap());
    let read = reader.read::<HelloWorld>(true).unwrap();
    assert_eq!(read.version, 2);
    assert!(read.is_switched());
}

#[test]
fn waiting_for_a_change_outlasts_a_state_file_without_its_header_yet() {
    let dir = ChannelDir::new("facade-wait-empty");
    let path = dir.prefix("hello_world");
    std::fs::write(dir.paths("hello_world").state, []).unwrap();
    let mut reader = Synchronizer::new(path.as_os_str());
    assert!(matches!(reader.version(), Err(SynchronizerError::UninitializedState)));
    let waited = reader.wait_for_change::<HelloWorld>(None, Duration::from_millis(20));
    assert_eq!(waited.unwrap(), None, "nothing published: the wait times out, not an error");

    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let mut writer = Synchronizer::new(writer_path.as_os_str());
        writer.write(&HelloWorld { version: 3, messages: vec![] }, Duration::from_secs(1)).unwrap();
    });
    let first = reader.wait_for_change::<HelloWorld>(None, Duration::from_secs(30)).unwrap();
    writer.join().unwrap();
    assert_eq!(first.map(|v| v.generation()), Some(1));
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 3);
}
