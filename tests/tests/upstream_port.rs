//! An upstream mmap-sync program, ported by changing imports, run as real processes: programs
//! that each include the same `common` module (as upstream's examples do) share a channel
//! through the facade; a program written against upstream's whole API surface runs; a program
//! whose definition of the type differs is refused; and programs moved to the native
//! `Reader`/`Writer` share the facade's channels in both directions.
//!
//! The programs are this package's `src/bin/upstream_port_*.rs`, and the module they share is
//! `src/bin/common/`; each prints one line per outcome.

use std::io::{BufRead, BufReader};
use std::path::Path;

use mmap_sync_tests::channel::ChannelDir;
use std::process::{Command, Stdio};

const WRITER: &str = env!("CARGO_BIN_EXE_upstream_port_writer");
const READER: &str = env!("CARGO_BIN_EXE_upstream_port_reader");
const FULL_API: &str = env!("CARGO_BIN_EXE_upstream_port_full_api");
const CHANGED: &str = env!("CARGO_BIN_EXE_upstream_port_changed");
const NATIVE: &str = env!("CARGO_BIN_EXE_upstream_port_native");

/// Runs `program args` on the channel at `prefix`; returns its exit success and its output lines.
fn run(program: &str, args: &[&str], prefix: &Path) -> (bool, Vec<String>) {
    let output = Command::new(program)
        .args(args)
        .env("UPSTREAM_PORT_PATH", prefix)
        .stdin(Stdio::null())
        .output()
        .expect("run a port program");
    let lines = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
    (output.status.success(), lines)
}

/// Runs a program that must succeed and print exactly one line; returns it.
fn line(program: &str, args: &[&str], prefix: &Path) -> String {
    let (ok, lines) = run(program, args, prefix);
    assert!(ok && lines.len() == 1, "{program} {args:?} failed or printed {lines:?}");
    lines.into_iter().next().expect("one line")
}

#[test]
fn two_programs_that_include_one_shared_module_share_a_channel_through_the_facade() {
    let dir = ChannelDir::new("pair");
    let prefix = dir.prefix("hello_world");
    assert_eq!(line(WRITER, &[], &prefix), "written: 36 bytes | reset: false");
    assert_eq!(line(READER, &[], &prefix), r#"version: 7 | messages: ["Hello", "World", "!"]"#);
    // A second run of the writer (a restart) publishes over the first, and readers follow.
    assert_eq!(line(WRITER, &[], &prefix), "written: 36 bytes | reset: false");
    assert_eq!(line(READER, &[], &prefix), r#"version: 7 | messages: ["Hello", "World", "!"]"#);
}

#[test]
fn a_reader_started_before_any_writer_is_told_the_file_is_missing() {
    let dir = ChannelDir::new("missing");
    let (ok, lines) = run(READER, &[], &dir.prefix("hello_world"));
    assert!(!ok);
    assert_eq!(lines.len(), 1, "{lines:?}");
    // Upstream's message, and the file named.
    assert!(lines[0].starts_with("failed to read data: error reading state file: "), "{lines:?}");
    assert!(lines[0].contains("hello_world_state"), "{lines:?}");
}

#[test]
fn a_program_written_against_upstreams_whole_api_compiles_and_runs() {
    let dir = ChannelDir::new("full-api");
    let (ok, lines) = run(FULL_API, &["run"], &dir.prefix("hello_world"));
    assert!(ok, "{lines:?}");
    assert_eq!(
        lines,
        [
            "version before any writer: not found",
            "read before any writer: not found",
            "first writer: reset false",
            // LockDisabled or SingleWriter, a second writer is refused.
            "second writer: write lock conflict",
            "read: version 7 switched true",
            "read again: switched false",
            "version: 1 round trip true",
            "version 0: uninitialized",
            "write again: written",
            "read after write: version 9 switched true",
            "version after write: 2",
        ]
    );
}

#[test]
fn a_second_writer_process_is_refused_whatever_lock_strategy_it_names() {
    let dir = ChannelDir::new("two-writers");
    let prefix = dir.prefix("hello_world");
    let mut holder = Command::new(FULL_API)
        .arg("hold")
        .env("UPSTREAM_PORT_PATH", &prefix)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the holding writer");
    let mut first = String::new();
    BufReader::new(holder.stdout.take().expect("piped")).read_line(&mut first).expect("a line");
    assert_eq!(first.trim_end(), "hold: holding");

    // The holder names SingleWriter, the second LockDisabled: refused all the same.
    assert_eq!(line(FULL_API, &["second"], &prefix), "second: write lock conflict");
    assert_eq!(line(READER, &[], &prefix), r#"version: 7 | messages: ["Hello", "World"]"#);

    drop(holder.stdin.take()); // the holder exits, its lock goes with it
    assert!(holder.wait().expect("wait for the holder").success());
    assert_eq!(line(FULL_API, &["second"], &prefix), "second: written");
    assert_eq!(line(READER, &[], &prefix), r#"version: 8 | messages: ["Hello", "World"]"#);
}

#[test]
fn a_program_whose_definition_differs_is_refused_with_a_schema_mismatch() {
    let dir = ChannelDir::new("changed");
    let prefix = dir.prefix("hello_world");
    assert_eq!(line(WRITER, &[], &prefix), "written: 36 bytes | reset: false");
    for variant in ["retyped", "extended", "reordered"] {
        for role in ["read", "write"] {
            let outcome = line(CHANGED, &[variant, role], &prefix);
            assert!(
                outcome.starts_with("refused: schema mismatch | ")
                    && outcome.contains("hello_world_state"),
                "{variant} {role}: {outcome}"
            );
        }
    }
    // Nothing the refused programs did reached the channel.
    assert_eq!(line(READER, &[], &prefix), r#"version: 7 | messages: ["Hello", "World", "!"]"#);
}

#[test]
fn a_channel_created_by_a_changed_program_is_refused_by_the_original_ones() {
    for variant in ["retyped", "extended", "reordered"] {
        let dir = ChannelDir::new(variant);
        let prefix = dir.prefix("hello_world");
        let written = line(CHANGED, &[variant, "write"], &prefix);
        assert!(written.starts_with("written: "), "{variant}: {written}");
        assert_eq!(line(CHANGED, &[variant, "read"], &prefix), "version: 9", "{variant}");
        let (ok, lines) = run(READER, &[], &prefix);
        assert!(!ok, "{variant}: {lines:?}");
        assert!(lines[0].contains("schema mismatch"), "{variant}: {lines:?}");
        let (ok, lines) = run(WRITER, &[], &prefix);
        assert!(!ok && lines[0].contains("schema mismatch"), "{variant}: {lines:?}");
    }
}

#[test]
fn a_channel_written_through_the_facade_is_read_by_a_native_reader_and_the_other_way_round() {
    let dir = ChannelDir::new("facade-first");
    let prefix = dir.prefix("hello_world");
    assert_eq!(line(WRITER, &[], &prefix), "written: 36 bytes | reset: false");
    assert_eq!(
        line(NATIVE, &["read"], &prefix),
        r#"version: 7 | messages: ["Hello", "World", "!"]"#
    );
    // The native writer takes over the facade's channel, continuing its generations.
    assert_eq!(line(NATIVE, &["write", "8"], &prefix), "published generation 2");
    assert_eq!(line(READER, &[], &prefix), r#"version: 8 | messages: ["from", "native"]"#);

    let dir = ChannelDir::new("native-first");
    let prefix = dir.prefix("hello_world");
    assert_eq!(line(NATIVE, &["write", "5"], &prefix), "published generation 1");
    assert_eq!(line(READER, &[], &prefix), r#"version: 5 | messages: ["from", "native"]"#);
    assert_eq!(line(WRITER, &[], &prefix), "written: 36 bytes | reset: false");
    assert_eq!(
        line(NATIVE, &["read"], &prefix),
        r#"version: 7 | messages: ["Hello", "World", "!"]"#
    );
}
