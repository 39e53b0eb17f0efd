//! Where every command's output goes, and the one place that chooses text or JSON: a command
//! hands each thing it prints to [`Output::print`] as a [`Report`], which can be both.

use std::io::Write as _;

use mmap_sync::json::Json;

use crate::exit::Exit;
use crate::failure::Failure;

/// How to print: set once from `--json`, used by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Tables and lines for people.
    Text,
    /// One JSON object per line, in stable shapes, for scripts.
    Json,
}

/// Something a command prints, in both forms.
pub trait Report {
    /// As text: whole lines, each ending in `\n`.
    fn text(&self) -> String;
    /// As one JSON value, printed on a line of its own.
    fn json(&self) -> Json;
}

impl Output {
    /// `Json` when `--json` was given.
    pub fn new(json: bool) -> Output {
        if json { Output::Json } else { Output::Text }
    }

    /// Prints `report` on standard output, in this form. A closed pipe ends the command
    /// quietly ([`Failure::closed`]); another write error is a failure that says so.
    pub fn print(self, report: &impl Report) -> Result<(), Failure> {
        match self {
            Output::Text => say(&report.text()),
            Output::Json => say(&format!("{}\n", report.json())),
        }
    }

    /// Prints why a command stopped: as text on standard error, or as JSON on standard output
    /// (where a script reads the rest). Nothing for a quiet failure. (A failure is not a
    /// [`Report`]: its text goes to another stream.)
    pub fn fail(self, failure: &Failure) {
        if failure.is_quiet() {
            return;
        }
        match self {
            Output::Text => eprint!("{}", failure.text()),
            Output::Json => {
                let _ = writeln!(std::io::stdout(), "{}", failure.json());
            }
        }
    }
}

/// Writes `text` to standard output; a closed pipe ends the command quietly.
pub fn say(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::closed()),
        Err(e) => {
            Err(Failure::new(Exit::NothingToRead, "output", None, format!("standard output: {e}")))
        }
    }
}
