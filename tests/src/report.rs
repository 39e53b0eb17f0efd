//! The line format the test programs print and the tests parse: an event word, then
//! `key=value` fields.
//!
//! ```text
//! published generation=3
//! err kind=Corrupt path=/dev/shm/mmap-sync-test-x/note_state reason="wrong magic ..."
//! ```
//!
//! A value is written bare when it is a non-empty run of printable characters other than
//! spaces, `"` and `\`; otherwise in double quotes, with `\"`, `\\`, `\n`, `\r`, `\t` and
//! `\u{..}` escapes. [`Line`]'s `Display` writes the format and [`Line::parse`] reads it back,
//! so tests compare fields, never the `Debug` text of an error.
//!
//! Outcome lines use the events `ok` and `err`; an `err` line comes from [`error_line`] and
//! always has `kind` (the `mmap_sync::Error` variant) and `path` (the file it names).

use std::fmt::{self, Display, Write as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mmap_sync::Error;

/// One report line: an event and its fields, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    event: String,
    fields: Vec<(String, String)>,
}

impl Line {
    /// A line with `event` and no fields. `event` must be one bare word.
    pub fn new(event: &str) -> Line {
        assert!(is_bare(event) && !event.contains('='), "an event is one bare word: {event:?}");
        Line { event: event.to_owned(), fields: Vec::new() }
    }

    /// Adds the field `key=value`. `key` must be one bare word without `=`.
    pub fn with(mut self, key: &str, value: impl Display) -> Line {
        assert!(is_bare(key) && !key.contains('='), "a key is one bare word: {key:?}");
        self.fields.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds the field `key=<path>` (lossily, for paths that are not UTF-8).
    pub fn with_path(self, key: &str, path: &Path) -> Line {
        self.with(key, path.display())
    }

    /// The event word.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Whether this line's event is `event`.
    pub fn is(&self, event: &str) -> bool {
        self.event == event
    }

    /// The value of `key`, if the line has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of `key`; panics, showing the line, when it has none.
    pub fn field(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| panic!("no {key} in `{self}`"))
    }

    /// The value of `key` parsed as `T` (a number, usually); panics, showing the line, when it
    /// is missing or does not parse.
    pub fn num<T: FromStr>(&self, key: &str) -> T {
        self.field(key).parse().unwrap_or_else(|_| panic!("bad {key} in `{self}`"))
    }

    /// The value of `key` as a path.
    pub fn path(&self, key: &str) -> PathBuf {
        PathBuf::from(self.field(key))
    }

    /// Panics, showing the line, unless it is an `err` line of `kind` naming `path`. Returns
    /// the line for further checks of its fields.
    pub fn assert_error(&self, kind: &str, path: &Path) -> &Line {
        assert!(self.is("err"), "expected an error {kind} naming {}: `{self}`", path.display());
        assert_eq!(self.field("kind"), kind, "wrong error kind: `{self}`");
        assert_eq!(self.path("path"), path, "the error must name {}: `{self}`", path.display());
        self
    }

    /// Parses one line of the format.
    pub fn parse(text: &str) -> Result<Line, String> {
        let mut rest = text.trim_end_matches(['\n', '\r']);
        let event = take_bare(&mut rest);
        if event.is_empty() || event.contains('=') {
            return Err(format!("no event word at the start of {text:?}"));
        }
        let mut line = Line { event: event.to_owned(), fields: Vec::new() };
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                return Ok(line);
            }
            let (key, value) =
                rest.split_once('=').ok_or_else(|| format!("a field without `=` in {text:?}"))?;
            if key.is_empty() || !is_bare(key) {
                return Err(format!("bad key {key:?} in {text:?}"));
            }
            rest = value;
            let value = if rest.starts_with('"') {
                take_quoted(&mut rest).ok_or_else(|| format!("bad quoted value in {text:?}"))?
            } else {
                take_bare(&mut rest).to_owned()
            };
            line.fields.push((key.to_owned(), value));
        }
    }
}

impl Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.event)?;
        for (key, value) in &self.fields {
            write!(f, " {key}=")?;
            if !value.is_empty() && is_bare(value) {
                f.write_str(value)?;
            } else {
                f.write_char('"')?;
                for c in value.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')?;
            }
        }
        Ok(())
    }
}

/// Whether `s` can be written without quotes.
fn is_bare(s: &str) -> bool {
    s.chars().all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\')
}

/// Takes the leading run of bare characters off `rest`.
fn take_bare<'a>(rest: &mut &'a str) -> &'a str {
    let end = rest.find(' ').unwrap_or(rest.len());
    let (word, tail) = rest.split_at(end);
    *rest = tail;
    word
}

/// Takes a quoted value off `rest` (which starts with `"`), unescaping it.
fn take_quoted(rest: &mut &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                *rest = &rest[i + 1..];
                return Some(out);
            }
            '\\' => match chars.next()?.1 {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    if chars.next()?.1 != '{' {
                        return None;
                    }
                    let mut hex = String::new();
                    loop {
                        match chars.next()?.1 {
                            '}' => break,
                            h => hex.push(h),
                        }
                    }
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// Prints `line` on stdout and flushes it, so that a process killed right after still told
/// the test what it had done.
pub fn say(line: &Line) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The `err` line of `error`: `kind` is the variant's name and `path` the file it names; then
/// the variant's own fields:
///
/// * `Corrupt`, `Incompatible`, `InvalidValue`: `reason`;
/// * `SchemaMismatch`: `expected_type`, `expected_fingerprint`, `found_type`,
///   `found_fingerprint`, and `differences` (each difference as the error shows it, `; `
///   between them);
/// * `ReadersFull`: `slots`; `TooLarge`: `size`, `max_size`;
/// * `Io`: `io_kind` (the `std::io::ErrorKind`, as `Debug` names it), `errno` (when the
///   system gave one) and `source` (the I/O error's message);
/// * any variant this function does not know yet: `kind=Unknown` and `message`.
pub fn error_line(error: &Error) -> Line {
    let line = |kind: &str| Line::new("err").with("kind", kind).with_path("path", error.path());
    match error {
        Error::NotPublished { .. } => line("NotPublished"),
        Error::WriterExists { .. } => line("WriterExists"),
        Error::SchemaMismatch { expected, found, differences, .. } => {
            let differences: Vec<String> = differences.iter().map(|d| d.to_string()).collect();
            line("SchemaMismatch")
                .with("expected_type", &expected.type_name)
                .with("expected_fingerprint", expected.fingerprint)
                .with("found_type", &found.type_name)
                .with("found_fingerprint", found.fingerprint)
                .with("differences", differences.join("; "))
        }
        Error::Corrupt { reason, .. } => line("Corrupt").with("reason", reason),
        Error::Incompatible { reason, .. } => line("Incompatible").with("reason", reason),
        Error::ReadersFull { slots, .. } => line("ReadersFull").with("slots", slots),
        Error::WriterBlocked { .. } => line("WriterBlocked"),
        Error::TooLarge { size, max_size, .. } => {
            line("TooLarge").with("size", size).with("max_size", max_size)
        }
        Error::InvalidValue { reason, .. } => line("InvalidValue").with("reason", reason),
        Error::Superseded { .. } => line("Superseded"),
        Error::Forked { .. } => line("Forked"),
        Error::Io { source, .. } => {
            let line = line("Io").with("io_kind", format!("{:?}", source.kind()));
            let line = match source.raw_os_error() {
                Some(errno) => line.with("errno", errno),
                None => line,
            };
            line.with("source", source)
        }
        _ => line("Unknown").with("message", error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back_as_it_was_written_whatever_its_values_hold() {
        let line = Line::new("err")
            .with("kind", "Corrupt")
            .with("path", "/dev/shm/a b/note_state")
            .with("reason", "wrong magic \"\\x00\" = bad\n\ttab \u{1}")
            .with("empty", "")
            .with("eq", "a=b")
            .with("unicode", "déjà vu");
        let text = line.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(Line::parse(&text), Ok(line.clone()));
        assert_eq!(line.field("eq"), "a=b");
        assert_eq!(line.get("missing"), None);
    }

    #[test]
    fn bare_values_stay_unquoted_and_broken_lines_are_refused() {
        let line = Line::new("published").with("generation", 3).with("path", "/x/y_state");
        assert_eq!(line.to_string(), "published generation=3 path=/x/y_state");
        assert_eq!(line.num::<u64>("generation"), 3);
        for broken in ["", "=x", "ok key", "ok =v", "ok k=\"open", "ok k=\"\\q\""] {
            assert!(Line::parse(broken).is_err(), "{broken:?} parsed");
        }
    }

    #[test]
    fn an_error_line_names_the_variant_the_file_and_the_variants_fields() {
        let error = Error::Corrupt { path: "/c/n_state".into(), reason: "copy index 9".into() };
        let line = error_line(&error);
        line.assert_error("Corrupt", Path::new("/c/n_state"));
        assert_eq!(line.field("reason"), "copy index 9");

        let source = std::io::Error::from_raw_os_error(28);
        let line = error_line(&Error::Io { path: "/c/n_data_1".into(), source });
        line.assert_error("Io", Path::new("/c/n_data_1"));
        assert_eq!((line.field("io_kind"), line.num::<i32>("errno")), ("StorageFull", 28));
    }
}
