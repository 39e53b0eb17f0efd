//! The victim process of the reliability tests: writers and readers that get killed at random
//! points, readers of hostile files, and readers running as other users. Like `probe`, each
//! role reports on stdout in `mmap_sync_tests::report` lines, and the tests check the fields it
//! prints and how it ends.
//!
//! * `crash-writer PATH COPIES SEED`: `opened generation=G`, then for each value `writing
//!   generation=G words=N` before the write and `published generation=G` after, until killed;
//! * `crash-reader PATH loop|pinned SEED`: `slot index=I` (or `index=none`), then reads until killed, saying
//!   `torn generation=G` (and exiting) on a damaged value; `pinned` says `pinned generation=G`
//!   and then holds that guard;
//! * `hold-slot PATH`: `slot index=I`, then `exiting generation=G` after the next publish;
//! * `hostile-batch DIR CASES`: for each `DIR/case{i}/note`, the steps `read`, `write` and,
//!   when the write worked, `reread`: a `start case=i step=S` line before each step, an `ok` or
//!   `err` line with `case` and `step` after it; `done` at the end;
//! * `read-note PATH`: one outcome line, `ok generation=G version=V bytes=B` or `err`;
//! * `maps PATH`: reads, then `map perms=.. path=..` for each mapping of the channel's files
//!   and `end`;
//! * `umask-writer PATH UMASK`: publishes with that umask, says `published generation=G`;
//! * `write-stamp-after-truncation PATH`, `read-after-truncation PATH`: see their functions.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::report::{Line, error_line, say};
use mmap_sync_tests::rng::Rng;
use mmap_sync_tests::types::{Note, Stamp, chaos_len};
use nix::sys::stat::{Mode, umask};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["crash-writer", path, copies, seed] => {
            crash_writer(path, copies.parse().unwrap(), seed.parse().unwrap())
        }
        ["crash-reader", path, mode, seed] => crash_reader(path, mode, seed.parse().unwrap()),
        ["hold-slot", path] => hold_slot(path),
        ["hostile-batch", dir, cases] => hostile_batch(Path::new(dir), cases.parse().unwrap()),
        ["read-note", path] => say(&read_note(Path::new(path))),
        ["read-note-then-the-next", path] => read_note_then_the_next(Path::new(path)),
        ["maps", path] => maps(path),
        ["umask-writer", path, mask] => {
            let mask = u32::from_str_radix(mask, 8).expect("octal umask");
            umask(Mode::from_bits_truncate(mask));
            let mut writer = Writer::<Note>::open(path).expect("open writer");
            let published = writer.write(&Note { version: 1, messages: vec![] }).expect("write");
            say(&Line::new("published").with("generation", published.generation));
        }
        ["write-stamp-after-truncation", path] => write_stamp_after_truncation(path),
        ["read-after-truncation", path] => read_after_truncation(path),
        _ => {
            eprintln!("chaos: unknown role {args:?}");
            std::process::exit(2);
        }
    }
}

/// Opens the channel (continuing its generation count) and publishes stamps of `chaos_len`
/// words until killed, announcing each write before it starts and after it is published.
fn crash_writer(path: &str, copies: usize, seed: u64) {
    let mut writer = Writer::<Stamp>::builder()
        .copies(copies)
        .max_wait(Duration::from_secs(10))
        .open(path)
        .expect("open writer");
    say(&Line::new("opened").with("generation", writer.generation()));
    loop {
        let generation = writer.generation() + 1;
        let len = chaos_len(seed, generation);
        say(&Line::new("writing").with("generation", generation).with("words", len));
        let published = writer.write(&Stamp::new(generation, len)).expect("publish");
        assert_eq!(published.generation, generation);
        say(&Line::new("published").with("generation", generation));
    }
}

/// The `slot` line: the index of the slot this thread holds through `reader`, or `none`.
fn slot_line(reader: &Reader<Stamp>) -> Line {
    match reader.slot() {
        Some(index) => Line::new("slot").with("index", index),
        None => Line::new("slot").with("index", "none"),
    }
}

/// Reads in a loop until killed, checking every value, holding each guard for a random while.
/// `mode` `pinned`: after a few reads, announce `pinned` while holding a guard and keep holding
/// it, so the killer hits the window between pinning and unpinning for sure.
fn crash_reader(path: &str, mode: &str, seed: u64) {
    let reader =
        Reader::<Stamp>::builder().open_wait(path, Duration::from_secs(10)).expect("open reader");
    say(&slot_line(&reader));
    let mut rng = Rng::new(seed);
    let mut reads = 0u64;
    loop {
        let guard = match reader.read() {
            Ok(guard) => guard,
            Err(Error::NotPublished { .. }) => continue,
            Err(e) => panic!("read failed: {e}"),
        };
        let generation = guard.generation();
        if !guard.is_intact(generation) {
            say(&Line::new("torn").with("generation", generation));
            std::process::exit(1);
        }
        reads += 1;
        if mode == "pinned" && reads == 8 {
            say(&Line::new("pinned").with("generation", generation));
            loop {
                std::thread::sleep(Duration::from_secs(1));
                black_box(&guard);
            }
        }
        for _ in 0..rng.below(20_000) {
            black_box(&guard.words);
        }
    }
}

/// Holds a reader slot until the next publish, then exits cleanly.
fn hold_slot(path: &str) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    // Read the generation before announcing the slot: the test publishes as soon as it has
    // heard from every holder, and a holder that read it later would wait for the next one.
    let since = reader.generation();
    say(&slot_line(&reader));
    let changed = reader.wait_for_change(since, Duration::from_secs(60)).expect("wait");
    let changed = changed.expect("a publish within a minute");
    say(&Line::new("exiting").with("generation", changed));
}

/// What reading the Note channel at `path` gives: `ok generation=G version=V bytes=B` after
/// walking every byte of the value, or the error's line.
fn read_note(path: &Path) -> Line {
    let outcome = Reader::<Note>::open(path).and_then(|reader| {
        let guard = reader.read()?;
        // Touch everything a caller could: a validated value must be safe to walk.
        let bytes: usize = guard.messages.iter().map(|m| black_box(m.as_str()).len()).sum();
        Ok(Line::new("ok")
            .with("generation", guard.generation())
            .with("version", guard.version)
            .with("bytes", bytes))
    });
    outcome.unwrap_or_else(|e| error_line(&e))
}

/// Reads the channel (saying so), waits up to 20 s for the next publish to be validated or to
/// fail validation, then says the failure recorded, if any, and what a read serves.
fn read_note_then_the_next(path: &Path) {
    let reader = match Reader::<Note>::open(path) {
        Ok(reader) => reader,
        Err(e) => return say(&error_line(&e)),
    };
    let first = match reader.read() {
        Ok(guard) => guard.generation(),
        Err(e) => return say(&error_line(&e)),
    };
    say(&Line::new("ok").with("generation", first));
    // A wait validates what it waits for; a generation that fails is not a change, so the wait
    // runs its course while the failure is recorded: waits are short, the failure is looked for.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while reader.last_failure().is_none() && std::time::Instant::now() < deadline {
        match reader.wait_for_change(first, Duration::from_millis(100)) {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) => {}
        }
    }
    match reader.last_failure() {
        Some(failure) => say(&error_line(&failure.error).with("generation", failure.generation)),
        None => say(&Line::new("no-failure")),
    }
    match reader.read() {
        Ok(guard) => say(&Line::new("served").with("generation", guard.generation())),
        Err(e) => say(&error_line(&e)),
    }
}

/// For each hostile channel `dir/case{i}/note`: read it; then open a writer on it and publish;
/// and if that worked, read again. Every step announces itself first, so a crash names its
/// case and step.
fn hostile_batch(dir: &Path, cases: usize) {
    let step = |case: usize, step: &str, outcome: Line| {
        say(&outcome.with("case", case).with("step", step));
    };
    let start = |case: usize, step: &str| {
        say(&Line::new("start").with("case", case).with("step", step));
    };
    for case in 0..cases {
        let path = dir.join(format!("case{case}")).join("note");
        start(case, "read");
        step(case, "read", read_note(&path));
        start(case, "write");
        let written = Writer::<Note>::builder()
            .max_wait(Duration::from_millis(100))
            .open(&path)
            .and_then(|mut writer| {
                writer.write(&Note { version: 4242, messages: vec!["after".into(); 3] })
            });
        match written {
            Ok(published) => {
                step(case, "write", Line::new("ok").with("generation", published.generation));
                start(case, "reread");
                step(case, "reread", read_note(&path));
            }
            Err(e) => step(case, "write", error_line(&e)),
        }
    }
    say(&Line::new("done"));
}

/// Reads once, then reports each line of /proc/self/maps that maps one of the channel's files.
fn maps(path: &str) {
    let reader = Reader::<Note>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    black_box(guard.version);
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read maps");
    // `address perms offset dev inode pathname`
    for fields in maps.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()) {
        if let [range, perms, _offset, _dev, _inode, file] = fields.as_slice()
            && file.starts_with(path)
        {
            say(&Line::new("map").with("range", range).with("perms", perms).with("path", file));
        }
    }
    say(&Line::new("end"));
}

/// Blocks until every one of `paths` is an empty file (the test truncates them).
fn wait_until_truncated(paths: &[std::path::PathBuf]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !paths.iter().all(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == 0)) {
        assert!(std::time::Instant::now() < deadline, "the data files were never truncated");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Publishes two stamps (one per copy), says `truncate-now`, waits until the test has
/// truncated both data files to nothing, then publishes twice more so that each truncated copy
/// is written again, reporting each attempt as `published generation=G` or an `err` line.
fn write_stamp_after_truncation(path: &str) {
    let mut writer = Writer::<Stamp>::open(path).expect("open writer");
    for generation in 1..=2 {
        writer.write(&Stamp::new(generation, 4096)).expect("write");
    }
    say(&Line::new("truncate-now"));
    wait_until_truncated(&[writer.paths().data(0), writer.paths().data(1)]);
    for _ in 3..=4 {
        match writer.write(&Stamp::new(writer.generation() + 1, 4096)) {
            Ok(published) => say(&Line::new("published").with("generation", published.generation)),
            Err(e) => say(&error_line(&e)),
        }
    }
}

/// Opens a reader (which validates generation 1 in copy 0), says `truncate-now`, waits until
/// the test has truncated copy 0, then reads and touches every word, and reads again: the
/// reader must survive, and the second read must report the truncation. Each read reports an
/// outcome line with `step=first` or `step=second`; a first read that got a value says whether
/// it was `intact` and the `sum` of the words it touched.
fn read_after_truncation(path: &str) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say(&Line::new("truncate-now"));
    wait_until_truncated(&[reader.paths().data(0)]);
    let first = match reader.read() {
        Ok(guard) => {
            let intact = guard.is_intact(1);
            let sum: u64 = guard.words.iter().map(|w| w.to_native()).sum();
            Line::new("ok")
                .with("generation", guard.generation())
                .with("intact", intact)
                .with("sum", sum)
        }
        Err(e) => error_line(&e),
    };
    say(&first.with("step", "first"));
    let second = match reader.read() {
        Ok(guard) => Line::new("ok").with("generation", guard.generation()),
        Err(e) => error_line(&e),
    };
    say(&second.with("step", "second"));
}
