//! Map keys to look up: [`Key`], its conversion to a map's key type, rkyv's hash of it, and its
//! order against an archived key.

use std::cmp::Ordering;

use crate::escape::printable;
use crate::schema::{Int, Shape, Structure};

use super::error::DynError;
use super::value::{Num, Value, read_int, strip_box};

/// A key to look up in a map or set with [`Value::get`]: a string, an integer, a `bool` or a
/// `char`. Converted from `&str`, every integer type, `bool` and `char`.
///
/// A string key finds `String` and `Box<str>` keys (and a one-character string a `char` key);
/// an integer key finds keys of every integer type it fits (a key that does not fit the map's
/// key type is simply not there); lookups in maps with other keys (tuples, structs, enums,
/// options) are refused: iterate their [`entries`](Value::entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Key<'k> {
    /// A string.
    Str(&'k str),
    /// A signed integer.
    Int(i128),
    /// An unsigned integer (`u128` values above `i128::MAX` need it).
    UInt(u128),
    /// A `bool`.
    Bool(bool),
    /// A `char`.
    Char(char),
}

impl<'k> From<&'k str> for Key<'k> {
    fn from(s: &'k str) -> Key<'k> {
        Key::Str(s)
    }
}

impl<'k> From<&'k String> for Key<'k> {
    fn from(s: &'k String) -> Key<'k> {
        Key::Str(s)
    }
}

macro_rules! int_key {
    ($variant:ident: $($ty:ty),*) => {
        $(impl From<$ty> for Key<'_> {
            fn from(n: $ty) -> Self {
                Key::$variant(n as _)
            }
        })*
    };
}

int_key!(Int: i8, i16, i32, i64, i128, isize);
int_key!(UInt: u8, u16, u32, u64, u128, usize);

impl From<bool> for Key<'_> {
    fn from(b: bool) -> Self {
        Key::Bool(b)
    }
}

impl From<char> for Key<'_> {
    fn from(c: char) -> Self {
        Key::Char(c)
    }
}

impl Key<'_> {
    /// The key as a path segment writes it inside brackets: `"a"` (JSON-escaped) or `3`.
    pub(super) fn segment(&self) -> String {
        match self {
            Key::Str(s) => quoted(s),
            Key::Int(n) => n.to_string(),
            Key::UInt(n) => n.to_string(),
            Key::Bool(b) => b.to_string(),
            Key::Char(c) => quoted(c.encode_utf8(&mut [0; 4])),
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Key::Str(_) => "a string",
            Key::Int(_) | Key::UInt(_) => "an integer",
            Key::Bool(_) => "a bool",
            Key::Char(_) => "a char",
        }
    }
}

/// `text` as a quoted JSON string.
pub(super) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    // Writing to a `String` cannot fail.
    let _ = crate::json::write_str(&mut out, text);
    out
}

/// A key converted to a map's key type.
#[derive(Clone, Copy, Debug)]
pub(super) enum Probe<'k> {
    /// A `String` or `Box<str>` key's bytes.
    Bytes(&'k [u8]),
    /// An integer of the map's width.
    Int(Int, Num),
    Bool(bool),
    Char(u32),
}

/// `key` as a key of type `key_shape`: `Ok(None)` when it cannot be one (an integer out of the
/// type's range), an error when the map's keys are of another kind or cannot be looked up.
pub(super) fn probe<'k>(
    structure: &Structure,
    key_shape: &Shape,
    key: Key<'k>,
) -> Result<Option<Probe<'k>>, DynError> {
    let shape = strip_box(key_shape);
    let probe = match (shape, key) {
        (Shape::String | Shape::BoxStr, Key::Str(s)) => Probe::Bytes(s.as_bytes()),
        (Shape::Int(int), Key::Int(n)) => match fit(*int, n.is_negative(), n.unsigned_abs()) {
            Some(num) => Probe::Int(*int, num),
            None => return Ok(None),
        },
        (Shape::Int(int), Key::UInt(n)) => match fit(*int, false, n) {
            Some(num) => Probe::Int(*int, num),
            None => return Ok(None),
        },
        (Shape::Bool, Key::Bool(b)) => Probe::Bool(b),
        (Shape::Char, Key::Char(c)) => Probe::Char(c.into()),
        (Shape::Char, Key::Str(s)) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Probe::Char(c.into()),
                _ => return Ok(None),
            }
        }
        (Shape::String | Shape::BoxStr | Shape::Int(_) | Shape::Bool | Shape::Char, key) => {
            return Err(DynError::wrong_kind(format!(
                "the keys are {}, not {}",
                structure.render(key_shape),
                key.what()
            )));
        }
        _ => {
            return Err(DynError::wrong_kind(format!(
                "lookup by key needs string, integer, char or bool keys; the keys are {}: \
                 iterate the entries instead",
                printable(&structure.render(key_shape))
            )));
        }
    };
    Ok(Some(probe))
}

/// The integer `(negative, magnitude)` as a value of `int`, if it fits.
fn fit(int: Int, negative: bool, magnitude: u128) -> Option<Num> {
    let bits: u32 = match int {
        Int::U8 | Int::I8 => 8,
        Int::U16 | Int::I16 => 16,
        Int::U32 | Int::I32 | Int::Usize | Int::Isize => 32,
        Int::U64 | Int::I64 => 64,
        Int::U128 | Int::I128 => 128,
    };
    if int.signed() {
        // The range of a signed type of `bits`: -2^(bits-1) ..= 2^(bits-1) - 1.
        let limit = 1u128 << (bits - 1);
        let fits = if negative { magnitude <= limit } else { magnitude < limit };
        let value = if negative { (magnitude as i128).wrapping_neg() } else { magnitude as i128 };
        fits.then_some(Num::S(value))
    } else {
        let fits = !negative && (bits == 128 || magnitude < 1u128 << bits);
        fits.then_some(Num::U(magnitude))
    }
}

// ---------------------------------------------------------------------------------------------
// rkyv's hash: `rkyv::hash::FxHasher64` over the key's `Hash` as std implements it
// ---------------------------------------------------------------------------------------------

/// One step of rkyv 0.8's `FxHasher64`.
fn hash_word(hash: u64, word: u64) -> u64 {
    const ROTATE: u32 = 5;
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    (hash.rotate_left(ROTATE) ^ word).wrapping_mul(SEED)
}

/// `FxHasher64::write`: whole little-endian words, then a 4-, 2- and 1-byte tail.
fn hash_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut buf = [0; 8];
        buf.copy_from_slice(word);
        hash = hash_word(hash, u64::from_le_bytes(buf));
    }
    let mut tail = words.remainder();
    if tail.len() >= 4 {
        hash = hash_word(hash, u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]).into());
        tail = &tail[4..];
    }
    if tail.len() >= 2 {
        hash = hash_word(hash, u16::from_le_bytes([tail[0], tail[1]]).into());
        tail = &tail[2..];
    }
    if let Some(&byte) = tail.first() {
        hash = hash_word(hash, byte.into());
    }
    hash
}

/// The hash rkyv stored the key under: the original key's `Hash` (std's: `str` writes its
/// bytes and `0xff`, integers their `write_uN`, `bool` `write_u8`, `char` `write_u32`) fed to
/// rkyv's `FxHasher64`, which writes `usize` as 32 bits and `isize` as a sign-extended 32-bit
/// value.
pub(super) fn hash(probe: &Probe<'_>) -> u64 {
    match *probe {
        Probe::Bytes(bytes) => hash_word(hash_bytes(0, bytes), 0xff),
        Probe::Bool(b) => hash_word(0, b.into()),
        Probe::Char(c) => hash_word(0, c.into()),
        Probe::Int(int, num) => {
            let bits = num.bits();
            match int {
                Int::U128 | Int::I128 => hash_word(hash_word(0, bits as u64), (bits >> 64) as u64),
                // `write_u8`/`u16`/`u32`/`u64` and `write_usize` (as 32 bits): the value's
                // low bits, zero-extended.
                Int::U8 | Int::I8 => hash_word(0, bits as u8 as u64),
                Int::U16 | Int::I16 => hash_word(0, bits as u16 as u64),
                Int::U32 | Int::I32 | Int::Usize => hash_word(0, bits as u32 as u64),
                // `write_isize` is `write_i64` of the 32-bit value: sign-extended.
                Int::Isize => hash_word(0, bits as u32 as i32 as i64 as u64),
                Int::U64 | Int::I64 => hash_word(0, bits as u64),
            }
        }
    }
}

/// The order of the probe against the archived key `key` (of the map's key shape): bytes for
/// strings (as `str`'s `Ord`), numbers for integers, `char`s and `bool`s.
pub(super) fn compare(probe: &Probe<'_>, key: Value<'_>) -> Result<Ordering, DynError> {
    let key = key.resolved()?;
    Ok(match (*probe, key.shape()) {
        (Probe::Bytes(bytes), Shape::String | Shape::BoxStr) => bytes.cmp(key.str_bytes()?),
        (Probe::Int(int, num), Shape::Int(_)) => {
            num.cmp(&read_int(key.archive(), int, key.position())?)
        }
        (Probe::Bool(b), Shape::Bool) => b.cmp(&key.as_bool()?),
        (Probe::Char(c), Shape::Char) => c.cmp(&u32::from(key.as_char()?)),
        _ => return Err(DynError::wrong_kind("a key of another type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_keys_fit_their_types_ranges_exactly() {
        assert!(matches!(fit(Int::U8, false, 255), Some(Num::U(255))));
        assert!(fit(Int::U8, false, 256).is_none());
        assert!(fit(Int::U8, true, 1).is_none());
        assert!(matches!(fit(Int::I8, true, 128), Some(Num::S(-128))));
        assert!(fit(Int::I8, true, 129).is_none());
        assert!(fit(Int::I8, false, 128).is_none());
        assert!(matches!(fit(Int::I128, true, 1 << 127), Some(Num::S(i128::MIN))));
        assert!(matches!(fit(Int::U128, false, u128::MAX), Some(Num::U(u128::MAX))));
        assert!(fit(Int::Usize, false, 1 << 32).is_none());
        assert!(matches!(fit(Int::Isize, true, 1 << 31), Some(Num::S(-2147483648))));
    }

    #[test]
    fn hashes_match_rkyvs_hasher_over_stds_hash() {
        use std::hash::{Hash, Hasher};
        let rkyv_hash = |key: &dyn Fn(&mut rkyv::hash::FxHasher64)| {
            let mut hasher = rkyv::hash::FxHasher64::default();
            key(&mut hasher);
            hasher.finish()
        };
        for text in ["", "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmno", "é€😀"]
        {
            let expected = rkyv_hash(&|h| text.hash(h));
            assert_eq!(hash(&Probe::Bytes(text.as_bytes())), expected, "{text:?}");
        }
        let cases: [(Int, i128); 12] = [
            (Int::U8, 200),
            (Int::I8, -3),
            (Int::U16, 60000),
            (Int::I16, -300),
            (Int::U32, 4_000_000_000),
            (Int::I32, -70000),
            (Int::U64, 1 << 40),
            (Int::I64, -(1 << 40)),
            (Int::Usize, 123_456),
            (Int::Isize, -123_456),
            (Int::I128, -(1 << 100)),
            (Int::U128, 1 << 100),
        ];
        for (int, n) in cases {
            let num = fit(int, n < 0, n.unsigned_abs()).unwrap();
            let expected = rkyv_hash(&|h| match int {
                Int::U8 => (n as u8).hash(h),
                Int::I8 => (n as i8).hash(h),
                Int::U16 => (n as u16).hash(h),
                Int::I16 => (n as i16).hash(h),
                Int::U32 => (n as u32).hash(h),
                Int::I32 => (n as i32).hash(h),
                Int::U64 => (n as u64).hash(h),
                Int::I64 => (n as i64).hash(h),
                Int::Usize => (n as usize).hash(h),
                Int::Isize => (n as isize).hash(h),
                Int::I128 => n.hash(h),
                Int::U128 => (n as u128).hash(h),
            });
            assert_eq!(hash(&Probe::Int(int, num)), expected, "{int:?} {n}");
        }
        assert_eq!(hash(&Probe::Bool(true)), rkyv_hash(&|h| true.hash(h)));
        assert_eq!(hash(&Probe::Char('é'.into())), rkyv_hash(&|h| 'é'.hash(h)));
    }
}
