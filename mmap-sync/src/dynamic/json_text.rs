//! Numbers and strings as serde_json writes them, byte for byte, without allocating.
//!
//! Floats: the shortest decimal that reads back as the same value, a tie between two shortest
//! decimals going to the even one; decimal notation for decimal exponents from -5 to 15
//! (`f32`: -6 to 12; integral values with `.0`), `1e+16` and `1.5e-7` outside. Strings: see
//! [`write_string`].
//!
//! Rust's `{:e}` gives the shortest digits, and among them the nearest to the value, but
//! breaks a tie upwards (`-135379.125f32` as `…13`), where serde_json's writer takes the even
//! digit (`…12`); both read back as the same `f32`, but not as the same `f64`. A tie is rare
//! and is recognized exactly, in integers ([`halfway`]): the value is then written from Rust's
//! exact formatting (`{:.Ne}`, which rounds ties to even) when that reads back as the same
//! value. Every other float is written from its shortest digits as they are.

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

    /// The magnitude as `mantissa * 2^exponent`, exactly (for a finite value).
    fn binary(self) -> (u64, i32) {
        match self {
            FloatValue::F32(v) => {
                let bits = v.to_bits();
                let fraction = u64::from(bits & 0x7f_ffff);
                match (bits >> 23) & 0xff {
                    0 => (fraction, -149),
                    e => (fraction | 1 << 23, e as i32 - 150),
                }
            }
            FloatValue::F64(v) => {
                let bits = v.to_bits();
                let fraction = bits & 0xf_ffff_ffff_ffff;
                match (bits >> 52) & 0x7ff {
                    0 => (fraction, -1074),
                    e => (fraction | 1 << 52, e as i32 - 1075),
                }
            }
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

impl Scientific {
    /// The digits as an integer, if there are at most 19.
    fn integer(&self) -> Option<u64> {
        if self.count > 19 {
            return None;
        }
        Some(self.digits[..self.count].iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
    }
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

/// Whether `|value|` lies exactly halfway between the shortest digits `parts` and their
/// neighbour one unit below or above in the last digit: `2|v| = (2D ∓ 1) · 10^p`, `D` the
/// digits as an integer and `p` the exponent of the last one. With `|v| = o · 2^a` (`o` odd,
/// `a` from the float's bits) and `2D ∓ 1` odd, the powers of two must agree (`a + 1 = p`)
/// and the odd parts too: `o = (2D ∓ 1) · 5^p`, or `o · 5^-p = 2D ∓ 1` when `p < 0`. Only
/// such a value has two shortest decimals equally near, the case Rust and serde_json break
/// differently.
fn halfway(value: FloatValue, parts: &Scientific) -> bool {
    let (mantissa, exponent) = value.binary();
    let Some(digits) = parts.integer() else {
        // More digits than either float's shortest text has: not Rust's shortest output.
        return true;
    };
    if mantissa == 0 || digits == 0 {
        return false;
    }
    let zeros = mantissa.trailing_zeros();
    let odd = u128::from(mantissa >> zeros);
    let last = parts.exponent - (parts.count as i32 - 1);
    if exponent + zeros as i32 + 1 != last {
        return false;
    }
    let five = |power: u32| 5u128.checked_pow(power);
    [2 * u128::from(digits) - 1, 2 * u128::from(digits) + 1].into_iter().any(|neighbours| {
        if last >= 0 {
            five(last as u32).and_then(|f| neighbours.checked_mul(f)) == Some(odd)
        } else {
            five(last.unsigned_abs()).and_then(|f| odd.checked_mul(f)) == Some(neighbours)
        }
    })
}

/// Writes a finite float as serde_json does: see the module documentation. Zero is `0.0` or
/// `-0.0`.
pub(super) fn write_float<W: fmt::Write + ?Sized>(out: &mut W, value: FloatValue) -> fmt::Result {
    let mut shortest = Buffer::new();
    match value {
        FloatValue::F32(v) if v == 0.0 => {
            return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        }
        FloatValue::F64(v) if v == 0.0 => {
            return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        }
        // An integer below 2^53 is its own shortest text, in decimal notation.
        FloatValue::F64(v) if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 => {
            write_i64(out, v as i64)?;
            return out.write_str(".0");
        }
        FloatValue::F32(v) => write!(shortest, "{v:e}")?,
        FloatValue::F64(v) => write!(shortest, "{v:e}")?,
    }
    let Some(mut parts) = split(shortest.as_str()) else {
        return out.write_str(shortest.as_str());
    };
    if ends_odd(&parts) && halfway(value, &parts) {
        let mut exact = Buffer::new();
        if let Some(even) = rounded_to_even(value, &parts, &mut exact)? {
            parts = even;
        }
    }
    write_parts(out, &parts, decimal_exponents(value))
}

fn ends_odd(parts: &Scientific) -> bool {
    parts.count > 0 && (parts.digits[parts.count - 1] - b'0') % 2 == 1
}

/// The value rounded to as many digits as `parts` has, ties to even (Rust's exact
/// formatting), if that reads back as the same value.
fn rounded_to_even(
    value: FloatValue,
    parts: &Scientific,
    exact: &mut Buffer,
) -> Result<Option<Scientific>, fmt::Error> {
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
    Ok(if reads_back { split(exact.as_str()) } else { None })
}

/// The decimal exponents serde_json writes in decimal notation.
fn decimal_exponents(value: FloatValue) -> RangeInclusive<i32> {
    match value {
        FloatValue::F32(_) => -6..=12,
        FloatValue::F64(_) => -5..=15,
    }
}

/// Writes the digits in decimal notation when the exponent is in `decimal`, as serde_json's
/// writer (zmij) chooses, else in scientific notation.
fn write_parts<W: fmt::Write + ?Sized>(
    out: &mut W,
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

/// Two decimal digits of every number below 100.
const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Writes `n` in decimal, two digits at a time into a buffer on the stack.
pub(super) fn write_u64<W: fmt::Write + ?Sized>(out: &mut W, mut n: u64) -> fmt::Result {
    let mut buffer = [0u8; 20];
    let mut start = buffer.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        start -= 2;
        buffer[start..start + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        start -= 2;
        buffer[start..start + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        start -= 1;
        buffer[start] = b'0' + n as u8;
    }
    // Only ASCII digits were written.
    out.write_str(std::str::from_utf8(&buffer[start..]).map_err(|_| fmt::Error)?)
}

/// Writes `n` in decimal.
pub(super) fn write_i64<W: fmt::Write + ?Sized>(out: &mut W, n: i64) -> fmt::Result {
    if n < 0 {
        out.write_char('-')?;
    }
    write_u64(out, n.unsigned_abs())
}

/// What a byte of a string becomes in JSON: 0 as it is, `b'u'` as `\u00XX`, else `\` and
/// that byte (serde_json's table).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `text` as a JSON string exactly as serde_json does: `"` and `\` escaped, `\b`,
/// `\f`, `\n`, `\r`, `\t` for those controls, `\u00XX` (lowercase hex) for the other
/// characters below U+0020, everything else as it is. The runs between escapes are written
/// whole.
pub(super) fn write_string<W: fmt::Write + ?Sized>(out: &mut W, text: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut plain = 0;
    for (i, &byte) in text.as_bytes().iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        // Escaped bytes are ASCII: the text between them is whole characters.
        if plain < i {
            out.write_str(&text[plain..i])?;
        }
        plain = i + 1;
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.write_str("\\u00")?;
            out.write_char(char::from(HEX[usize::from(byte >> 4)]))?;
            out.write_char(char::from(HEX[usize::from(byte & 0xf)]))?;
        } else {
            out.write_char('\\')?;
            out.write_char(char::from(escape))?;
        }
    }
    if plain < text.len() {
        out.write_str(&text[plain..])?;
    }
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

    /// The text of the exact path alone: the shortest digits, and whenever they end odd, the
    /// exact rounding to as many digits if it reads back (what this module did before the
    /// tie test).
    fn by_the_exact_path(value: FloatValue) -> String {
        let mut parts = parts(value);
        let mut exact = Buffer::new();
        if ends_odd(&parts)
            && let Some(even) = rounded_to_even(value, &parts, &mut exact).unwrap()
        {
            parts = even;
        }
        let mut out = String::new();
        write_parts(&mut out, &parts, decimal_exponents(value)).unwrap();
        out
    }

    fn serde(value: FloatValue) -> String {
        match value {
            FloatValue::F32(v) => serde_json::to_string(&v).unwrap(),
            FloatValue::F64(v) => serde_json::to_string(&v).unwrap(),
        }
    }

    /// Rust's shortest digits of `value`.
    fn parts(value: FloatValue) -> Scientific {
        let mut shortest = Buffer::new();
        match value {
            FloatValue::F32(v) => write!(shortest, "{v:e}").unwrap(),
            FloatValue::F64(v) => write!(shortest, "{v:e}").unwrap(),
        }
        split(shortest.as_str()).unwrap()
    }

    #[test]
    fn ties_between_two_shortest_decimals_are_recognized_and_go_to_the_even_one() {
        // Exactly halfway between two shortest decimals: Rust's `{:e}` ends …3, serde_json …2.
        let ties = [
            (FloatValue::F64(2f64.powi(-25)), "2.9802322387695312e-8"),
            (FloatValue::F64(5.0 * 2f64.powi(-23)), "5.960464477539062e-7"),
            (FloatValue::F64(-9.0 * 2f64.powi(-23)), "-1.0728836059570312e-6"),
            (FloatValue::F32(2f32.powi(-12)), "0.00024414062"),
            (FloatValue::F32(17.0 * 2f32.powi(-10)), "0.016601562"),
            (FloatValue::F32(-135_379.12), "-135379.12"),
        ];
        for (value, expected) in ties {
            assert!(halfway(value, &parts(value)), "{value:?}");
            assert_eq!(text(value), expected, "{value:?}");
            assert_eq!(text(value), serde(value), "{value:?}");
        }
        let not_ties = [
            FloatValue::F64(0.1),
            FloatValue::F64(1.25),
            FloatValue::F64(1.0 / 3.0),
            FloatValue::F64(5e-324),
            FloatValue::F64(f64::MAX),
            FloatValue::F32(0.1),
            FloatValue::F32(f32::MIN_POSITIVE),
        ];
        for value in not_ties {
            assert!(!halfway(value, &parts(value)), "{value:?}");
        }
    }

    /// The tie test and the integer shortcut change the work, not the text: on binary
    /// fractions with few bits (where ties are common), powers of two from the smallest
    /// subnormal to the largest, and integers around 2^53, the text is the exact path's and
    /// serde_json's.
    #[test]
    fn the_fast_path_writes_what_the_exact_path_writes() {
        let mut values = Vec::new();
        for odd in (1u32..600).step_by(2) {
            for e in (-60..60).step_by(3) {
                values.push(FloatValue::F64(f64::from(odd) * 2f64.powi(e)));
                values.push(FloatValue::F32(odd as f32 * 2f32.powi(e)));
            }
        }
        for e in -1074..=1023 {
            values.push(FloatValue::F64(2f64.powi(e)));
        }
        for e in -149..=127 {
            values.push(FloatValue::F32(2f32.powi(e)));
        }
        let two53 = 9_007_199_254_740_992.0f64;
        for d in [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 6.0] {
            values.push(FloatValue::F64(two53 + d));
            values.push(FloatValue::F64(-(two53 + d)));
        }
        for v in [1e15, 1e16, 999_999_999_999_999.0, 123_456_789.0, 42.0, -7.0, 0.5, 1e-5, 1e-6] {
            values.push(FloatValue::F64(v));
        }
        values.extend([
            FloatValue::F64(f64::MAX),
            FloatValue::F64(f64::MIN_POSITIVE),
            FloatValue::F64(5e-324),
            FloatValue::F32(f32::MAX),
            FloatValue::F32(f32::MIN_POSITIVE),
            FloatValue::F32(1e-45),
        ]);
        let mut ties = 0;
        for value in values.into_iter().filter(|v| v.is_finite()) {
            let fast = text(value);
            assert_eq!(fast, by_the_exact_path(value), "{value:?}");
            assert_eq!(fast, serde(value), "{value:?}");
            ties += usize::from(halfway(value, &parts(value)));
        }
        assert!(ties > 100, "only {ties} ties among the cases");
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let mut out = String::new();
        for n in [0, 1, 9, 10, 99, 100, 101, 4_294_967_295, u64::MAX - 1, u64::MAX] {
            out.clear();
            write_u64(&mut out, n).unwrap();
            assert_eq!(out, n.to_string());
        }
        for n in [0, -1, 1, -10, -99, 1000, i64::MIN, i64::MAX, i64::MIN + 1] {
            out.clear();
            write_i64(&mut out, n).unwrap();
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_low: String = (0u8..0x80).map(char::from).collect();
        let cases = [
            every_low.as_str(),
            "é \u{7f} \u{9b} \u{202e} 😀",
            "",
            "plain",
            "\"",
            "a\\b\nc\u{1}",
            "ends with an escape\t",
            "\u{1f}starts with one",
        ];
        for text in cases {
            let mut ours = String::new();
            write_string(&mut ours, text).unwrap();
            assert_eq!(ours, serde_json::to_string(text).unwrap());
        }
    }
}
