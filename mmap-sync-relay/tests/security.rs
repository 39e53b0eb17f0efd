//! Authentication and TLS against real nats-server processes: servers that require a user and
//! password, a token, or mutual TLS with a certificate authority the test creates. Relays with
//! the right settings follow; relays with wrong or missing ones keep retrying, say why in their
//! status, and never publish.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use std::path::{Path, PathBuf};

use mmap_sync::Reader;
use mmap_sync_schemas::HelloWorld;
use support::local_server::ServerConfig;
use support::operator::Operator;
use support::{
    Host, ServerBinary, TestCa, TestDir, publish_local, revision_of, run, start_configured,
    version_at_least, write_local,
};

const CONVERGE: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    support::run_scenarios(&[
        (
            "user_and_password_admit_only_the_right_relay",
            user_and_password_admit_only_the_right_relay,
        ),
        ("a_token_admits_only_the_right_relay", a_token_admits_only_the_right_relay),
        ("an_nkey_admits_only_the_right_relay", an_nkey_admits_only_the_right_relay),
        (
            "credentials_in_operator_mode_admit_only_the_right_relay",
            credentials_in_operator_mode_admit_only_the_right_relay,
        ),
        ("mutual_tls_with_a_test_ca", mutual_tls_with_a_test_ca),
    ])
}

/// The local channel in `dir` the publisher side of channel `channel` writes its values into.
fn source(dir: &Path, channel: &str) -> PathBuf {
    dir.join(format!("source-{channel}"))
}

/// Writes HelloWorld version `version` into the local channel of `channel` in `dir`, then
/// publishes it with the binary and `auth` arguments; returns the revision.
fn publish(dir: &Path, url: &str, channel: &str, version: u64, auth: &[&str]) -> u64 {
    let path = source(dir, channel);
    let value = HelloWorld { version: version as u32, messages: vec![format!("v{version}")] };
    write_local(&path, &value);
    let (code, out) = publish_local(url, channel, &path, auth);
    assert_eq!(code, Some(0), "{out}");
    revision_of(&out)
}

/// Waits until `host` has failed at least three times with a message containing `reason`, then
/// checks that it is still running and has published nothing: not in its status, not in its
/// channel.
fn keeps_retrying_without_publishing(host: &Host, reason: &str) {
    let status = host.wait_status(&format!("retries failing with {reason:?}"), CONVERGE, |s| {
        s.counters.retries >= 3
            && s.last_error
                .as_ref()
                .is_some_and(|e| e.kind == "retrying" && e.message.contains(reason))
    });
    assert!(host.running(), "{}: the relay exited\n{}", host.name, host.log());
    assert_eq!(status.published, None, "{}: {status:#?}", host.name);
    assert_eq!((status.counters.downloads, status.counters.published), (0, 0));
    // The relay holds the channel as its writer; nothing was ever published in it.
    match Reader::<HelloWorld>::open(&host.path) {
        Err(mmap_sync::Error::NotPublished { .. }) => {}
        Ok(reader) => assert_eq!(reader.generation(), 0, "{}: published", host.name),
        Err(other) => panic!("{}: {other}", host.name),
    }
    let path = host.path.display().to_string();
    let (code, out) = run(&["status", "--path", &path]);
    assert_eq!(code, Some(9), "{out}");
    assert!(out.contains(reason), "{out}");
    println!("{}: keeps retrying: {}", host.name, status.last_error.unwrap().message);
}

fn user_and_password_admit_only_the_right_relay(server: &ServerBinary) {
    let dir = TestDir::new("userpass");
    let config = ServerConfig {
        extra: "authorization { users: [ { user: relay, password: \"s3cret-pw\" } ] }".into(),
        ..ServerConfig::default()
    };
    let nats = start_configured(server, &dir, "nats", config);
    let url = nats.url();
    // The right user and password, from the environment (out of `ps`).
    let right = Host::start_env(
        dir.path(),
        "right",
        &url,
        "auth",
        &[],
        &[("NATS_USER", "relay"), ("NATS_PASSWORD", "s3cret-pw")],
    );
    let wrong = Host::start(
        dir.path(),
        "wrong",
        &url,
        "auth",
        &["--user", "relay", "--password", "not-it"],
    );
    let missing = Host::start(dir.path(), "missing", &url, "auth", &[]);

    let revision =
        publish(dir.path(), &url, "auth", 1, &["--user", "relay", "--password", "s3cret-pw"]);
    right.wait_published(revision, CONVERGE);
    keeps_retrying_without_publishing(&wrong, "authorization violation");
    keeps_retrying_without_publishing(&missing, "authorization violation");

    // A publisher with the wrong password is told why, and publishes nothing.
    let wrong = ["--user", "relay", "--password", "nope"];
    let (code, out) = publish_local(&url, "auth", &source(dir.path(), "auth"), &wrong);
    assert_eq!(code, Some(8), "{out}");
    assert!(out.contains("authorization violation"), "{out}");
    let status = right.status().unwrap();
    assert_eq!(status.source_revision, Some(revision), "{status:#?}");
}

fn a_token_admits_only_the_right_relay(server: &ServerBinary) {
    let dir = TestDir::new("token");
    let config = ServerConfig {
        extra: "authorization { token: \"t0ken-for-relays\" }".into(),
        ..ServerConfig::default()
    };
    let nats = start_configured(server, &dir, "nats", config);
    let url = nats.url();
    let right = Host::start_env(
        dir.path(),
        "right",
        &url,
        "token",
        &[],
        &[("NATS_TOKEN", "t0ken-for-relays")],
    );
    let wrong = Host::start(dir.path(), "wrong", &url, "token", &["--token", "guess"]);
    let revision = publish(dir.path(), &url, "token", 1, &["--token", "t0ken-for-relays"]);
    right.wait_published(revision, CONVERGE);
    keeps_retrying_without_publishing(&wrong, "authorization violation");
    // The token never reaches the status file or the log.
    let status = std::fs::read_to_string(mmap_sync_relay::status::status_path(&right.path));
    assert!(!status.unwrap().contains("t0ken"));
    assert!(!right.log().contains("t0ken"), "{}", right.log());
}

/// A server that lists its user by public NKey; the relay signs the server's nonce with the seed
/// in its `--nkey` file. Both key pairs are made here.
fn an_nkey_admits_only_the_right_relay(server: &ServerBinary) {
    let dir = TestDir::new("nkey");
    let (user, stranger) = (nkeys::KeyPair::new_user(), nkeys::KeyPair::new_user());
    let config = ServerConfig {
        extra: format!("authorization {{ users: [ {{ nkey: {} }} ] }}", user.public_key()),
        ..ServerConfig::default()
    };
    let nats = start_configured(server, &dir, "nats", config);
    let url = nats.url();
    let seed_file = |name: &str, key: &nkeys::KeyPair| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{}\n", key.seed().unwrap())).unwrap();
        path.display().to_string()
    };
    let (right_seed, wrong_seed) =
        (seed_file("user.nk", &user), seed_file("stranger.nk", &stranger));
    let right = Host::start(dir.path(), "right", &url, "nkey", &["--nkey", &right_seed]);
    let wrong = Host::start(dir.path(), "wrong", &url, "nkey", &["--nkey", &wrong_seed]);
    let revision = publish(dir.path(), &url, "nkey", 1, &["--nkey", &right_seed]);
    right.wait_published(revision, CONVERGE);
    keeps_retrying_without_publishing(&wrong, "authorization violation");
}

/// A server in operator mode: it trusts an operator, and knows one account (with JetStream)
/// whose JWT its configuration preloads. A relay whose credentials file holds a user of that
/// account follows; one whose user belongs to an account the server does not know, or whose
/// file pairs the right user's JWT with another key's seed, is refused at every attempt.
fn credentials_in_operator_mode_admit_only_the_right_relay(server: &ServerBinary) {
    let dir = TestDir::new("creds");
    let operator = Operator::new("test-operator");
    let account = operator.account("relays");
    let unknown_account = operator.account("not-on-this-server");
    let config =
        ServerConfig { extra: operator.server_config(&[&account]), ..ServerConfig::default() };
    let nats = start_configured(server, &dir, "nats", config);
    let url = nats.url();

    let (user, other) = (account.user("relay"), account.user("someone-else"));
    let creds = user.write_creds(dir.path(), "relay.creds").display().to_string();
    let stranger = unknown_account.user("relay").write_creds(dir.path(), "stranger.creds");
    let stolen = user.with_key_of(&other).write_creds(dir.path(), "stolen.creds");
    let right = Host::start(dir.path(), "right", &url, "creds", &["--creds", &creds]);
    let stranger = Host::start(
        dir.path(),
        "stranger",
        &url,
        "creds",
        &["--creds", &stranger.display().to_string()],
    );
    let stolen = Host::start(
        dir.path(),
        "stolen",
        &url,
        "creds",
        &["--creds", &stolen.display().to_string()],
    );
    let revision = publish(dir.path(), &url, "creds", 1, &["--creds", &creds]);
    right.wait_published(revision, CONVERGE);
    keeps_retrying_without_publishing(&stranger, "authorization violation");
    keeps_retrying_without_publishing(&stolen, "authorization violation");
    // The seed never reaches the status file or the log.
    let seed = std::fs::read_to_string(&creds).unwrap();
    let seed = seed.lines().find(|line| line.starts_with("SU")).expect("a user seed");
    for host in [&right, &stranger, &stolen] {
        let status = std::fs::read_to_string(mmap_sync_relay::status::status_path(&host.path));
        assert!(!status.unwrap().contains(seed), "{}: the seed is in the status", host.name);
        assert!(!host.log().contains(seed), "{}: the seed is in the log", host.name);
    }
}

/// A server that requires TLS with client certificates signed by the test's CA.
fn mutual_tls_with_a_test_ca(server: &ServerBinary) {
    let dir = TestDir::new("tls");
    let ca = TestCa::create(&dir.path().join("pki"));
    let tls_block = |first: bool| {
        format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  \
             timeout: 5\n{}}}",
            ca.server_cert.display(),
            ca.server_key.display(),
            ca.ca.display(),
            if first { "  handshake_first: true\n" } else { "" }
        )
    };
    let config = ServerConfig { extra: tls_block(false), ..ServerConfig::default() };
    let nats = start_configured(server, &dir, "nats", config);
    let url = nats.url();
    let (ca_file, cert, key) = (
        ca.ca.display().to_string(),
        ca.client_cert.display().to_string(),
        ca.client_key.display().to_string(),
    );
    let tls = ["--tls-ca", &ca_file, "--tls-cert", &cert, "--tls-key", &key];
    let right = Host::start(dir.path(), "right", &url, "tls", &tls);
    // Trusts the CA but shows no certificate of its own: the server refuses it.
    let anonymous = Host::start(dir.path(), "anonymous", &url, "tls", &["--tls-ca", &ca_file]);
    // Shows a certificate but does not trust the server's CA.
    let untrusting = Host::start(
        dir.path(),
        "untrusting",
        &url,
        "tls",
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let revision = publish(dir.path(), &url, "tls", 1, &tls);
    right.wait_published(revision, CONVERGE);
    keeps_retrying_without_publishing(&anonymous, "Certificate");
    keeps_retrying_without_publishing(&untrusting, "UnknownIssuer");

    // A missing certificate file is a usage error naming the file, before any connection.
    let (code, out) = run(&[
        "follow",
        "--server",
        &url,
        "--channel",
        "tls",
        "--path",
        &dir.path().join("never").display().to_string(),
        "--tls-ca",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("TLS CA file /nonexistent/ca.pem"), "{out}");

    // TLS before the server's greeting: servers from 2.10.4 on can be configured for it; an
    // older one (or one not configured for it) refuses such a client.
    let first = [&tls[..], &["--tls-first"]].concat();
    if version_at_least(&server.version, (2, 10, 4)) {
        let config = ServerConfig { extra: tls_block(true), ..ServerConfig::default() };
        let nats_first = start_configured(server, &dir, "nats-first", config);
        let url = nats_first.url();
        let host = Host::start(dir.path(), "first", &url, "tls", &first);
        let revision = publish(dir.path(), &url, "tls", 1, &first);
        host.wait_published(revision, CONVERGE);
        println!("nats-server {}: --tls-first follows a handshake_first server", server.version);
    } else {
        let host = Host::start(dir.path(), "first", &url, "tls", &first);
        keeps_retrying_without_publishing(&host, "cannot connect");
        println!("nats-server {}: no handshake_first; --tls-first is refused", server.version);
    }
}
