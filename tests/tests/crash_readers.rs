//! Reader processes SIGKILLed at random points of their read loop — while opening, while
//! validating, while holding a guard — never stall the writer for long and never leak a slot.
//!
//! CI runs 200 kills; `MMAP_SYNC_READER_KILLS=5000 cargo test -p mmap-sync-tests --test
//! crash_readers -- --nocapture` runs more. `MMAP_SYNC_SEED` replays a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::files::claimed_slots;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::report::Line;
use mmap_sync_tests::rng::Rng;
use mmap_sync_tests::scale::env_count;
use mmap_sync_tests::types::Stamp;

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
const LONG: Duration = Duration::from_secs(20);
const SLOTS: usize = 8;

fn assert_not_torn(lines: Vec<Line>) {
    assert!(!lines.iter().any(|l| l.is("torn")), "a reader saw {lines:?}");
}

fn publish(writer: &mut Writer<Stamp>, words: usize) -> mmap_sync::Result<mmap_sync::Published> {
    let next = writer.generation() + 1;
    writer.write(&Stamp::new(next, words))
}

#[test]
fn claimed_slots_counts_live_readers_only() {
    // The leak check below relies on this count; show it sees readers come and go.
    let dir = ChannelDir::new("claimed-slots");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().reader_slots(SLOTS).open(&path).unwrap();
    publish(&mut writer, 8).unwrap();
    let readers_file = writer.paths().readers.clone();
    assert_eq!(claimed_slots(&readers_file, SLOTS), 0);
    let first = Reader::<Stamp>::open(&path).unwrap();
    let mut second = Probe::spawn(CHAOS, args!["crash-reader", path, "pinned", "1"]);
    second.expect("pinned", LONG);
    assert_eq!(claimed_slots(&readers_file, SLOTS), 2);
    second.kill();
    drop(first);
    assert_eq!(claimed_slots(&readers_file, SLOTS), 0);
}

#[test]
fn readers_killed_at_any_point_never_stall_the_writer_and_leak_no_slot() {
    let kills = env_count("MMAP_SYNC_READER_KILLS", 200);
    let mut rng = Rng::from_env("crash_readers");
    let dir = ChannelDir::new("crash-readers");
    let path = dir.prefix("stamp");
    // Two copies: a reader holding the copy the writer needs next blocks it, so every dead
    // reader still pinning a copy must be reclaimed for the writer to go on. The wait limit is
    // the "never stalled for long" bound: exceeding it fails the publish with WriterBlocked.
    let mut writer = Writer::<Stamp>::builder()
        .copies(2)
        .reader_slots(SLOTS)
        .max_wait(Duration::from_secs(5))
        .open(&path)
        .unwrap();
    publish(&mut writer, 8).unwrap();
    let readers_file = writer.paths().readers.clone();
    let baseline = claimed_slots(&readers_file, SLOTS);

    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let stop = Arc::clone(&stop);
        let mut rng = Rng::new(rng.next_u64());
        std::thread::spawn(move || {
            let (mut published, mut reclaimed, mut longest) = (0u64, 0usize, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let done = publish(&mut writer, 1 + rng.below(4096) as usize)
                    .unwrap_or_else(|e| panic!("the writer was stalled: {e}"));
                published += 1;
                reclaimed += done.reclaimed;
                longest = longest.max(done.waited);
            }
            (writer, published, reclaimed, longest)
        })
    };

    let (mut pinned_kills, mut random_kills, mut opening_kills) = (0, 0, 0);
    let mut live: Vec<Probe> = Vec::new();
    for kill in 0..kills {
        let seed = rng.next_u64().to_string();
        match kill % 3 {
            // Killed for sure between pinning and unpinning: the reader says it holds a guard.
            0 => {
                let mut reader = Probe::spawn(CHAOS, args!["crash-reader", path, "pinned", seed]);
                reader.expect("pinned", LONG);
                pinned_kills += 1;
                assert_not_torn(reader.kill_and_drain());
            }
            // Killed anywhere in the read loop.
            1 => {
                let mut reader = Probe::spawn(CHAOS, args!["crash-reader", path, "loop", seed]);
                reader.expect("slot", LONG);
                std::thread::sleep(Duration::from_micros(rng.below(5_000)));
                random_kills += 1;
                live.push(reader);
            }
            // Killed anywhere from start-up through opening and the first validations.
            _ => {
                let reader = Probe::spawn(CHAOS, args!["crash-reader", path, "loop", seed]);
                std::thread::sleep(Duration::from_micros(rng.below(4_000)));
                opening_kills += 1;
                live.push(reader);
            }
        }
        // Keep a few readers alive at once; kill a random one of them.
        if live.len() > 3 {
            let victim = live.swap_remove(rng.below(live.len() as u64) as usize);
            assert_not_torn(victim.kill_and_drain());
        }
    }
    for victim in live {
        assert_not_torn(victim.kill_and_drain());
    }

    stop.store(true, Ordering::Relaxed);
    let (mut writer, published, reclaimed, longest) = publisher.join().expect("writer thread");
    eprintln!(
        "crash_readers: {kills} readers killed ({pinned_kills} holding a guard, {random_kills} in \
         the read loop, {opening_kills} while starting); the writer published {published} values \
         meanwhile, reclaimed {reclaimed} dead readers' slots, waited at most {longest:?}"
    );
    // Every reader killed while holding a guard left a pin that the writer had to clear.
    assert!(reclaimed > 0, "no dead reader was ever reclaimed: the test did not test anything");
    // No leak: the kernel released every dead reader's slot ...
    assert_eq!(claimed_slots(&readers_file, SLOTS), baseline);
    // ... and every slot can be claimed again, and the writer is not blocked by stale pins.
    let mut readers: Vec<Reader<Stamp>> =
        (0..SLOTS).map(|_| Reader::<Stamp>::open(&path).expect("a slot leaked")).collect();
    let err = Reader::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::ReadersFull { .. }), "{err:?}");
    for reader in &mut readers {
        assert!(reader.read().unwrap().is_intact(writer.generation()));
    }
    drop(readers);
    writer.set_max_wait(Duration::ZERO);
    for _ in 0..4 {
        publish(&mut writer, 8).expect("no pin may outlive its reader");
    }
}

#[test]
fn a_slot_freed_by_a_reader_process_dying_or_exiting_is_reused() {
    let dir = ChannelDir::new("slot-reuse");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().reader_slots(3).open(&path).unwrap();
    publish(&mut writer, 8).unwrap();
    let mut holders: Vec<(Probe, u64)> = (0..3)
        .map(|_| {
            let mut holder = Probe::spawn(CHAOS, args!["hold-slot", path]);
            let slot = holder.expect("slot", LONG).num("index");
            (holder, slot)
        })
        .collect();
    let err = Reader::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::ReadersFull { slots: 3, .. }), "{err:?}");

    // Death: the kernel drops the dead process's lock, the slot is free again.
    let (dead, dead_slot) = holders.remove(0);
    dead.kill();
    let replacement = Reader::<Stamp>::open(&path).unwrap();
    assert_eq!(replacement.slot().unwrap() as u64, dead_slot);
    assert!(replacement.read().unwrap().is_intact(1));
    let err = Reader::<Stamp>::open(&path).unwrap_err();
    assert!(matches!(err, Error::ReadersFull { .. }), "{err:?}");

    // Exit: a publish makes the other holders return from their wait and exit cleanly.
    publish(&mut writer, 8).unwrap();
    let mut freed: Vec<u64> = Vec::new();
    for (holder, slot) in holders {
        holder.wait_success(LONG);
        freed.push(slot);
    }
    let reopened: Vec<Reader<Stamp>> =
        (0..2).map(|_| Reader::<Stamp>::open(&path).expect("slot of an exited reader")).collect();
    let mut reused: Vec<u64> = reopened.iter().map(|r| r.slot().unwrap() as u64).collect();
    freed.sort_unstable();
    reused.sort_unstable();
    assert_eq!(reused, freed);
}
