//! Shared pieces of the cross-process tests: the value types, a unique channel directory per
//! test, and a handle on a spawned `probe` process whose output lines can be awaited.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use mmap_sync::SharedState;

/// A self-checking value: every word equals the generation it was published as, so a reader
/// can tell a torn or overwritten copy from a good one.
#[derive(rkyv::Archive, rkyv::Serialize, Debug)]
pub struct Stamp {
    pub generation: u64,
    pub words: Vec<u64>,
}

impl SharedState for Stamp {
    const PATH: &'static str = "/dev/shm/mmap_sync_test_stamp";
    const TYPE_NAME: &'static str = "mmap_sync_tests::Stamp";
    const FINGERPRINT: u64 = 0x5354_414d_5001;
}

impl Stamp {
    pub fn new(generation: u64, len: usize) -> Self {
        Stamp { generation, words: vec![generation; len] }
    }
}

impl ArchivedStamp {
    /// Whether every word matches the stamp's generation and `expected`.
    pub fn is_intact(&self, expected: u64) -> bool {
        self.generation == expected && self.words.iter().all(|w| *w == expected)
    }
}

/// A small value shaped like upstream's HelloWorld.
#[derive(rkyv::Archive, rkyv::Serialize, Debug)]
pub struct Note {
    pub version: u32,
    pub messages: Vec<String>,
}

impl SharedState for Note {
    const PATH: &'static str = "/dev/shm/mmap_sync_test_note";
    const TYPE_NAME: &'static str = "mmap_sync_tests::Note";
    const FINGERPRINT: u64 = 0x4e4f_5445_0001;
}

/// Another type, to provoke schema mismatches.
#[derive(rkyv::Archive, rkyv::Serialize, Debug)]
pub struct Other {
    pub id: u64,
}

impl SharedState for Other {
    const PATH: &'static str = "/dev/shm/mmap_sync_test_other";
    const TYPE_NAME: &'static str = "mmap_sync_tests::Other";
    const FINGERPRINT: u64 = 0x4f54_4845_0001;
}

/// A directory for one test's channels, removed when dropped. On `/dev/shm` when it exists
/// (the intended home of channels), in the temp directory otherwise.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("mmap-sync-test-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test directory");
        TempDir(dir)
    }

    /// The prefix of a channel named `name` inside this directory.
    pub fn channel(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spawned probe process. Killed (SIGKILL) when dropped unless waited for.
#[derive(Debug)]
pub struct Probe {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Probe {
    /// Spawns `program` with `args`, capturing its stdout line by line.
    pub fn spawn(program: &str, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn probe");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Probe { child, lines, seen: Vec::new() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for a line starting with `prefix` and returns it; panics with
    /// everything the probe printed if none comes.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line starting with {prefix:?} within {timeout:?}; got {:?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "probe exited ({status:?}) without printing {prefix:?}; got {:?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits for the process to exit; panics if it was killed by a signal (a crash) or exited
    /// with a non-zero code.
    pub fn wait_success(mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for probe") {
                assert!(status.success(), "probe failed: {status:?}; printed {:?}", self.seen);
                return;
            }
            assert!(Instant::now() < deadline, "probe did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILLs the process and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Parses `key value` pairs out of a probe's report line.
pub fn field(line: &str, key: &str) -> u64 {
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        if word == key {
            return words
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("bad {key} in {line:?}"));
        }
    }
    panic!("no {key} in {line:?}")
}

/// Duration of the stress tests: `MMAP_SYNC_STRESS_SECS` (default `default_secs`).
pub fn stress_duration(default_secs: u64) -> Duration {
    let secs = std::env::var("MMAP_SYNC_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_secs);
    Duration::from_secs(secs)
}

/// A count for the chaos tests: the environment variable `var` if set (e.g.
/// `MMAP_SYNC_WRITER_KILLS=1000`), `ci_default` otherwise.
pub fn env_count(var: &str, ci_default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(ci_default)
}

/// A small deterministic generator (xorshift64*), so the chaos tests need no extra crate and a
/// failing run can be replayed from the seed it prints.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `MMAP_SYNC_SEED` when set, from the clock otherwise. Prints the seed.
    pub fn from_env(test: &str) -> Self {
        let seed = std::env::var("MMAP_SYNC_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: MMAP_SYNC_SEED={seed}");
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The number of words of the stamp published as `generation` on a chaos channel with `seed`:
/// mostly small, sometimes hundreds of KiB, so that writes take long enough to be interrupted
/// and data files must grow. Writer and checker derive it independently, so a reader can tell
/// a value of the right length from a stale or half-written one.
pub fn chaos_len(seed: u64, generation: u64) -> usize {
    let mut rng = Rng::new(seed ^ generation.wrapping_mul(0x1000_0000_01b3));
    match rng.below(10) {
        0..=4 => rng.below(64) as usize,
        5..=7 => rng.below(16 << 10) as usize,
        _ => (16 << 10) + rng.below(112 << 10) as usize,
    }
}

impl Probe {
    /// SIGKILLs the process, reaps it, and returns every line it printed (including those still
    /// in the pipe when it died).
    pub fn kill_and_drain(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut lines = std::mem::take(&mut self.seen);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(20)) {
            lines.push(line);
        }
        lines
    }
}

impl Probe {
    /// Waits up to `timeout` for the process to end, however it ends, and returns its status.
    pub fn wait_status(mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for probe") {
                return status;
            }
            assert!(Instant::now() < deadline, "probe did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
