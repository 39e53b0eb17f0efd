//! The one rule for showing a string read from a channel's files: which characters text and
//! JSON output show escaped, so that a damaged or hostile file cannot break a table, forge a
//! line or send escape sequences to a terminal. Public as `mmap_sync::schema::{is_escaped,
//! printable, printable_cut}`.

use std::borrow::Cow;

/// Whether `c` is shown escaped in text: control characters (C0, DEL and C1, which a terminal
/// may act on) and Unicode's bidirectional formatting characters (which reorder the rest of a
/// line as a terminal shows it).
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character [`is_escaped`] says escaped as Rust writes it (`\n`,
/// `\u{1b}`), so that a string read from a damaged or hostile file cannot break a table, forge
/// a line or send escape sequences to a terminal. Every string read from a channel's files goes
/// through it before it is shown as text (the `mmap-sync` command's tables, the schema
/// description's `Display`s); [`json`](crate::json) escapes the same characters.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`], cut to at most `max` characters: a longer text keeps what fits before a final
/// `…`, and never half an escape. Reads no further into `text` than it shows.
pub fn printable_cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped = is_escaped(c);
        let width = if escaped { c.escape_default().count() } else { 1 };
        // The last character may take the room of the ellipsis it makes unnecessary.
        let room = if chars.peek().is_some() { max.saturating_sub(1) } else { max };
        if shown + width > room {
            if max > 0 {
                out.push('…');
            }
            break;
        }
        if escaped {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        shown += width;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_formatting_characters_are_escaped_like_control_characters() {
        // U+202E would show the rest of the line reversed.
        assert_eq!(printable("a\u{202e}b\u{2066}c"), r"a\u{202e}b\u{2066}c");
        assert_eq!(printable("é ü → ok"), "é ü → ok");
        assert!(matches!(printable("plain"), Cow::Borrowed("plain")));
    }
}
