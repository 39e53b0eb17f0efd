//! Parses `max_size` values such as `"64 MiB"`, `"1 GB"` or `"4096"`.

use crate::suggest;

/// Units accepted after the number. SI prefixes are powers of 1000 and IEC prefixes powers of
/// 1024, as their standards say: `"1 GB"` is 10^9 bytes, `"1 GiB"` is 2^30.
const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Why a size string was refused; the caller adds the span.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SizeError {
    /// No digits where the number should be.
    NoNumber,
    /// A unit that is not in [`UNITS`], with the closest one if any.
    UnknownUnit { unit: String, suggestion: Option<&'static str> },
    /// A decimal point: sizes are whole numbers of their unit.
    Fraction,
    /// The number times the unit does not fit in a `u64`.
    Overflow,
}

impl std::fmt::Display for SizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeError::NoNumber => {
                f.write_str("expected a size such as \"64 MiB\", \"1 GB\" or \"4096\" (bytes)")
            }
            SizeError::UnknownUnit { unit, suggestion: Some(known) } => {
                write!(f, "unknown size unit `{unit}`; did you mean `{known}`?")
            }
            SizeError::UnknownUnit { unit, suggestion: None } => write!(
                f,
                "unknown size unit `{unit}`; expected one of B, kB, MB, GB, TB (powers of 1000) \
                 or KiB, MiB, GiB, TiB (powers of 1024)"
            ),
            SizeError::Fraction => f.write_str(
                "fractional sizes are not supported; use a smaller unit (\"1536 MiB\", not \"1.5 GiB\")",
            ),
            SizeError::Overflow => f.write_str("size does not fit in 64 bits"),
        }
    }
}

/// The number of bytes `text` stands for: an unsigned integer (underscores allowed between
/// digits), optional spaces, and an optional unit from [`UNITS`].
pub(crate) fn parse(text: &str) -> Result<u64, SizeError> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: String = number.chars().filter(|&c| c != '_').collect();
    if number.is_empty() {
        return Err(SizeError::NoNumber);
    }
    let number: u64 = number.parse().map_err(|_| SizeError::Overflow)?;
    if unit.starts_with(['.', ',']) {
        return Err(SizeError::Fraction);
    }
    let unit = unit.trim_start();
    let multiplier = if unit.is_empty() {
        1
    } else {
        match UNITS.iter().find(|(name, _)| *name == unit) {
            Some(&(_, multiplier)) => multiplier,
            None => return Err(unknown_unit(unit)),
        }
    };
    number.checked_mul(multiplier).ok_or(SizeError::Overflow)
}

fn unknown_unit(unit: &str) -> SizeError {
    // `mib` or `Mb` is most likely a case slip; anything else gets the edit-distance guess.
    let names: Vec<&'static str> = UNITS.iter().map(|(name, _)| *name).collect();
    let suggestion = names
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(unit))
        .or_else(|| suggest::closest(unit, &names, &[]));
    SizeError::UnknownUnit { unit: unit.to_owned(), suggestion }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iec_units_are_powers_of_1024_and_si_units_powers_of_1000() {
        assert_eq!(parse("64 MiB"), Ok(64 << 20));
        assert_eq!(parse("1 GiB"), Ok(1 << 30));
        assert_eq!(parse("1 GB"), Ok(1_000_000_000));
        assert_eq!(parse("16kB"), Ok(16_000));
        assert_eq!(parse("2 TiB"), Ok(2 << 40));
    }

    #[test]
    fn plain_numbers_are_bytes() {
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("1_048_576"), Ok(1 << 20));
        assert_eq!(parse("512 B"), Ok(512));
    }

    #[test]
    fn refuses_missing_numbers_unknown_units_and_overflow() {
        assert_eq!(parse("MiB"), Err(SizeError::NoNumber));
        assert_eq!(parse(""), Err(SizeError::NoNumber));
        assert_eq!(parse("-1"), Err(SizeError::NoNumber));
        assert_eq!(
            parse("64 mib"),
            Err(SizeError::UnknownUnit { unit: "mib".into(), suggestion: Some("MiB") })
        );
        assert_eq!(
            parse("64 Mb"),
            Err(SizeError::UnknownUnit { unit: "Mb".into(), suggestion: Some("MB") })
        );
        assert_eq!(
            parse("64 furlongs"),
            Err(SizeError::UnknownUnit { unit: "furlongs".into(), suggestion: None })
        );
        assert_eq!(parse("1.5 GiB"), Err(SizeError::Fraction));
        assert_eq!(parse("20000000 TiB"), Err(SizeError::Overflow));
        assert_eq!(parse("99999999999999999999999"), Err(SizeError::Overflow));
    }
}
