//! A writer SIGKILLed at random points — while creating the files, while serializing a value,
//! while growing a data file, between descriptor and publish — never costs readers the last
//! published value, and the next writer carries on from it.
//!
//! CI runs 50 kills; `MMAP_SYNC_WRITER_KILLS=1000 cargo test -p mmap-sync-tests --test
//! crash_writer -- --nocapture` runs more and prints what the kills interrupted.
//! `MMAP_SYNC_SEED` replays a run.

use std::time::Duration;

use mmap_sync::{Error, Reader};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::report::Line;
use mmap_sync_tests::rng::Rng;
use mmap_sync_tests::scale::env_count;
use mmap_sync_tests::types::{Stamp, chaos_len};

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
/// Kills per channel before starting a fresh one, so that file creation and the first growth
/// of each data file are interrupted again and again.
const KILLS_PER_CHANNEL: u64 = 10;

/// What the killed writer said before it died.
#[derive(Debug, Default)]
struct Transcript {
    opened: Option<u64>,
    last_published: Option<u64>,
    /// The write that had started but not finished: (generation, words).
    in_flight: Option<(u64, usize)>,
}

fn transcript(lines: &[Line]) -> Transcript {
    let mut t = Transcript::default();
    for line in lines {
        match line.event() {
            "opened" => t.opened = Some(line.num("generation")),
            "writing" => t.in_flight = Some((line.num("generation"), line.num("words"))),
            "published" => {
                t.last_published = Some(line.num("generation"));
                t.in_flight = None;
            }
            _ => panic!("unexpected line from the writer: {line}"),
        }
    }
    t
}

/// Checks a read of the channel: the generation is the one the dead writer last published, or
/// the one it was writing if it died after publishing but before saying so; the value is
/// intact and has exactly the length that generation was written with.
fn check(reader: &Reader<Stamp>, seed: u64, lowest: u64, highest: u64, who: &str) -> u64 {
    match reader.read() {
        Err(Error::NotPublished { .. }) if lowest == 0 => 0,
        Err(e) => panic!("{who}: a read after the kill failed: {e}"),
        Ok(guard) => {
            let generation = guard.generation();
            assert!(
                (lowest.max(1)..=highest).contains(&generation),
                "{who}: read generation {generation}, expected {lowest}..={highest}"
            );
            assert!(guard.is_intact(generation), "{who}: generation {generation} is damaged");
            assert_eq!(
                guard.words.len(),
                chaos_len(seed, generation),
                "{who}: generation {generation} has the wrong length"
            );
            generation
        }
    }
}

#[test]
fn a_writer_killed_at_any_point_leaves_the_last_value_intact_and_the_next_writer_continues() {
    let kills = env_count("MMAP_SYNC_WRITER_KILLS", 50);
    let mut rng = Rng::from_env("crash_writer");
    let dir = ChannelDir::new("crash-writer");
    let (mut during_write, mut during_growth, mut before_open, mut between) = (0, 0, 0, 0);
    let mut published_total = 0u64;

    let mut kill = 0;
    let mut channel = 0;
    while kill < kills {
        let seed = rng.next_u64();
        let copies = 2 + channel % 2;
        let path = dir.prefix(&format!("stamp{channel}"));
        channel += 1;
        // The generation readers see now; the next writer must open at exactly this one.
        let mut current = 0u64;
        let mut largest = 0usize;
        // A reader that stays open across every writer death of this channel.
        let mut survivor: Option<Reader<Stamp>> = None;

        for _ in 0..KILLS_PER_CHANNEL.min(kills - kill) {
            kill += 1;
            let writer = Probe::spawn(
                CHAOS,
                args!["crash-writer", path, copies.to_string(), seed.to_string()],
            );
            // Early kills land in process start-up and file creation, later ones in publishing.
            let delay_us = if rng.below(4) == 0 { rng.below(3_000) } else { rng.below(40_000) };
            std::thread::sleep(Duration::from_micros(delay_us));
            let t = transcript(&writer.kill_and_drain());

            if let Some(opened) = t.opened {
                assert_eq!(opened, current, "a new writer must continue from the last generation");
            }
            let lowest = t.last_published.unwrap_or(current);
            let highest = match t.in_flight {
                Some((generation, _)) => generation,
                None => lowest,
            };
            match (t.opened, t.in_flight) {
                (None, _) => before_open += 1,
                (Some(_), Some((_, len))) => {
                    during_write += 1;
                    if len * 8 > largest {
                        during_growth += 1;
                    }
                }
                (Some(_), None) => between += 1,
            }
            published_total += lowest - current;

            let who = format!("kill {kill} (seed {seed}, {copies} copies)");
            let fresh = match Reader::<Stamp>::open(&path) {
                Ok(reader) => check(&reader, seed, lowest, highest, &who),
                Err(Error::NotPublished { .. }) if lowest == 0 => 0,
                Err(e) => panic!("{who}: opening a reader after the kill failed: {e}"),
            };
            if let Some(reader) = &survivor {
                let seen = check(reader, seed, lowest, highest, &format!("{who}, long-lived"));
                assert_eq!(seen, fresh, "{who}: two readers disagree");
            } else if fresh > 0 {
                survivor = Some(Reader::<Stamp>::open(&path).unwrap());
            }
            for generation in current + 1..=fresh {
                largest = largest.max(chaos_len(seed, generation) * 8);
            }
            current = fresh;
        }

        // Finally a writer that is not killed mid-way: it continues the count and publishes.
        let mut writer =
            Probe::spawn(CHAOS, args!["crash-writer", path, copies.to_string(), seed.to_string()]);
        let opened = writer.next(Duration::from_secs(20));
        assert_eq!(opened, Line::new("opened").with("generation", current));
        let next = Line::new("published").with("generation", current + 1);
        writer.expect_matching(&next.to_string(), |line| *line == next, Duration::from_secs(20));
        drop(writer);
    }
    eprintln!(
        "crash_writer: {kills} kills: {during_write} while writing a value ({during_growth} of \
         them a value larger than any before it on the channel, so mostly while the file \
         grew), {between} between writes, {before_open} before the writer had opened; \
         {published_total} values published in between"
    );
    assert!(during_write > 0, "no kill interrupted a write: the test did not test anything");
    // Without values published between kills, no reader ever checked one.
    assert!(published_total > 0, "no killed writer published anything: nothing was read back");
}
