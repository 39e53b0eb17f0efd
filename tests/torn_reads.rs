//! Torn-read stress with real processes: a writer publishing self-checking values as fast as
//! it can through 2 copies, two reader processes checking every read.
//!
//! Runs ~10 s by default; `MMAP_SYNC_STRESS_SECS=600 cargo test -p mmap-sync-tests --test
//! torn_reads` runs longer.

use std::time::Duration;

use mmap_sync_tests::{Probe, TempDir, field, stress_duration};

const PROBE: &str = env!("CARGO_BIN_EXE_probe");

fn stress(copies: &str, words: usize) {
    let dir = TempDir::new("torn");
    let path = dir.channel("stamp");
    let path = path.to_str().unwrap();
    let run = stress_duration(10);
    let ms = run.as_millis().to_string();
    let mut writer = Probe::spawn(PROBE, &["stamp-writer", path, copies, &ms, &words.to_string()]);
    writer.expect_line("ready", Duration::from_secs(20));
    let mut readers: Vec<Probe> =
        (0..2).map(|_| Probe::spawn(PROBE, &["stamp-reader", path, &ms])).collect();
    let grace = run + Duration::from_secs(60);
    let published = field(&writer.expect_line("published", grace), "published");
    for reader in &mut readers {
        let report = reader.expect_line("reads", grace);
        assert_eq!(field(&report, "torn"), 0, "torn reads: {report}");
        assert_eq!(field(&report, "backwards"), 0, "generation went backwards: {report}");
        assert!(field(&report, "reads") > 0, "the reader never read: {report}");
        // The reader must have raced the writer for the test to mean anything.
        assert!(field(&report, "distinct") > 10, "the reader saw too few generations: {report}");
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
