//! What the tests of this crate share: the `mmap-sync` binary, and peer processes (writers and
//! readers of real channels) to point it at. A test's channels live in the workspace's shared
//! [`ChannelDir`], re-exported here.
//!
//! A peer is this very test executable run again with [`PEER_ENV`] set: each test file that
//! spawns peers has an ignored test, `peer_process`, that calls [`peer_main`], and the
//! parent runs only that test (`--exact peer_process --ignored`). Lines the peer means for its
//! parent carry `@peer `; the test harness's own output is skipped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use mmap_sync::{Reader, Writer};
use mmap_sync_schemas::RoutingTable;
pub use mmap_sync_test_support::ChannelDir;

/// The environment variable that makes a test executable a peer; its value is the peer's
/// arguments joined with `\x1f`.
pub const PEER_ENV: &str = "MMAP_SYNC_CLI_TEST_PEER";

/// How long a test waits for a peer's line.
pub const LONG: Duration = Duration::from_secs(30);

/// The `mmap-sync` binary of this crate.
pub const BIN: &str = env!("CARGO_BIN_EXE_mmap-sync");

/// `text` with every character a regular expression gives a meaning escaped, for snapshot
/// filters that replace a literal path.
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$#&-~".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Writes `bytes` into `file` at `offset`.
pub fn patch(file: &Path, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

/// The offset of copy `copy`'s descriptor in a state file.
pub fn descriptor_offset(copy: usize) -> u64 {
    use mmap_sync::format::{CopyDescriptor, StateHeader};
    (size_of::<StateHeader>() + copy * size_of::<CopyDescriptor>()) as u64
}

/// Lets `damage` change the archive in copy `copy` of the channel at `paths` (its bytes up to
/// the descriptor's length), then records the checksum of the changed bytes: damage that a
/// checksum cannot see, as a writer that skipped validation would publish.
pub fn damage_behind_checksum(
    paths: &mmap_sync::ChannelPaths,
    copy: usize,
    damage: impl FnOnce(&mut [u8]),
) {
    let len_at = descriptor_offset(copy) as usize + 8;
    let state = std::fs::read(&paths.state).unwrap();
    let len = u64::from_le_bytes(state[len_at..][..8].try_into().unwrap()) as usize;
    let mut bytes = std::fs::read(paths.data(copy)).unwrap();
    damage(&mut bytes[..len]);
    patch(&paths.data(copy), 0, &bytes[..len]);
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..len]);
    patch(&paths.state, descriptor_offset(copy) + 16, &checksum.to_le_bytes());
}

/// What a run of `mmap-sync` printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `mmap-sync ARGS` to completion (at most [`LONG`]; a hang fails the test). Its output is
/// read while it runs, so output larger than a pipe holds does not stall it.
pub fn cli(args: &[&str]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mmap-sync");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + LONG;
    let status = loop {
        match child.try_wait().expect("wait for mmap-sync") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mmap-sync {args:?} did not finish within {LONG:?}");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let collect = |reader: std::thread::JoinHandle<std::io::Result<Vec<u8>>>| {
        let bytes = reader.join().expect("pipe reader").expect("read mmap-sync's output");
        String::from_utf8(bytes).expect("mmap-sync's output is UTF-8")
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    let code = status.code().unwrap_or_else(|| panic!("mmap-sync {args:?} died: {status:?}"));
    Run { code, stdout, stderr }
}

/// `cli` with a path argument.
pub fn cli_at(command: &str, path: &Path, more: &[&str]) -> Run {
    let path = path.to_str().expect("test paths are UTF-8");
    let mut args = vec![command, path];
    args.extend_from_slice(more);
    cli(&args)
}

// ---------------------------------------------------------------------------------------------
// Peers

/// A peer process and its `@peer` lines.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Peer {
    /// Starts this test executable as a peer with `args`.
    pub fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .args(["peer_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(PEER_ENV, args.join("\x1f"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn peer");
        let stdout = child.stdout.take().expect("peer stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The harness may have begun a line of its own ("test peer_process ... ").
                if let Some(at) = line.find("@peer ")
                    && tx.send(line[at + "@peer ".len()..].to_owned()).is_err()
                {
                    break;
                }
            }
        });
        Peer { child, stdin, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The peer's next line, which must start with `prefix`.
    pub fn expect(&self, prefix: &str) -> String {
        match self.lines.recv_timeout(LONG) {
            Ok(line) if line.starts_with(prefix) => line,
            Ok(line) => panic!("peer said {line:?}, expected {prefix:?}"),
            Err(RecvTimeoutError::Timeout) => panic!("peer said nothing for {LONG:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("peer exited before saying {prefix:?}"),
        }
    }

    /// Sends a command line to the peer.
    pub fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("peer stdin open");
        writeln!(stdin, "{command}").expect("write to peer");
        stdin.flush().expect("flush peer stdin");
    }

    /// Kills the peer with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("kill peer");
        self.child.wait().expect("reap peer");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "@peer {line}").expect("peer stdout");
    out.flush().expect("peer stdout");
}

/// Peer roles, from [`PEER_ENV`]:
///
/// * `writer PREFIX ROUTES`: publishes `RoutingTable::example(1, ROUTES)`, says `ready G`, then
///   publishes the next version for each `publish` line (`published G`), until stdin closes;
/// * `reader PREFIX`: reads, holds the guard (`pinned G`), and keeps it until stdin closes.
pub fn peer_main() {
    let spec = std::env::var(PEER_ENV)
        .expect("peer_process is the entry point of peer processes; the other tests run it");
    let args: Vec<&str> = spec.split('\x1f').collect();
    let stdin = std::io::stdin();
    match args.as_slice() {
        ["writer", prefix, routes] => {
            let routes: usize = routes.parse().expect("routes");
            let mut writer = Writer::<RoutingTable>::open(prefix).expect("open writer");
            let mut version = 1;
            let published = writer.write(&RoutingTable::example(version, routes)).expect("write");
            say(&format!("ready {}", published.generation));
            for line in stdin.lock().lines() {
                match line.expect("stdin").as_str() {
                    "publish" => {
                        version += 1;
                        let published =
                            writer.write(&RoutingTable::example(version, routes)).expect("write");
                        say(&format!("published {}", published.generation));
                    }
                    other => panic!("unknown command {other:?}"),
                }
            }
        }
        ["reader", prefix] => {
            let reader = Reader::<RoutingTable>::open(prefix).expect("open reader");
            let guard = reader.read().expect("read");
            say(&format!("pinned {}", guard.generation()));
            for line in stdin.lock().lines() {
                line.expect("stdin");
            }
            drop(guard);
        }
        other => panic!("unknown peer role {other:?}"),
    }
}
