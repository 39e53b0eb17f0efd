//! Torn-read stress with real processes: a writer publishing self-checking values as fast as
//! it can through 2 copies, two reader processes checking every read.
//!
//! Runs ~10 s by default; `MMAP_SYNC_STRESS_SECS=600 cargo test -p mmap-sync-tests --test
//! torn_reads` runs longer.

use std::time::Duration;

use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::scale::stress_duration;

const PROBE: &str = env!("CARGO_BIN_EXE_probe");

fn stress(copies: &str, words: usize) {
    let dir = ChannelDir::new("torn");
    let path = dir.prefix("stamp");
    let run = stress_duration(10);
    let ms = run.as_millis().to_string();
    let words = words.to_string();
    let mut writer = Probe::spawn(PROBE, args!["stamp-writer", path, copies, ms, words]);
    writer.expect("ready", Duration::from_secs(20));
    let mut readers: Vec<Probe> =
        (0..2).map(|_| Probe::spawn(PROBE, args!["stamp-reader", path, ms])).collect();
    let grace = run + Duration::from_secs(60);
    let published: u64 = writer.expect("published", grace).num("count");
    for reader in &mut readers {
        let stats = reader.expect("stats", grace);
        assert_eq!(stats.num::<u64>("torn"), 0, "torn reads: {stats}");
        assert_eq!(stats.num::<u64>("backwards"), 0, "generation went backwards: {stats}");
        assert!(stats.num::<u64>("reads") > 0, "the reader never read: {stats}");
        // The reader must have raced the writer for the test to mean anything.
        assert!(stats.num::<u64>("distinct") > 10, "the reader saw too few generations: {stats}");
    }
    assert!(published > 100, "the writer published only {published} values");
    writer.wait_success(Duration::from_secs(10));
    for reader in readers {
        reader.wait_success(Duration::from_secs(10));
    }
}

#[test]
fn readers_never_see_a_torn_or_older_value_with_two_copies() {
    stress("2", 4096);
}
