//! The test programs as processes: a long-running [`Probe`] whose report lines a test awaits
//! one by one, and [`run`] for a program that does one thing and exits.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::report::Line;

/// The arguments of a test program, of mixed types (`&str`, `String`, `PathBuf`, anything that
/// is `AsRef<OsStr>`), as an array of `&OsStr`:
/// `Probe::spawn(PROBE, args!["open-read", paths.prefix, "note"])`.
#[macro_export]
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        [$(::std::convert::AsRef::<::std::ffi::OsStr>::as_ref(&$arg)),*]
    };
}

/// A spawned test program. Killed (SIGKILL) and reaped when dropped, unless it was waited for.
#[derive(Debug)]
pub struct Probe {
    child: Child,
    lines: Receiver<String>,
    /// Lines received but not (yet) asked for, kept for failure messages.
    seen: Vec<Line>,
}

impl Probe {
    /// Spawns `program` with `args`, reading its stdout line by line; stderr goes to the
    /// test's.
    pub fn spawn<I, S>(program: &str, args: I) -> Probe
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args);
        Probe::spawn_command(command)
    }

    /// Spawns a prepared command (for an environment or credentials of its own).
    pub fn spawn_command(mut command: Command) -> Probe {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
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

    /// The next line the program prints, whatever it is; panics if none comes within
    /// `timeout` or the program ends first.
    pub fn next(&mut self, timeout: Duration) -> Line {
        self.expect_matching("any line", |_| true, timeout)
    }

    /// Waits up to `timeout` for a line whose event is `event` and returns it, keeping the
    /// lines before it for failure messages; panics with everything the program printed if
    /// none comes.
    pub fn expect(&mut self, event: &str, timeout: Duration) -> Line {
        self.expect_matching(event, |line| line.is(event), timeout)
    }

    /// Waits up to `timeout` for a line for which `wanted` holds (`what` describes it in the
    /// failure message).
    pub fn expect_matching(
        &mut self,
        what: &str,
        wanted: impl Fn(&Line) -> bool,
        timeout: Duration,
    ) -> Line {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(text) => {
                    let line = Line::parse(&text)
                        .unwrap_or_else(|e| panic!("the program printed a broken line: {e}"));
                    if wanted(&line) {
                        return line;
                    }
                    self.seen.push(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {timeout:?}; got {}", show(&self.seen))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "the program exited ({status:?}) without {what}; got {}",
                        show(&self.seen)
                    )
                }
            }
        }
    }

    /// Waits for the program to exit; panics if it was killed by a signal (a crash) or exited
    /// with a non-zero code.
    pub fn wait_success(self, timeout: Duration) {
        let seen = show(&self.seen);
        let status = self.wait_status(timeout);
        assert!(status.success(), "the program failed: {status:?}; it printed {seen}");
    }

    /// Waits up to `timeout` for the program to end, however it ends, and returns its status.
    pub fn wait_status(mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the program") {
                return status;
            }
            assert!(Instant::now() < deadline, "the program did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILLs the program and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILLs the program, reaps it, and returns every line it printed that was not asked
    /// for yet, including those still in the pipe when it died. A line cut short by the kill
    /// is a broken line and fails the test like any other.
    pub fn kill_and_drain(mut self) -> Vec<Line> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut lines = std::mem::take(&mut self.seen);
        while let Ok(text) = self.lines.recv_timeout(Duration::from_secs(20)) {
            lines.push(
                Line::parse(&text)
                    .unwrap_or_else(|e| panic!("the program printed a broken line: {e}")),
            );
        }
        lines
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

/// How a program run by [`run`] ended and what it reported.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Every line it printed on stdout.
    pub lines: Vec<Line>,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Finished {
    /// The one line the program printed; panics, showing its output, if it printed another
    /// number of lines.
    pub fn line(&self) -> &Line {
        match self.lines.as_slice() {
            [line] => line,
            _ => panic!("expected one line, got {}; stderr: {}", show(&self.lines), self.stderr),
        }
    }
}

/// Runs `command` to its end and parses what it printed (stdin is closed). Panics when it
/// cannot be started.
pub fn run(command: &mut Command) -> Finished {
    try_run(command).unwrap_or_else(|e| panic!("run {command:?}: {e}"))
}

/// [`run`], for a program that may not start (for example as another user, who cannot reach
/// it): the error that kept it from starting.
pub fn try_run(command: &mut Command) -> std::io::Result<Finished> {
    let output = command.stdin(Stdio::null()).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines = stdout
        .lines()
        .map(|text| {
            Line::parse(text).unwrap_or_else(|e| panic!("{command:?} printed a broken line: {e}"))
        })
        .collect();
    Ok(Finished {
        status: output.status,
        lines,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn show(lines: &[Line]) -> String {
    let lines: Vec<String> = lines.iter().map(|l| format!("`{l}`")).collect();
    format!("[{}]", lines.join(", "))
}
