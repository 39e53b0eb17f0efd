//! [`SynchronizerError`], the facade's error with upstream's variants, and how every error of
//! the crate maps onto them.

use std::io;
use std::path::Path;

use crate::error::Error;

/// The errors of the facade, with upstream's variants, so that code matching them compiles.
///
/// Every error of this crate ([`Error`]) reaches the facade's caller in one of them:
///
/// | [`Error`] | `SynchronizerError` |
/// | --- | --- |
/// | `NotPublished`, no state file yet | `FailedStateRead`, kind `NotFound` |
/// | `NotPublished`, state file without a value yet | `UninitializedState` |
/// | `WriterExists` | `WriteLockConflict` |
/// | `Io` on a data file | `FailedDataRead` (reading) or `FailedDataWrite` (writing), the OS error's kind |
/// | `Io` on another file | `FailedStateRead`, the OS error's kind |
/// | `Corrupt` on a data file (checksum, bytecheck, truncation) | `FailedDataRead`/`FailedDataWrite`, kind `InvalidData` |
/// | `SchemaMismatch`, `Incompatible`, `Corrupt` on another file | `FailedStateRead`, kind `InvalidData` |
/// | `ReadersFull` | `FailedStateRead`, kind `ResourceBusy` |
/// | `Superseded` | `FailedStateRead`, kind `Other` |
/// | `WriterBlocked` | `FailedDataWrite`, kind `TimedOut` |
/// | `TooLarge` | `FailedDataWrite`, kind `FileTooLarge` |
/// | `InvalidValue` (a value rkyv cannot serialize, bytes that are not an archive of `T`) | `FailedDataWrite`, kind `InvalidData` |
/// | `Forked` | `FailedDataWrite`, kind `Other` |
///
/// The `io::Error` of the three tuple variants carries the crate's [`Error`], which names the
/// file and says what is wrong; [`SynchronizerError::error`] returns it, and `e.kind()` on the
/// `io::Error` tells a missing file (`NotFound`) from the rest, as with upstream.
/// `FailedEntityWrite`, `FailedEntityRead` and `InvalidInstanceVersionParams` are never
/// returned: what upstream reported through them is reported above, with the file and the
/// reason.
#[derive(Debug, thiserror::Error)]
pub enum SynchronizerError {
    /// Writing the value failed (see the table above).
    #[error("error writing data file: {0}")]
    FailedDataWrite(io::Error),
    /// A data copy could not be read or failed validation.
    #[error("error reading data file: {0}")]
    FailedDataRead(io::Error),
    /// The state file (or the readers file) could not be read, does not exist, or holds another
    /// type.
    #[error("error reading state file: {0}")]
    FailedStateRead(io::Error),
    /// Never returned (kept for code that matches it).
    #[error("error writing entity")]
    FailedEntityWrite,
    /// Never returned (kept for code that matches it).
    #[error("error reading entity")]
    FailedEntityRead,
    /// The channel's files exist but no value has been published yet.
    #[error("uninitialized state")]
    UninitializedState,
    /// Never returned (kept for code that matches it).
    #[error("invalid instance version params")]
    InvalidInstanceVersionParams,
    /// Another live writer holds the channel (whatever lock strategy either names).
    #[error("write blocked by conflicting lock")]
    WriteLockConflict,
}

impl SynchronizerError {
    /// The crate's error inside a `FailedStateRead`, `FailedDataRead` or `FailedDataWrite`: it
    /// names the file and says what is wrong.
    pub fn error(&self) -> Option<&Error> {
        match self {
            SynchronizerError::FailedDataWrite(e)
            | SynchronizerError::FailedDataRead(e)
            | SynchronizerError::FailedStateRead(e) => e.get_ref()?.downcast_ref::<Error>(),
            _ => None,
        }
    }

    /// The facade's error for `error`, met while writing (`true`) or reading.
    #[cold]
    #[inline(never)]
    pub(super) fn new(error: Error, writing: bool) -> Self {
        use io::ErrorKind as Kind;
        let on_data = is_data_file(error.path());
        let data = |kind: Kind, error: Error| {
            let e = io::Error::new(kind, error);
            if writing {
                SynchronizerError::FailedDataWrite(e)
            } else {
                SynchronizerError::FailedDataRead(e)
            }
        };
        let state = |kind: Kind, error: Error| {
            SynchronizerError::FailedStateRead(io::Error::new(kind, error))
        };
        match error {
            Error::NotPublished { ref path } => match std::fs::symlink_metadata(path) {
                Err(e) if e.kind() == Kind::NotFound => state(Kind::NotFound, error),
                _ => SynchronizerError::UninitializedState,
            },
            Error::WriterExists { .. } => SynchronizerError::WriteLockConflict,
            Error::Io { ref source, .. } => {
                let kind = source.kind();
                if on_data { data(kind, error) } else { state(kind, error) }
            }
            Error::Corrupt { .. } if on_data => data(Kind::InvalidData, error),
            Error::SchemaMismatch { .. } | Error::Incompatible { .. } | Error::Corrupt { .. } => {
                state(Kind::InvalidData, error)
            }
            Error::ReadersFull { .. } => state(Kind::ResourceBusy, error),
            Error::Superseded { .. } => state(Kind::Other, error),
            Error::WriterBlocked { .. } => data(Kind::TimedOut, error),
            Error::TooLarge { .. } => data(Kind::FileTooLarge, error),
            Error::InvalidValue { .. } => data(Kind::InvalidData, error),
            _ => data(Kind::Other, error),
        }
    }
}

impl From<Error> for SynchronizerError {
    /// As the facade reports `error` (see the table on [`SynchronizerError`]); errors only a
    /// writer meets become `FailedDataWrite`, others the read side's variant.
    fn from(error: Error) -> Self {
        let writing = matches!(
            error,
            Error::WriterBlocked { .. }
                | Error::TooLarge { .. }
                | Error::InvalidValue { .. }
                | Error::Forked { .. }
        );
        SynchronizerError::new(error, writing)
    }
}

/// Whether `path` names a data copy (`P_data_i`).
fn is_data_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once("_data_"))
        .is_some_and(|(_, index)| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_data_copies_count_as_data_files() {
        assert!(is_data_file(Path::new("/dev/shm/hello_world_data_0")));
        assert!(is_data_file(Path::new("/dev/shm/my_data_set_data_12")));
        assert!(!is_data_file(Path::new("/dev/shm/hello_world_state")));
        assert!(!is_data_file(Path::new("/dev/shm/my_data_set_readers")));
        assert!(!is_data_file(Path::new("/dev/shm/x_data_")));
    }
}
