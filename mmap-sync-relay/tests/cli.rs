//! The binary's command line where no server is needed: help, usage errors, and the exit codes
//! of problems found before any network traffic.

mod support;

use support::run;

#[test]
fn help_documents_every_exit_code() {
    let (code, out) = run(&["--help"]);
    assert_eq!(code, Some(0), "{out}");
    for needle in ["follow", "publish", "status", "demo", "Exit codes"] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    for exit_code in 0..=11 {
        assert!(
            out.contains(&format!("\n  {exit_code} ")),
            "exit code {exit_code} missing:\n{out}"
        );
    }
    let (code, out) = run(&["follow", "--help"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("--inactivity-timeout"), "{out}");
}

#[test]
fn a_channel_name_buckets_cannot_hold_is_a_usage_error() {
    let (code, out) =
        run(&["follow", "--channel", "a.b", "--type", "hello-world", "--path", "/dev/shm/never"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("channel name \"a.b\""), "{out}");
}

#[test]
fn a_duration_without_a_known_unit_is_a_usage_error() {
    let (code, out) = run(&[
        "follow",
        "--channel",
        "c",
        "--type",
        "hello-world",
        "--path",
        "/dev/shm/never",
        "--recheck",
        "5 fortnights",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unknown unit"), "{out}");
}

#[test]
fn a_channel_path_that_cannot_be_created_exits_5() {
    // Port 9 on loopback: nothing listens there; the relay must fail on the path, not wait.
    let (code, out) = run(&[
        "follow",
        "--server",
        "nats://127.0.0.1:9",
        "--channel",
        "c",
        "--type",
        "hello-world",
        "--path",
        "/nonexistent-directory/for/a/channel",
    ]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("/nonexistent-directory/for/a/channel"), "{out}");
}

#[test]
fn status_without_a_status_file_exits_11() {
    let (code, out) = run(&["status", "--path", "/nonexistent-directory/channel"]);
    assert_eq!(code, Some(11), "{out}");
    assert!(out.contains("no status file"), "{out}");
}
