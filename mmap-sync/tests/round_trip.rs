//! One value through a writer and a reader of one process, and handles that move between
//! threads.

use mmap_sync::synchronizer::Synchronizer;
use mmap_sync::{Error, Reader, SharedState, Writer};
use mmap_sync_test_support::ChannelDir;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState, Debug, PartialEq)]
#[shared_state(path = "/dev/shm/mmap_sync_round_trip")]
struct Hello {
    version: u32,
    messages: Vec<String>,
}

// Checked when this file compiles, so no test needs to run for it: handles can be sent to
// another thread, and a reader can be cloned and shared by every thread of the process.
const _: () = {
    const fn sendable<T: Send>() {}
    const fn shareable<T: Clone + Send + Sync>() {}
    sendable::<Writer<Hello>>();
    shareable::<Reader<Hello>>();
    sendable::<Synchronizer>();
};

#[test]
fn values_round_trip_through_a_writer_and_a_reader_in_one_process() {
    let dir = ChannelDir::new("round-trip");
    let p = dir.prefix("hello");
    assert!(matches!(Reader::<Hello>::open(&p), Err(Error::NotPublished { .. })));
    let mut w = Writer::<Hello>::open(&p).unwrap();
    let r = Reader::<Hello>::open(&p).unwrap();
    assert!(matches!(r.read(), Err(Error::NotPublished { .. })));
    for i in 0..10u32 {
        let v = Hello { version: i, messages: vec!["a".repeat(i as usize * 1000); 3] };
        let p = w.write(&v).unwrap();
        assert_eq!(p.generation, i as u64 + 1);
        let g = r.read().unwrap();
        assert_eq!(g.version, i);
        assert_eq!(g.messages.len(), 3);
        assert!(g.messages.iter().all(|m| m.as_str() == v.messages[0]));
        assert_eq!(g.generation(), i as u64 + 1);
    }
    assert!(matches!(Writer::<Hello>::open(&p), Err(Error::WriterExists { .. })));
    drop(w);
    let mut w = Writer::<Hello>::open(&p).unwrap();
    assert_eq!(w.write(&Hello { version: 99, messages: vec![] }).unwrap().generation, 11);
    assert_eq!(r.read().unwrap().version, 99);
}

#[test]
fn a_writer_and_reader_clones_moved_to_other_threads_carry_values_between_them() {
    let dir = ChannelDir::new("round-trip");
    let p = dir.prefix("hello");
    let writer = Writer::<Hello>::open(&p).unwrap();
    let reader = Reader::<Hello>::open(&p).unwrap();

    let writer = std::thread::spawn(move || {
        let mut writer = writer;
        writer.write(&Hello { version: 1, messages: vec!["from a thread".into()] }).unwrap();
        writer
    })
    .join()
    .unwrap();

    // Two clones of the process's reader, each read on a thread of its own.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let reader = reader.clone();
            std::thread::spawn(move || {
                let guard = reader.read().unwrap();
                (guard.generation(), guard.version.to_native(), guard.messages[0].to_string())
            })
        })
        .collect();
    for read in readers {
        assert_eq!(read.join().unwrap(), (1, 1, "from a thread".to_owned()));
    }

    // The writer came back from its thread still the channel's writer.
    let mut writer = writer;
    assert_eq!(writer.write(&Hello { version: 2, messages: vec![] }).unwrap().generation, 2);
    assert_eq!(reader.read().unwrap().version, 2);
}
