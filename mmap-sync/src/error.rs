//! The one error type of the crate. Every variant names the file it is about.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a channel's files say about the type of the value they hold.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Schema {
    /// The Rust type name recorded by the writer (truncated to what the header holds).
    pub type_name: String,
    /// The 64-bit schema fingerprint (see `SharedState::FINGERPRINT`).
    pub fingerprint: u64,
}

/// The type name comes from a channel file: it is escaped, so that no control sequence in it
/// reaches a terminal through an error message.
impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = crate::schema::printable(&self.type_name);
        write!(f, "{name} (fingerprint {:#018x})", self.fingerprint)
    }
}

/// Fingerprints in hex, as every message shows them.
impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("type_name", &self.type_name)
            .field("fingerprint", &format_args!("{:#018x}", self.fingerprint))
            .finish()
    }
}

/// The differences of a schema mismatch, as the error message lists them.
struct DifferencesText<'a>(&'a [crate::schema::Difference]);

impl fmt::Display for DifferencesText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        for (i, difference) in self.0.iter().take(SHOWN).enumerate() {
            write!(f, "{}{difference}", if i == 0 { ": " } else { "; " })?;
        }
        if self.0.len() > SHOWN {
            write!(f, "; and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong when opening, writing or reading a channel.
///
/// Matching should use `{ .. }` patterns: variants may gain fields.
///
/// `Debug` reads like `Display`, prefixed with the variant's name (`NotPublished: /dev/shm/x_state:
/// nothing published yet`), so that `fn main() -> mmap_sync::Result<()>` prints what is wrong,
/// with hex fingerprints, instead of a struct dump.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing has been published at this path yet (no file, no magic, or generation 0).
    /// A reader can wait for it with `Reader::wait_for_change` or `ReaderBuilder::open_wait`.
    #[error("{}: nothing published yet", path.display())]
    NotPublished {
        /// The state file (or the path where it was expected).
        path: PathBuf,
    },

    /// Another live writer holds this channel's writer lock.
    #[error("{}: another writer holds this channel", path.display())]
    WriterExists {
        /// The channel's state file.
        path: PathBuf,
    },

    /// The files hold a value of another type (or another version of the type). When both
    /// sides' types carry a description (`#[derive(SharedState)]`), `differences` says which
    /// fields differ.
    #[error("{}: schema mismatch: expected {expected}, found {found}{}", path.display(), DifferencesText(differences))]
    SchemaMismatch {
        /// The file whose schema did not match (the state file, or a data file whose copy
        /// carries another fingerprint).
        path: PathBuf,
        /// This program's type.
        expected: Schema,
        /// What the channel holds.
        found: Schema,
        /// The fields that differ, when both sides have a schema description; empty otherwise.
        differences: Vec<crate::schema::Difference>,
    },

    /// A file's content is malformed: too short, wrong magic, unknown format version, a copy
    /// whose checksum or archive validation fails, a data file shorter than its descriptor.
    #[error("{}: corrupt: {reason}", path.display())]
    Corrupt {
        /// The malformed file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The files were created with another layout (copy count, reader slots) than asked for.
    #[error("{}: incompatible channel layout: {reason}", path.display())]
    Incompatible {
        /// The file whose layout differs.
        path: PathBuf,
        /// What differs.
        reason: String,
    },

    /// Every reader slot is held by a live reader.
    #[error("{}: all {slots} reader slots are in use", path.display())]
    ReadersFull {
        /// The readers file.
        path: PathBuf,
        /// How many slots the channel has.
        slots: u32,
    },

    /// Every copy other than the active one stayed pinned by live readers for the writer's
    /// whole wait limit; nothing was written and the last published value is untouched.
    #[error(
        "{}: every free copy is pinned by a live reader; gave up after {waited:?}",
        path.display()
    )]
    WriterBlocked {
        /// The readers file (whose pins blocked the writer).
        path: PathBuf,
        /// How long the writer waited.
        waited: Duration,
    },

    /// The archived value is larger than the channel's `max_size`; nothing was published.
    #[error("{}: value of {size} bytes exceeds max_size {max_size}", path.display())]
    TooLarge {
        /// The data file the value was to go to.
        path: PathBuf,
        /// The archived value's size in bytes.
        size: u64,
        /// The channel's limit in bytes.
        max_size: u64,
    },

    /// The value could not be serialized, or bytes given to `write_bytes` are not a valid
    /// archive of the channel's type.
    #[error("{}: invalid value: {reason}", path.display())]
    InvalidValue {
        /// The data file the value was written to (nothing was published).
        path: PathBuf,
        /// Why the value was refused.
        reason: String,
    },

    /// The channel's files were replaced by a new set (a writer found this set damaged or
    /// incomplete and started a new one). This reader keeps serving the last value it had but
    /// will see no new one; open a new reader to follow the channel.
    #[error("{}: the channel's files were replaced by a new set; reopen to follow it", path.display())]
    Superseded {
        /// The state file of the replaced set.
        path: PathBuf,
    },

    /// A handle opened before `fork()` was used in the child for something only its owner may
    /// do: a `Writer` (the parent still is the channel's writer) or a lock the parent holds.
    #[error("{}: this handle belongs to the parent process (opened before fork); open a new one", path.display())]
    Forked {
        /// The file whose lock the parent holds.
        path: PathBuf,
    },

    /// The channel's writer recorded no structure of its type (a hand-written `SharedState`
    /// impl, or the upstream-style `Synchronizer` facade): the value can be read only by a
    /// program that has the Rust type.
    #[error(
        "{}: the channel holds {}, whose writer recorded no structure (a hand-written SharedState \
         or the Synchronizer facade); only a program built with that Rust type can read it",
        path.display(),
        crate::escape::printable(type_name)
    )]
    NoStructure {
        /// The state file.
        path: PathBuf,
        /// The type name the channel records.
        type_name: String,
    },

    /// An operating-system error on the named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file the operation was on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.kind_name())?;
        if let Error::Io { source, .. } = self {
            write!(f, " ({:?})", source.kind())?;
        }
        Ok(())
    }
}

impl Error {
    /// The variant's name, as `Debug` shows it (`"Corrupt"`, `"SchemaMismatch"`, ...): for
    /// bindings and logs that report the kind of an error by name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::NotPublished { .. } => "NotPublished",
            Error::WriterExists { .. } => "WriterExists",
            Error::SchemaMismatch { .. } => "SchemaMismatch",
            Error::Corrupt { .. } => "Corrupt",
            Error::Incompatible { .. } => "Incompatible",
            Error::ReadersFull { .. } => "ReadersFull",
            Error::WriterBlocked { .. } => "WriterBlocked",
            Error::TooLarge { .. } => "TooLarge",
            Error::InvalidValue { .. } => "InvalidValue",
            Error::Superseded { .. } => "Superseded",
            Error::Forked { .. } => "Forked",
            Error::NoStructure { .. } => "NoStructure",
            Error::Io { .. } => "Io",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::NotPublished { path }
            | Error::WriterExists { path }
            | Error::SchemaMismatch { path, .. }
            | Error::Corrupt { path, .. }
            | Error::Incompatible { path, .. }
            | Error::ReadersFull { path, .. }
            | Error::WriterBlocked { path, .. }
            | Error::TooLarge { path, .. }
            | Error::InvalidValue { path, .. }
            | Error::Superseded { path }
            | Error::Forked { path }
            | Error::NoStructure { path, .. }
            | Error::Io { path, .. } => path,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt { path: path.into(), reason: reason.into() }
    }

    /// The same error again, for a second receiver: a failure remembered for every later read
    /// of a generation, or told to every subscriber. Every variant keeps its kind and fields;
    /// an `io::Error` (not `Clone`) becomes one of the same kind and message.
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Error::NotPublished { path } => Error::NotPublished { path: path.clone() },
            Error::WriterExists { path } => Error::WriterExists { path: path.clone() },
            Error::SchemaMismatch { path, expected, found, differences } => Error::SchemaMismatch {
                path: path.clone(),
                expected: expected.clone(),
                found: found.clone(),
                differences: differences.clone(),
            },
            Error::Corrupt { path, reason } => Error::corrupt(path, reason.clone()),
            Error::Incompatible { path, reason } => {
                Error::Incompatible { path: path.clone(), reason: reason.clone() }
            }
            Error::ReadersFull { path, slots } => {
                Error::ReadersFull { path: path.clone(), slots: *slots }
            }
            Error::WriterBlocked { path, waited } => {
                Error::WriterBlocked { path: path.clone(), waited: *waited }
            }
            Error::TooLarge { path, size, max_size } => {
                Error::TooLarge { path: path.clone(), size: *size, max_size: *max_size }
            }
            Error::InvalidValue { path, reason } => {
                Error::InvalidValue { path: path.clone(), reason: reason.clone() }
            }
            Error::Superseded { path } => Error::Superseded { path: path.clone() },
            Error::Forked { path } => Error::Forked { path: path.clone() },
            Error::NoStructure { path, type_name } => {
                Error::NoStructure { path: path.clone(), type_name: type_name.clone() }
            }
            Error::Io { path, source } => {
                Error::io(path, io::Error::new(source.kind(), source.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch() -> Error {
        Error::SchemaMismatch {
            path: PathBuf::from("/dev/shm/hello_state"),
            expected: Schema { type_name: "Hello".into(), fingerprint: 0x1234_5678_9abc_def0 },
            found: Schema { type_name: "Hello".into(), fingerprint: 0x0fed_cba9_8765_4321 },
            differences: Vec::new(),
        }
    }

    #[test]
    fn debug_reads_like_display_so_main_returning_an_error_says_what_is_wrong() {
        let error = mismatch();
        let debug = format!("{error:?}");
        assert_eq!(debug, format!("SchemaMismatch: {error}"));
        assert!(debug.contains("0x123456789abcdef0") && debug.contains("0x0fedcba987654321"));
        // No decimal fingerprint and no struct dump.
        assert!(!debug.contains(&0x1234_5678_9abc_def0u64.to_string()), "{debug}");
        assert!(!debug.contains("expected: Schema {"), "{debug}");

        let io = Error::io("/dev/shm/hello_readers", io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(format!("{io:?}"), format!("Io: {io} (NotFound)"));
        assert!(format!("{io:?}").contains("/dev/shm/hello_readers"));
    }

    #[test]
    fn a_type_name_from_a_file_is_escaped_in_messages() {
        let schema =
            Schema { type_name: "Evil\u{1b}]0;owned\u{7}\u{1b}[2J".into(), fingerprint: 1 };
        let shown = schema.to_string();
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
        assert!(shown.starts_with("Evil"), "{shown:?}");
    }

    #[test]
    fn a_schema_debugs_its_fingerprint_in_hex() {
        let schema = Schema { type_name: "Hello".into(), fingerprint: 255 };
        assert_eq!(
            format!("{schema:?}"),
            "Schema { type_name: \"Hello\", fingerprint: 0x00000000000000ff }"
        );
    }
}
