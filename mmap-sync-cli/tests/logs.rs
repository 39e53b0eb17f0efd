//! The runtime's operator logs (`tracing` feature), captured by a subscriber of this test:
//! dead readers reclaimed, writes that waited, validation failures, new sets of files and
//! schema mismatches each produce one event that names the channel.

mod common;

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{ChannelDir, Peer};
use mmap_sync::{Reader, SharedState, Writer};
use mmap_sync_schemas::RoutingTable;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[test]
#[ignore = "entry point of the peer processes the other tests spawn"]
fn peer_process() {
    common::peer_main();
}

#[derive(Debug, rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_cli_test_counter")]
pub struct Counter {
    pub count: u64,
}

#[derive(Debug, rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_cli_test_counter")]
pub struct CounterV2 {
    pub count: u64,
    pub label: String,
}

/// Every event of the process, as `LEVEL message field=value ...`.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(event.metadata().level().to_string());
        event.record(&mut line);
        EVENTS.lock().unwrap_or_else(|e| e.into_inner()).push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the capturing subscriber (once for the process).
fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(Capture).expect("no other subscriber");
    });
}

/// The events that mention `dir`.
fn events_about(dir: &Path) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    EVENTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|e| e.contains(dir))
        .cloned()
        .collect()
}

fn one_event(dir: &Path, message: &str) -> String {
    let found: Vec<_> = events_about(dir).into_iter().filter(|e| e.contains(message)).collect();
    assert_eq!(found.len(), 1, "one {message:?} event expected: {:#?}", events_about(dir));
    found.into_iter().next().unwrap()
}

/// A `Counter` channel in `dir` with its first value published, and its writer.
fn counter_channel(dir: &ChannelDir) -> (PathBuf, Writer<Counter>) {
    let prefix = dir.prefix("counter");
    let mut writer = Writer::<Counter>::open(&prefix).unwrap();
    writer.write(&Counter { count: 1 }).unwrap();
    (prefix, writer)
}

#[test]
fn reclaiming_a_dead_readers_slot_is_logged() {
    capture();
    let dir = ChannelDir::new("logs-reclaimed");
    let prefix = dir.prefix("routing");
    // Two copies: the second write after the pin needs the dead reader's copy.
    let mut writer = Writer::<RoutingTable>::builder().copies(2).open(&prefix).unwrap();
    writer.write(&RoutingTable::example(1, 1)).unwrap();
    let reader = Peer::spawn(&["reader", prefix.to_str().unwrap()]);
    reader.expect("pinned 1");
    reader.kill();
    writer.write(&RoutingTable::example(2, 1)).unwrap();
    assert!(events_about(dir.path()).is_empty(), "{:#?}", events_about(dir.path()));
    let published = writer.write(&RoutingTable::example(3, 1)).unwrap();
    assert_eq!(published.reclaimed, 1);
    let event = one_event(dir.path(), "reclaimed slots of dead readers");
    assert!(event.starts_with("INFO") && event.contains("slots=1"), "{event}");
}

#[test]
fn a_write_that_waits_for_a_live_reader_is_logged_with_its_wait() {
    capture();
    let dir = ChannelDir::new("logs-waited");
    let (prefix, mut writer) = counter_channel(&dir);
    let reader = Reader::<Counter>::open(&prefix).unwrap();
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let guard = reader.read().unwrap();
        pinned_tx.send(guard.generation()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        drop(guard);
    });
    assert_eq!(pinned_rx.recv().unwrap(), 1);
    writer.write(&Counter { count: 2 }).unwrap(); // the other copy is free
    let published = writer.write(&Counter { count: 3 }).unwrap(); // needs the pinned one
    holder.join().unwrap();
    assert!(!published.waited.is_zero());
    let event = one_event(dir.path(), "write waited for readers");
    assert!(event.contains("generation=3") && event.contains("waited_us="), "{event}");
}

#[test]
fn a_generation_that_fails_validation_is_logged() {
    capture();
    let dir = ChannelDir::new("logs-validation");
    let (prefix, writer) = counter_channel(&dir);
    let active = mmap_sync::inspect::Channel::open(&prefix).unwrap().header().active.unwrap();
    let data = writer.paths().data(active.copy);
    let file = OpenOptions::new().read(true).write(true).open(&data).unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, 0).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], 0).unwrap();
    let reader = Reader::<Counter>::open(&prefix).unwrap();
    for _ in 0..3 {
        assert!(reader.read().is_err(), "the damaged generation is not served");
    }
    // Reported once, however often it is read.
    let event = one_event(dir.path(), "generation failed validation");
    assert!(event.starts_with("WARN") && event.contains("checksum"), "{event}");
}

#[test]
fn a_new_set_of_files_is_logged_with_its_reason() {
    capture();
    let dir = ChannelDir::new("logs-new-set");
    let (prefix, mut writer) = counter_channel(&dir);
    // A reader raises the high-water mark, so the writer's next scan reads the slot table.
    drop(Reader::<Counter>::open(&prefix).unwrap().read().map(|g| g.generation()));
    OpenOptions::new().write(true).open(&writer.paths().readers).unwrap().set_len(0).unwrap();
    writer.write(&Counter { count: 2 }).unwrap();
    let event = one_event(dir.path(), "created a new set of channel files");
    assert!(event.contains("readers file was truncated"), "{event}");
}

#[test]
fn a_writer_refusing_a_channel_of_another_schema_is_logged_naming_the_field() {
    capture();
    let dir = ChannelDir::new("logs-mismatch-writer");
    let (prefix, writer) = counter_channel(&dir);
    drop(writer);
    let error = Writer::<CounterV2>::open(&prefix).unwrap_err();
    assert!(matches!(error, mmap_sync::Error::SchemaMismatch { .. }), "{error}");
    let event = one_event(dir.path(), "schema mismatch");
    assert!(event.starts_with("WARN") && event.contains("label"), "{event}");
}

#[test]
fn a_reader_refusing_a_channel_of_another_schema_is_logged_naming_the_field() {
    capture();
    let dir = ChannelDir::new("logs-mismatch-reader");
    let (prefix, _writer) = counter_channel(&dir);
    let error = Reader::<CounterV2>::open(&prefix).unwrap_err();
    assert!(matches!(error, mmap_sync::Error::SchemaMismatch { .. }), "{error}");
    let event = one_event(dir.path(), "schema mismatch");
    assert!(event.contains("label"), "{event}");
}
