//! The command's exit codes: one enum, which writes the `--help` line and the table that the
//! crate documentation and the README show.

use std::fmt;

/// How a command ended, as its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done: the channel and its published value shown, watched for `--count` publishes, or
    /// verified sound.
    Ok,
    /// The channel is damaged: `verify` found a problem, or the header cannot be read.
    Damaged,
    /// Usage: clap's errors, and `PATH` naming one of a channel's files instead of its prefix.
    Usage,
    /// Nothing to read: no channel, nothing published yet (`inspect` and `verify` still print
    /// what they found), or a file that cannot be opened.
    NothingToRead,
    /// The files are of a format version this build does not read.
    FormatVersion,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 5] =
        [Exit::Ok, Exit::Damaged, Exit::Usage, Exit::NothingToRead, Exit::FormatVersion];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Damaged => 1,
            Exit::Usage => 2,
            Exit::NothingToRead => 3,
            Exit::FormatVersion => 4,
        }
    }

    /// A few words, for the `--help` line.
    fn brief(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Damaged => "the channel is damaged",
            Exit::Usage => "usage",
            Exit::NothingToRead => "nothing to read (no channel, nothing published yet, no access)",
            Exit::FormatVersion => "another format version",
        }
    }

    /// What it means, for the table of the documentation.
    fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => {
                "done: the channel and its published value shown or dumped, watched for \
                 `--count` publishes, or verified sound"
            }
            Exit::Damaged => {
                "the channel is damaged: `verify` found a problem, or the header cannot be read"
            }
            Exit::Usage => {
                "usage: unknown command or option, missing `PATH`, `PATH` naming one of a \
                 channel's files instead of its prefix (the message says which prefix), or \
                 `dump --at` naming no part of the value"
            }
            Exit::NothingToRead => {
                "nothing to read: no channel at `PATH`, nothing published yet (`inspect` and \
                 `verify` still print what they found), a file that cannot be opened, a channel \
                 whose writer recorded no structure (`dump`)"
            }
            Exit::FormatVersion => {
                "the files are of a format version this build does not read (the message names \
                 it), or `dump` finds a structure it cannot read"
            }
        }
    }

    /// The line `--help` ends with: `Exit codes: 0 ok, 1 the channel is damaged, ...`.
    pub fn help() -> String {
        let codes: Vec<String> = Exit::ALL.iter().map(ToString::to_string).collect();
        format!("Exit codes: {}.", codes.join(", "))
    }

    /// The Markdown table of every code and its meaning, as the crate documentation and the
    /// README show it.
    pub fn table() -> String {
        let mut table = String::from("| exit code | meaning |\n| --- | --- |\n");
        for exit in Exit::ALL {
            table.push_str(&format!("| {} | {} |\n", exit.code(), exit.meaning()));
        }
        table
    }
}

/// The code and its few words: `3 nothing to read (..)`.
impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.brief())
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_line_lists_every_code() {
        assert_eq!(
            Exit::help(),
            "Exit codes: 0 ok, 1 the channel is damaged, 2 usage, 3 nothing to read (no channel, \
             nothing published yet, no access), 4 another format version."
        );
    }

    #[test]
    fn the_crate_documentation_and_the_readme_show_the_enums_table() {
        let table = Exit::table();
        let doc: String = table.lines().map(|line| format!("//! {line}\n")).collect();
        assert!(include_str!("main.rs").contains(&doc), "main.rs's table is not:\n{doc}");
        assert!(
            include_str!("../README.md").contains(&table),
            "the README's table is not:\n{table}"
        );
    }
}
