//! The names of a channel's files, derived from its path prefix.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The files of the channel at prefix `P`: `P_state`, `P_readers`, `P_data_0` … `P_data_{N-1}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelPaths {
    /// The prefix the channel was opened with.
    pub prefix: PathBuf,
    /// Header, publish word and copy descriptors; written by the writer only.
    pub state: PathBuf,
    /// The reader slot table; each reader writes its own slot.
    pub readers: PathBuf,
}

impl ChannelPaths {
    /// The paths for the channel at `prefix`.
    pub fn new(prefix: impl AsRef<Path>) -> Self {
        let prefix = prefix.as_ref().to_path_buf();
        ChannelPaths {
            state: suffixed(&prefix, "_state"),
            readers: suffixed(&prefix, "_readers"),
            prefix,
        }
    }

    /// The data file of copy `index`.
    pub fn data(&self, index: usize) -> PathBuf {
        suffixed(&self.prefix, &format!("_data_{index}"))
    }
}

fn suffixed(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}
