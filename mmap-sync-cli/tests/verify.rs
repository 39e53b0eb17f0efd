//! `mmap-sync verify` on sound and damaged channels: each damage of the runtime's corrupt-file
//! suite, files of a future format version, and files that are not a channel at all. Every
//! run is a child process, so a crash fails the test with its signal.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::{
    ChannelDir, Run, cli_at, damage_behind_checksum, descriptor_offset, patch, regex_escape,
};
use mmap_sync::format::{FORMAT_VERSION, StateHeader};
use mmap_sync::{ChannelPaths, Writer};
use mmap_sync_schemas::RoutingTable;
use serde_json::Value;

/// A channel with generations 1 and 2 published (copies 0 and 1), its writer gone.
fn published(dir: &ChannelDir) -> ChannelPaths {
    let mut writer = Writer::<RoutingTable>::open(dir.prefix("routing")).unwrap();
    writer.write(&RoutingTable::example(1, 20)).unwrap();
    writer.write(&RoutingTable::example(2, 20)).unwrap();
    writer.paths().clone()
}

fn truncate(file: &Path, len: u64) {
    OpenOptions::new().write(true).open(file).unwrap().set_len(len).unwrap();
}

/// Runs `verify`, human and JSON, and checks both report `reason` about the file ending in
/// `file_suffix` with exit code 1.
fn assert_problem(prefix: &Path, file_suffix: &str, reason: &str) -> Run {
    let run = cli_at("verify", prefix, &[]);
    assert_eq!(run.code, 1, "verify must fail: {run:?}");
    // Problems are listed last, indented: the file, then the reason.
    let named = |l: &&str| {
        l.starts_with("  ") && l.split(": ").next().is_some_and(|file| file.ends_with(file_suffix))
    };
    assert!(
        run.stdout.lines().filter(named).any(|l| l.contains(reason)),
        "no {reason:?} about {file_suffix} in:\n{}",
        run.stdout
    );

    let json_run = cli_at("verify", prefix, &["--json"]);
    assert_eq!(json_run.code, 1, "{json_run:?}");
    let json: Value = serde_json::from_str(&json_run.stdout).expect("JSON");
    assert_eq!(json["ok"], false);
    let problems = json["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["file"].as_str().unwrap().ends_with(file_suffix)
            && p["problem"].as_str().unwrap().contains(reason)),
        "{json}"
    );
    run
}

#[test]
fn a_sound_channel_verifies_under_a_reader_pin() {
    let dir = ChannelDir::new("verify-sound");
    let channel = published(&dir);
    let run = cli_at("verify", &channel.prefix, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("ok: no problem found (2 of 3 copies"), "{}", run.stdout);
    assert!(run.stdout.contains("copies hashed under a reader pin"), "{}", run.stdout);

    let run = cli_at("verify", &channel.prefix, &["--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut json: Value = serde_json::from_str(&run.stdout).unwrap();
    json["channel"] = "[dir]/routing".into();
    insta::assert_snapshot!("verify_sound_json", serde_json::to_string_pretty(&json).unwrap());

    // The slot verify held is given back.
    let table = mmap_sync::inspect::Channel::open(&channel.prefix).unwrap().readers().unwrap();
    assert!(table.slots.is_empty(), "{table:?}");
}

#[test]
fn a_flipped_byte_in_a_copy_is_a_checksum_mismatch() {
    let dir = ChannelDir::new("verify-flipped");
    let channel = published(&dir);
    let data = channel.data(1);
    let mut byte = [0u8];
    OpenOptions::new().read(true).open(&data).unwrap().read_exact_at(&mut byte, 100).unwrap();
    patch(&data, 100, &[byte[0] ^ 0x01]);
    let run = assert_problem(&channel.prefix, "_data_1", "checksum mismatch in generation 2");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(dir.path().to_str().unwrap()), "[dir]");
    settings.bind(|| insta::assert_snapshot!("verify_flipped_byte", run.stdout));
}

#[test]
fn a_wrong_magic_is_reported() {
    let dir = ChannelDir::new("verify-magic");
    let channel = published(&dir);
    patch(&channel.state, 0, b"NOTMMSYN");
    assert_problem(&channel.prefix, "_state", "wrong magic");
}

#[test]
fn random_bytes_in_the_state_file_are_reported() {
    let dir = ChannelDir::new("verify-random");
    let channel = published(&dir);
    let state = &channel.state;
    let len = std::fs::metadata(state).unwrap().len() as usize;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    patch(state, 0, &bytes);
    assert_problem(&channel.prefix, "_state", "wrong magic");
}

#[test]
fn a_truncated_data_file_is_reported() {
    let dir = ChannelDir::new("verify-short-data");
    let channel = published(&dir);
    truncate(&channel.data(0), 100);
    assert_problem(&channel.prefix, "_data_0", "truncated");
    truncate(&channel.data(0), 0);
    assert_problem(&channel.prefix, "_data_0", "truncated");
}

#[test]
fn a_descriptor_length_beyond_the_file_or_max_size_is_reported() {
    let dir = ChannelDir::new("verify-length");
    let channel = published(&dir);
    let state = &channel.state;
    patch(state, descriptor_offset(0) + 8, &(1u64 << 20).to_le_bytes());
    assert_problem(&channel.prefix, "_data_0", "truncated");
    patch(state, descriptor_offset(0) + 8, &(1u64 << 40).to_le_bytes());
    assert_problem(&channel.prefix, "_data_0", "more than the channel's max_size");
}

#[test]
fn a_copy_count_out_of_range_is_reported() {
    let dir = ChannelDir::new("verify-copies");
    let channel = published(&dir);
    patch(&channel.state, 24, &200u32.to_le_bytes());
    assert_problem(&channel.prefix, "_state", "copies must be within 2..=16, not 200");
}

#[test]
fn a_state_file_shorter_than_its_header_or_its_descriptors_is_reported() {
    let dir = ChannelDir::new("verify-short");
    let channel = published(&dir);
    let state = &channel.state;
    truncate(state, size_of::<StateHeader>() as u64);
    assert_problem(&channel.prefix, "_state", "3 copies need");
    truncate(state, 100);
    assert_problem(&channel.prefix, "_state", "shorter than its 384-byte header");
}

#[test]
fn a_descriptor_that_lies_about_its_generation_is_reported() {
    let dir = ChannelDir::new("verify-generation");
    let channel = published(&dir);
    patch(&channel.state, descriptor_offset(0), &77u64.to_le_bytes());
    assert_problem(&channel.prefix, "_state", "copy 0 holds generation 77");
}

#[test]
fn a_published_word_naming_a_missing_copy_is_reported() {
    let dir = ChannelDir::new("verify-active");
    let channel = published(&dir);
    patch(
        &channel.state,
        std::mem::offset_of!(StateHeader, active) as u64,
        &mmap_sync::protocol::pack(2, 9).to_le_bytes(),
    );
    assert_problem(&channel.prefix, "_state", "names copy index 9 of 3 copies");
}

#[test]
fn a_damaged_or_missing_readers_file_is_reported() {
    let dir = ChannelDir::new("verify-readers");
    let channel = published(&dir);
    let readers = &channel.readers;
    patch(readers, 0, b"garbage!");
    assert_problem(&channel.prefix, "_readers", "wrong magic");
    truncate(readers, 64);
    assert_problem(&channel.prefix, "_readers", "truncated");
    std::fs::remove_file(readers).unwrap();
    assert_problem(&channel.prefix, "_readers", "missing");
}

#[test]
fn a_damaged_schema_description_is_reported() {
    let dir = ChannelDir::new("verify-schema");
    let channel = published(&dir);
    let copies = 3;
    patch(&channel.state, descriptor_offset(copies), b"XXXXXXXX");
    assert_problem(&channel.prefix, "_state", "schema description");
}

#[test]
fn a_damaged_archive_behind_a_matching_checksum_is_beyond_verify() {
    // verify does not know the type, so it cannot run bytecheck: bytes that hash to the
    // recorded checksum pass, however wrong. A reader of the type catches them (the runtime's
    // corrupt-file suite shows it); this test pins down the documented limit.
    let dir = ChannelDir::new("verify-archive");
    let channel = published(&dir);
    damage_behind_checksum(&channel, 0, |bytes| {
        let len = bytes.len();
        bytes[len - 4..len].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
    });
    let run = cli_at("verify", &channel.prefix, &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn files_of_the_previous_or_a_future_format_version_get_a_clear_message_and_exit_4() {
    for other in [FORMAT_VERSION - 1, FORMAT_VERSION + 1] {
        a_file_of_another_format_version_gets_a_clear_message_and_exit_4(other);
    }
}

fn a_file_of_another_format_version_gets_a_clear_message_and_exit_4(other: u32) {
    let dir = ChannelDir::new("verify-other-version");
    let channel = published(&dir);
    patch(&channel.state, 8, &other.to_le_bytes());
    for command in ["verify", "inspect", "watch"] {
        let run = cli_at(command, &channel.prefix, &[]);
        assert_eq!(run.code, 4, "{command}: {run:?}");
        assert!(
            run.stderr.contains("routing_state")
                && run.stderr.contains(&format!("format version {other}"))
                && run.stderr.contains(&format!("reads format version {FORMAT_VERSION} only")),
            "{command}: {run:?}"
        );
        let run = cli_at(command, &channel.prefix, &["--json"]);
        assert_eq!(run.code, 4, "{command}: {run:?}");
        let json: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(json["error"]["kind"], "format_version", "{json}");
    }
}

#[test]
fn a_state_file_without_magic_is_not_published_and_exits_3() {
    let dir = ChannelDir::new("verify-nomagic");
    let channel = published(&dir);
    patch(&channel.state, 0, &[0u8; 8]);
    let run = cli_at("verify", &channel.prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("routing_state: nothing published yet"), "{run:?}");
    assert!(!run.stderr.contains("no channel"), "{run:?}");
    let run = cli_at("inspect", &channel.prefix, &["--json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "not_published", "{json}");
}

#[test]
fn inspect_and_watch_refuse_a_damaged_header_with_exit_1_naming_the_file() {
    let dir = ChannelDir::new("verify-inspect-damaged");
    let channel = published(&dir);
    patch(&channel.state, 0, b"NOTMMSYN");
    for command in ["inspect", "watch"] {
        let run = cli_at(command, &channel.prefix, &[]);
        assert_eq!(run.code, 1, "{command}: {run:?}");
        assert!(run.stderr.contains("routing_state: corrupt: wrong magic"), "{run:?}");
    }
}

#[test]
fn a_symlink_or_fifo_in_place_of_the_state_file_is_refused_without_hanging() {
    let dir = ChannelDir::new("verify-planted");
    let channel = ChannelPaths::new(dir.prefix("planted"));
    let state = &channel.state;
    std::os::unix::fs::symlink("/etc/passwd", state).unwrap();
    let run = cli_at("verify", &channel.prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("symbolic link"), "{run:?}");
    std::fs::remove_file(state).unwrap();
    let c = std::ffi::CString::new(state.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let run = cli_at("inspect", &channel.prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("not a regular file"), "{run:?}");
}
