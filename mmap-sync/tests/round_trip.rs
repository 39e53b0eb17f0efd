use mmap_sync::{Reader, SharedState, Writer};

#[derive(rkyv::Archive, rkyv::Serialize, Debug, PartialEq)]
struct Hello {
    version: u32,
    messages: Vec<String>,
}

impl SharedState for Hello {
    const PATH: &'static str = "/dev/shm/mmap_sync_round_trip";
    const TYPE_NAME: &'static str = "Hello";
    const FINGERPRINT: u64 = 42;
}

#[test]
fn handles_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Writer<Hello>>();
    assert_send::<Reader<Hello>>();
    assert_send::<mmap_sync::synchronizer::Synchronizer>();
}

#[test]
fn values_round_trip_through_a_writer_and_a_reader_in_one_process() {
    let dir = std::env::temp_dir().join(format!("mmap-sync-round-trip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("hello");
    assert!(matches!(Reader::<Hello>::open(&p), Err(mmap_sync::Error::NotPublished { .. })));
    let mut w = Writer::<Hello>::open(&p).unwrap();
    let r = Reader::<Hello>::open(&p).unwrap();
    assert!(matches!(r.read(), Err(mmap_sync::Error::NotPublished { .. })));
    for i in 0..10u32 {
        let v = Hello { version: i, messages: vec!["a".repeat(i as usize * 1000); 3] };
        let p = w.write(&v).unwrap();
        assert_eq!(p.generation, i as u64 + 1);
        let g = r.read().unwrap();
        assert_eq!(g.version, i);
        assert_eq!(g.messages.len(), 3);
        assert_eq!(g.generation(), i as u64 + 1);
    }
    assert!(matches!(Writer::<Hello>::open(&p), Err(mmap_sync::Error::WriterExists { .. })));
    drop(w);
    let mut w = Writer::<Hello>::open(&p).unwrap();
    assert_eq!(w.write(&Hello { version: 99, messages: vec![] }).unwrap().generation, 11);
    assert_eq!(r.read().unwrap().version, 99);
    std::fs::remove_dir_all(&dir).unwrap();
}
