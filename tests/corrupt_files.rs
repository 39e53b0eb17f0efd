//! Broken files give a clear error that names the file, never a crash. Every read happens in a
//! child process, so a SIGBUS or a panic fails the test instead of killing the test runner.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mmap_sync::Writer;
use mmap_sync::format::{self as layout, CopyDescriptor, StateHeader};
use mmap_sync_tests::{Note, Probe, TempDir};

const PROBE: &str = env!("CARGO_BIN_EXE_probe");
const LONG: Duration = Duration::from_secs(20);

/// A channel with one published Note, its writer gone. Returns the prefix.
fn published(dir: &TempDir) -> PathBuf {
    let path = dir.channel("note");
    let mut writer = Writer::<Note>::open(&path).unwrap();
    writer.write(&Note { version: 1, messages: vec!["x".repeat(5000)] }).unwrap();
    path
}

fn suffixed(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn patch(file: &Path, offset: u64, bytes: &[u8]) {
    let f = OpenOptions::new().write(true).open(file).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

fn truncate(file: &Path, len: u64) {
    OpenOptions::new().write(true).open(file).unwrap().set_len(len).unwrap();
}

fn descriptor_offset(copy: usize) -> u64 {
    (size_of::<StateHeader>() + copy * size_of::<CopyDescriptor>()) as u64
}

/// Opens and reads `prefix` as `kind` in a child process; returns the error line it printed.
fn read_in_child(prefix: &Path, kind: &str) -> String {
    let mut child = Probe::spawn(PROBE, &["open-read", prefix.to_str().unwrap(), kind]);
    let line = child.expect_line("", LONG);
    child.wait_success(LONG);
    line
}

fn assert_refused(prefix: &Path, variant: &str, file_suffix: &str, reason: &str) {
    let line = read_in_child(prefix, "note");
    assert!(line.starts_with("err "), "expected an error, got {line}");
    assert!(line.contains(variant), "expected {variant}: {line}");
    assert!(line.contains(file_suffix), "the error must name the {file_suffix} file: {line}");
    assert!(line.contains(reason), "expected {reason:?} in {line}");
}

#[test]
fn the_unbroken_channel_reads_fine_in_a_child() {
    let dir = TempDir::new("corrupt-control");
    let prefix = published(&dir);
    assert_eq!(read_in_child(&prefix, "note"), "ok generation 1");
}

#[test]
fn a_state_file_shorter_than_its_header_is_corrupt() {
    let dir = TempDir::new("corrupt-short");
    let prefix = published(&dir);
    truncate(&suffixed(&prefix, "_state"), 100);
    assert_refused(&prefix, "Corrupt", "_state", "shorter than");
}

#[test]
fn a_state_file_without_descriptors_is_corrupt() {
    let dir = TempDir::new("corrupt-nodesc");
    let prefix = published(&dir);
    truncate(&suffixed(&prefix, "_state"), size_of::<StateHeader>() as u64 + 10);
    assert_refused(&prefix, "Corrupt", "_state", "copies need");
}

#[test]
fn a_wrong_magic_is_corrupt() {
    let dir = TempDir::new("corrupt-magic");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), 0, b"NOTMMAPS");
    assert_refused(&prefix, "Corrupt", "_state", "wrong magic");
}

#[test]
fn a_file_without_magic_is_not_published_yet() {
    let dir = TempDir::new("corrupt-nomagic");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), 0, &[0; 8]);
    assert_refused(&prefix, "NotPublished", "_state", "");
}

#[test]
fn an_unknown_format_version_is_corrupt() {
    let dir = TempDir::new("corrupt-version");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), 8, &99u32.to_le_bytes());
    assert_refused(&prefix, "Corrupt", "_state", "unknown format version 99");
}

#[test]
fn an_out_of_range_copy_count_is_corrupt() {
    let dir = TempDir::new("corrupt-copies");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), 24, &200u32.to_le_bytes());
    assert_refused(&prefix, "Corrupt", "_state", "copies must be within 2..=16, not 200");
}

#[test]
fn random_bytes_in_the_state_file_are_refused() {
    let dir = TempDir::new("corrupt-random-state");
    let prefix = published(&dir);
    let state = suffixed(&prefix, "_state");
    let len = std::fs::metadata(&state).unwrap().len() as usize;
    // A fixed xorshift sequence: deterministic "random" bytes.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    patch(&state, 0, &bytes);
    assert_refused(&prefix, "Corrupt", "_state", "wrong magic");
}

#[test]
fn a_corrupt_readers_file_is_refused() {
    let dir = TempDir::new("corrupt-readers");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_readers"), 0, b"garbage!");
    assert_refused(&prefix, "Corrupt", "_readers", "wrong magic");
    truncate(&suffixed(&prefix, "_readers"), 64);
    assert_refused(&prefix, "Corrupt", "_readers", "truncated");
}

#[test]
fn a_truncated_data_file_is_corrupt_not_sigbus() {
    let dir = TempDir::new("corrupt-truncated");
    let prefix = published(&dir);
    // Generation 1 lives in copy 0 (the first copy a new writer takes).
    truncate(&suffixed(&prefix, "_data_0"), 1000);
    assert_refused(&prefix, "Corrupt", "_data_0", "truncated");
    truncate(&suffixed(&prefix, "_data_0"), 0);
    assert_refused(&prefix, "Corrupt", "_data_0", "truncated");
}

#[test]
fn a_flipped_byte_in_a_published_copy_is_a_checksum_error() {
    let dir = TempDir::new("corrupt-checksum");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_data_0"), 100, b"\xAA");
    assert_refused(&prefix, "Corrupt", "_data_0", "checksum mismatch");
}

/// Points the root's relative pointer for `messages` far outside copy 0, then rewrites the
/// descriptor's checksum to match: only archive validation (bytecheck) can catch it.
fn damage_archive_keeping_checksum(prefix: &Path) {
    let data = suffixed(prefix, "_data_0");
    let state = suffixed(prefix, "_state");
    let mut bytes = std::fs::read(&data).unwrap();
    let len_at = descriptor_offset(0) as usize + 8;
    let len = u64::from_le_bytes(std::fs::read(&state).unwrap()[len_at..][..8].try_into().unwrap())
        as usize;
    let root = len - size_of::<<Note as rkyv::Archive>::Archived>();
    bytes[root + 4..root + 8].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
    patch(&data, 0, &bytes[..len]);
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..len]);
    patch(&state, descriptor_offset(0) + 16, &checksum.to_le_bytes());
}

#[test]
fn a_copy_with_a_valid_checksum_but_an_invalid_archive_fails_validation() {
    let dir = TempDir::new("corrupt-archive");
    let prefix = published(&dir);
    damage_archive_keeping_checksum(&prefix);
    assert_refused(&prefix, "Corrupt", "_data_0", "archive validation");
}

#[test]
fn a_descriptor_that_lies_about_its_generation_is_corrupt() {
    let dir = TempDir::new("corrupt-descriptor");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), descriptor_offset(0), &77u64.to_le_bytes());
    assert_refused(&prefix, "Corrupt", "_state", "holds generation 77");
}

#[test]
fn a_descriptor_length_beyond_the_file_is_corrupt() {
    let dir = TempDir::new("corrupt-length");
    let prefix = published(&dir);
    patch(&suffixed(&prefix, "_state"), descriptor_offset(0) + 8, &(1u64 << 40).to_le_bytes());
    assert_refused(&prefix, "Corrupt", "_data_0", "more than the channel's max_size");
    patch(&suffixed(&prefix, "_state"), descriptor_offset(0) + 8, &(1u64 << 20).to_le_bytes());
    assert_refused(&prefix, "Corrupt", "_data_0", "truncated");
}

#[test]
fn an_active_word_naming_a_missing_copy_is_corrupt() {
    let dir = TempDir::new("corrupt-active");
    let prefix = published(&dir);
    let active = mmap_sync::protocol::pack(1, 9);
    patch(
        &suffixed(&prefix, "_state"),
        std::mem::offset_of!(StateHeader, active) as u64,
        &active.to_le_bytes(),
    );
    assert_refused(&prefix, "Corrupt", "_state", "copy index 9");
}

#[test]
fn a_reader_of_the_wrong_type_gets_schema_mismatch_in_a_child() {
    let dir = TempDir::new("corrupt-type");
    let prefix = published(&dir);
    let line = read_in_child(&prefix, "other");
    assert!(line.contains("SchemaMismatch") && line.contains("_state"), "{line}");
    // And a descriptor claiming another fingerprint is refused at first read.
    patch(&suffixed(&prefix, "_state"), descriptor_offset(0) + 24, &1234u64.to_le_bytes());
    assert_refused(&prefix, "SchemaMismatch", "_data_0", "");
    let _ = layout::FORMAT_VERSION;
}

/// `read_unchecked` skips bytecheck for one reader's trusted reads; a later safe `read` of the
/// same generation must still run it rather than inherit the skip from the cache.
#[test]
fn a_safe_read_after_an_unchecked_one_still_validates_the_generation() {
    let dir = TempDir::new("corrupt-unchecked");
    let prefix = published(&dir);
    damage_archive_keeping_checksum(&prefix);

    let reader = mmap_sync::Reader::<Note>::open(&prefix).unwrap();
    // SAFETY: the guard is dropped without following the damaged pointer; only the plain
    // integers of the root are in reach, and nothing reads them.
    let guard = unsafe { reader.read_unchecked() }.expect("unchecked: checksum matches");
    drop(guard);
    let err = reader.read().unwrap_err();
    assert!(
        matches!(&err, mmap_sync::Error::Corrupt { reason, .. } if reason.contains("archive validation")),
        "{err:?}"
    );
}
