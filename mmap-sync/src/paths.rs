//! The names of a channel's files, derived from its path prefix.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
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
            state: suffixed(&prefix, &["_state"]),
            readers: suffixed(&prefix, &["_readers"]),
            writer: suffixed(&prefix, &["_writer"]),
            prefix,
        }
    }

    /// Refuses a prefix whose longest file name would not fit a file name's 255 bytes, naming
    /// the limit ([`Self::MAX_PREFIX_NAME_LEN`]), before any file is touched.
    pub(crate) fn check_name_length(&self) -> Result<()> {
        // The bytes after the last `/`: what the suffixes are appended to.
        let bytes = self.prefix.as_os_str().as_bytes();
        let len = bytes.rsplit(|&b| b == b'/').next().map_or(0, <[u8]>::len);
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
        // Built in one allocation: a reader makes one per copy at every open.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = index;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let digits = std::str::from_utf8(&digits[at..]).expect("ASCII digits");
        suffixed(&self.prefix, &["_data_", digits])
    }

    /// Every file of a channel with `copies` copies: state, readers, data files, writer lock.
    pub fn all(&self, copies: usize) -> Vec<PathBuf> {
        let mut all = vec![self.state.clone(), self.readers.clone()];
        all.extend((0..copies).map(|i| self.data(i)));
        all.push(self.writer.clone());
        all
    }
}

/// `prefix` with `parts` appended to its last component, in one allocation.
fn suffixed(prefix: &Path, parts: &[&str]) -> PathBuf {
    let len = prefix.as_os_str().len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut name = OsString::with_capacity(len);
    name.push(prefix.as_os_str());
    for part in parts {
        name.push(part);
    }
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_append_their_suffixes_to_the_prefix() {
        let paths = ChannelPaths::new("/dev/shm/a.b/chan");
        assert_eq!(paths.state, Path::new("/dev/shm/a.b/chan_state"));
        assert_eq!(paths.readers, Path::new("/dev/shm/a.b/chan_readers"));
        assert_eq!(paths.writer, Path::new("/dev/shm/a.b/chan_writer"));
        for (index, name) in [(0, "chan_data_0"), (9, "chan_data_9"), (10, "chan_data_10")] {
            assert_eq!(paths.data(index), Path::new("/dev/shm/a.b").join(name));
        }
        assert_eq!(
            paths.data(usize::MAX),
            Path::new(&format!("/dev/shm/a.b/chan_data_{}", usize::MAX))
        );
    }
}
