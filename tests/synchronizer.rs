//! The upstream-shaped facade: same method names as mmap-sync 2.x, safe reads.

use std::time::Duration;

use mmap_sync::synchronizer::{Synchronizer, SynchronizerError};
use mmap_sync_tests::TempDir;

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
    let dir = TempDir::new("facade");
    let path = dir.channel("hello_world");
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
    let dir = TempDir::new("facade-port");
    let path = dir.channel("hello_world");
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
