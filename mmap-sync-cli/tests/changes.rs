//! The runtime's async change notification (`tokio` feature): one waiter thread per process
//! and channel wakes every waiting task; dropped futures leave nothing behind; cancellation
//! loses no publish.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::ChannelDir;
use mmap_sync::changes::{WAITER_STEP, waiter_threads};
use mmap_sync::{Reader, SharedState, Writer};

#[derive(Debug, rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_cli_test_ticker", copies = 3)]
pub struct Ticker {
    pub tick: u64,
}

/// The tests count the process's waiter threads: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the test lock and waits for the waiter threads of earlier tests to stop.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    eventually("the waiter threads of earlier tests stop", || waiter_threads() == 0);
    guard
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

/// Waits until `condition` holds, for at most ten times `WAITER_STEP` plus a second.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAITER_STEP * 10 + Duration::from_secs(1);
    while !condition() {
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn open(dir: &ChannelDir) -> (Writer<Ticker>, Reader<Ticker>) {
    let path = dir.prefix("ticker");
    let mut writer = Writer::<Ticker>::open(&path).unwrap();
    writer.write(&Ticker { tick: 1 }).unwrap();
    let reader = Reader::<Ticker>::open(&path).unwrap();
    (writer, reader)
}

#[test]
fn one_publish_wakes_a_thousand_waiting_tasks_through_one_thread() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-thousand");
    let (mut writer, reader) = open(&dir);
    let rt = runtime();
    const TASKS: usize = 1000;
    let waiting = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let mut changes = reader.changes().unwrap();
            let waiting = waiting.clone();
            rt.spawn(async move {
                waiting.fetch_add(1, Ordering::SeqCst);
                let generation = changes.changed().await.unwrap();
                (generation, Instant::now())
            })
        })
        .collect();
    eventually("all tasks waiting", || waiting.load(Ordering::SeqCst) == TASKS);
    assert_eq!(waiter_threads(), 1, "a thousand tasks, one waiter thread");

    let published_at = Instant::now();
    let generation = writer.write(&Ticker { tick: 2 }).unwrap().generation;
    let woken = rt.block_on(async {
        let mut woken = Vec::with_capacity(TASKS);
        for task in tasks {
            // The bound: a task that is not woken within it fails the test instead of hanging.
            let (g, at) = tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("every task wakes")
                .unwrap();
            woken.push((g, at));
        }
        woken
    });
    assert!(woken.iter().all(|(g, _)| *g == generation), "each task saw the new generation");
    let last = woken.iter().map(|(_, at)| *at).max().unwrap();
    println!(
        "{TASKS} tasks woken by one publish in {:.3} ms (from the write returning to the last \
         task running)",
        last.saturating_duration_since(published_at).as_secs_f64() * 1e3
    );
    drop(rt);
    eventually("the waiter thread stops", || waiter_threads() == 0);
}

#[test]
fn a_dropped_future_leaves_no_thread_no_receiver_and_no_slot_behind() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-drop");
    let (_writer, reader) = open(&dir);
    let slots_in_use = || {
        mmap_sync::inspect::Channel::open(reader.paths().prefix.clone())
            .unwrap()
            .readers()
            .unwrap()
            .live()
    };
    let slots_before = slots_in_use();
    let rt = runtime();
    rt.block_on(async {
        // Polled until it waits, then dropped by the timeout.
        let since = reader.generation();
        let pending = tokio::time::timeout(Duration::from_millis(50), reader.changed(since)).await;
        assert!(pending.is_err(), "nothing was published: the future must still be pending");
    });
    assert!(waiter_threads() <= 1);
    eventually("the waiter thread stops", || waiter_threads() == 0);
    eventually("the waiter's slot is given back", || slots_in_use() == slots_before);

    // The same with a subscription held by a task that is aborted.
    let mut changes = reader.changes().unwrap();
    assert_eq!(waiter_threads(), 1);
    let task = rt.spawn(async move { changes.changed().await });
    std::thread::sleep(Duration::from_millis(20));
    task.abort();
    let _ = rt.block_on(task);
    eventually("the waiter thread stops after the abort", || waiter_threads() == 0);
    eventually("its slot is given back", || slots_in_use() == slots_before);
}

#[test]
fn cancellation_by_select_loses_no_later_publish() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-select");
    let (mut writer, reader) = open(&dir);
    let rt = runtime();
    rt.block_on(async {
        let mut changes = reader.changes().unwrap();
        for round in 0..20u64 {
            // A select! whose other branch wins cancels `changed` while it waits.
            tokio::select! {
                biased;
                changed = changes.changed() => panic!("nothing published yet: {changed:?}"),
                _ = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
            // Publish, and let the waiter thread hand the new generation to the watch channel
            // before `changed` is polled again: the notification is there, unconsumed.
            let generation = writer.write(&Ticker { tick: round + 2 }).unwrap().generation;
            while changes.latest() < generation {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // Cancel once more after the notification arrived, without polling to completion.
            {
                let dropped = changes.changed();
                drop(dropped);
            }
            let got = tokio::time::timeout(Duration::from_secs(10), changes.changed())
                .await
                .expect("the publish is not lost")
                .unwrap();
            assert_eq!(got, generation, "round {round}");
        }
    });
}

#[test]
fn a_subscription_sees_generations_published_while_nobody_polled_it() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-burst");
    let (mut writer, reader) = open(&dir);
    let rt = runtime();
    let mut changes = reader.changes().unwrap();
    let mut last = 0;
    for tick in 2..=6 {
        last = writer.write(&Ticker { tick }).unwrap().generation;
    }
    rt.block_on(async {
        // Several publishes before the first poll resolve one call with the newest.
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let g = changes.changed().await.unwrap();
                if g == last {
                    return g;
                }
            }
        })
        .await
        .expect("the newest generation arrives");
        assert_eq!(got, last);
        assert_eq!(reader.read().unwrap().tick, 6);
        // And `Reader::changed` with an older generation resolves at once.
        let now = tokio::time::timeout(Duration::from_secs(1), reader.changed(last - 1))
            .await
            .expect("resolves at once")
            .unwrap();
        assert_eq!(now, last);
    });
}

#[test]
fn replacing_the_channels_files_ends_the_old_subscription_with_superseded() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-superseded");
    let (writer, reader) = open(&dir);
    let mut changes = reader.changes().unwrap();
    drop(writer);
    // A missing data file makes the next writer start a new set of files.
    std::fs::remove_file(reader.paths().data(2)).unwrap();
    let mut writer = Writer::<Ticker>::open(&reader.paths().prefix).unwrap();
    writer.write(&Ticker { tick: 9 }).unwrap();
    let rt = runtime();
    let result = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match changes.changed().await {
                    Ok(_) => continue,
                    Err(e) => return e,
                }
            }
        })
        .await
        .expect("the old subscription ends")
    });
    assert!(matches!(result, mmap_sync::Error::Superseded { .. }), "{result}");
    // A reader of the new set subscribes afresh.
    let fresh = Reader::<Ticker>::open(&reader.paths().prefix).unwrap();
    let mut changes = fresh.changes().unwrap();
    writer.write(&Ticker { tick: 10 }).unwrap();
    let g = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), changes.changed()).await.unwrap().unwrap()
    });
    assert_eq!(g, fresh.generation());
}

#[test]
fn three_thousand_cancelled_futures_leave_one_waiter_thread_holding_one_slot() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-cancelled");
    let path = dir.prefix("ticker");
    const SLOTS: usize = 16;
    let mut writer = Writer::<Ticker>::builder().reader_slots(SLOTS).open(&path).unwrap();
    writer.write(&Ticker { tick: 1 }).unwrap();
    let reader = Reader::<Ticker>::open(&path).unwrap();
    let slots_in_use =
        || mmap_sync::inspect::Channel::open(&path).unwrap().readers().unwrap().live();
    let slots_before = slots_in_use();
    let rt = runtime();
    let (most_threads, most_slots, refused) = rt.block_on(async {
        let since = reader.generation();
        let (mut most_threads, mut most_slots, mut refused) = (0, 0, 0);
        for round in 0..3000 {
            match tokio::time::timeout(Duration::from_micros(50), reader.changed(since)).await {
                Err(_elapsed) => {}
                Ok(Err(mmap_sync::Error::ReadersFull { .. })) => refused += 1,
                Ok(other) => panic!("nothing was published: {other:?}"),
            }
            most_threads = most_threads.max(waiter_threads());
            if round % 100 == 0 {
                most_slots = most_slots.max(slots_in_use());
            }
        }
        (most_threads, most_slots, refused)
    });
    println!(
        "3000 cancelled futures: at most {most_threads} waiter thread(s), at most {} slot(s) \
         beyond the reader's own, {refused} ReadersFull",
        most_slots.saturating_sub(slots_before)
    );
    assert_eq!(refused, 0, "a future was refused a slot because of other futures");
    assert!(most_threads <= 1, "{most_threads} waiter threads for one channel");
    assert!(most_slots <= slots_before + 1, "the waiters held {most_slots} slots");
    // Every other thread of the process can still read.
    let threads: Vec<_> = (0..SLOTS - slots_before - 1)
        .map(|_| {
            let reader = reader.clone();
            std::thread::spawn(move || reader.read().map(|g| g.tick))
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), 1);
    }
    drop(rt);
    eventually("the waiter thread stops", || waiter_threads() == 0);
    eventually("its slot is given back", || slots_in_use() == slots_before);
}

#[test]
fn two_thousand_tasks_waiting_on_a_deleted_set_learn_that_a_new_channel_replaced_it() {
    let _serial = serial();
    let dir = ChannelDir::new("changes-deleted");
    let (writer, reader) = open(&dir);
    let rt = runtime();
    const TASKS: usize = 2000;
    let waiting = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let reader = reader.clone();
            let waiting = waiting.clone();
            rt.spawn(async move {
                let since = reader.generation();
                waiting.fetch_add(1, Ordering::SeqCst);
                (reader.changed(since).await, Instant::now())
            })
        })
        .collect();
    eventually("all tasks waiting", || waiting.load(Ordering::SeqCst) == TASKS);
    // The writer goes, every file is deleted, a new writer starts a new channel at the path.
    let files = writer.paths().all(3);
    drop(writer);
    for file in files {
        std::fs::remove_file(file).unwrap();
    }
    let mut next = Writer::<Ticker>::open(&reader.paths().prefix).unwrap();
    next.write(&Ticker { tick: 1 }).unwrap();
    let replaced_at = Instant::now();
    let latest = rt.block_on(async {
        let mut latest = replaced_at;
        for task in tasks {
            let bound = mmap_sync::SUPERSEDED_CHECK + Duration::from_secs(10);
            let (result, at) =
                tokio::time::timeout(bound, task).await.expect("a task never learned").unwrap();
            assert!(matches!(result, Err(mmap_sync::Error::Superseded { .. })), "{result:?}");
            latest = latest.max(at);
        }
        latest
    });
    println!(
        "{TASKS} tasks waiting on a deleted set learned it was replaced within {:.0} ms",
        latest.saturating_duration_since(replaced_at).as_secs_f64() * 1e3
    );
    assert!(reader.is_superseded());
    drop(rt);
    eventually("the waiter thread stops", || waiter_threads() == 0);
}
