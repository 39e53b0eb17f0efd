//! Who may read: file modes the writer sets whatever the umask, read-only mappings for readers,
//! and readers running as other users.
//!
//! Readers need read access to `P_state` and the data files, and read-write access to
//! `P_readers` (they claim a slot by locking it and write their pin into it). The defaults
//! (0640 state and data, 0660 readers) therefore let the writer's group read; anyone else needs
//! the modes widened with `WriterBuilder::file_mode` / `readers_mode`.
//!
//! The test that runs readers as other users needs root; without it, it reports `SKIPPED:` with
//! the reason (see `mmap_sync_tests::skip`) instead of testing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mmap_sync::{ChannelPaths, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::{Probe, run, try_run};
use mmap_sync_tests::report::Line;
use mmap_sync_tests::skip;
use mmap_sync_tests::types::Note;

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
const LONG: Duration = Duration::from_secs(20);
const NOBODY: u32 = 65534;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

fn modes(prefix: &Path) -> [u32; 4] {
    let paths = ChannelPaths::new(prefix);
    [mode(&paths.state), mode(&paths.data(0)), mode(&paths.data(1)), mode(&paths.readers)]
}

fn publish(prefix: &Path, file_mode: u32, readers_mode: u32) {
    let mut writer = Writer::<Note>::builder()
        .file_mode(file_mode)
        .readers_mode(readers_mode)
        .open(prefix)
        .unwrap();
    writer.write(&Note { version: 7, messages: vec!["shared".into()] }).unwrap();
}

#[test]
fn files_get_0640_and_readers_0660_by_default_whatever_the_umask() {
    let dir = ChannelDir::new("default-modes");
    for (i, umask) in ["077", "000", "022"].into_iter().enumerate() {
        let prefix = dir.prefix(&format!("note{i}"));
        let mut writer = Probe::spawn(CHAOS, args!["umask-writer", prefix, umask]);
        writer.expect("published", LONG);
        writer.wait_success(LONG);
        assert_eq!(modes(&prefix), [0o640, 0o640, 0o640, 0o660], "umask {umask}");
    }
}

#[test]
fn file_modes_are_configurable() {
    let dir = ChannelDir::new("custom-modes");
    let prefix = dir.prefix("note");
    publish(&prefix, 0o600, 0o666);
    assert_eq!(modes(&prefix), [0o600, 0o600, 0o600, 0o666]);
    let prefix = dir.prefix("wide");
    publish(&prefix, 0o644, 0o606);
    assert_eq!(modes(&prefix), [0o644, 0o644, 0o644, 0o606]);
}

#[test]
fn a_reader_maps_state_and_data_read_only_and_only_its_slot_table_writable() {
    let dir = ChannelDir::new("maps");
    let prefix = dir.prefix("note");
    publish(&prefix, 0o640, 0o660);
    let mut reader = Probe::spawn(CHAOS, args!["maps", prefix]);
    let mut maps = Vec::new();
    loop {
        let line = reader.next(LONG);
        if line.is("end") {
            break;
        }
        assert!(line.is("map"), "{line}");
        maps.push(line);
    }
    reader.wait_success(LONG);
    let perms_of = |file: &Path| -> Vec<String> {
        maps.iter()
            .filter(|l| l.path("path") == file)
            .map(|l| l.field("perms").to_owned())
            .collect()
    };
    let paths = ChannelPaths::new(&prefix);
    for file in [&paths.state, &paths.data(0)] {
        let perms = perms_of(file);
        assert!(!perms.is_empty(), "{} is not mapped: {maps:?}", file.display());
        assert!(perms.iter().all(|p| p == "r--s"), "{} mapped as {perms:?}", file.display());
    }
    assert_eq!(perms_of(&paths.readers), ["rw-s"], "{maps:?}");
}

#[test]
fn a_reader_maps_a_small_value_in_a_large_data_file_without_mapping_the_whole_file() {
    let dir = ChannelDir::new("maps-room");
    let prefix = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&prefix).unwrap();
    // Both copies grow to hold a 4 MiB value; the writer never shrinks a data file.
    let big = Note { version: 1, messages: vec!["x".repeat(4 << 20)] };
    writer.write(&big).unwrap();
    writer.write(&big).unwrap();
    let small = writer.write(&Note { version: 2, messages: vec!["small".into()] }).unwrap();
    let holding = ChannelPaths::new(&prefix).data(small.copy);
    assert!(std::fs::metadata(&holding).unwrap().len() >= 4 << 20);

    let mut reader = Probe::spawn(CHAOS, args!["maps", prefix]);
    let mut mapped = Vec::new();
    loop {
        let line = reader.next(LONG);
        if line.is("end") {
            break;
        }
        if line.path("path") == holding {
            let (start, end) = line.field("range").split_once('-').unwrap();
            let len = |hex: &str| u64::from_str_radix(hex, 16).unwrap();
            mapped.push(len(end) - len(start));
        }
    }
    reader.wait_success(LONG);
    // Every page a reader maps of a data file is populated at once: a small value gets the room
    // for its growth (64 KiB), not the file's 4 MiB.
    assert_eq!(mapped, [64 << 10], "mappings of {}", holding.display());
}

/// The chaos binary, somewhere `nobody` can execute it: where cargo built it if every directory
/// above it is searchable, else a copy in a world-readable temporary directory.
fn binary_for_nobody(scratch: &Path) -> Result<PathBuf, String> {
    program_for_nobody(Path::new(CHAOS), scratch)
}

/// `program` if `nobody` can execute it where it is, else a copy of it in `scratch` (a
/// directory `nobody` can search) if `nobody` can execute that; or why neither runs.
fn program_for_nobody(program: &Path, scratch: &Path) -> Result<PathBuf, String> {
    let in_place = match runs_as_nobody(program) {
        Ok(()) => return Ok(program.to_owned()),
        Err(why) => format!("{}: {why}", program.display()),
    };
    let copy = scratch.join("chaos");
    std::fs::copy(program, &copy).map_err(|e| format!("{in_place}; copy: {e}"))?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{in_place}; chmod the copy: {e}"))?;
    runs_as_nobody(&copy).map_err(|why| format!("{in_place}; {}: {why}", copy.display()))?;
    Ok(copy)
}

/// Whether `nobody` can run `program`: it runs if it gets as far as finding no channel. Where
/// `nobody` cannot search a directory above it, it does not even start: that is a no, not a
/// failure of the test.
fn runs_as_nobody(program: &Path) -> Result<(), String> {
    let mut busy = 0;
    loop {
        let mut command = Command::new(program);
        command.args(["read-note", "/nonexistent/channel"]).uid(NOBODY).gid(NOBODY);
        match try_run(&mut command) {
            Ok(finished) => {
                let line = finished.lines.first();
                return match line.and_then(|line| line.get("kind")) {
                    Some("NotPublished") => Ok(()),
                    _ => Err(format!("it did not run as expected: {finished:?}")),
                };
            }
            // A child that another test thread forked while a copy of the program was open for
            // writing holds that descriptor until it execs, and until then the kernel refuses to
            // run the copy. The window is one fork-to-exec: a few retries outlast it.
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && busy < 100 => {
                busy += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("it cannot be started: {e}")),
        }
    }
}

/// Reads the channel as `uid`:`gid` (no supplementary groups) in a child; returns its report.
fn read_as(bin: &Path, prefix: &Path, uid: u32, gid: u32) -> Line {
    let finished = run(Command::new(bin).arg("read-note").arg(prefix).uid(uid).gid(gid));
    assert!(finished.status.success(), "{finished:?}");
    finished.line().clone()
}

/// Checks that `line` reports permission denied on `file`.
fn assert_denied(line: &Line, file: &Path) {
    line.assert_error("Io", file);
    assert_eq!(line.field("io_kind"), "PermissionDenied", "{line}");
}

#[test]
fn readers_of_other_users_read_with_permission_and_get_permission_denied_without() {
    if !skip::needs_root("running a reader as another user") {
        return;
    }
    let dir = ChannelDir::new("other-users");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = match binary_for_nobody(dir.path()) {
        Ok(bin) => bin,
        Err(why) => {
            skip::skipped(format!("user {NOBODY} cannot execute the chaos program: {why}"));
            return;
        }
    };
    let group = std::fs::metadata(dir.path()).unwrap().gid();
    let ok = Line::new("ok").with("generation", 1).with("version", 7).with("bytes", 6);

    // Defaults: the writer's group reads (read on state and data, read-write on readers) ...
    let prefix = dir.prefix("defaults");
    publish(&prefix, 0o640, 0o660);
    assert_eq!(read_as(&bin, &prefix, NOBODY, group), ok);
    // ... and other users are refused at the first file, with an error that names it.
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    assert_denied(&line, &ChannelPaths::new(&prefix).state);

    // Widened for everyone: others read too.
    let prefix = dir.prefix("world");
    publish(&prefix, 0o644, 0o666);
    assert_eq!(read_as(&bin, &prefix, NOBODY, NOBODY), ok);

    // Read-only access to the readers file is not enough: a reader must claim a slot in it.
    let prefix = dir.prefix("no-slot");
    publish(&prefix, 0o644, 0o644);
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    assert_denied(&line, &ChannelPaths::new(&prefix).readers);

    // And a reader who can open the state file but not the data file that holds the published
    // value is refused at that file, when it opens ...
    let prefix = dir.prefix("no-data");
    publish(&prefix, 0o644, 0o666);
    let paths = ChannelPaths::new(&prefix);
    let (holding, other) = data_files(&prefix);
    std::fs::set_permissions(&holding, std::fs::Permissions::from_mode(0o640)).unwrap();
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    assert_denied(&line, &holding);
    // ... while a copy no value of which it has read yet is opened when first needed: a data
    // file it cannot read then fails the generation published into it, naming the file, and
    // reads go on serving the value validated before.
    std::fs::set_permissions(&holding, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut reader = Probe::spawn_command({
        let mut command = Command::new(&bin);
        command.arg("read-note-then-the-next").arg(&prefix).uid(NOBODY).gid(NOBODY);
        command
    });
    let first = reader.expect("ok", LONG);
    assert_eq!(first.field("generation"), "1", "{first}");
    let mut writer = Writer::<Note>::open(&prefix).unwrap();
    let next = writer.write(&Note { version: 8, messages: vec![] }).unwrap();
    assert_eq!(paths.data(next.copy), other, "the next publish goes to the other copy");
    let failure = reader.next(LONG);
    assert_denied(&failure, &other);
    assert_eq!(failure.field("generation"), "2", "{failure}");
    let served = reader.expect("served", LONG);
    assert_eq!(served.field("generation"), "1", "{served}");
    reader.wait_success(LONG);
}

/// The data file that holds the channel's published value, and the other one.
fn data_files(prefix: &Path) -> (PathBuf, PathBuf) {
    let channel = mmap_sync::inspect::Channel::open(prefix).unwrap();
    let active = channel.header().active.expect("a value is published");
    let paths = channel.paths();
    (paths.data(active.copy), paths.data(1 - active.copy))
}

#[test]
fn a_program_built_under_a_private_directory_is_copied_where_other_users_can_run_it() {
    // A target directory under a 0700 home: `nobody` cannot even start a program there.
    if !skip::needs_root("running a program as another user") {
        return;
    }
    let private = ChannelDir::new("private-target");
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let built = private.path().join("chaos");
    std::fs::copy(CHAOS, &built).unwrap();
    let scratch = ChannelDir::new("scratch");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let bin = program_for_nobody(&built, scratch.path()).unwrap();
    assert_eq!(bin, scratch.path().join("chaos"));
    let finished = run(Command::new(&bin).args(["read-note", "/nonexistent/channel"]).uid(NOBODY));
    assert_eq!(finished.line().get("kind"), Some("NotPublished"), "{finished:?}");
}
