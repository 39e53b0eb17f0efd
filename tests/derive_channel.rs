//! `schemas::HelloWorld`'s derived `writer()` and `reader()` carry a value from one process to
//! another, at the path its `env` override names; and the derived constants say where the
//! files are.

use std::path::Path;
use std::process::Command;

use mmap_sync::SharedState;
use mmap_sync_tests::TempDir;
use schemas::HelloWorld;

const HELLO: &str = env!("CARGO_BIN_EXE_schema_probe_hello");

/// Runs the HelloWorld probe with `MMAP_SYNC_HELLO_PATH=prefix` and returns the line it printed
/// and whether it succeeded.
fn run(role: &str, prefix: &Path) -> (bool, String) {
    let output = Command::new(HELLO)
        .arg(role)
        .env("MMAP_SYNC_HELLO_PATH", prefix)
        .output()
        .expect("run HelloWorld probe");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn hello_world_writer_and_reader_round_trip_between_processes() {
    let dir = TempDir::new("derive-hello");
    let prefix = dir.channel("hello_world");

    assert_eq!(run("write", &prefix), (true, "published generation 1".to_owned()));
    assert_eq!(run("read", &prefix), (true, "read version 7 messages Hello,World,!".to_owned()));
    // A restarted writer continues the generation sequence.
    assert_eq!(run("write", &prefix), (true, "published generation 2".to_owned()));
    assert_eq!(run("read", &prefix), (true, "read version 7 messages Hello,World,!".to_owned()));
}

#[test]
fn the_env_override_decides_where_writer_and_reader_go() {
    let dir = TempDir::new("derive-env");
    let moved = dir.channel("moved");

    assert_eq!(run("write", &moved), (true, "published generation 1".to_owned()));
    // The files are under the override, named like the derived constants name them.
    for default in [HelloWorld::STATE_PATH, HelloWorld::READERS_PATH] {
        let suffix = default.strip_prefix(HelloWorld::PATH).expect("constants extend PATH");
        let file = format!("{}{suffix}", moved.display());
        assert!(Path::new(&file).is_file(), "{file} was not created");
    }

    // A reader sent elsewhere by the override finds nothing there.
    let (ok, line) = run("read", &dir.channel("elsewhere"));
    assert!(!ok && line.starts_with("error ") && line.contains("nothing published"), "{line}");
}

#[test]
fn derived_constants_describe_the_default_channel() {
    assert_eq!(HelloWorld::PATH, "/dev/shm/hello_world");
    assert_eq!(HelloWorld::STATE_PATH, "/dev/shm/hello_world_state");
    assert_eq!(HelloWorld::READERS_PATH, "/dev/shm/hello_world_readers");
    assert_eq!(
        HelloWorld::DATA_PATHS,
        [
            "/dev/shm/hello_world_data_0",
            "/dev/shm/hello_world_data_1",
            "/dev/shm/hello_world_data_2"
        ]
    );
    assert_eq!(<HelloWorld as SharedState>::COPIES, HelloWorld::DATA_PATHS.len());
    assert_eq!(<HelloWorld as SharedState>::PATH_ENV, Some("MMAP_SYNC_HELLO_PATH"));
    assert_eq!(<HelloWorld as SharedState>::TYPE_NAME, "HelloWorld");
    assert_eq!(<HelloWorld as SharedState>::FINGERPRINT, HelloWorld::FINGERPRINT);
}

#[test]
fn without_its_variable_set_a_type_uses_its_attribute_path() {
    #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
    #[shared_state(path = "/dev/shm/derive_default", env = "MMAP_SYNC_TEST_VARIABLE_NEVER_SET")]
    struct Defaulted {
        value: u64,
    }
    assert_eq!(Defaulted::path(), Path::new("/dev/shm/derive_default"));
}
