//! The upstream-shaped facade: same method names as mmap-sync 2.x, safe reads.

use std::time::Duration;

use mmap_sync::synchronizer::Synchronizer;
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
    assert!(matches!(reader.version(), Err(mmap_sync::Error::NotPublished { .. })));

    let value =
        HelloWorld { version: 7, messages: vec!["Hello".into(), "World".into(), "!".into()] };
    let (bytes, reset) = writer.write(&value, Duration::from_secs(1)).unwrap();
    assert!(bytes > 0);
    assert!(!reset);
    assert_eq!(writer.version().unwrap(), 1);

    let read = reader.read::<HelloWorld>(false).unwrap();
    assert_eq!(read.version, 7);
    assert_eq!(
        read.messages.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["Hello", "World", "!"]
    );
    let owned: HelloWorld = rkyv::deserialize::<_, rkyv::rancor::Error>(&*read).unwrap();
    assert_eq!(owned, value);
    drop(read);
    assert_eq!(reader.version().unwrap(), 1);

    let raw = rkyv::to_bytes::<rkyv::rancor::Error>(&HelloWorld { version: 8, messages: vec![] })
        .unwrap();
    writer.write_raw::<HelloWorld>(&raw, Duration::from_secs(1)).unwrap();
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 8);

    // Bytes that are not a HelloWorld are refused and the last value stays.
    let err = writer.write_raw::<HelloWorld>(&[0xff; 7], Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, mmap_sync::Error::InvalidValue { .. }), "{err:?}");
    assert_eq!(reader.read::<HelloWorld>(true).unwrap().version, 8);

    // Reading as another type is a schema mismatch, not garbage.
    let err = reader.read::<Different>(true).unwrap_err();
    assert!(matches!(err, mmap_sync::Error::SchemaMismatch { .. }), "{err:?}");
}
