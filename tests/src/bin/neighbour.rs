//! The neighbours of the trust-model and shared-reader tests: careless or hostile processes that
//! do to a channel's files what their access allows, and the victims that must not notice. Each
//! role reports with `report::Line`s for the test to compare by field.
//!
//! Usage: `neighbour ROLE PATH [ARGS]`. Attacks act once and report `done`; victims report what
//! they saw. Attacks write through `pwrite` (`mmap_sync_tests::files`), as any process with
//! write access to a file can.

use std::fs::OpenOptions;
use std::mem::offset_of;
use std::path::Path;
use std::time::{Duration, Instant};

use mmap_sync::format::{self, ReadersHeader};
use mmap_sync::{ChannelPaths, Reader, Writer};
use mmap_sync_tests::files;
use mmap_sync_tests::report::{Line, error_line, say};
use mmap_sync_tests::types::Stamp;
use nix::fcntl::{FcntlArg, fcntl};
use nix::libc;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Uid, fork, setgid, setuid};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["hold", path, millis] => hold(path, millis.parse().unwrap()),
        ["read-loop", path, millis] => read_loop(path, millis.parse().unwrap()),
        ["write-loop", path, count, interval] => {
            write_loop(path, count.parse().unwrap(), interval.parse().unwrap())
        }
        ["wait", path, since, millis] => {
            wait(path, since.parse().unwrap(), millis.parse().unwrap())
        }
        ["lower-high-water", path] => lower_high_water(path),
        ["zero-pin", path, slot] => zero_pin(path, slot.parse().unwrap()),
        ["truncate-readers", path] => truncate_readers(path),
        ["zero-readers-magic", path] => zero_readers_magic(path),
        ["flood-waiters", path] => flood_waiters(path),
        ["read-lock", path, user] => read_lock(path, user),
        ["fork-reader", path] => fork_reader(path),
        ["fork-writer", path] => fork_writer(path),
        ["threads-hold", path, threads] => threads_hold(path, threads.parse().unwrap()),
        ["fork-during-validation", path, background, forks] => {
            fork_during_validation(path, background.parse().unwrap(), forks.parse().unwrap())
        }
        _ => {
            eprintln!("neighbour: unknown arguments {args:?}");
            std::process::exit(2);
        }
    }
}

/// Victim: reads one generation and holds its guard for `millis`, checking all the while that
/// the value does not change under it. Reports `holding generation= slot=`, then
/// `held intact= generation=`, then `superseded value=`.
fn hold(path: &str, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    let generation = guard.generation();
    let slot = reader.slot().expect("a slot");
    say(&Line::new("holding").with("generation", generation).with("slot", slot));
    let deadline = Instant::now() + Duration::from_millis(millis);
    let mut intact = true;
    while Instant::now() < deadline && intact {
        intact = guard.is_intact(generation);
        std::thread::sleep(Duration::from_micros(200));
    }
    say(&Line::new("held").with("intact", intact).with("generation", generation));
    drop(guard);
    say(&Line::new("superseded").with("value", reader.is_superseded()));
}

/// Victim: reads in a loop for `millis`, checking every value, and reports counts.
fn read_loop(path: &str, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say(&Line::new("reading"));
    let deadline = Instant::now() + Duration::from_millis(millis);
    let (mut reads, mut torn, mut errors, mut last, mut backwards) = (0u64, 0u64, 0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        match reader.read() {
            Ok(guard) => {
                reads += 1;
                if !guard.is_intact(guard.generation()) {
                    torn += 1;
                }
                if guard.generation() < last {
                    backwards += 1;
                }
                last = guard.generation();
            }
            Err(_) => errors += 1,
        }
    }
    say(&Line::new("reads")
        .with("count", reads)
        .with("torn", torn)
        .with("backwards", backwards)
        .with("errors", errors)
        .with("last", last)
        .with("superseded", reader.is_superseded()));
}

/// Writer: publishes `count` stamps, one every `interval` ms, reporting failures.
fn write_loop(path: &str, count: u64, interval: u64) {
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(200)).open(path).expect("open");
    say(&Line::new("writing"));
    let (mut published, mut failed) = (0u64, 0u64);
    for _ in 0..count {
        match writer.write(&Stamp::new(writer.generation() + 1, 512)) {
            Ok(_) => published += 1,
            Err(e) => {
                failed += 1;
                eprintln!("write failed: {e}");
            }
        }
        std::thread::sleep(Duration::from_millis(interval));
    }
    say(&Line::new("wrote")
        .with("published", published)
        .with("failed", failed)
        .with("last", writer.generation()));
}

/// Victim: waits for a generation other than `since`.
fn wait(path: &str, since: u64, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say(&Line::new("waiting"));
    match reader.wait_for_change(since, Duration::from_millis(millis)) {
        Ok(Some(generation)) => say(&Line::new("changed").with("generation", generation)),
        Ok(None) => say(&Line::new("timeout")),
        Err(e) => say(&error_line(&e)),
    }
}

/// The slot count `P_readers` says it has.
fn slot_count(readers: &Path) -> usize {
    let offset = offset_of!(ReadersHeader, slot_count);
    files::read_u32(readers, offset).expect("read the slot count") as usize
}

/// Attack: sets the slot high-water mark to 0, so a writer trusting it would scan no slot.
fn lower_high_water(path: &str) {
    let readers = ChannelPaths::new(path).readers;
    files::patch_u32(&readers, offset_of!(ReadersHeader, slot_high_water), 0);
    say(&Line::new("done"));
}

/// Attack: erases another reader's pin.
fn zero_pin(path: &str, slot: usize) {
    let readers = ChannelPaths::new(path).readers;
    files::patch_u64(&readers, format::slot_offset(slot_count(&readers), slot), 0);
    say(&Line::new("done"));
}

/// Attack: cuts `P_readers` to nothing under the writer and every reader.
fn truncate_readers(path: &str) {
    files::set_len(&ChannelPaths::new(path).readers, 0);
    say(&Line::new("done"));
}

/// Attack: zeroes the magic of `P_readers`.
fn zero_readers_magic(path: &str) {
    files::patch_u64(&ChannelPaths::new(path).readers, offset_of!(ReadersHeader, magic), 0);
    say(&Line::new("done"));
}

/// Attack: sets every waiter bit and the high-water mark to all ones (the largest values a
/// counter could wrap from).
fn flood_waiters(path: &str) {
    let readers = ChannelPaths::new(path).readers;
    files::patch_u32(&readers, offset_of!(ReadersHeader, slot_high_water), u32::MAX);
    for word in 0..format::waiter_words(slot_count(&readers)) {
        files::patch_u64(&readers, format::waiter_offset(word), u64::MAX);
    }
    say(&Line::new("done"));
}

/// Attack: takes a read lock on every channel file this process can open, as `user` (`self`, or
/// `nobody` after dropping root), and holds them until killed. Reports which files it locked
/// and which it could not open or lock (by their suffix: `state`, `readers`, `writer`, `0`...).
fn read_lock(path: &str, user: &str) {
    if user == "nobody" {
        setgid(Gid::from_raw(65534)).expect("setgid");
        setuid(Uid::from_raw(65534)).expect("setuid");
    }
    let paths = ChannelPaths::new(path);
    let mut files = vec![paths.state.clone(), paths.readers.clone(), paths.writer.clone()];
    files.extend((0..2).map(|i| paths.data(i)));
    let mut locked = Vec::new();
    let mut refused = Vec::new();
    let mut held = Vec::new();
    for file in files {
        match OpenOptions::new().read(true).open(&file) {
            Ok(f) => {
                let request = libc::flock {
                    l_type: libc::F_RDLCK as libc::c_short,
                    l_whence: libc::SEEK_SET as libc::c_short,
                    l_start: 0,
                    l_len: 0,
                    l_pid: 0,
                };
                if fcntl(&f, FcntlArg::F_OFD_SETLK(&request)).is_ok() {
                    locked.push(suffix(&file));
                } else {
                    refused.push(suffix(&file));
                }
                held.push(f);
            }
            Err(_) => refused.push(suffix(&file)),
        }
    }
    say(&Line::new("locked").with("files", locked.join(",")).with("refused", refused.join(",")));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn suffix(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    name.rsplit('_').next().unwrap_or_default().to_owned()
}

/// A reader opened, read from and held across `fork()`: the child reads through it too; each
/// side reports its slot and generation, and the parent whether its value stayed intact.
fn fork_reader(path: &str) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    let generation = guard.generation();
    let parent_slot = reader.slot().expect("slot");
    // SAFETY: this program has no other thread when it forks (the reader starts none).
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // The child: an inherited guard, and new reads.
            let line = match reader.read() {
                Ok(g) => Line::new("child")
                    .with("read", g.generation())
                    .with("intact", g.is_intact(g.generation())),
                Err(e) => error_line(&e),
            };
            drop(guard);
            let again = reader.read().map(|g| g.generation()).unwrap_or(0);
            let slot = reader.slot().map_or(-1, |s| s as i64);
            say(&line.with("again", again).with("slot", slot));
            std::process::exit(0);
        }
        ForkResult::Parent { child } => {
            let status = waitpid(child, None).expect("waitpid");
            let clean = matches!(status, WaitStatus::Exited(_, 0));
            say(&Line::new("parent")
                .with("slot", parent_slot)
                .with("generation", generation)
                .with("child_ok", clean));
        }
    }
    say(&Line::new("publish-now"));
    // The test publishes twice (2 copies): the parent's pin must still hold.
    std::thread::sleep(Duration::from_millis(500));
    say(&Line::new("parent-held").with("intact", guard.is_intact(generation)));
}

/// A writer used in a child after `fork()` refuses to write; the parent keeps writing.
fn fork_writer(path: &str) {
    let mut writer = Writer::<Stamp>::open(path).expect("open writer");
    writer.write(&Stamp::new(1, 16)).expect("first write");
    // SAFETY: this program has no other thread when it forks.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let line = match writer.write(&Stamp::new(2, 16)) {
                Ok(p) => Line::new("child").with("published", p.generation),
                Err(e) => error_line(&e),
            };
            say(&line);
            std::process::exit(0);
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).expect("waitpid");
        }
    }
    let published = writer.write(&Stamp::new(2, 16)).map(|p| p.generation).unwrap_or(0);
    say(&Line::new("parent").with("published", published));
}

/// One reader shared by `threads` threads, each holding a guard, until the process is killed.
fn threads_hold(path: &str, threads: usize) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..threads {
        let reader = reader.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let guard = reader.read().expect("read");
            tx.send(reader.slot().expect("slot")).unwrap();
            loop {
                assert!(guard.is_intact(guard.generation()));
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    }
    let mut slots: Vec<usize> = (0..threads).map(|_| rx.recv().unwrap()).collect();
    slots.sort_unstable();
    slots.dedup();
    say(&Line::new("held").with("threads", threads).with("slots", slots.len()));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Forks `forks` times while two threads of this process read a channel whose writer publishes
/// large values without pause (so that a validation is under way at most forks, on a reading
/// thread or on the background validator); each child reads through the inherited reader and
/// waits for a newer generation. Reports `forked children= ok= hung= failed=`: a child that has
/// not exited within 20 s hung (it is killed).
fn fork_during_validation(path: &str, background: bool, forks: u32) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let reader = Reader::<Stamp>::builder()
        .validate_in_background(background)
        .open(path)
        .expect("open reader");
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (reader, stop) = (reader.clone(), stop.clone());
            std::thread::spawn(move || {
                // Relaxed: a stop flag.
                while !stop.load(Ordering::Relaxed) {
                    // Each new generation is validated by the first of these reads to meet it.
                    drop(reader.read().expect("read"));
                }
            })
        })
        .collect();
    let (mut ok, mut hung, mut failed) = (0u32, 0u32, 0u32);
    for round in 0..forks {
        std::thread::sleep(Duration::from_millis(2 + u64::from(round % 7)));
        // SAFETY: the child calls only the reader (whose state this test is about), the
        // allocator (fork-safe in glibc) and `_exit`, never returning into the test harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let code = child_reads(&reader);
                // SAFETY: ends the child at once, without running the parent's exit handlers.
                unsafe { libc::_exit(code) };
            }
            ForkResult::Parent { child } => {
                let deadline = Instant::now() + Duration::from_secs(20);
                let status = loop {
                    match waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                        Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Ok(WaitStatus::StillAlive) => {
                            let _ = nix::sys::signal::kill(child, nix::sys::signal::SIGKILL);
                            let _ = waitpid(child, None);
                            break None;
                        }
                        other => break Some(other),
                    }
                };
                match status {
                    None => hung += 1,
                    Some(Ok(WaitStatus::Exited(_, 0))) => ok += 1,
                    Some(_) => failed += 1,
                }
            }
        }
    }
    // Relaxed: a stop flag.
    stop.store(true, Ordering::Relaxed);
    threads.into_iter().for_each(|t| t.join().unwrap());
    say(&Line::new("forked")
        .with("children", forks)
        .with("ok", ok)
        .with("hung", hung)
        .with("failed", failed)
        .with("validations", reader.stats().validations));
}

/// A forked child's reads: three reads, then a wait for a newer generation and a read of it.
/// The exit code says which step failed (0: all did their work).
fn child_reads(reader: &Reader<Stamp>) -> i32 {
    let mut seen = 0;
    for _ in 0..3 {
        match reader.read() {
            Ok(guard) if guard.is_intact(guard.generation()) => seen = guard.generation(),
            _ => return 1,
        }
    }
    match reader.wait_for_change(seen, Duration::from_secs(10)) {
        Ok(Some(_)) => {}
        _ => return 2,
    }
    match reader.read() {
        Ok(guard) if guard.generation() > seen && guard.is_intact(guard.generation()) => 0,
        _ => 3,
    }
}
