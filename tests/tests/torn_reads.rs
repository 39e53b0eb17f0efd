//! Torn-read stress with real processes: a writer publishing self-checking values as fast as
//! it can, reader processes checking every read; in the second test each reader process reads on
//! several threads sharing one reader, so threads serve older validated generations while
//! another validates a newer one (reader step 4').
//!
//! Runs ~10 s by default; `MMAP_SYNC_STRESS_SECS=600 cargo test -p mmap-sync-tests --test
//! torn_reads` runs longer.

use std::time::Duration;

use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::scale::stress_duration;

const PROBE: &str = env!("CARGO_BIN_EXE_probe");

/// Runs the writer and two reader processes of `threads` threads each for `secs` seconds (or
/// `MMAP_SYNC_STRESS_SECS`); returns how often the readers served an older generation.
fn stress(copies: &str, words: usize, threads: usize, secs: u64) -> u64 {
    let dir = ChannelDir::new("torn");
    let path = dir.prefix("stamp");
    let run = stress_duration(secs);
    let ms = run.as_millis().to_string();
    let words = words.to_string();
    let mut writer = Probe::spawn(PROBE, args!["stamp-writer", path, copies, ms, words]);
    writer.expect("ready", Duration::from_secs(20));
    let mut readers: Vec<Probe> = (0..2)
        .map(|_| Probe::spawn(PROBE, args!["stamp-reader", path, ms, threads.to_string()]))
        .collect();
    let grace = run + Duration::from_secs(60);
    let published: u64 = writer.expect("published", grace).num("count");
    let mut served_older = 0;
    for reader in &mut readers {
        let stats = reader.expect("stats", grace);
        assert_eq!(stats.num::<u64>("torn"), 0, "torn reads: {stats}");
        assert_eq!(stats.num::<u64>("backwards"), 0, "generation went backwards: {stats}");
        assert!(stats.num::<u64>("reads") > 0, "the reader never read: {stats}");
        // The reader must have raced the writer for the test to mean anything.
        assert!(stats.num::<u64>("distinct") > 10, "the reader saw too few generations: {stats}");
        served_older += stats.num::<u64>("served_older");
    }
    assert!(published > 100, "the writer published only {published} values");
    writer.wait_success(Duration::from_secs(10));
    for reader in readers {
        reader.wait_success(Duration::from_secs(10));
    }
    served_older
}

#[test]
fn readers_never_see_a_torn_or_older_value_with_two_copies() {
    stress("2", 4096, 1, 10);
}

#[test]
fn threads_serving_older_validated_generations_never_see_a_torn_or_older_value() {
    // Three copies and values of changing sizes (0: see the probe's writer).
    let served_older = stress("3", 0, 3, 5);
    assert!(served_older > 0, "no thread ever served an older generation: the path was not run");
}
