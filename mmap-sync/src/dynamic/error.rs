//! [`DynError`]: what went wrong reading a value through its structure, and where.

use std::fmt;

/// What kind of problem a [`DynError`] reports, so that a caller (a Python binding, the
/// command) can map it to its own errors without reading the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DynErrorKind {
    /// The structure is refused: an encoding this decoder does not read, or a description that
    /// contradicts rkyv 0.8's layouts (a hostile or damaged description).
    Structure,
    /// The bytes are not a valid archive of the structure: a relative pointer out of range or
    /// misaligned, a length that does not fit, a string that is not UTF-8, an invalid `bool`,
    /// `char`, enum or option tag, a hash table or B-tree that breaks rkyv's invariants.
    Corrupt,
    /// A limit of the decoder: nesting deeper than [`MAX_DEPTH`](super::MAX_DEPTH), or more
    /// work than the budget of a walk (see [`work_budget`](super::work_budget)).
    Limit,
    /// No such field, key or variant field, or an `Option` that is `None` on the way.
    NotFound,
    /// An index past the end.
    OutOfRange,
    /// The operation does not apply to the value's kind (a field of an integer, `as_str` of a
    /// list, a lookup in a map whose keys are not strings, integers, `char`s or `bool`s).
    WrongKind,
    /// A number that does not fit the type asked for (`as_i64` of a `u64` above `i64::MAX`).
    Range,
    /// A path given to [`Value::at`](super::Value::at) that does not parse.
    Path,
    /// Writing JSON to the output failed.
    Output,
}

/// An error reading a value through its structure: its [kind](DynErrorKind), the path of the
/// value where the problem was found (`routes[3].prefix`), and what is wrong. `Display` writes
/// `routes[3].prefix: <what is wrong>`, or the message alone at the starting value.
///
/// Navigation methods ([`field`](super::Value::field), [`index`](super::Value::index),
/// [`get`](super::Value::get)) name the path relative to the value they were called on;
/// [`at`](super::Value::at) and the whole-value walks ([`check`](super::Value::check),
/// [`to_json`](super::Value::to_json)) the full path from where they started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynError {
    kind: DynErrorKind,
    path: String,
    message: String,
}

impl DynError {
    pub(super) fn new(kind: DynErrorKind, message: impl Into<String>) -> DynError {
        DynError { kind, path: String::new(), message: message.into() }
    }

    pub(super) fn corrupt(message: impl Into<String>) -> DynError {
        DynError::new(DynErrorKind::Corrupt, message)
    }

    pub(super) fn structure(path: &str, message: impl Into<String>) -> DynError {
        DynError { kind: DynErrorKind::Structure, path: path.to_owned(), message: message.into() }
    }

    pub(super) fn wrong_kind(message: impl Into<String>) -> DynError {
        DynError::new(DynErrorKind::WrongKind, message)
    }

    pub(super) fn not_found(message: impl Into<String>) -> DynError {
        DynError::new(DynErrorKind::NotFound, message)
    }

    pub(super) fn limit(message: impl Into<String>) -> DynError {
        DynError::new(DynErrorKind::Limit, message)
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> DynErrorKind {
        self.kind
    }

    /// The path of the value where the problem was found (`routes[3].prefix`), empty for the
    /// value the operation started at.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error one field further from the start: `name` is prepended to the path.
    pub(super) fn under_field(self, name: &str) -> DynError {
        self.under(name)
    }

    /// The same error under element `index`.
    pub(super) fn under_index(self, index: usize) -> DynError {
        self.under(&format!("[{index}]"))
    }

    /// The same error under a map key, written as in a path (`"a"` or `3`).
    pub(super) fn under_key(self, key: &str) -> DynError {
        self.under(&format!("[{key}]"))
    }

    /// The same error under a path prefix written as [`at`](super::Value::at) reads it.
    pub(super) fn under_path(self, prefix: &str) -> DynError {
        self.under(prefix)
    }

    fn under(mut self, segment: &str) -> DynError {
        if segment.is_empty() {
            return self;
        }
        let joined = if self.path.is_empty() {
            segment.to_owned()
        } else if self.path.starts_with('[') {
            format!("{segment}{}", self.path)
        } else {
            format!("{segment}.{}", self.path)
        };
        self.path = joined;
        self
    }
}

impl fmt::Display for DynError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DynError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_fields_with_dots_and_indexes_with_brackets() {
        let e = DynError::corrupt("bad").under_field("prefix").under_index(3).under_field("routes");
        assert_eq!(e.to_string(), "routes[3].prefix: bad");
        let e = DynError::corrupt("bad").under_key("\"a\"").under_field("map");
        assert_eq!(e.path(), "map[\"a\"]");
        let e = DynError::corrupt("bad").under_index(0);
        assert_eq!(e.to_string(), "[0]: bad");
        assert_eq!(DynError::corrupt("bad").to_string(), "bad");
        let e = DynError::corrupt("bad").under_field("x").under_path("a[2]");
        assert_eq!(e.path(), "a[2].x");
    }
}
