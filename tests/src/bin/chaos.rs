//! The victim process of the reliability tests: writers and readers that get killed at random
//! points, readers of hostile files, and readers running as other users. Like `probe`, each role
//! reports on stdout in `key value` words and the tests assert on what it prints and how it ends.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::{Note, Rng, Stamp, chaos_len};

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

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
        ["read-note", path] => say(read_note(Path::new(path))),
        ["maps", path] => maps(path),
        ["umask-writer", path, umask] => {
            let umask = u32::from_str_radix(umask, 8).expect("octal umask");
            // SAFETY: umask only sets the process's file creation mask; this process is single
            // threaded here.
            unsafe { libc::umask(umask as libc::mode_t) };
            let mut writer = Writer::<Note>::open(path).expect("open writer");
            writer.write(&Note { version: 1, messages: vec![] }).expect("write");
            say("published");
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
    say(format!("opened {}", writer.generation()));
    loop {
        let generation = writer.generation() + 1;
        let len = chaos_len(seed, generation);
        say(format!("writing {generation} len {len}"));
        let published = writer.write(&Stamp::new(generation, len)).expect("publish");
        assert_eq!(published.generation, generation);
        say(format!("published {generation}"));
    }
}

/// Reads in a loop until killed, checking every value, holding each guard for a random while.
/// `mode` `pinned`: after a few reads, announce `pinned <generation>` while holding a guard and
/// keep holding it, so the killer hits the window between pinning and unpinning for sure.
fn crash_reader(path: &str, mode: &str, seed: u64) {
    let reader =
        Reader::<Stamp>::builder().open_wait(path, Duration::from_secs(10)).expect("open reader");
    say(format!("slot {}", reader.slot().map_or(-1, |s| s as i64)));
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
            say(format!("torn {generation}"));
            std::process::exit(1);
        }
        reads += 1;
        if mode == "pinned" && reads == 8 {
            say(format!("pinned {generation}"));
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
    say(format!("slot {}", reader.slot().map_or(-1, |s| s as i64)));
    let changed = reader.wait_for_change(since, Duration::from_secs(60)).expect("wait");
    say(format!("exiting {changed:?}"));
}

/// One line describing what reading the Note channel at `path` gives: `ok generation g version v`
/// after walking every byte of the value, or `err kind <io kind> <error>`.
fn read_note(path: &Path) -> String {
    let outcome = Reader::<Note>::open(path).and_then(|reader| {
        let guard = reader.read()?;
        // Touch everything a caller could: a validated value must be safe to walk.
        let bytes: usize = guard.messages.iter().map(|m| black_box(m.as_str()).len()).sum();
        Ok(format!("ok generation {} version {} bytes {bytes}", guard.generation(), guard.version))
    });
    match outcome {
        Ok(line) => line,
        Err(e) => {
            let kind = match &e {
                Error::Io { source, .. } => format!("{:?}", source.kind()),
                _ => String::from("-"),
            };
            format!("err kind {kind} {e}")
        }
    }
}

/// For each hostile channel `dir/case{i}/note`: read it; then open a writer on it and publish;
/// and if that worked, read again. Every step announces itself first, so a crash names its case.
fn hostile_batch(dir: &Path, cases: usize) {
    for case in 0..cases {
        let path = dir.join(format!("case{case}")).join("note");
        say(format!("case {case} reading"));
        say(format!("case {case} read: {}", read_note(&path)));
        say(format!("case {case} opening a writer"));
        let written = Writer::<Note>::builder()
            .max_wait(Duration::from_millis(100))
            .open(&path)
            .and_then(|mut writer| {
                writer.write(&Note { version: 4242, messages: vec!["after".into(); 3] })
            });
        match written {
            Ok(published) => {
                say(format!("case {case} wrote {}", published.generation));
                say(format!("case {case} reread: {}", read_note(&path)));
            }
            Err(e) => say(format!("case {case} write-failed: err {e}")),
        }
    }
    say("done");
}

/// Reads once, then prints the lines of /proc/self/maps that map the channel's files.
fn maps(path: &str) {
    let reader = Reader::<Note>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    black_box(guard.version);
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read maps");
    for line in maps.lines().filter(|l| l.contains(path)) {
        say(format!("map {line}"));
    }
    say("end");
}

/// Blocks until every one of `paths` is an empty file (the test truncates them).
fn wait_until_truncated(paths: &[std::path::PathBuf]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !paths.iter().all(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == 0)) {
        assert!(std::time::Instant::now() < deadline, "the data files were never truncated");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Publishes two stamps (one per copy), waits until the test has truncated both data files to
/// nothing, then publishes twice more so that each truncated copy is written again.
fn write_stamp_after_truncation(path: &str) {
    let mut writer = Writer::<Stamp>::open(path).expect("open writer");
    for generation in 1..=2 {
        writer.write(&Stamp::new(generation, 4096)).expect("write");
    }
    say("truncate now");
    wait_until_truncated(&[writer.paths().data(0), writer.paths().data(1)]);
    for _ in 3..=4 {
        match writer.write(&Stamp::new(writer.generation() + 1, 4096)) {
            Ok(published) => say(format!("published {}", published.generation)),
            Err(e) => say(format!("err {e}")),
        }
    }
}

/// Opens a reader (which validates generation 1 in copy 0), waits until the test has truncated
/// copy 0, then reads and touches every word, and reads again: the reader must survive, and the
/// second read must report the truncation.
fn read_after_truncation(path: &str) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say("truncate now");
    wait_until_truncated(&[reader.paths().data(0)]);
    match reader.read() {
        Ok(guard) => {
            let intact = guard.is_intact(1);
            let sum: u64 = guard.words.iter().map(|w| w.to_native()).sum();
            say(format!("first ok generation {} intact {intact} sum {sum}", guard.generation()));
        }
        Err(e) => say(format!("first err {e:?}")),
    }
    match reader.read() {
        Ok(guard) => say(format!("second ok generation {}", guard.generation())),
        Err(e) => say(format!("second err {e:?}")),
    }
}
