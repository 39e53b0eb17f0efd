//! The channel `PATH` names, opened for looking; or a failure that says why there is none, more
//! precisely than the library can (one of a channel's files given instead of its prefix, no
//! file of a channel at all, or only some).

use std::path::{Path, PathBuf};

use mmap_sync::inspect::Channel;
use mmap_sync::{ChannelPaths, Error};

use crate::exit::Exit;
use crate::failure::Failure;

/// The suffixes of a channel's file names after its prefix (`_data_` takes a copy index).
const FILE_SUFFIXES: [&str; 4] = ["_state", "_readers", "_writer", "_data_"];

/// `path` as the prefix of a channel it names one file of (`P_state`, `P_readers`, `P_writer`,
/// `P_data_N`), when it ends like one.
fn prefix_of_file(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    FILE_SUFFIXES.iter().find_map(|suffix| {
        let at = name.rfind(suffix)?;
        let rest = &name[at + suffix.len()..];
        let whole = match *suffix {
            "_data_" => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()),
            _ => rest.is_empty(),
        };
        (whole && at > 0).then(|| path.with_file_name(&name[..at]))
    })
}

/// Whether anything (a file, a link, a FIFO) is at `path`.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Opening `path` failed with `error`; when that is because no state file is there, says why
/// more precisely than the library can: `path` names one of a channel's files instead of its
/// prefix, or no file of a channel is there at all, or only some are.
pub fn diagnose(path: &Path, error: Error) -> Failure {
    let Error::NotPublished { path: state } = &error else { return error.into() };
    if exists(state) {
        // The state file is there without its magic: the writer has not finished it.
        return error.into();
    }
    if let Some(prefix) = prefix_of_file(path)
        && (exists(path) || exists(&ChannelPaths::new(&prefix).state))
    {
        return Failure::new(
            Exit::Usage,
            "not_a_prefix",
            Some(path.to_owned()),
            format!(
                "{} is one of a channel's files; PATH is the channel's prefix: did you mean {}?",
                path.display(),
                prefix.display()
            ),
        );
    }
    let paths = ChannelPaths::new(path);
    let others = [&paths.readers, &paths.data(0), &paths.writer];
    let partial = match others.into_iter().find(|file| exists(file)) {
        Some(file) => format!(
            " ({} does: a writer may be creating the channel, or its state file was removed)",
            file.display()
        ),
        None => String::new(),
    };
    Failure::new(
        Exit::NothingToRead,
        "no_channel",
        Some(state.clone()),
        format!("no channel at {}: {} does not exist{partial}", path.display(), state.display()),
    )
}

/// The channel at `path`, or why there is none.
pub fn open(path: &Path) -> Result<Channel, Failure> {
    Channel::open(path).map_err(|e| diagnose(path, e))
}
