//! Who may read: file modes the writer sets whatever the umask, read-only mappings for readers,
//! and readers running as other users.
//!
//! Readers need read access to `P_state` and the data files, and read-write access to
//! `P_readers` (they claim a slot by locking it and write their pin into it). The defaults
//! (0640 state and data, 0660 readers) therefore let the writer's group read; anyone else needs
//! the modes widened with `WriterBuilder::file_mode` / `readers_mode`.
//!
//! The tests that switch users need root; they print a reason and pass vacuously otherwise.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mmap_sync::{ChannelPaths, Writer};
use mmap_sync_tests::{Note, Probe, TempDir};

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
    let dir = TempDir::new("default-modes");
    for (i, umask) in ["077", "000", "022"].into_iter().enumerate() {
        let prefix = dir.channel(&format!("note{i}"));
        let mut writer = Probe::spawn(CHAOS, &["umask-writer", prefix.to_str().unwrap(), umask]);
        writer.expect_line("published", LONG);
        writer.wait_success(LONG);
        assert_eq!(modes(&prefix), [0o640, 0o640, 0o640, 0o660], "umask {umask}");
    }
}

#[test]
fn file_modes_are_configurable() {
    let dir = TempDir::new("custom-modes");
    let prefix = dir.channel("note");
    publish(&prefix, 0o600, 0o666);
    assert_eq!(modes(&prefix), [0o600, 0o600, 0o600, 0o666]);
    let prefix = dir.channel("wide");
    publish(&prefix, 0o644, 0o606);
    assert_eq!(modes(&prefix), [0o644, 0o644, 0o644, 0o606]);
}

#[test]
fn a_reader_maps_state_and_data_read_only_and_only_its_slot_table_writable() {
    let dir = TempDir::new("maps");
    let prefix = dir.channel("note");
    publish(&prefix, 0o640, 0o660);
    let mut reader = Probe::spawn(CHAOS, &["maps", prefix.to_str().unwrap()]);
    let mut maps = Vec::new();
    loop {
        let line = reader.expect_line("", LONG);
        if line == "end" {
            break;
        }
        maps.push(line);
    }
    reader.wait_success(LONG);
    // `map <range> <perms> <offset> <dev> <inode> <path>`
    let perms_of = |suffix: &str| -> Vec<String> {
        maps.iter()
            .filter(|l| l.ends_with(suffix))
            .map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
            .collect()
    };
    for suffix in ["_state", "_data_0"] {
        let perms = perms_of(suffix);
        assert!(!perms.is_empty(), "{suffix} is not mapped: {maps:?}");
        assert!(perms.iter().all(|p| p == "r--s"), "{suffix} mapped as {perms:?}");
    }
    assert_eq!(perms_of("_readers"), ["rw-s"], "{maps:?}");
}

/// The chaos binary, somewhere `nobody` can execute it: where cargo built it if every directory
/// above it is searchable, else a copy in a world-readable temporary directory.
fn binary_for_nobody(scratch: &Path) -> Option<PathBuf> {
    let runs = |bin: &Path| {
        Command::new(bin)
            .args(["read-note", "/nonexistent/channel"])
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("nothing published"))
    };
    if runs(Path::new(CHAOS)) {
        return Some(PathBuf::from(CHAOS));
    }
    let copy = scratch.join("chaos");
    std::fs::copy(CHAOS, &copy).ok()?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).ok()?;
    runs(&copy).then_some(copy)
}

/// Reads the channel as `uid`:`gid` (no supplementary groups) in a child; returns its report.
fn read_as(bin: &Path, prefix: &Path, uid: u32, gid: u32) -> String {
    let out = Command::new(bin)
        .args(["read-note", prefix.to_str().unwrap()])
        .uid(uid)
        .gid(gid)
        .output()
        .expect("run reader as another user");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn readers_of_other_users_read_with_permission_and_get_permission_denied_without() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: running a reader as another user needs root");
        return;
    }
    let dir = TempDir::new("other-users");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(bin) = binary_for_nobody(dir.path()) else {
        eprintln!("skipped: user {NOBODY} cannot execute the chaos binary from any directory");
        return;
    };
    let group = std::fs::metadata(dir.path()).unwrap().gid();
    let ok = "ok generation 1 version 7 bytes 6";

    // Defaults: the writer's group reads (read on state and data, read-write on readers) ...
    let prefix = dir.channel("defaults");
    publish(&prefix, 0o640, 0o660);
    assert_eq!(read_as(&bin, &prefix, NOBODY, group), ok);
    // ... and other users are refused at the first file, with an error that names it.
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    let state = ChannelPaths::new(&prefix).state;
    assert!(line.starts_with("err kind PermissionDenied"), "{line}");
    assert!(line.contains(state.to_str().unwrap()), "{line}");

    // Widened for everyone: others read too.
    let prefix = dir.channel("world");
    publish(&prefix, 0o644, 0o666);
    assert_eq!(read_as(&bin, &prefix, NOBODY, NOBODY), ok);

    // Read-only access to the readers file is not enough: a reader must claim a slot in it.
    let prefix = dir.channel("no-slot");
    publish(&prefix, 0o644, 0o644);
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    let readers = ChannelPaths::new(&prefix).readers;
    assert!(line.starts_with("err kind PermissionDenied"), "{line}");
    assert!(line.contains(readers.to_str().unwrap()), "{line}");

    // And a reader who can open the state file but not the data files is refused at those.
    let prefix = dir.channel("no-data");
    publish(&prefix, 0o644, 0o666);
    let paths = ChannelPaths::new(&prefix);
    std::fs::set_permissions(paths.data(1), std::fs::Permissions::from_mode(0o640)).unwrap();
    let line = read_as(&bin, &prefix, NOBODY, NOBODY);
    assert!(line.starts_with("err kind PermissionDenied"), "{line}");
    assert!(line.contains(paths.data(1).to_str().unwrap()), "{line}");
}
