//! The demo as a user runs it: it succeeds, and leaves none of its channel's files behind.

use std::process::Command;

#[test]
fn the_demo_reads_consistently_and_removes_every_file_it_created() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--seconds", "1", "--readers", "1"])
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("inconsistent reads     0"), "{stdout}");

    // The first line names the channel; a reader read from it, so its files existed.
    let channel = stdout.lines().next().and_then(|l| l.rsplit_once(", channel ")).map(|(_, c)| c);
    let channel = std::path::Path::new(channel.expect("the channel's path"));
    let reads = stdout.lines().find_map(|l| l.trim().strip_prefix("reads "));
    assert!(reads.is_some_and(|r| !r.trim().starts_with('0')), "{stdout}");

    let name = channel.file_name().unwrap().to_str().unwrap();
    let left: Vec<String> = std::fs::read_dir(channel.parent().unwrap())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| file.starts_with(&format!("{name}_")))
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} in {}", channel.parent().unwrap().display());
}
