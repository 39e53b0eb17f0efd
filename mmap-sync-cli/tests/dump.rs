//! `mmap-sync dump`: the value of a channel written by a typed writer, as a tree (cut by
//! `--limit`), as JSON (equal to the value's serde_json text), one part of it (`--at`), and its
//! errors: a facade channel, no channel, a path that leads nowhere, a damaged value.

mod common;

use common::{ChannelDir, Run, cli_at, damage_behind_checksum};
use mmap_sync::Writer;
use mmap_sync_schemas::{FeatureTable, RoutingTable};
use serde_json::Value;

/// A routing table of `routes` routes, published once; the writer stays open for the caller.
fn routing(dir: &ChannelDir, routes: usize) -> (Writer<RoutingTable>, std::path::PathBuf) {
    let prefix = dir.prefix("routing");
    let mut writer = Writer::<RoutingTable>::open(&prefix).unwrap();
    writer.write(&RoutingTable::example(3, routes)).unwrap();
    (writer, prefix)
}

/// `run`'s output with the channel's directory replaced, for snapshots.
fn shown(run: &Run, dir: &ChannelDir) -> String {
    let text = format!("exit {}\n{}{}", run.code, run.stdout, run.stderr);
    text.replace(&dir.path().display().to_string(), "[dir]")
}

#[test]
fn dump_prints_the_value_as_a_tree() {
    let dir = ChannelDir::new("dump-tree");
    let (_writer, prefix) = routing(&dir, 2);
    let run = cli_at("dump", &prefix, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("dump_tree", shown(&run, &dir));
}

#[test]
fn limit_cuts_long_collections_with_a_count() {
    let dir = ChannelDir::new("dump-limit");
    let (_writer, prefix) = routing(&dir, 40);
    let run = cli_at("dump", &prefix, &["--limit", "2", "--at", "routes"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("dump_limit", shown(&run, &dir));
}

#[test]
fn json_is_the_values_json_and_at_selects_a_part() {
    let dir = ChannelDir::new("dump-json");
    let (_writer, prefix) = routing(&dir, 3);
    let run = cli_at("dump", &prefix, &["--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {}", run.stdout);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["version"], 3);
    assert_eq!(json["routes"].as_array().unwrap().len(), 3);
    insta::assert_snapshot!("dump_json", run.stdout);

    let run = cli_at("dump", &prefix, &["--json", "--at", "routes[1].prefix"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "\"/service/1\"\n");
    let run = cli_at("dump", &prefix, &["--at", "routes[1].upstreams[0]"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("dump_at", shown(&run, &dir));
}

#[test]
fn numeric_vectors_are_shown_on_one_line() {
    let dir = ChannelDir::new("dump-features");
    let prefix = dir.prefix("features");
    let mut writer = Writer::<FeatureTable>::open(&prefix).unwrap();
    writer.write(&FeatureTable::synthetic(1, 3, 40)).unwrap();
    let run = cli_at("dump", &prefix, &["--limit", "4"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("dump_numeric", shown(&run, &dir));
}

#[test]
fn a_path_that_leads_nowhere_is_a_usage_error_naming_it() {
    let dir = ChannelDir::new("dump-nowhere");
    let (_writer, prefix) = routing(&dir, 2);
    for (at, words) in [
        ("routes[5]", "routes[5]"),
        ("nothing", "nothing"),
        ("routes[0].prefix.more", "routes[0].prefix"),
        ("routes[", "routes["),
    ] {
        let run = cli_at("dump", &prefix, &["--at", at]);
        assert_eq!(run.code, 2, "{at}: {run:?}");
        assert!(run.stderr.contains(words), "{at}: {}", run.stderr);
        let run = cli_at("dump", &prefix, &["--json", "--at", at]);
        let json: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(json["error"]["kind"], "not_in_value", "{json}");
    }
}

#[test]
fn a_facade_channel_and_no_channel_exit_3_with_a_clear_message() {
    let dir = ChannelDir::new("dump-facade");
    let prefix = dir.prefix("hello");
    let mut facade = mmap_sync::synchronizer::Synchronizer::new(prefix.as_os_str());
    let value = mmap_sync_schemas::HelloWorld::example();
    facade.write(&value, std::time::Duration::from_secs(1)).unwrap();
    let run = cli_at("dump", &prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("recorded no structure"), "{}", run.stderr);
    assert!(run.stderr.contains("hello_state"), "names the file: {}", run.stderr);
    let run = cli_at("dump", &prefix, &["--json"]);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "no_structure", "{json}");

    let run = cli_at("dump", &dir.prefix("nothing"), &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("no channel at"), "{}", run.stderr);
}

#[test]
fn a_damaged_value_exits_1_naming_the_field_and_the_file() {
    let dir = ChannelDir::new("dump-damaged");
    let (writer, prefix) = routing(&dir, 2);
    drop(writer);
    // Generation 1 is in copy 0. Its first out-of-line string ("/service/0", longer than
    // rkyv's 8 inline bytes) starts the archive: make it invalid UTF-8.
    damage_behind_checksum(&mmap_sync::ChannelPaths::new(&prefix), 0, |bytes| bytes[0] = 0xff);
    let run = cli_at("dump", &prefix, &["--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "damaged", "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("routes[0].prefix"), "names the field: {message}");
    assert!(message.contains("routing_state"), "names the file: {message}");
    let run = cli_at("dump", &prefix, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("routes[0].prefix"), "{}", run.stderr);
}
