//! The binary's command line where no server is needed: help, usage errors, and the exit codes
//! of problems found before any network traffic.

mod support;

use support::run;

#[test]
fn help_documents_every_exit_code() {
    let (code, out) = run(&["--help"]);
    assert_eq!(code, Some(0), "{out}");
    for needle in ["follow", "publish", "status", "mirror", "demo", "Exit codes"] {
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
    for option in [
        "--inactivity-timeout",
        "--config",
        "--metrics",
        "--creds",
        "--nkey",
        "--token",
        "--user",
        "--password",
        "--tls-ca",
        "--tls-cert",
        "--tls-key",
        "--tls-first",
        "NATS_PASSWORD",
        "--expect-type",
    ] {
        assert!(out.contains(option), "{option} missing from:\n{out}");
    }
    let (code, out) = run(&["publish", "--help"]);
    assert_eq!(code, Some(0), "{out}");
    for option in ["--path", "--file", "--watch", "--expect-revision", "--keep", "--grace"] {
        assert!(out.contains(option), "{option} missing from:\n{out}");
    }
    let (code, out) = run(&["mirror", "--help"]);
    assert_eq!(code, Some(0), "{out}");
    for option in ["--server", "--channel", "--hub-domain", "--wait", "--creds", "--tls-ca"] {
        assert!(out.contains(option), "{option} missing from:\n{out}");
    }
}

#[test]
fn a_hub_domain_that_is_not_one_subject_token_is_a_usage_error() {
    let (code, out) = run(&["mirror", "--channel", "routing", "--hub-domain", "hub.eu"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not a JetStream domain"), "{out}");
}

#[test]
fn a_channel_name_buckets_cannot_hold_is_a_usage_error() {
    let (code, out) = run(&["follow", "--channel", "a.b", "--path", "/dev/shm/never"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("channel name \"a.b\""), "{out}");
}

#[test]
fn a_duration_without_a_known_unit_is_a_usage_error() {
    let (code, out) =
        run(&["follow", "--channel", "c", "--path", "/dev/shm/never", "--recheck", "5 fortnights"]);
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

#[test]
fn a_configuration_that_does_not_load_is_a_usage_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("relay-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("relay.toml");
    std::fs::write(&config, "[[channel]]\nname = \"a\"\ntype = \"graph\"\npath = \"/dev/shm/a\"\n")
        .unwrap();
    let config_arg = config.display().to_string();
    let (code, out) = run(&["follow", "--config", &config_arg]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("{config_arg}: channel 1 (\"a\"): `type` is no setting any more")),
        "{out}"
    );
    let (code, out) = run(&["status", "--config", "/nonexistent/relay.toml"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("/nonexistent/relay.toml"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary_knows_no_channel_type() {
    // No --type to pick one: a relay takes the type each version carries.
    let (code, out) = run(&["follow", "--channel", "c", "--type", "routing-table", "--path", "/x"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unexpected argument '--type'"), "{out}");
    let (code, out) = run(&["publish", "--channel", "c", "--example", "1", "--path", "/x"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unexpected argument '--example'"), "{out}");
}
