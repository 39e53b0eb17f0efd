//! The neighbours of the trust-model tests (`tests/trust_model.rs`): careless or hostile
//! processes that do to a channel's files what their access allows, and the victims that must
//! not notice. Each role prints `key value` lines for the test to parse.
//!
//! Usage: `neighbour ROLE PATH [ARGS]`. Attacks act once and print `done`; victims report what
//! they saw.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use mmap_sync::format::{self, ReadersHeader};
use mmap_sync::{ChannelPaths, Error, Reader, Writer};
use mmap_sync_tests::Stamp;

fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

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
        ["threads-hold", path, threads] => threads_hold(path, threads.parse().unwrap()),
        ["fork-writer", path] => fork_writer(path),
        _ => {
            eprintln!("neighbour: unknown arguments {args:?}");
            std::process::exit(2);
        }
    }
}

/// Victim: reads one generation and holds its guard for `millis`, checking all the while that
/// the value does not change under it.
fn hold(path: &str, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    let generation = guard.generation();
    say(format!("holding {generation} slot {}", reader.slot().expect("a slot")));
    let deadline = Instant::now() + Duration::from_millis(millis);
    let mut intact = true;
    while Instant::now() < deadline && intact {
        intact = guard.is_intact(generation);
        std::thread::sleep(Duration::from_micros(200));
    }
    say(format!("intact {} generation {generation}", intact as u8));
    drop(guard);
    let superseded = reader.is_superseded();
    say(format!("superseded {}", superseded as u8));
}

/// Victim: reads in a loop for `millis`, checking every value, and reports counts.
fn read_loop(path: &str, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say("reading");
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
    say(format!(
        "reads {reads} torn {torn} backwards {backwards} errors {errors} last {last} superseded {}",
        reader.is_superseded() as u8
    ));
}

/// Writer: publishes `count` stamps, one every `interval` ms, reporting failures.
fn write_loop(path: &str, count: u64, interval: u64) {
    let mut writer =
        Writer::<Stamp>::builder().max_wait(Duration::from_millis(200)).open(path).expect("open");
    say("writing");
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
    say(format!("published {published} failed {failed} last {}", writer.generation()));
}

/// Victim: waits for a generation other than `since`.
fn wait(path: &str, since: u64, millis: u64) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    say("waiting");
    match reader.wait_for_change(since, Duration::from_millis(millis)) {
        Ok(Some(generation)) => say(format!("changed {generation}")),
        Ok(None) => say("timeout"),
        Err(e) => say(format!("error {e}")),
    }
}

/// Maps `P_readers` read-write, as any reader may.
fn readers_map(path: &str) -> (std::fs::File, *mut u8, usize) {
    let paths = ChannelPaths::new(path);
    let file =
        OpenOptions::new().read(true).write(true).open(&paths.readers).expect("open readers");
    let len = file.metadata().unwrap().len() as usize;
    // SAFETY: a fresh shared mapping of the file; this program pokes at it through raw pointers
    // (volatile writes), as a hostile reader would.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert_ne!(ptr, libc::MAP_FAILED, "mmap readers file");
    (file, ptr as *mut u8, len)
}

fn slot_count(path: &str) -> usize {
    let (file, ptr, _) = readers_map(path);
    // SAFETY: the header is mapped; slot_count is a u32 at its documented offset.
    let count = unsafe {
        std::ptr::read_volatile(
            ptr.add(std::mem::offset_of!(ReadersHeader, slot_count)) as *const u32
        )
    };
    drop(file);
    count as usize
}

/// Attack: sets the slot high-water mark to 0, so a writer trusting it would scan no slot.
fn lower_high_water(path: &str) {
    let (_file, ptr, _) = readers_map(path);
    let offset = std::mem::offset_of!(ReadersHeader, slot_high_water);
    // SAFETY: within the mapped header.
    unsafe { std::ptr::write_volatile(ptr.add(offset) as *mut u32, 0) };
    say("done");
}

/// Attack: erases another reader's pin.
fn zero_pin(path: &str, slot: usize) {
    let slots = slot_count(path);
    let (_file, ptr, _) = readers_map(path);
    // SAFETY: the slot lies within the mapped file (its length covers `slots` slots).
    unsafe { std::ptr::write_volatile(ptr.add(format::slot_offset(slots, slot)) as *mut u64, 0) };
    say("done");
}

/// Attack: cuts `P_readers` to nothing under the writer and every reader.
fn truncate_readers(path: &str) {
    let paths = ChannelPaths::new(path);
    OpenOptions::new().write(true).open(&paths.readers).unwrap().set_len(0).unwrap();
    say("done");
}

/// Attack: zeroes the magic of `P_readers`.
fn zero_readers_magic(path: &str) {
    let paths = ChannelPaths::new(path);
    let file = OpenOptions::new().write(true).open(&paths.readers).unwrap();
    file.write_all_at(&[0u8; 8], 0).unwrap();
    say("done");
}

/// Attack: sets every waiter bit and the high-water mark to all ones (the largest values a
/// counter could wrap from).
fn flood_waiters(path: &str) {
    let slots = slot_count(path);
    let (_file, ptr, _) = readers_map(path);
    // SAFETY: the header and the waiter bitmap lie within the mapped file.
    unsafe {
        let hw = std::mem::offset_of!(ReadersHeader, slot_high_water);
        std::ptr::write_volatile(ptr.add(hw) as *mut u32, u32::MAX);
        for word in 0..format::waiter_words(slots) {
            let at = size_of::<ReadersHeader>() + word * 8;
            std::ptr::write_volatile(ptr.add(at) as *mut u64, u64::MAX);
        }
    }
    say("done");
}

/// Attack: takes a read lock on every channel file this process can open, as `user` (`self`, or
/// `nobody` after dropping root), and holds them until killed.
fn read_lock(path: &str, user: &str) {
    if user == "nobody" {
        // SAFETY: setgid/setuid have no memory preconditions; checked for failure.
        unsafe {
            assert_eq!(libc::setgid(65534), 0, "setgid");
            assert_eq!(libc::setuid(65534), 0, "setuid");
        }
    }
    let paths = ChannelPaths::new(path);
    let mut files = vec![paths.state.clone(), paths.readers.clone(), paths.writer.clone()];
    files.extend((0..2).map(|i| paths.data(i)));
    let mut locked = Vec::new();
    let mut refused = Vec::new();
    for file in files {
        match OpenOptions::new().read(true).open(&file) {
            Ok(f) => {
                if read_lock_whole(&f) {
                    locked.push(name(&file));
                } else {
                    refused.push(name(&file));
                }
                std::mem::forget(f);
            }
            Err(_) => refused.push(name(&file)),
        }
    }
    say(format!("locked {} refused {}", locked.join(","), refused.join(",")));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn name(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    name.rsplit('_').next().unwrap_or_default().to_owned()
}

fn read_lock_whole(file: &std::fs::File) -> bool {
    // SAFETY: flock is a plain C struct; all-zero is valid.
    let mut request: libc::flock = unsafe { std::mem::zeroed() };
    request.l_type = libc::F_RDLCK as libc::c_short;
    request.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_OFD_SETLK reads the struct, which outlives the call.
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut request) == 0 }
}

/// A reader opened, read from and held across `fork()`: the child reads through it too; each
/// side reports its slot and generation, and the parent whether its value stayed intact.
fn fork_reader(path: &str) {
    let reader = Reader::<Stamp>::open(path).expect("open reader");
    let guard = reader.read().expect("read");
    let generation = guard.generation();
    let parent_slot = reader.slot().expect("slot");
    // SAFETY: fork in a program whose only other threads are none (no runtime threads here).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // The child: an inherited guard, and a new read.
        let read = match reader.read() {
            Ok(g) => {
                format!("read {} intact {}", g.generation(), g.is_intact(g.generation()) as u8)
            }
            Err(e) => format!("error {e}"),
        };
        drop(guard);
        let again = reader.read().map(|g| g.generation()).unwrap_or(0);
        let slot = reader.slot().map_or(-1, |s| s as i64);
        say(format!("child slot {slot} {read} again {again}"));
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    say(format!("parent slot {parent_slot} generation {generation} child_status {status}"));
    say("publish now");
    // The test publishes twice (2 copies): the parent's pin must still hold.
    std::thread::sleep(Duration::from_millis(500));
    say(format!("parent intact {}", guard.is_intact(generation) as u8));
}

/// A writer used in a child after `fork()` refuses to write; the parent keeps writing.
fn fork_writer(path: &str) {
    let mut writer = Writer::<Stamp>::open(path).expect("open writer");
    writer.write(&Stamp::new(1, 16)).expect("first write");
    // SAFETY: fork in a single-threaded program.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        match writer.write(&Stamp::new(2, 16)) {
            Ok(p) => say(format!("child published {}", p.generation)),
            Err(Error::Forked { path }) => say(format!("child refused {}", path.display())),
            Err(e) => say(format!("child error {e}")),
        }
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let published = writer.write(&Stamp::new(2, 16)).map(|p| p.generation).unwrap_or(0);
    say(format!("parent published {published}"));
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
            tx.send((reader.slot().expect("slot"), guard.generation())).unwrap();
            loop {
                assert!(guard.is_intact(guard.generation()));
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    }
    let mut slots: Vec<String> = (0..threads).map(|_| rx.recv().unwrap().0.to_string()).collect();
    slots.sort();
    say(format!("held {threads} slots {}", slots.join(",")));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}
