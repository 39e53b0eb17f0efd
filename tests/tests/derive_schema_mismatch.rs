//! Two programs built from different versions of one `#[derive(SharedState)]` type (same name,
//! same path, one more field in v2) refuse each other's channel with `SchemaMismatch`, both as
//! reader and as writer, while each still reads its own. Real processes, real files.

use std::path::Path;
use std::process::Command;

use mmap_sync::ChannelPaths;
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
use mmap_sync_tests::process::run;
use mmap_sync_tests::report::Line;

const V1: &str = env!("CARGO_BIN_EXE_schema_probe_v1");
const V2: &str = env!("CARGO_BIN_EXE_schema_probe_v2");

/// The definitions the two programs are built from, compiled again here, in another crate.
mod inventory_v1 {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/mmap_sync_schema_probe", env = "SCHEMA_PROBE_PATH")]
    pub struct Inventory {
        version: u32,
        items: Vec<String>,
    }
}

mod inventory_v2 {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/mmap_sync_schema_probe", env = "SCHEMA_PROBE_PATH")]
    pub struct Inventory {
        version: u32,
        items: Vec<String>,
        owner: String,
    }
}

/// Runs `program role` against the channel at `prefix`; returns whether it succeeded and the
/// line it printed.
fn probe(program: &str, role: &str, prefix: &Path) -> (bool, Line) {
    let finished = run(Command::new(program).arg(role).env("SCHEMA_PROBE_PATH", prefix));
    (finished.status.success(), finished.line().clone())
}

/// The fingerprint `program` was built with.
fn fingerprint(program: &str) -> u64 {
    let (ok, line) = probe(program, "fingerprint", Path::new("/unused"));
    assert!(ok && line.is("fingerprint"), "{line}");
    assert_eq!(line.field("type"), "Inventory");
    line.num("value")
}

fn published(generation: u64) -> (bool, Line) {
    (true, Line::new("published").with("generation", generation))
}

fn read_v1() -> (bool, Line) {
    let line = Line::new("read").with("schema", "v1").with("version", 1);
    (true, line.with("items", "apple,pear"))
}

fn read_v2() -> (bool, Line) {
    let line = Line::new("read").with("schema", "v2").with("version", 2).with("items", "plum");
    (true, line.with("owner", "ops"))
}

/// The refusal of a program built with `expected` on a channel written with `found`.
fn mismatch(paths: &ChannelPaths, expected: u64, found: u64, differences: &str) -> (bool, Line) {
    let line = Line::new("err")
        .with("kind", "SchemaMismatch")
        .with_path("path", &paths.state)
        .with("expected_type", "Inventory")
        .with("expected_fingerprint", expected)
        .with("found_type", "Inventory")
        .with("found_fingerprint", found)
        .with("differences", differences);
    (false, line)
}

#[test]
fn the_two_versions_have_different_fingerprints() {
    assert_ne!(fingerprint(V1), fingerprint(V2));
}

#[test]
fn the_same_definition_compiled_into_another_program_has_the_same_fingerprint() {
    // Neither the crate nor the module a definition is compiled in enters the fingerprint, so
    // a writer and a reader built separately from one definition agree.
    assert_eq!(fingerprint(V1), inventory_v1::Inventory::FINGERPRINT);
    assert_eq!(fingerprint(V2), inventory_v2::Inventory::FINGERPRINT);
}

#[test]
fn a_newer_program_refuses_an_older_programs_channel() {
    let (v1, v2) = (fingerprint(V1), fingerprint(V2));
    let dir = ChannelDir::new("derive-v1-first");
    let paths = dir.paths("inventory");

    assert_eq!(probe(V1, "write", &paths.prefix), published(1));
    assert_eq!(probe(V1, "read", &paths.prefix), read_v1());

    // The error names the field that differs, not just two hashes.
    let refused = mismatch(
        &paths,
        v2,
        v1,
        "Inventory.owner: a field (String) here, not in the channel; Inventory: archived in 20 \
         bytes (alignment 4) here, in 12 bytes (alignment 4) in the channel",
    );
    assert_eq!(probe(V2, "read", &paths.prefix), refused);
    assert_eq!(probe(V2, "write", &paths.prefix), refused, "a v2 writer must not take v1's files");

    // The refused writer left v1's value alone.
    assert_eq!(probe(V1, "read", &paths.prefix), read_v1());
}

#[test]
fn an_older_program_refuses_a_newer_programs_channel() {
    let (v1, v2) = (fingerprint(V1), fingerprint(V2));
    let dir = ChannelDir::new("derive-v2-first");
    let paths = dir.paths("inventory");

    assert_eq!(probe(V2, "write", &paths.prefix), published(1));
    assert_eq!(probe(V2, "read", &paths.prefix), read_v2());

    let refused = mismatch(
        &paths,
        v1,
        v2,
        "Inventory.owner: a field (String) in the channel, not here; Inventory: archived in 12 \
         bytes (alignment 4) here, in 20 bytes (alignment 4) in the channel",
    );
    assert_eq!(probe(V1, "read", &paths.prefix), refused);
    assert_eq!(probe(V1, "write", &paths.prefix), refused);
}
