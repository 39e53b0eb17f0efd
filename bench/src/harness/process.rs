//! Child processes of this binary: started in a child mode (see `main.rs`), spoken to in lines
//! on their stdin and stdout, killed if the parent gives up on them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::Result;

/// A running child of this binary.
pub struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProcess {
    /// Starts this binary with `args` (the child mode first), stdin and stdout piped.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<ChildProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or("child stdout")?);
        Ok(ChildProcess { child, stdin, stdout })
    }

    /// The child's next line, without its newline.
    pub fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("a child ended before it said what it measured".into());
        }
        Ok(line.trim_end().to_owned())
    }

    /// Reads a line that must be `word`.
    pub fn expect(&mut self, word: &str) -> Result<()> {
        let line = self.line()?;
        if line.trim() != word {
            return Err(format!("expected {word:?} from a child, got {line:?}").into());
        }
        Ok(())
    }

    /// The numbers of a `word n1 n2 ...` line.
    pub fn fields(&mut self, word: &str) -> Result<Vec<u64>> {
        let line = self.line()?;
        let mut parts = line.split_whitespace();
        if parts.next() != Some(word) {
            return Err(format!("expected {word:?} from a child, got {line:?}").into());
        }
        Ok(parts.map(str::parse).collect::<Result<_, _>>()?)
    }

    /// Writes `line` to the child's stdin.
    pub fn say(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or("the child's stdin is closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Closes the child's stdin (children that wait for its end then exit).
    pub fn close(&mut self) {
        self.stdin = None;
    }

    /// Waits for the child to exit; an unsuccessful exit is an error.
    pub fn wait(mut self) -> Result<()> {
        self.close();
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("a child failed: {status}").into());
        }
        Ok(())
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
