//! Broken files give a clear error that names the file, never a crash. Every read happens in a
//! child process, so a SIGBUS or a panic fails the test instead of killing the test runner.

use std::mem::offset_of;
use std::path::Path;
use std::time::Duration;

use mmap_sync::format::{CopyDescriptor, StateHeader};
use mmap_sync::{ChannelPaths, Error, Reader, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
use mmap_sync_tests::files::{self, descriptor_offset};
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::report::Line;
use mmap_sync_tests::rng::Rng;
use mmap_sync_tests::types::{ArchivedNote, Note, Other};

const PROBE: &str = env!("CARGO_BIN_EXE_probe");
const LONG: Duration = Duration::from_secs(20);

/// A channel with one published Note (generation 1, in copy 0: the first copy a new writer
/// takes), its writer gone.
fn published(dir: &ChannelDir) -> ChannelPaths {
    let paths = dir.paths("note");
    let mut writer = Writer::<Note>::open(&paths.prefix).unwrap();
    writer.write(&Note { version: 1, messages: vec!["x".repeat(5000)] }).unwrap();
    paths
}

/// Offset of a field of copy `copy`'s descriptor in the state file.
macro_rules! descriptor {
    ($copy:expr, $field:ident) => {
        descriptor_offset($copy, offset_of!(CopyDescriptor, $field))
    };
}

/// Opens and reads the channel as `kind` in a child process; returns the line it printed.
fn read_in_child(paths: &ChannelPaths, kind: &str) -> Line {
    let mut child = Probe::spawn(PROBE, args!["open-read", paths.prefix, kind]);
    let line = child.next(LONG);
    child.wait_success(LONG);
    line
}

/// Reads the channel as a Note in a child and checks that it is refused with `kind`, naming
/// `file`. Returns the error line.
fn refused(paths: &ChannelPaths, kind: &str, file: &Path) -> Line {
    let line = read_in_child(paths, "note");
    line.assert_error(kind, file);
    line
}

/// Checks that the channel is refused as `Corrupt`, naming `file`, for a reason that says
/// `reason`.
fn assert_corrupt(paths: &ChannelPaths, file: &Path, reason: &str) {
    assert!(!reason.is_empty(), "every reason contains the empty string");
    let line = refused(paths, "Corrupt", file);
    assert!(line.field("reason").contains(reason), "expected {reason:?} in the reason: {line}");
}

#[test]
fn the_unbroken_channel_reads_fine_in_a_child() {
    let dir = ChannelDir::new("corrupt-control");
    let paths = published(&dir);
    assert_eq!(read_in_child(&paths, "note"), Line::new("ok").with("generation", 1));
}

#[test]
fn a_state_file_shorter_than_its_header_is_corrupt() {
    let dir = ChannelDir::new("corrupt-short");
    let paths = published(&dir);
    files::set_len(&paths.state, 100);
    let header = size_of::<StateHeader>();
    assert_corrupt(&paths, &paths.state, &format!("shorter than its {header}-byte header"));
}

#[test]
fn a_state_file_without_descriptors_is_corrupt() {
    let dir = ChannelDir::new("corrupt-nodesc");
    let paths = published(&dir);
    files::set_len(&paths.state, size_of::<StateHeader>() as u64 + 10);
    assert_corrupt(&paths, &paths.state, "copies need");
}

#[test]
fn a_wrong_magic_is_corrupt() {
    let dir = ChannelDir::new("corrupt-magic");
    let paths = published(&dir);
    files::patch(&paths.state, offset_of!(StateHeader, magic), b"NOTMMAPS");
    assert_corrupt(&paths, &paths.state, "wrong magic");
}

#[test]
fn a_file_without_magic_is_not_published_yet() {
    let dir = ChannelDir::new("corrupt-nomagic");
    let paths = published(&dir);
    files::patch_u64(&paths.state, offset_of!(StateHeader, magic), 0);
    // Not an error about the content: a writer that dies before its first rename leaves this.
    refused(&paths, "NotPublished", &paths.state);
}

#[test]
fn an_unknown_format_version_is_incompatible_naming_the_version() {
    let dir = ChannelDir::new("corrupt-version");
    let paths = published(&dir);
    files::patch_u32(&paths.state, offset_of!(StateHeader, format_version), 99);
    let line = refused(&paths, "Incompatible", &paths.state);
    assert!(line.field("reason").contains("format version 99"), "{line}");
}

#[test]
fn an_out_of_range_copy_count_is_corrupt() {
    let dir = ChannelDir::new("corrupt-copies");
    let paths = published(&dir);
    files::patch_u32(&paths.state, offset_of!(StateHeader, copies), 200);
    assert_corrupt(&paths, &paths.state, "copies must be within 2..=16, not 200");
}

#[test]
fn random_bytes_in_the_state_file_are_refused() {
    let dir = ChannelDir::new("corrupt-random-state");
    let paths = published(&dir);
    let len = std::fs::metadata(&paths.state).unwrap().len() as usize;
    // A fixed seed: the same "random" bytes every run.
    files::patch(&paths.state, 0, &Rng::new(0x5eed).bytes(len));
    assert_corrupt(&paths, &paths.state, "wrong magic");
}

#[test]
fn a_corrupt_readers_file_is_refused() {
    let dir = ChannelDir::new("corrupt-readers");
    let paths = published(&dir);
    files::patch(&paths.readers, 0, b"garbage!");
    assert_corrupt(&paths, &paths.readers, "wrong magic");
    files::set_len(&paths.readers, 64);
    assert_corrupt(&paths, &paths.readers, "truncated");
}

#[test]
fn a_truncated_data_file_is_corrupt_not_sigbus() {
    let dir = ChannelDir::new("corrupt-truncated");
    let paths = published(&dir);
    files::set_len(&paths.data(0), 1000);
    assert_corrupt(&paths, &paths.data(0), "truncated");
    files::set_len(&paths.data(0), 0);
    assert_corrupt(&paths, &paths.data(0), "truncated");
}

#[test]
fn a_flipped_byte_in_a_published_copy_is_a_checksum_error() {
    let dir = ChannelDir::new("corrupt-checksum");
    let paths = published(&dir);
    files::patch(&paths.data(0), 100, b"\xAA");
    assert_corrupt(&paths, &paths.data(0), "checksum mismatch");
}

/// Points the root's relative pointer for `messages` far outside copy 0, then rewrites the
/// descriptor's checksum to match: only archive validation (bytecheck) can catch it.
fn damage_archive_keeping_checksum(paths: &ChannelPaths) {
    let len = files::descriptor_length(paths, 0).expect("copy 0 has a length") as usize;
    // rkyv puts the root at the end; `messages` is its last field, a relative pointer
    // followed by a length.
    let root = len - size_of::<<Note as rkyv::Archive>::Archived>();
    let messages = root + offset_of!(ArchivedNote, messages);
    files::patch(&paths.data(0), messages, &0x7fff_0000i32.to_le_bytes());
    assert!(files::rewrite_checksum(paths, 0), "copy 0 holds its whole value");
}

#[test]
fn a_copy_with_a_valid_checksum_but_an_invalid_archive_fails_validation() {
    let dir = ChannelDir::new("corrupt-archive");
    let paths = published(&dir);
    damage_archive_keeping_checksum(&paths);
    assert_corrupt(&paths, &paths.data(0), "archive validation");
}

#[test]
fn a_descriptor_that_lies_about_its_generation_is_corrupt() {
    let dir = ChannelDir::new("corrupt-descriptor");
    let paths = published(&dir);
    files::patch_u64(&paths.state, descriptor!(0, generation), 77);
    assert_corrupt(&paths, &paths.state, "holds generation 77");
}

#[test]
fn a_descriptor_length_beyond_the_file_is_corrupt() {
    let dir = ChannelDir::new("corrupt-length");
    let paths = published(&dir);
    files::patch_u64(&paths.state, descriptor!(0, length), 1 << 40);
    assert_corrupt(&paths, &paths.data(0), "more than the channel's max_size");
    files::patch_u64(&paths.state, descriptor!(0, length), 1 << 20);
    assert_corrupt(&paths, &paths.data(0), "truncated");
}

#[test]
fn an_active_word_naming_a_missing_copy_is_corrupt() {
    let dir = ChannelDir::new("corrupt-active");
    let paths = published(&dir);
    let active = mmap_sync::protocol::pack(1, 9);
    files::patch_u64(&paths.state, offset_of!(StateHeader, active), active);
    assert_corrupt(&paths, &paths.state, "copy index 9");
}

#[test]
fn a_reader_of_the_wrong_type_gets_schema_mismatch_in_a_child() {
    let dir = ChannelDir::new("corrupt-type");
    let paths = published(&dir);
    let line = read_in_child(&paths, "other");
    line.assert_error("SchemaMismatch", &paths.state);
    assert_eq!(line.num::<u64>("expected_fingerprint"), Other::FINGERPRINT);
    assert_eq!(line.num::<u64>("found_fingerprint"), Note::FINGERPRINT);
}

#[test]
fn a_descriptor_claiming_another_fingerprint_is_refused_at_the_first_read() {
    let dir = ChannelDir::new("corrupt-fingerprint");
    let paths = published(&dir);
    files::patch_u64(&paths.state, descriptor!(0, fingerprint), 1234);
    let line = refused(&paths, "SchemaMismatch", &paths.data(0));
    assert_eq!(line.num::<u64>("expected_fingerprint"), Note::FINGERPRINT);
    assert_eq!(line.num::<u64>("found_fingerprint"), 1234);
}

/// `read_unchecked` skips bytecheck for one reader's trusted reads; a later safe `read` of the
/// same generation must still run it rather than inherit the skip from the cache.
#[test]
fn a_safe_read_after_an_unchecked_one_still_validates_the_generation() {
    let dir = ChannelDir::new("corrupt-unchecked");
    let paths = published(&dir);
    damage_archive_keeping_checksum(&paths);

    let reader = Reader::<Note>::open(&paths.prefix).unwrap();
    // SAFETY: the guard is dropped without following the damaged pointer; only the plain
    // integers of the root are in reach, and nothing reads them.
    let guard = unsafe { reader.read_unchecked() }.expect("unchecked: checksum matches");
    drop(guard);
    let err = reader.read().unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { reason, .. } if reason.contains("archive validation")),
        "{err:?}"
    );
    assert_eq!(err.path(), paths.data(0));
}

#[test]
fn a_reader_and_verify_describe_a_broken_descriptor_in_the_same_words() {
    let dir = ChannelDir::new("corrupt-same-words");
    let paths = published(&dir);
    for (field, value) in [
        (descriptor!(0, length), 1u64 << 40),
        (descriptor!(0, length), 1 << 20),
        (descriptor!(0, generation), 77),
    ] {
        files::patch_u64(&paths.state, field, value);
        let line = refused_any(&paths);
        let verification = mmap_sync::inspect::verify(&paths.prefix).unwrap();
        let reason = line.field("reason");
        eprintln!("both say: {reason}");
        assert!(
            verification.problems.iter().any(|p| p.reason == reason),
            "the reader says {reason:?}, verify says {:?}",
            verification.problems
        );
        files::patch_u64(&paths.state, descriptor!(0, length), 0);
        let _ = std::fs::remove_file(&paths.state);
        drop(published(&dir));
    }
}

/// Reads the channel as a Note in a child, which must refuse it; returns the error line.
fn refused_any(paths: &ChannelPaths) -> Line {
    let line = read_in_child(paths, "note");
    assert!(line.is("err"), "expected an error: {line}");
    line
}
