//! The names of a channel's files, derived from its path prefix.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The longest file name Linux filesystems accept (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// The longest suffix a channel file has: `_readers`, and `_data_15` for the 16th copy.
const LONGEST_SUFFIX: usize = 8;

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
    /// The longest last path component a channel prefix may have, in bytes: 247, so that its
    /// longest file name (`P_readers`, `P_data_15`) fits the 255 bytes a file name may have.
    /// Opening a channel with a longer one fails with an error that names this limit.
    pub const MAX_PREFIX_NAME_LEN: usize = NAME_MAX - LONGEST_SUFFIX;

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

    /// Refuses a prefix whose longest file name would not fit a file name's 255 bytes, naming
    /// the limit ([`Self::MAX_PREFIX_NAME_LEN`]), before any file is touched.
    pub(crate) fn check_name_length(&self) -> Result<()> {
        let len = self.prefix.file_name().map_or(0, |name| name.len());
        if len <= Self::MAX_PREFIX_NAME_LEN {
            return Ok(());
        }
        Err(Error::io(
            &self.prefix,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the channel prefix's last component is {len} bytes; at most \
                     {} fit, so that its longest file name (`_readers`, \
                     `_data_15` appended) stays within the {NAME_MAX} bytes a file name may have",
                    Self::MAX_PREFIX_NAME_LEN
                ),
            ),
        ))
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
