//! Why a command stopped: its exit code, the kind and file a script matches on, and the
//! message a person reads.

use std::path::PathBuf;

use mmap_sync::Error;
use mmap_sync::json::Json;

use crate::exit::Exit;
use crate::text;

/// Why a command stopped, with its exit code.
#[derive(Debug)]
pub struct Failure {
    exit: Exit,
    kind: &'static str,
    file: Option<PathBuf>,
    message: String,
    /// Nothing to say (standard output was closed under `watch`).
    quiet: bool,
}

impl Failure {
    /// A failure of kind `kind` (the JSON `error.kind`), about `file` when there is one.
    pub fn new(exit: Exit, kind: &'static str, file: Option<PathBuf>, message: String) -> Failure {
        Failure { exit, kind, file, message, quiet: false }
    }

    /// Standard output was closed (a pipe whose reader went away): stop, saying nothing, with
    /// exit code 0.
    pub fn closed() -> Failure {
        Failure { exit: Exit::Ok, kind: "closed", file: None, message: String::new(), quiet: true }
    }

    /// The exit code.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// Whether there is nothing to print.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The failure as text, for standard error: `mmap-sync: MESSAGE`.
    pub fn text(&self) -> String {
        format!("mmap-sync: {}\n", text::shown(&self.message))
    }

    /// The failure as JSON, for standard output: `{"error": {kind, file, message, exit_code}}`.
    pub fn json(&self) -> Json {
        Json::Obj(vec![(
            "error",
            Json::Obj(vec![
                ("kind", self.kind.into()),
                ("file", self.file.as_deref().map_or(Json::Null, Json::path)),
                ("message", self.message.clone().into()),
                ("exit_code", u32::from(self.exit.code()).into()),
            ]),
        )])
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let (exit, kind) = match &error {
            Error::NotPublished { .. } => (Exit::NothingToRead, "not_published"),
            Error::Io { .. } => (Exit::NothingToRead, "cannot_open"),
            Error::Incompatible { .. } => (Exit::FormatVersion, "format_version"),
            Error::Corrupt { .. } => (Exit::Damaged, "damaged"),
            _ => (Exit::NothingToRead, "error"),
        };
        let message = match &error {
            Error::Corrupt { .. } => {
                format!("{error} (the files are damaged, or are not an mmap-sync channel)")
            }
            _ => error.to_string(),
        };
        Failure::new(exit, kind, Some(error.path().to_owned()), message)
    }
}
