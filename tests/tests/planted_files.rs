//! Files planted in a shared directory like `/dev/shm` before or after the writer: symlinks,
//! FIFOs, directories, files owned by another user. The writer never follows a link, never
//! writes a file another user owns unless told to, and nobody hangs on a FIFO.
//!
//! The foreign-owner test needs root (to chown a planted file); without it, it reports
//! `SKIPPED:` with the reason (see `mmap_sync_tests::skip`) instead of testing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mmap_sync::{ChannelPaths, Error, Reader, SharedState, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::skip;
use mmap_sync_tests::types::Note;
use nix::sys::stat::Mode;

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
const LONG: Duration = Duration::from_secs(20);
/// The uid and gid planted files are given: `nobody` on Linux.
const OTHER: u32 = 65534;

fn note(version: u32) -> Note {
    Note { version, messages: vec!["planted".into()] }
}

/// Every file the writer of a Note channel at `prefix` opens: state, readers, data files, and
/// last its lock file, which readers never open.
fn channel_files(prefix: &Path) -> Vec<PathBuf> {
    let paths = ChannelPaths::new(prefix);
    let files = paths.all(<Note as SharedState>::COPIES);
    assert_eq!(files.last(), Some(&paths.writer));
    files
}

/// How many files [`channel_files`] lists.
const WRITER_FILES: usize = <Note as SharedState>::COPIES + 3;

/// Whether a reader opening the channel at `prefix` opens file `index` of [`channel_files`]:
/// the state file, the slot table, and the data file that holds the published value. Other
/// data files are opened when a generation is first published into them (and refused then, by
/// that generation's validation), the writer's lock file never. Asked before anything is
/// planted.
fn opened_by_readers(prefix: &Path, index: usize) -> bool {
    let copies = <Note as SharedState>::COPIES;
    match index {
        0 | 1 => true,
        i if i < 2 + copies => {
            let channel = mmap_sync::inspect::Channel::open(prefix).unwrap();
            channel.header().active.is_some_and(|active| active.copy == i - 2)
        }
        _ => false,
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// Checks that `err` is an I/O error about the planted file at `path`, saying `what`.
fn assert_io_naming(err: &Error, path: &Path, what: &str) {
    let Error::Io { source, .. } = err else {
        panic!("expected Io for {}: {err:?}", path.display())
    };
    assert_eq!(err.path(), path, "the error must name the planted file: {err}");
    assert!(source.to_string().contains(what), "expected {what:?} in {err}");
}

#[test]
fn the_writer_refuses_a_symlink_at_each_of_its_paths_and_leaves_the_target_alone() {
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("symlink");
        let prefix = dir.prefix("note");
        let planted = channel_files(&prefix)[index].clone();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&victim, &planted).unwrap();

        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "symbolic link");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "the link was followed");
        assert_eq!(std::fs::metadata(&victim).unwrap().mode() & 0o7777, 0o600);

        // A dangling link must not make the writer create its target either.
        std::fs::remove_file(&planted).unwrap();
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, &planted).unwrap();
        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "symbolic link");
        assert!(!nowhere.exists(), "the writer created the target of a dangling link");
    }
}

#[test]
fn the_writer_refuses_a_hard_link_at_each_of_its_paths_and_leaves_the_target_alone() {
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("hardlink");
        let prefix = dir.prefix("note");
        let planted = channel_files(&prefix)[index].clone();
        // Owned by the writer's own user, so only the link count can give it away.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::fs::hard_link(&victim, &planted).unwrap();

        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "hard links");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "the linked file was written");
    }
}

#[test]
fn a_symlink_swapped_in_after_creation_is_refused_by_writer_and_reader() {
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("symlink-swap");
        let prefix = dir.prefix("note");
        Writer::<Note>::open(&prefix).unwrap().write(&note(1)).unwrap();
        let opened_by_readers = opened_by_readers(&prefix, index);
        let planted = channel_files(&prefix)[index].clone();
        let moved = dir.path().join("moved");
        std::fs::rename(&planted, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &planted).unwrap();

        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "symbolic link");
        if opened_by_readers {
            let err = Reader::<Note>::open(&prefix).unwrap_err();
            assert_io_naming(&err, &planted, "symbolic link");
        } else {
            assert_reads_without(&prefix, &planted);
        }
    }
}

#[test]
fn the_writer_refuses_files_owned_by_another_user_unless_told() {
    if !skip::needs_root("planting a file owned by another user") {
        return;
    }
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("foreign");
        let prefix = dir.prefix("note");
        let planted = channel_files(&prefix)[index].clone();
        std::fs::write(&planted, b"").unwrap();
        chown(&planted, OTHER, OTHER);

        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "owned by uid 65534");
        let Error::Io { source, .. } = &err else { unreachable!() };
        assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(std::fs::metadata(&planted).unwrap().len(), 0, "the planted file was written");

        // Told to accept it, the writer goes on: the empty file is no channel file, so it makes
        // a new set in its place and publishes.
        let mut writer = Writer::<Note>::builder().allow_foreign_owner(true).open(&prefix).unwrap();
        writer.write(&note(2)).unwrap();
        let reader = Reader::<Note>::open(&prefix).unwrap();
        assert_eq!(reader.read().unwrap().version, 2);
    }
}

#[test]
fn a_directory_planted_at_a_path_is_refused_by_writer_and_reader() {
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("planted-dir");
        let prefix = dir.prefix("note");
        if index > 0 {
            Writer::<Note>::open(&prefix).unwrap().write(&note(1)).unwrap();
        }
        let opened_by_readers = opened_by_readers(&prefix, index);
        let planted = channel_files(&prefix)[index].clone();
        let _ = std::fs::remove_file(&planted);
        std::fs::create_dir(&planted).unwrap();
        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(err.path(), planted, "{err}");
        // "not a regular file", or EISDIR where the file is opened for writing.
        if opened_by_readers {
            let err = Reader::<Note>::open(&prefix).unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err:?}");
            assert_eq!(err.path(), planted, "{err}");
        } else if index > 0 {
            assert_reads_without(&prefix, &planted);
        }
    }
}

/// A reader opens the channel at `prefix` and reads its value without opening `planted` (a
/// data file that holds no published value).
fn assert_reads_without(prefix: &Path, planted: &Path) {
    let reader = Reader::<Note>::open(prefix)
        .unwrap_or_else(|e| panic!("{} is not needed to read: {e}", planted.display()));
    assert_eq!(reader.read().unwrap().version, 1);
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o666)).expect("mkfifo");
}

#[test]
fn a_fifo_planted_at_a_path_is_refused_without_hanging_writer_or_reader() {
    for index in 0..WRITER_FILES {
        let dir = ChannelDir::new("fifo");
        let prefix = dir.prefix("note");
        if index > 0 {
            Writer::<Note>::open(&prefix).unwrap().write(&note(1)).unwrap();
        }
        let opened_by_readers = opened_by_readers(&prefix, index);
        let planted = channel_files(&prefix)[index].clone();
        let _ = std::fs::remove_file(&planted);
        mkfifo(&planted);

        // Opening a FIFO blocks until someone opens its other end: a reader (in a child, so that
        // blocking fails the test instead of stalling it) and the writer must answer promptly.
        let mut reader = Probe::spawn(CHAOS, args!["read-note", prefix]);
        let line = reader.next(LONG);
        reader.wait_success(LONG);
        if opened_by_readers {
            line.assert_error("Io", &planted);
            assert!(line.field("source").contains("not a regular file"), "{line}");
        } else {
            assert!(line.is("ok"), "readers open neither the lock file nor an unused copy: {line}");
        }
        let err = Writer::<Note>::open(&prefix).unwrap_err();
        assert_io_naming(&err, &planted, "not a regular file");
    }
}

#[test]
fn a_data_file_planted_before_its_first_use_fails_the_generation_published_into_it() {
    let dir = ChannelDir::new("planted-late");
    let prefix = dir.prefix("note");
    let mut writer = Writer::<Note>::open(&prefix).unwrap();
    let first = writer.write(&note(1)).unwrap();
    let reader = Reader::<Note>::open(&prefix).unwrap();
    assert_eq!(reader.read().unwrap().version, 1);

    // The copy the next publish goes to, never read so far, is swapped for a link to its own
    // file; the writer writes through the file it holds, the reader finds the link.
    let unused = ChannelPaths::new(&prefix).data(1 - first.copy);
    let moved = dir.path().join("moved");
    std::fs::rename(&unused, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &unused).unwrap();
    let second = writer.write(&note(2)).unwrap();
    assert_eq!(ChannelPaths::new(&prefix).data(second.copy), unused);

    // The generation fails, naming the link; reads serve the value validated before.
    assert_eq!(reader.read().unwrap().version, 1);
    let failure = reader.last_failure().expect("the generation published into the link failed");
    assert_eq!(failure.generation, second.generation);
    assert_io_naming(&failure.error, &unused, "symbolic link");
}
