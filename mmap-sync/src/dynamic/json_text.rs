//! Floats and strings as serde_json writes them, byte for byte, without allocating.
//!
//! Floats: the shortest decimal that reads back as the same value, a tie between two shortest
//! decimals going to the even one; decimal notation for decimal exponents from -5 to 15
//! (`f32`: -6 to 12; integral values with `.0`), `1e+16` and `1.5e-7` outside. Strings: see
//! [`write_string`].
//!
//! Rust's `{:e}` gives the shortest digits but breaks a tie upwards (`-135379.125f32` as
//! `…13`), where serde_json's writer takes the even digit (`…12`); both read back as the same
//! `f32`, but not as the same `f64`. Rust's exact formatting (`{:.Ne}`) rounds ties to even, so
//! when the shortest digits end odd, the exact rounding to as many digits is taken instead if
//! it reads back as the same value.

use std::fmt::{self, Write as _};
use std::ops::RangeInclusive;

/// A float of either width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum FloatValue {
    F32(f32),
    F64(f64),
}

impl FloatValue {
    pub(super) fn is_finite(self) -> bool {
        match self {
            FloatValue::F32(v) => v.is_finite(),
            FloatValue::F64(v) => v.is_finite(),
        }
    }
}

/// A short text on the stack.
struct Buffer {
    bytes: [u8; 48],
    len: usize,
}

impl Buffer {
    fn new() -> Buffer {
        Buffer { bytes: [0; 48], len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only `str`s are written in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self
            .len
            .checked_add(s.len())
            .filter(|&end| end <= self.bytes.len())
            .ok_or(fmt::Error)?;
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `{:e}` text split: sign, significant digits (no dot), decimal exponent of the first digit.
struct Scientific {
    negative: bool,
    digits: [u8; 40],
    count: usize,
    exponent: i32,
}

fn split(text: &str) -> Option<Scientific> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = text.split_once('e')?;
    let mut digits = [0u8; 40];
    let mut count = 0;
    for b in mantissa.bytes().filter(|b| b.is_ascii_digit()) {
        *digits.get_mut(count)? = b;
        count += 1;
    }
    Some(Scientific { negative, digits, count, exponent: exponent.parse().ok()? })
}

/// Writes a finite float as serde_json does: see the module documentation. Zero is `0.0` or
/// `-0.0`.
pub(super) fn write_float(out: &mut dyn fmt::Write, value: FloatValue) -> fmt::Result {
    let mut shortest = Buffer::new();
    match value {
        FloatValue::F32(v) if v == 0.0 => {
            return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        }
        FloatValue::F64(v) if v == 0.0 => {
            return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        }
        FloatValue::F32(v) => write!(shortest, "{v:e}")?,
        FloatValue::F64(v) => write!(shortest, "{v:e}")?,
    }
    let Some(mut parts) = split(shortest.as_str()) else {
        return out.write_str(shortest.as_str());
    };
    let odd = parts.count > 0 && (parts.digits[parts.count - 1] - b'0') % 2 == 1;
    let mut exact = Buffer::new();
    if odd {
        let precision = parts.count - 1;
        let reads_back = match value {
            FloatValue::F32(v) => {
                write!(exact, "{v:.precision$e}")?;
                exact.as_str().parse::<f32>().is_ok_and(|back| back.to_bits() == v.to_bits())
            }
            FloatValue::F64(v) => {
                write!(exact, "{v:.precision$e}")?;
                exact.as_str().parse::<f64>().is_ok_and(|back| back.to_bits() == v.to_bits())
            }
        };
        if reads_back && let Some(even) = split(exact.as_str()) {
            parts = even;
        }
    }
    let decimal = match value {
        FloatValue::F32(_) => -6..=12,
        FloatValue::F64(_) => -5..=15,
    };
    write_parts(out, &parts, decimal)
}

/// Writes the digits in decimal notation when the exponent is in `decimal`, as serde_json's
/// writer (zmij) chooses, else in scientific notation.
fn write_parts(
    out: &mut dyn fmt::Write,
    parts: &Scientific,
    decimal: RangeInclusive<i32>,
) -> fmt::Result {
    // Trailing zeros are not significant (an exact rounding may end in them).
    let mut count = parts.count;
    while count > 1 && parts.digits[count - 1] == b'0' {
        count -= 1;
    }
    let digits = std::str::from_utf8(&parts.digits[..count]).map_err(|_| fmt::Error)?;
    let exponent = parts.exponent;
    if parts.negative {
        out.write_char('-')?;
    }
    if !decimal.contains(&exponent) {
        out.write_str(&digits[..1])?;
        if count > 1 {
            out.write_char('.')?;
            out.write_str(&digits[1..])?;
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        return write!(out, "e{sign}{}", exponent.unsigned_abs());
    }
    if exponent < 0 {
        out.write_str("0.")?;
        for _ in 0..(-exponent - 1) {
            out.write_char('0')?;
        }
        return out.write_str(digits);
    }
    let integral = exponent as usize + 1;
    if integral >= count {
        out.write_str(digits)?;
        for _ in count..integral {
            out.write_char('0')?;
        }
        out.write_str(".0")
    } else {
        out.write_str(&digits[..integral])?;
        out.write_char('.')?;
        out.write_str(&digits[integral..])
    }
}

/// Writes `text` as a JSON string exactly as serde_json does: `"` and `\` escaped, `\b`,
/// `\f`, `\n`, `\r`, `\t` for those controls, `\u00XX` (lowercase hex) for the other
/// characters below U+0020, everything else as it is.
pub(super) fn write_string(out: &mut dyn fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        // Escaped bytes are ASCII: the text between them is whole characters.
        out.write_str(&text[plain..i])?;
        plain = i + 1;
        if escape.is_empty() {
            write!(out, "\\u{byte:04x}")?;
        } else {
            out.write_str(escape)?;
        }
    }
    out.write_str(&text[plain..])?;
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: FloatValue) -> String {
        let mut out = String::new();
        write_float(&mut out, value).unwrap();
        out
    }

    #[test]
    fn layout_is_serde_jsons_with_ties_to_even() {
        let f64s: [(f64, &str); 13] = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (1e-7, "1e-7"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.0, "123456789.0"),
            (0.0001, "0.0001"),
            (-1.5e-5, "-0.000015"),
            (1.5e-6, "1.5e-6"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (v, expected) in f64s {
            assert_eq!(text(FloatValue::F64(v)), expected);
            assert_eq!(text(FloatValue::F64(v)), serde_json::to_string(&v).unwrap());
        }
        // -135379.125 exactly, halfway between the two shortest decimals …12 and …13.
        let tie = -135_379.12_f32;
        assert_eq!(f64::from(tie), -135_379.125);
        assert_eq!(text(FloatValue::F32(tie)), "-135379.12");
        assert_eq!(text(FloatValue::F32(0.1)), "0.1");
        assert_eq!(text(FloatValue::F32(16777216.0)), "16777216.0");
    }

    /// Our text is serde_json's, for floats of every kind.
    #[test]
    fn floats_are_written_as_serde_json_writes_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..200_000u32 {
            let bits = next();
            let f32s = [f32::from_bits(bits as u32), (bits % 2_000_000) as f32 / 64.0 - 15_000.0];
            for v in f32s.into_iter().filter(|v| v.is_finite()) {
                assert_eq!(
                    text(FloatValue::F32(v)),
                    serde_json::to_string(&v).unwrap(),
                    "case {i}"
                );
            }
            let f64s = [f64::from_bits(bits), (bits % 1_000_000_000) as f64 / 1024.0];
            for v in f64s.into_iter().filter(|v| v.is_finite()) {
                assert_eq!(
                    text(FloatValue::F64(v)),
                    serde_json::to_string(&v).unwrap(),
                    "case {i}"
                );
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_low: String = (0u8..0x80).map(char::from).collect();
        for text in [every_low.as_str(), "é \u{7f} \u{9b} \u{202e} 😀", "", "plain"] {
            let mut ours = String::new();
            write_string(&mut ours, text).unwrap();
            assert_eq!(ours, serde_json::to_string(text).unwrap());
        }
    }
}
