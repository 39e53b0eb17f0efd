//! The other process of the cross-process tests. Each role does one thing to a channel and
//! reports on stdout in `mmap_sync_tests::report` lines; the tests check the fields it prints
//! and how it exits.
//!
//! * `stamp-writer PATH COPIES MS WORDS`: `ready`, then publishes stamps of WORDS words (0:
//!   sizes that change with every publish) for MS milliseconds and says `published count=N`;
//! * `stamp-reader PATH MS THREADS`: `ready`, then reads for MS milliseconds on THREADS threads
//!   sharing one reader and says `stats reads=.. torn=.. backwards=.. distinct=.. unpublished=..
//!   served_older=..`;
//! * `hold PATH MS`: `holding generation=G`, then after MS `intact generation=G` or
//!   `damaged generation=G`;
//! * `open-read PATH note|other|stamp`: `ok generation=G` or an `err` line;
//! * `write-note PATH VERSION`: `published generation=G` or an `err` line;
//! * `hold-writer PATH MS`: publishes, says `ready` and keeps the writer for MS;
//! * `wait-change PATH SINCE MS`: `changed generation=G`, `timeout`, or an `err` line.

use std::time::{Duration, Instant};

use mmap_sync::{Error, Reader, SharedState, Writer};
use mmap_sync_tests::report::{Line, error_line, say};
use mmap_sync_tests::types::{Note, Other, Stamp};

fn millis(arg: &str) -> Duration {
    Duration::from_millis(arg.parse().expect("milliseconds"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["stamp-writer", path, copies, ms, len] => {
            stamp_writer(path, copies.parse().unwrap(), millis(ms), len.parse().unwrap())
        }
        ["stamp-reader", path, ms, threads] => {
            stamp_reader(path, millis(ms), threads.parse().expect("a thread count"))
        }
        ["hold", path, ms] => hold(path, millis(ms)),
        ["open-read", path, kind] => open_read(path, kind),
        ["write-note", path, version] => write_note(path, version.parse().unwrap()),
        ["hold-writer", path, ms] => {
            let mut writer = Writer::<Note>::open(path).expect("open writer");
            writer.write(&Note { version: 1, messages: vec![] }).expect("write");
            say(&Line::new("ready"));
            std::thread::sleep(millis(ms));
        }
        ["wait-change", path, since, ms] => {
            let reader =
                Reader::<Note>::builder().open_wait(path, millis(ms)).expect("open reader");
            match reader.wait_for_change(since.parse().unwrap(), millis(ms)) {
                Ok(Some(generation)) => say(&Line::new("changed").with("generation", generation)),
                Ok(None) => say(&Line::new("timeout")),
                Err(e) => say(&error_line(&e)),
            }
        }
        _ => {
            eprintln!("probe: unknown role {args:?}");
            std::process::exit(2);
        }
    }
}

/// Publishes stamps as fast as it can for `run`, then reports how many.
fn stamp_writer(path: &str, copies: usize, run: Duration, len: usize) {
    let mut writer = Writer::<Stamp>::builder()
        .copies(copies)
        .max_wait(Duration::from_secs(5))
        .open(path)
        .expect("open writer");
    say(&Line::new("ready"));
    let start = Instant::now();
    let mut published = 0u64;
    // `len` 0: sizes that change with every publish, from a few words to 512 KiB, so that some
    // validations take long enough for other threads to serve an older generation meanwhile.
    const MIXED: [usize; 4] = [16, 1 << 16, 1000, 1 << 13];
    let mut value = Stamp::new(0, len);
    while start.elapsed() < run {
        let next = writer.generation() + 1;
        if len == 0 {
            value.words.resize(MIXED[next as usize % MIXED.len()], 0);
        }
        value.generation = next;
        value.words.fill(next);
        let done = writer.write(&value).expect("publish");
        assert_eq!(done.generation, next);
        published += 1;
    }
    say(&Line::new("published").with("count", published));
}

/// Reads and checks every read for `run`, on `threads` threads sharing one reader: a torn read
/// is a stamp whose words disagree with the generation the guard reports; generations must never
/// go backwards on a thread. Reports the sums, and how often a thread served an older validated
/// generation while another validated a newer one.
fn stamp_reader(path: &str, run: Duration, threads: usize) {
    let reader =
        Reader::<Stamp>::builder().open_wait(path, Duration::from_secs(10)).expect("open reader");
    say(&Line::new("ready"));
    let start = Instant::now();
    let counts: Vec<[u64; 5]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let reader = reader.clone();
                scope.spawn(move || {
                    let (mut reads, mut torn, mut backwards, mut not_yet, mut last, mut distinct) =
                        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
                    while start.elapsed() < run {
                        for _ in 0..64 {
                            match reader.read() {
                                Ok(guard) => {
                                    let generation = guard.generation();
                                    if !guard.is_intact(generation) {
                                        torn += 1;
                                    }
                                    if generation < last {
                                        backwards += 1;
                                    }
                                    if generation != last {
                                        distinct += 1;
                                    }
                                    last = generation;
                                    reads += 1;
                                }
                                Err(Error::NotPublished { .. }) => not_yet += 1,
                                Err(e) => panic!("read failed: {e}"),
                            }
                        }
                    }
                    [reads, torn, backwards, distinct, not_yet]
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a reading thread panicked")).collect()
    });
    let sum = |i: usize| counts.iter().map(|c| c[i]).sum::<u64>();
    // The fewest generations any thread saw: each thread must have raced the writer.
    let distinct = counts.iter().map(|c| c[3]).min().unwrap_or(0);
    say(&Line::new("stats")
        .with("reads", sum(0))
        .with("torn", sum(1))
        .with("backwards", sum(2))
        .with("distinct", distinct)
        .with("unpublished", sum(4))
        .with("served_older", reader.stats().served_older));
}

/// Holds one guard for `hold`, then checks the data under it is still what it was.
fn hold(path: &str, hold: Duration) {
    let reader =
        Reader::<Stamp>::builder().open_wait(path, Duration::from_secs(10)).expect("open reader");
    let guard = reader.read().expect("read");
    let generation = guard.generation();
    assert!(guard.is_intact(generation), "damaged before holding");
    say(&Line::new("holding").with("generation", generation));
    std::thread::sleep(hold);
    let verdict = if guard.is_intact(generation) { "intact" } else { "damaged" };
    say(&Line::new(verdict).with("generation", generation));
}

/// Opens a reader of `kind` and reads once, reporting the outcome. A crash (signal) is the
/// failure the caller looks for; an error is an answer.
fn open_read(path: &str, kind: &str) {
    fn report<T: SharedState>(path: &str) {
        let outcome = Reader::<T>::open(path).and_then(|reader| {
            let guard = reader.read()?;
            Ok(Line::new("ok").with("generation", guard.generation()))
        });
        say(&outcome.unwrap_or_else(|e| error_line(&e)));
    }
    match kind {
        "note" => report::<Note>(path),
        "other" => report::<Other>(path),
        "stamp" => report::<Stamp>(path),
        _ => panic!("unknown kind {kind}"),
    }
}

fn write_note(path: &str, version: u32) {
    let outcome = Writer::<Note>::open(path).and_then(|mut writer| {
        let published = writer.write(&Note { version, messages: vec!["hello".into()] })?;
        Ok(Line::new("published").with("generation", published.generation))
    });
    say(&outcome.unwrap_or_else(|e| error_line(&e)));
}
