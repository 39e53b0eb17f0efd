//! The `example-value` program as the relay's README runs it.

use std::process::Command;

use mmap_sync::Reader;
use mmap_sync_schemas::RoutingTable;

/// `example-value` writes a value into a channel that a program with the type reads back, and
/// a second run publishes the next generation.
#[test]
fn example_value_writes_a_channel_of_the_type_it_names() {
    let dir = std::env::temp_dir().join(format!("example-value-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("routing_table");
    for (version, generation) in [(3, 1), (4, 2)] {
        let output = Command::new(env!("CARGO_BIN_EXE_example-value"))
            .args(["routing-table", "--version", &version.to_string(), "--routes", "5", "--path"])
            .arg(&path)
            .output()
            .expect("run example-value");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains(&format!("as generation {generation}")), "{stdout}");
        let reader = Reader::<RoutingTable>::open(&path).unwrap();
        let guard = reader.read().unwrap();
        assert_eq!(*guard, RoutingTable::example(version, 5));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_example-value"))
        .args(["graph", "--version", "1", "--path"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown type \"graph\""));
    std::fs::remove_dir_all(&dir).unwrap();
}
