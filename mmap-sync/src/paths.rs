//! The names of a channel's files, derived from its path prefix.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The files of the channel at prefix `P`: `P_state`, `P_readers`, `P_data_0` … `P_data_{N-1}`,
/// and the writer's lock file `P_writer`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelPaths {
    /// The prefix the channel was opened with.
    pub prefix: PathBuf,
    /// Header, publish word and copy descriptors; written by the writer only.
    pub state: PathBuf,
    /// The reader slot table; each reader writes its own slot.
    pub readers: PathBuf,
    /// The writer's lock file: empty, mode 0600, locked by the live writer.
    pub writer: PathBuf,
}

impl ChannelPaths {
    /// The paths for the channel at `prefix`.
    pub fn new(prefix: impl AsRef<Path>) -> Self {
        let prefix = prefix.as_ref().to_path_buf();
        ChannelPaths {
            state: suffixed(&prefix, "_state"),
            readers: suffixed(&prefix, "_readers"),
            writer: suffixed(&prefix, "_writer"),
            prefix,
        }
    }

    /// The data file of copy `index`.
    pub fn data(&self, index: usize) -> PathBuf {
        suffixed(&self.prefix, &format!("_data_{index}"))
    }

    /// Every file of a channel with `copies` copies: state, readers, data files, writer lock.
    pub fn all(&self, copies: usize) -> Vec<PathBuf> {
        let mut all = vec![self.state.clone(), self.readers.clone()];
        all.extend((0..copies).map(|i| self.data(i)));
        all.push(self.writer.clone());
        all
    }
}

fn suffixed(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}
