//! The `--json` output: a small value type written as compact, one-line JSON.

use std::fmt;
use std::path::Path;

/// A JSON value.
#[derive(Clone, Debug)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unsigned number.
    Num(u64),
    /// A string (escaped when written).
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in the order given.
    Obj(Vec<(&'static str, Json)>),
    /// Already-encoded JSON (the schema description's own `to_json`).
    Raw(String),
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
            Json::Raw(raw) => f.write_str(raw),
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

fn write_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            // Valid JSON needs only C0 escaped; the rest of what text output escapes is
            // escaped too, so that JSON shown on a terminal is as harmless as text.
            c if mmap_sync::schema::is_escaped(c) => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
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
}
