//! [`Value::at`]: a path such as `routes[3].prefix` or `limits["eu-west"]`, parsed and followed.

use std::borrow::Cow;

use crate::escape::printable;
use crate::schema::{Int, Shape};

use super::error::{DynError, DynErrorKind};
use super::key::Key;
use super::value::{Kind, Value, strip_box};

impl<'a> Value<'a> {
    /// The value at `path`, relative to this one:
    ///
    /// * `name` or `.name`: a field of a struct or of an enum's current variant (`0`, `1`, ..
    ///   for unnamed fields);
    /// * `[3]`: an element of a list or tuple, or a field of a tuple struct;
    /// * `[key]` or `["key"]`: a map's value or a set's element, the key read as the map's key
    ///   type (a string, an integer, `true`/`false`, a character); quoted keys take JSON's
    ///   escapes and may hold `]` and `.`.
    ///
    /// `Box`es are followed and `Option`s opened on the way (`None` is
    /// [`NotFound`](DynErrorKind::NotFound)); an empty path is the value itself. Errors name
    /// the path up to the failing part (`routes[3].prefix: ...`).
    pub fn at(&self, path: &str) -> Result<Value<'a>, DynError> {
        let mut parser = Parser { path, position: 0 };
        let mut value = *self;
        loop {
            let prefix = parser.consumed();
            let Some(segment) = parser.next().map_err(|e| e.under_path(prefix))? else {
                return Ok(value);
            };
            value = step(value, &segment).map_err(|e| e.under_path(prefix))?;
        }
    }
}

enum Segment<'p> {
    Field(&'p str),
    Bracket(Cow<'p, str>),
}

struct Parser<'p> {
    path: &'p str,
    position: usize,
}

impl<'p> Parser<'p> {
    /// What has been read, as a path prefix (without a leading `.`).
    fn consumed(&self) -> &'p str {
        let done = &self.path[..self.position];
        done.strip_prefix('.').unwrap_or(done)
    }

    fn error(&self, message: String) -> DynError {
        DynError::new(DynErrorKind::Path, message)
    }

    fn next(&mut self) -> Result<Option<Segment<'p>>, DynError> {
        let rest = &self.path[self.position..];
        let Some(first) = rest.chars().next() else {
            return Ok(None);
        };
        match first {
            '[' => self.bracket().map(Some),
            '.' => {
                self.position += 1;
                self.field().map(Some)
            }
            _ if self.position == 0 => self.field().map(Some),
            other => Err(self.error(format!(
                "expected `.` or `[` at byte {} of the path, found `{}`",
                self.position,
                printable(&other.to_string())
            ))),
        }
    }

    fn field(&mut self) -> Result<Segment<'p>, DynError> {
        let rest = &self.path[self.position..];
        let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
        if end == 0 {
            return Err(
                self.error(format!("an empty field name at byte {} of the path", self.position))
            );
        }
        self.position += end;
        Ok(Segment::Field(&rest[..end]))
    }

    fn bracket(&mut self) -> Result<Segment<'p>, DynError> {
        let start = self.position;
        let rest = &self.path[start + 1..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let (text, used) = unquote(quoted).ok_or_else(|| {
                self.error(format!(
                    "an unterminated or badly escaped string at byte {start} of the path"
                ))
            })?;
            let after = &quoted[used..];
            if !after.starts_with(']') {
                return Err(self
                    .error(format!("expected `]` after the string at byte {start} of the path")));
            }
            self.position = start + 1 + 1 + used + 1;
            return Ok(Segment::Bracket(text));
        }
        let Some(end) = rest.find(']') else {
            return Err(self.error(format!("a `[` at byte {start} of the path without its `]`")));
        };
        self.position = start + 1 + end + 1;
        Ok(Segment::Bracket(Cow::Borrowed(&rest[..end])))
    }
}

/// A JSON string's content up to its closing quote: the text, and the bytes used including the
/// quote. `None` when it does not end or has an escape JSON does not know.
fn unquote(text: &str) -> Option<(Cow<'_, str>, usize)> {
    let end = text.find(['"', '\\'])?;
    if text.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&text[..end]), end + 1));
    }
    let mut out = String::from(&text[..end]);
    let mut chars = text[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(out), end + i + 1)),
            '\\' => {
                let (_, escaped) = chars.next()?;
                out.push(match escaped {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            code = code * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        char::from_u32(code)?
                    }
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    None
}

fn step<'a>(value: Value<'a>, segment: &Segment<'_>) -> Result<Value<'a>, DynError> {
    let text = match segment {
        Segment::Field(name) => return value.field(name),
        Segment::Bracket(text) => text.as_ref(),
    };
    let value = value.navigable()?;
    let index = || {
        text.parse::<usize>().map_err(|_| {
            DynError::new(
                DynErrorKind::Path,
                format!("[{}]: a list is indexed by a number", printable(text)),
            )
        })
    };
    match value.kind() {
        Kind::List | Kind::Tuple => value.index(index()?),
        Kind::Struct | Kind::Enum => match text.parse::<usize>() {
            Ok(i) => value.index(i),
            Err(_) => value.field(text),
        },
        Kind::Map | Kind::Set => {
            let key_shape = match strip_box(value.shape()) {
                Shape::HashMap(k, _)
                | Shape::BTreeMap(k, _)
                | Shape::HashSet(k)
                | Shape::BTreeSet(k) => k,
                _ => return Err(DynError::wrong_kind("not a map")),
            };
            let key = parse_key(strip_box(key_shape), text)?;
            value.get(key)?.ok_or_else(|| {
                DynError::not_found(format!(
                    "no key {} in the {}",
                    key.segment(),
                    value.kind_word()
                ))
                .under_key(&key.segment())
            })
        }
        _ => Err(value.wrong_kind("cannot be indexed")),
    }
}

/// The text of a bracket as a key of type `shape`.
fn parse_key<'k>(shape: &Shape, text: &'k str) -> Result<Key<'k>, DynError> {
    let bad = |what: &str| {
        DynError::new(DynErrorKind::Path, format!("[{}]: the keys are {what}", printable(text)))
    };
    Ok(match shape {
        Shape::Int(int) if int.signed() || matches!(int, Int::U128) => match text.parse::<i128>() {
            Ok(n) => Key::Int(n),
            Err(_) => Key::UInt(text.parse::<u128>().map_err(|_| bad("integers"))?),
        },
        Shape::Int(_) => Key::UInt(text.parse::<u128>().map_err(|_| bad("unsigned integers"))?),
        Shape::Bool => Key::Bool(text.parse::<bool>().map_err(|_| bad("bools"))?),
        _ => Key::Str(text),
    })
}

impl Value<'_> {
    fn kind_word(&self) -> &'static str {
        if self.kind() == Kind::Set { "set" } else { "map" }
    }
}
