//! One `Reader` for the whole process: cloned into threads, each thread with a slot of its own,
//! every generation validated once for the process, reads that never wait while a validated
//! generation can be served, nested reads, and failures that are reported, never served.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mmap_sync::{Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::files::claimed_slots;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::types::Stamp;

const NEIGHBOUR: &str = env!("CARGO_BIN_EXE_neighbour");
const LONG: Duration = Duration::from_secs(20);

fn publish(writer: &mut Writer<Stamp>, words: usize) -> mmap_sync::Published {
    writer.write(&Stamp::new(writer.generation() + 1, words)).unwrap()
}

#[test]
fn a_reader_cloned_into_eight_threads_never_sees_a_torn_or_older_value() {
    let dir = ChannelDir::new("shared-8");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
    publish(&mut writer, 16);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let reader = reader.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut reads, mut last) = (0u64, 0u64);
                // Relaxed: a stop flag.
                while !stop.load(Ordering::Relaxed) {
                    let guard = reader.read().unwrap();
                    let generation = guard.generation();
                    assert!(guard.is_intact(generation), "torn read of generation {generation}");
                    assert!(generation >= last, "generation went back from {last} to {generation}");
                    last = generation;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    // Values of changing sizes: from a few bytes to 2 MB, so validations take from nanoseconds
    // to milliseconds and other threads serve older generations meanwhile. At least a second,
    // and until the older-generation path has run (at most ten seconds).
    let started = Instant::now();
    let mut published = 1;
    while started.elapsed() < Duration::from_secs(1)
        || (reader.stats().served_older == 0 && started.elapsed() < Duration::from_secs(10))
    {
        let words = [1, 1000, 1 << 18, 37, 100_000][published % 5];
        publish(&mut writer, words);
        published += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let stats = reader.stats();
    eprintln!("{reads} reads over {published} publishes: {stats:?}");
    assert!(reads > 0);
    // Each generation is validated at most once for the whole process (some are skipped).
    assert!(stats.validations <= published as u64, "{stats:?}");
    assert!(stats.served_older > 0, "the older-generation path never ran: {stats:?}");
}

#[test]
fn a_guard_kept_in_a_thread_local_until_its_thread_exits_gives_the_slot_back_when_it_drops() {
    use mmap_sync::ReadGuard;
    use std::cell::RefCell;
    thread_local! {
        static KEPT: RefCell<Option<ReadGuard<'static, Stamp>>> = const { RefCell::new(None) };
    }
    const SLOTS: usize = 4;
    let dir = ChannelDir::new("guard-in-tls");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().reader_slots(SLOTS).open(&path).unwrap();
    publish(&mut writer, 16);
    let readers_file = writer.paths().readers.clone();
    // A guard in a thread-local borrows its reader for 'static.
    let reader: &'static Reader<Stamp> = Box::leak(Box::new(Reader::open(&path).unwrap()));
    assert_eq!(claimed_slots(&readers_file, SLOTS), 1, "the opening thread's");
    let pins = || {
        (0..SLOTS)
            .filter(|&i| {
                let offset = mmap_sync::format::slot_offset(SLOTS, i);
                mmap_sync_tests::files::read_u64(&readers_file, offset) != Some(0)
            })
            .count()
    };
    // Ten threads, more than the channel's slots, each keeping its last guard in a thread-local
    // until it exits. Those that touch the thread-local before their first read have it
    // destroyed after the thread's list of slots; the others before.
    for round in 0..10 {
        let early = round % 2 == 0;
        std::thread::spawn(move || {
            if early {
                KEPT.with(|_| {});
            }
            let guard = reader.read().unwrap();
            assert_eq!(guard.generation(), 1);
            KEPT.with(|kept| *kept.borrow_mut() = Some(guard));
        })
        .join()
        .unwrap();
        assert_eq!(claimed_slots(&readers_file, SLOTS), 1, "round {round}: slot kept");
        assert_eq!(pins(), 0, "round {round}: a pin stayed");
    }
    // Nothing pins the old copies: the writer publishes freely with its two copies.
    for _ in 0..4 {
        publish(&mut writer, 16);
    }
}

#[test]
fn threads_take_a_slot_at_their_first_read_and_give_it_back_when_they_exit() {
    let dir = ChannelDir::new("shared-slots");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().reader_slots(65).open(&path).unwrap();
    publish(&mut writer, 16);
    let readers_file = writer.paths().readers.clone();
    let reader = Reader::<Stamp>::open(&path).unwrap();
    // The opening thread read (to validate the current generation): one slot.
    assert_eq!(claimed_slots(&readers_file, 65), 1);

    // A thread that never reads takes none.
    let idle = reader.clone();
    std::thread::spawn(move || assert_eq!(idle.generation(), 1)).join().unwrap();
    assert_eq!(claimed_slots(&readers_file, 65), 1);

    // 64 threads reading at once fit in the 64 other slots; each reads through its own.
    let barrier = Arc::new(Barrier::new(65));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let reader = reader.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let guard = reader.read().unwrap();
                let slot = reader.slot().unwrap();
                barrier.wait(); // every thread holds its guard here
                barrier.wait();
                drop(guard);
                // A second read reuses the thread's slot.
                drop(reader.read().unwrap());
                assert_eq!(reader.slot(), Some(slot));
                slot
            })
        })
        .collect();
    barrier.wait();
    assert_eq!(claimed_slots(&readers_file, 65), 65);
    barrier.wait();
    let mut slots: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), 64, "two threads shared a slot");
    // They exited: their slots are free again.
    assert_eq!(claimed_slots(&readers_file, 65), 1);
    // The last clone dropping frees the opening thread's slot too.
    drop(reader);
    assert_eq!(claimed_slots(&readers_file, 65), 0);
}

#[test]
fn a_reader_process_killed_while_its_threads_hold_guards_is_reclaimed() {
    let dir = ChannelDir::new("shared-killed");
    let path = dir.prefix("stamp");
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(500)).open(&path).unwrap();
    publish(&mut writer, 16);
    let mut holder = Probe::spawn(NEIGHBOUR, args!["threads-hold", path, "4"]);
    let line = holder.expect("held", LONG);
    assert_eq!(line.num::<u64>("slots"), 4, "{line}");
    holder.kill();
    // Two copies: the second publish needs the copy the dead threads pinned.
    assert_eq!(publish(&mut writer, 16).reclaimed, 0);
    let published = publish(&mut writer, 16);
    assert!(published.reclaimed >= 4, "{published:?}");
    let readers_file = writer.paths().readers.clone();
    assert_eq!(claimed_slots(&readers_file, 128), 0);
}

#[test]
fn a_nested_read_gets_the_same_generation_and_the_pin_lasts_until_the_last_guard() {
    let dir = ChannelDir::new("shared-nested");
    let path = dir.prefix("stamp");
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(20)).open(&path).unwrap();
    publish(&mut writer, 16);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    let outer = reader.read().unwrap();
    publish(&mut writer, 16);
    // The helper a caller calls while holding a guard: same generation, no deadlock.
    let inner = reader.read().unwrap();
    assert_eq!(inner.generation(), outer.generation());
    assert_eq!(reader.generation(), 2);
    drop(outer);
    // The inner guard still pins generation 1: with 2 copies the writer cannot publish again.
    let err = writer.write(&Stamp::new(3, 16)).unwrap_err();
    assert!(matches!(err, mmap_sync::Error::WriterBlocked { .. }), "{err:?}");
    assert!(inner.is_intact(1));
    drop(inner);
    assert_eq!(publish(&mut writer, 16).generation, 3);
    assert_eq!(reader.read().unwrap().generation(), 3);
}

/// Flips a byte of the value a copy holds, behind the writer's back (as a damaged disk or a
/// buggy process with write access would).
fn corrupt_copy(path: &Path, copy: usize) {
    use std::os::unix::fs::FileExt;
    let data = mmap_sync::ChannelPaths::new(path).data(copy);
    let file = std::fs::OpenOptions::new().read(true).write(true).open(data).unwrap();
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, 100).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], 100).unwrap();
}

#[test]
fn a_corrupt_generation_between_two_good_ones_is_reported_and_never_served() {
    for background in [false, true] {
        let dir = ChannelDir::new("shared-corrupt");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
        publish(&mut writer, 1000);
        let reader =
            Reader::<Stamp>::builder().validate_in_background(background).open(&path).unwrap();
        assert_eq!(reader.read().unwrap().generation(), 1);
        let good = if background {
            // The validator wakes at once on a publish: keep it busy with a large generation 2
            // (tens of milliseconds to checksum) while generation 3 is published and damaged.
            publish(&mut writer, 4 << 20);
            2
        } else {
            1
        };
        // The bad generation is damaged before this process validates it.
        let bad = writer.write(&Stamp::new(good + 1, 1000)).unwrap();
        corrupt_copy(&path, bad.copy);
        if background {
            // The background validator reports it; reads never validate.
            let deadline = Instant::now() + LONG;
            while reader.last_failure().is_none() {
                assert!(Instant::now() < deadline, "the failure was never reported");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // Served: the newest good generation validated so far (in background mode generation 2
        // may not be, if the validator woke only after generation 3 was published), never the
        // bad one.
        let guard = reader.read().unwrap();
        let served = guard.generation();
        assert!(
            (1..=good).contains(&served),
            "background {background}: generation {served} served"
        );
        assert!(guard.is_intact(served));
        drop(guard);
        // The failure is remembered: reading on does not validate the bad generation again.
        let validations = reader.stats().validations;
        for _ in 0..100 {
            assert_eq!(reader.read().unwrap().generation(), served);
        }
        assert_eq!(
            reader.stats().validations,
            validations,
            "the bad generation was validated again"
        );
        let failure = reader.last_failure().expect("the failure is reported");
        assert_eq!(failure.generation, bad.generation);
        assert!(matches!(*failure.error, mmap_sync::Error::Corrupt { .. }), "{:?}", failure.error);
        assert!(failure.error.to_string().contains("checksum"), "{}", failure.error);
        // The next good generation is served, and the failure is no longer current.
        let next = publish(&mut writer, 1000).generation;
        assert_eq!(reader.wait_for_validated(bad.generation, LONG).unwrap(), Some(next));
        let guard = reader.read().unwrap();
        assert_eq!(guard.generation(), next);
        assert!(guard.is_intact(next));
        assert!(reader.last_failure().is_none());
        if background {
            assert_eq!(reader.stats().validations_in_reads, 0, "{:?}", reader.stats());
        }
    }
}

#[test]
fn each_generation_is_validated_once_for_the_process_whatever_the_thread_count() {
    for threads in [1, 4, 16] {
        let dir = ChannelDir::new("shared-once");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
        publish(&mut writer, 10_000);
        let reader = Reader::<Stamp>::open(&path).unwrap();
        let before = reader.stats().validations;
        for _ in 0..10 {
            publish(&mut writer, 10_000);
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let reader = reader.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        // Read until the new generation is served (others may serve the old one
                        // while one thread validates).
                        let target = reader.generation();
                        loop {
                            let guard = reader.read().unwrap();
                            assert!(guard.is_intact(guard.generation()));
                            if guard.generation() == target {
                                break;
                            }
                        }
                    })
                })
                .collect();
            handles.into_iter().for_each(|h| h.join().unwrap());
        }
        let validations = reader.stats().validations - before;
        assert_eq!(validations, 10, "{threads} threads validated {validations} times for 10");
    }
}

#[test]
fn in_background_mode_no_read_ever_validates() {
    let dir = ChannelDir::new("shared-background");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
    publish(&mut writer, 10_000);
    let reader = Reader::<Stamp>::builder().validate_in_background(true).open(&path).unwrap();
    // `open` returned once the current generation was validated.
    assert_eq!(reader.validated_generation(), 1);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let reader = reader.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..2_000 {
                    let guard = reader.read().unwrap();
                    assert!(guard.is_intact(guard.generation()));
                    assert!(guard.generation() >= last);
                    last = guard.generation();
                }
            })
        })
        .collect();
    for _ in 0..20 {
        publish(&mut writer, 10_000);
        std::thread::sleep(Duration::from_millis(1));
    }
    readers.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(reader.wait_for_validated(20, LONG).unwrap(), Some(21));
    let stats = reader.stats();
    assert_eq!(stats.validations_in_reads, 0, "{stats:?}");
    assert!(stats.validations >= 2, "{stats:?}");
}

#[test]
fn a_reader_and_its_clones_are_send_and_sync_and_guards_are_not_send() {
    fn is_send_sync<T: Send + Sync + Clone>() {}
    is_send_sync::<Reader<Stamp>>();
    // `ReadGuard` is !Send: this is checked at compile time by the doctest on `ReadGuard`;
    // here, that a guard can be used on the thread that took it.
    let dir = ChannelDir::new("shared-send");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::open(&path).unwrap();
    publish(&mut writer, 16);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    let moved = reader.clone();
    let generation = std::thread::spawn(move || moved.read().unwrap().generation()).join().unwrap();
    assert_eq!(generation, 1);
}

#[test]
fn a_thread_refused_a_slot_claims_one_when_it_reads_again_and_its_pin_protects() {
    let dir = ChannelDir::new("shared-refused");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder()
        .reader_slots(2)
        .max_wait(Duration::from_millis(20))
        .open(&path)
        .unwrap();
    publish(&mut writer, 16);
    // The opening thread takes one slot, another reader the other.
    let reader = Reader::<Stamp>::open(&path).unwrap();
    let other = Reader::<Stamp>::open(&path).unwrap();
    let shared = reader.clone();
    let (to_thread, from_main) = std::sync::mpsc::channel::<()>();
    let (to_main, from_thread) = std::sync::mpsc::channel::<u64>();
    let thread = std::thread::spawn(move || {
        // Every slot is taken: this thread gets none.
        let err = shared.read().unwrap_err();
        assert!(matches!(err, mmap_sync::Error::ReadersFull { .. }), "{err:?}");
        assert_eq!(shared.slot(), None);
        from_main.recv().unwrap();
        // A slot is free now: this read claims it, and its guard pins what it reads.
        let guard = shared.read().unwrap();
        assert!(shared.slot().is_some());
        to_main.send(guard.generation()).unwrap();
        from_main.recv().unwrap();
        assert!(guard.is_intact(guard.generation()), "the guard's copy changed under it");
    });
    // Let the thread fail, then free the other reader's slot.
    std::thread::sleep(Duration::from_millis(100));
    drop(other);
    to_thread.send(()).unwrap();
    assert_eq!(from_thread.recv().unwrap(), 1);
    // Two copies: the thread's pin on generation 1 lets one publish through, not two.
    publish(&mut writer, 16);
    let err = writer.write(&Stamp::new(3, 16)).unwrap_err();
    assert!(
        matches!(err, mmap_sync::Error::WriterBlocked { .. }),
        "the thread's pin was not seen: {err:?}"
    );
    to_thread.send(()).unwrap();
    thread.join().unwrap();
}

/// What one thread of a wait-then-read loop saw.
#[derive(Debug, Default)]
struct LoopCount {
    wakes: u64,
    stale: u64,
}

/// The README's loop, on one thread: wait for a change, read, remember what was read. Counts
/// the wakes, and the reads that served an older generation than the wake announced.
fn wait_then_read(reader: Reader<Stamp>, stop: Arc<AtomicBool>) -> LoopCount {
    let mut count = LoopCount::default();
    let mut seen = reader.read().unwrap().generation();
    // Relaxed: a stop flag.
    while !stop.load(Ordering::Relaxed) {
        let Some(woken) = reader.wait_for_change(seen, Duration::from_millis(50)).unwrap() else {
            continue;
        };
        count.wakes += 1;
        let guard = reader.read().unwrap();
        if guard.generation() < woken {
            count.stale += 1;
        }
        assert!(guard.is_intact(guard.generation()));
        seen = guard.generation();
    }
    count
}

#[test]
fn after_a_wake_every_thread_of_a_wait_then_read_loop_reads_that_generation_or_newer() {
    const PUBLISHES: u64 = 30;
    for background in [false, true] {
        let dir = ChannelDir::new("wait-then-read");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
        // Large enough that validating a generation takes a while: the other threads wake
        // while one validates.
        const WORDS: usize = 1 << 18;
        publish(&mut writer, WORDS);
        let reader =
            Reader::<Stamp>::builder().validate_in_background(background).open(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (reader, stop) = (reader.clone(), stop.clone());
                std::thread::spawn(move || wait_then_read(reader, stop))
            })
            .collect();
        for _ in 0..PUBLISHES {
            std::thread::sleep(Duration::from_millis(10));
            publish(&mut writer, WORDS);
        }
        std::thread::sleep(Duration::from_millis(100));
        // Relaxed: a stop flag.
        stop.store(true, Ordering::Relaxed);
        let counts: Vec<LoopCount> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        eprintln!("background {background}: {PUBLISHES} publishes, per thread {counts:?}");
        for count in &counts {
            assert_eq!(count.stale, 0, "background {background}: a wake served older: {counts:?}");
            assert!(count.wakes <= PUBLISHES, "background {background}: the loop spun: {counts:?}");
            assert!(count.wakes > 0, "background {background}: never woken: {counts:?}");
        }
    }
}

#[test]
fn a_generation_that_fails_validation_does_not_wake_a_wait_then_read_loop() {
    for background in [false, true] {
        let dir = ChannelDir::new("wait-failed");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
        publish(&mut writer, 1000);
        let reader =
            Reader::<Stamp>::builder().validate_in_background(background).open(&path).unwrap();
        assert_eq!(reader.read().unwrap().generation(), 1);
        if background {
            // The validator wakes at once on a publish: keep it busy with a large generation 2
            // while generation 3 is published and damaged.
            publish(&mut writer, 4 << 20);
        }
        // The bad generation is damaged before this process validates it.
        let bad = writer.write(&Stamp::new(writer.generation() + 1, 1000)).unwrap();
        corrupt_copy(&path, bad.copy);
        if background {
            let deadline = Instant::now() + LONG;
            while reader.last_failure().is_none() {
                assert!(Instant::now() < deadline, "the failure was never reported");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let served = reader.read().unwrap().generation();
        assert!(served < bad.generation);
        let waits: Vec<_> = (0..4)
            .map(|_| {
                let reader = reader.clone();
                std::thread::spawn(move || {
                    let mut wakes = 0;
                    let started = Instant::now();
                    while started.elapsed() < Duration::from_millis(300) {
                        let timeout = Duration::from_millis(300);
                        if reader.wait_for_change(served, timeout).unwrap().is_some() {
                            wakes += 1;
                            assert_eq!(reader.read().unwrap().generation(), served);
                        }
                    }
                    wakes
                })
            })
            .collect();
        for wait in waits {
            assert_eq!(wait.join().unwrap(), 0, "background {background}: the bad generation woke");
        }
        assert_eq!(reader.last_failure().map(|f| f.generation), Some(bad.generation));
        // The next good generation wakes the loop, and is what it reads.
        let waiter = {
            let reader = reader.clone();
            std::thread::spawn(move || {
                let woken = reader.wait_for_change(served, LONG).unwrap();
                (woken, reader.read().unwrap().generation())
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        let next = publish(&mut writer, 1000).generation;
        assert_eq!(waiter.join().unwrap(), (Some(next), next), "background {background}");
    }
}

#[test]
fn a_waiting_reader_of_a_deleted_set_learns_within_the_bound_that_a_new_channel_replaced_it() {
    use mmap_sync::{Error, SUPERSEDED_CHECK};
    let dir = ChannelDir::new("deleted-set");
    let path = dir.prefix("stamp");
    let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
    publish(&mut writer, 16);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (reader, tx) = (reader.clone(), tx.clone());
            std::thread::spawn(move || {
                let result = reader.wait_for_change(1, Duration::MAX);
                tx.send((result, Instant::now())).unwrap();
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));

    // The writer goes, every file of the channel is deleted, and a new writer starts a new
    // channel at the path and publishes. Nobody could mark the old set replaced.
    let files = writer.paths().all(3);
    drop(writer);
    for file in files {
        std::fs::remove_file(file).unwrap();
    }
    assert!(!reader.is_superseded(), "a deleted set is followed until a new one appears");
    let mut next = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
    publish(&mut next, 16);
    let replaced_at = Instant::now();
    let bound = SUPERSEDED_CHECK + Duration::from_secs(5);
    for _ in 0..3 {
        let (result, at) = rx.recv_timeout(bound).expect("a waiting reader never learned");
        assert!(matches!(result, Err(Error::Superseded { .. })), "{result:?}");
        eprintln!("a waiter learned after {:?}", at.saturating_duration_since(replaced_at));
    }
    waiters.into_iter().for_each(|w| w.join().unwrap());
    assert!(reader.is_superseded());
    // It keeps its last value; a new reader follows the new channel.
    assert_eq!(reader.read().unwrap().generation(), 1);
    let fresh = Reader::<Stamp>::open(&path).unwrap();
    assert_eq!(fresh.read().unwrap().generation(), 1);
}

#[test]
fn a_child_forked_while_another_thread_validates_never_blocks_and_reads() {
    const FORKS: u32 = 25;
    for background in [false, true] {
        let dir = ChannelDir::new("fork-validating");
        let path = dir.prefix("stamp");
        let mut writer = Writer::<Stamp>::builder().copies(3).open(&path).unwrap();
        // 4 MiB values, published without pause: the readers of the forking process validate
        // nearly all the time.
        const WORDS: usize = 512 << 10;
        publish(&mut writer, WORDS);
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // Relaxed: a stop flag.
                while !stop.load(Ordering::Relaxed) {
                    publish(&mut writer, WORDS);
                }
            })
        };
        let mut forker = Probe::spawn(
            NEIGHBOUR,
            args!["fork-during-validation", &path, background.to_string(), FORKS.to_string()],
        );
        let line = forker.expect("forked", Duration::from_secs(FORKS as u64 * 25));
        forker.wait_success(LONG);
        // Relaxed: a stop flag.
        stop.store(true, Ordering::Relaxed);
        publisher.join().unwrap();
        eprintln!("background {background}: {line:?}");
        assert_eq!(line.num::<u64>("hung"), 0, "background {background}: children hung: {line:?}");
        assert_eq!(
            line.num::<u64>("failed"),
            0,
            "background {background}: children failed: {line:?}"
        );
        assert_eq!(line.num::<u64>("ok"), u64::from(FORKS));
        assert!(
            line.num::<u64>("validations") > 1,
            "nothing was validated while forking: {line:?}"
        );
    }
}
