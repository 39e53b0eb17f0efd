//! The binary's exit codes: one enum, whose `Display` is the help text that documents them.

use std::fmt;
use std::process::ExitCode;

/// How a command ended. The discriminant is the process's exit code; what each means is
/// [`Exit::meaning`], which `--help` prints.
/// Codes are ordered by how bad they are only among `status`'s (0, 9, 10, 11), which is how
/// `status --config` picks the worst of its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    WriterExists = 3,
    WrongChannel = 4,
    ChannelIo = 5,
    Conflict = 6,
    InvalidInput = 7,
    Unreachable = 8,
    Behind = 9,
    NotRunning = 10,
    NoStatus = 11,
}

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 12] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::WriterExists,
        Exit::WrongChannel,
        Exit::ChannelIo,
        Exit::Conflict,
        Exit::InvalidInput,
        Exit::Unreachable,
        Exit::Behind,
        Exit::NotRunning,
        Exit::NoStatus,
    ];

    /// What the code means, as `--help` prints it.
    fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => {
                "follow: stopped by SIGTERM or SIGINT; publish: published; status: up to date and running; mirror: the mirrors are in place"
            }
            Exit::Failure => "unexpected failure (see the message)",
            Exit::Usage => "usage error",
            Exit::WriterExists => {
                "follow: another writer holds the channel (do not restart in a loop: find the other writer)"
            }
            Exit::WrongChannel => {
                "follow: the channel holds another type or layout (or not --expect-type), records no structure, or its files are damaged"
            }
            Exit::ChannelIo => {
                "follow: I/O error on the channel or the status file (permissions, disk)"
            }
            Exit::Conflict => {
                "publish: conflict, another publisher moved the manifest first (nothing was published); mirror: a stream of a mirror's name exists and is not that mirror (it was left as it is)"
            }
            Exit::InvalidInput => {
                "publish: the local channel holds nothing, records no structure or cannot be read, or the input is not a valid archive of its type"
            }
            Exit::Unreachable => {
                "publish, mirror, demo: the server cannot be reached (mirror: or it cannot reach the hub)"
            }
            Exit::Behind => {
                "status: the relay is behind the source, its last attempt failed, it went silent, or it cannot open the channel"
            }
            Exit::NotRunning => "status: the relay is not running",
            Exit::NoStatus => "status: no readable status file at that path",
        }
    }

    /// The help text: every code with its meaning.
    pub fn help() -> String {
        let mut text = String::from("Exit codes:\n");
        for code in Exit::ALL {
            text.push_str(&format!("{code}\n"));
        }
        text.push_str(
            "\nA source that is unreachable or misbehaving never makes `follow` exit: it retries \
             with backoff\nand reports the problem in its status file and logs, keeping the \
             channel's value live.",
        );
        text
    }
}

/// One line of the help text: `  3   follow: another writer holds the channel (..)`.
impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  {:<3} {}", *self as u8, self.meaning())
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_in_order() {
        for (index, code) in Exit::ALL.into_iter().enumerate() {
            assert_eq!(code as usize, index);
        }
        let help = Exit::help();
        for code in Exit::ALL {
            assert_eq!(help.matches(&format!("\n{code}\n")).count(), 1, "{help}");
        }
    }
}
