//! The writer of the workspace's stable JSON shapes: a small value type written as compact,
//! one-line JSON, with the escaping every JSON output of mmap-sync shares.
//!
//! The schema description's [`to_json`](crate::schema::Structure::to_json) and every
//! `--json` line of the `mmap-sync` command are written by it, so a string read from a
//! channel's files is escaped the same way wherever it appears:
//!
//! ```
//! use mmap_sync::json::Json;
//!
//! let line = Json::Obj(vec![
//!     ("type_name", "Routes\u{1b}[2J".into()),
//!     ("copies", 3u64.into()),
//!     ("published_at", Json::Null),
//! ]);
//! assert_eq!(line.to_string(), r#"{"type_name":"Routes\u001b[2J","copies":3,"published_at":null}"#);
//! ```
//!
//! Objects keep their keys in the order given, numbers are unsigned integers (64-bit hashes
//! are written as hex strings by the shapes that carry them, since JavaScript's numbers cannot
//! hold them), and no whitespace is written.

use std::fmt;
use std::path::Path;

use crate::escape::is_escaped;

/// A JSON value, written by its `Display` as one line of compact JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unsigned number.
    Num(u64),
    /// A string, escaped when written (see [`write_str`]).
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in the order given.
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    /// A string, or `null` for `None`.
    pub fn opt_str(value: Option<String>) -> Json {
        value.map_or(Json::Null, Json::Str)
    }

    /// A path, as a string (lossy for paths that are not UTF-8).
    pub fn path(path: &Path) -> Json {
        Json::Str(path.to_string_lossy().into_owned())
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_owned())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Num(n)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Num(n.into())
    }
}

impl From<usize> for Json {
    fn from(n: usize) -> Json {
        Json::Num(n as u64)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => write!(f, "{n}"),
            Json::Str(s) => write_str(f, s),
            Json::Arr(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Obj(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_str(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Writes `text` as a JSON string: quotes, backslashes, `\n`, `\r` and `\t` escaped as JSON
/// writes them, every other character that
/// [`schema::is_escaped`](crate::schema::is_escaped) names (control and bidirectional
/// formatting characters) as `\uXXXX`, and everything else (valid UTF-8 already) as is.
///
/// Valid JSON needs only C0 escaped; the rest of what text output escapes is escaped too, so
/// that JSON shown on a terminal is as harmless as text.
pub fn write_str(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            // Every character `is_escaped` names is below U+10000: one `\uXXXX` each.
            c if is_escaped(c) => write!(out, "\\u{:04x}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_objects_keep_their_key_order() {
        let value = Json::Obj(vec![
            (
                "b",
                Json::Str(
                    "quote \" slash \\ nl \n bell \u{7} del \u{7f} csi \u{9b} rlo \u{202e}".into(),
                ),
            ),
            ("a", Json::Arr(vec![Json::Null, true.into(), 7u64.into()])),
        ]);
        assert_eq!(
            value.to_string(),
            r#"{"b":"quote \" slash \\ nl \n bell \u0007 del \u007f csi \u009b rlo \u202e","a":[null,true,7]}"#
        );
    }

    #[test]
    fn json_escapes_quotes_backslashes_and_control_characters() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\nd\re\tf\u{1}g\u{1f}h\u{7f}i\u{9b}j\u{202e}é").unwrap();
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u001fh\u007fi\u009bj\u202eé""#);
    }

    #[test]
    fn every_escaped_character_fits_one_unicode_escape() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32).filter(|&c| is_escaped(c)) {
            assert!(u32::from(c) <= 0xffff, "{c:?} needs a surrogate pair");
        }
    }
}
