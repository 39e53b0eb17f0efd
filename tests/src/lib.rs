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
