//! Two programs built from different versions of one `#[derive(SharedState)]` type (same name,
//! same path, one more field in v2) refuse each other's channel with `SchemaMismatch`, both as
//! reader and as writer, while each still reads its own. Real processes, real files.

use std::path::Path;
use std::process::Command;

use mmap_sync_tests::TempDir;

const V1: &str = env!("CARGO_BIN_EXE_schema_probe_v1");
const V2: &str = env!("CARGO_BIN_EXE_schema_probe_v2");

/// Runs `program role` against the channel at `prefix` and returns the line it printed.
fn run(program: &str, role: &str, prefix: &Path) -> String {
    let output = Command::new(program)
        .arg(role)
        .env("SCHEMA_PROBE_PATH", prefix)
        .output()
        .expect("run schema probe");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "{program} {role} failed ({}): {stdout} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn fingerprint(program: &str) -> u64 {
    let line = run(program, "fingerprint", Path::new("/unused"));
    line.strip_prefix("fingerprint ").and_then(|f| f.parse().ok()).expect("fingerprint line")
}

#[test]
fn the_two_versions_have_different_fingerprints() {
    assert_ne!(fingerprint(V1), fingerprint(V2));
    // Each program derives the same value every time it is built and run.
    assert_eq!(fingerprint(V1), fingerprint(V1));
}

#[test]
fn a_newer_program_refuses_an_older_programs_channel() {
    let (v1, v2) = (fingerprint(V1), fingerprint(V2));
    let dir = TempDir::new("derive-v1-first");
    let prefix = dir.channel("inventory");

    assert_eq!(run(V1, "write", &prefix), "published generation 1");
    assert_eq!(run(V1, "read", &prefix), "read v1 version 1 items apple,pear");

    // The error names the field that differs, not just two hashes.
    let refused = format!(
        "mismatch expected {v2} found {v1} | field 'owner' (String) is here but not in the \
         channel; 'Inventory' is archived in 20 bytes aligned to 4 here but in 12 bytes aligned \
         to 4 in the channel"
    );
    assert_eq!(run(V2, "read", &prefix), refused);
    assert_eq!(run(V2, "write", &prefix), refused, "a v2 writer must not take over v1's files");

    // The refused writer left v1's value alone.
    assert_eq!(run(V1, "read", &prefix), "read v1 version 1 items apple,pear");
}

#[test]
fn an_older_program_refuses_a_newer_programs_channel() {
    let (v1, v2) = (fingerprint(V1), fingerprint(V2));
    let dir = TempDir::new("derive-v2-first");
    let prefix = dir.channel("inventory");

    assert_eq!(run(V2, "write", &prefix), "published generation 1");
    assert_eq!(run(V2, "read", &prefix), "read v2 version 2 items plum owner ops");

    let refused = format!(
        "mismatch expected {v1} found {v2} | field 'owner' (String) is in the channel but not \
         here; 'Inventory' is archived in 12 bytes aligned to 4 here but in 20 bytes aligned to \
         4 in the channel"
    );
    assert_eq!(run(V1, "read", &prefix), refused);
    assert_eq!(run(V1, "write", &prefix), refused);
}
