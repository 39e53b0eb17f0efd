//! `mmap_sync_schemas::HelloWorld`'s derived `writer()` and `reader()` carry a value from one process to
//! another, at the path its `env` override names; and the derived constants say where the
//! files are.

use std::path::Path;
use std::process::Command;

use mmap_sync::SharedState;
use mmap_sync_schemas::HelloWorld;
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
use mmap_sync_tests::process::{Finished, run};
use mmap_sync_tests::report::Line;

const HELLO: &str = env!("CARGO_BIN_EXE_schema_probe_hello");

/// Runs the HelloWorld probe with `MMAP_SYNC_HELLO_PATH=prefix`.
fn hello(role: &str, prefix: &Path) -> Finished {
    run(Command::new(HELLO).arg(role).env("MMAP_SYNC_HELLO_PATH", prefix))
}

/// Runs the HelloWorld probe, which must succeed, and returns the line it printed.
fn hello_ok(role: &str, prefix: &Path) -> Line {
    let finished = hello(role, prefix);
    assert!(finished.status.success(), "{role} failed: {finished:?}");
    finished.line().clone()
}

fn published(generation: u64) -> Line {
    Line::new("published").with("generation", generation)
}

fn read_example() -> Line {
    Line::new("read").with("version", 7).with("messages", "Hello,World,!")
}

#[test]
fn hello_world_writer_and_reader_round_trip_between_processes() {
    let dir = ChannelDir::new("derive-hello");
    let prefix = dir.prefix("hello_world");

    assert_eq!(hello_ok("write", &prefix), published(1));
    assert_eq!(hello_ok("read", &prefix), read_example());
    // A restarted writer continues the generation sequence.
    assert_eq!(hello_ok("write", &prefix), published(2));
    assert_eq!(hello_ok("read", &prefix), read_example());
}

#[test]
fn the_env_override_decides_where_writer_and_reader_go() {
    let dir = ChannelDir::new("derive-env");
    let moved = dir.prefix("moved");

    assert_eq!(hello_ok("write", &moved), published(1));
    // The files are under the override, named like the derived constants name them.
    for default in [HelloWorld::STATE_PATH, HelloWorld::READERS_PATH] {
        let suffix = default.strip_prefix(HelloWorld::PATH).expect("constants extend PATH");
        let file = format!("{}{suffix}", moved.display());
        assert!(Path::new(&file).is_file(), "{file} was not created");
    }

    // A reader sent elsewhere by the override finds nothing there.
    let elsewhere = dir.paths("elsewhere");
    let finished = hello("read", &elsewhere.prefix);
    assert!(!finished.status.success(), "{finished:?}");
    finished.line().assert_error("NotPublished", &elsewhere.state);
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
