//! Human output: aligned tables, sizes, timestamps and ages.

use std::path::Path;

/// A string the command did not write itself (read from a channel's files, or an error that
/// may quote one) as text output shows it: escaped by the library's one escaping function,
/// `mmap_sync::schema::printable`, so that it cannot send escape sequences to a terminal or
/// start a line of its own.
pub fn shown(text: &str) -> String {
    mmap_sync::schema::printable(text).into_owned()
}

/// A path as text output shows it (see [`shown`]).
pub fn path(path: &Path) -> String {
    shown(&path.display().to_string())
}

/// Appends `text` to `out`, then spaces up to `width` characters. Padded by hand: a format
/// width is limited to 16 bits and panics beyond.
pub fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(text.chars().count())));
}

/// Rows of cells printed as columns aligned on the widest cell, two spaces apart, with no
/// trailing spaces.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first row is `header`.
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|s| s.to_string()).collect()] }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row.
    pub fn render(&self, indent: usize) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = " ".repeat(indent);
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                pad(&mut line, cell, widths[i]);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A label and its value, labels padded to one width: the header block of `inspect`.
#[derive(Debug, Default)]
pub struct Fields {
    lines: Vec<(String, String)>,
}

impl Fields {
    /// Appends a line.
    pub fn add(&mut self, label: &str, value: impl Into<String>) {
        self.lines.push((label.to_owned(), value.into()));
    }

    /// The lines as text.
    pub fn render(&self) -> String {
        let width = self.lines.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.lines {
            let mut line = String::new();
            pad(&mut line, label, width);
            line.push_str("  ");
            line.push_str(value);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `n` bytes, exactly, with a binary unit beside it when that reads better.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A unix time in nanoseconds as RFC 3339 UTC with nanoseconds: `2025-06-01T12:00:00.000000001Z`.
/// `None` for 0 (never).
pub fn timestamp(unix_nanos: u64) -> Option<String> {
    if unix_nanos == 0 {
        return None;
    }
    let secs = unix_nanos / 1_000_000_000;
    let nanos = unix_nanos % 1_000_000_000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// The same to the millisecond, for tables.
pub fn timestamp_ms(unix_nanos: u64) -> String {
    match timestamp(unix_nanos) {
        Some(full) => format!("{}Z", &full[..23]),
        None => "-".into(),
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A duration in nanoseconds, in the largest units that keep it readable: `850 ms`, `4.2 s`,
/// `3 min 2 s`, `2 h 5 min`, `3 d 4 h`.
pub fn duration(nanos: u64) -> String {
    let ms = nanos / 1_000_000;
    let s = nanos / 1_000_000_000;
    if nanos < 1_000_000 {
        format!("{} µs", nanos / 1000)
    } else if ms < 1000 {
        format!("{ms} ms")
    } else if s < 60 {
        format!("{:.1} s", nanos as f64 / 1e9)
    } else if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    } else {
        format!("{} d {} h", s / 86_400, s % 86_400 / 3600)
    }
}

/// How long ago `unix_nanos` was, seen at `now`: `4.2 s ago`, or `in the future` for a clock
/// that went backwards.
pub fn age(unix_nanos: u64, now: u64) -> String {
    if unix_nanos == 0 {
        "-".into()
    } else if now >= unix_nanos {
        format!("{} ago", duration(now - unix_nanos))
    } else {
        format!("{} in the future", duration(unix_nanos - now))
    }
}

/// A timestamp with its age: `2025-06-01T12:00:00.000Z (4.2 s ago)`.
pub fn when(unix_nanos: u64, now: u64) -> String {
    match unix_nanos {
        0 => "-".into(),
        t => format!("{} ({})", timestamp_ms(t), age(t, now)),
    }
}

/// Now, in unix nanoseconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

/// A 64-bit value as the 18-character hex the library's messages use.
pub fn hex(value: u64) -> String {
    format!("{value:#018x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        assert_eq!(timestamp(0), None);
        assert_eq!(timestamp(1).as_deref(), Some("1970-01-01T00:00:00.000000001Z"));
        // 2000-02-29 (a leap day of a leap century) 12:34:56.789 UTC.
        let t = 951_827_696_789_000_000;
        assert_eq!(timestamp(t).as_deref(), Some("2000-02-29T12:34:56.789000000Z"));
        assert_eq!(timestamp_ms(t), "2000-02-29T12:34:56.789Z");
        // 2038-01-19T03:14:08Z, one second past the 32-bit limit.
        assert_eq!(
            timestamp(2_147_483_648_000_000_000).as_deref(),
            Some("2038-01-19T03:14:08.000000000Z")
        );
        // The largest u64 nanoseconds: 2554-07-21T23:34:33.709551615Z.
        assert_eq!(timestamp(u64::MAX).as_deref(), Some("2554-07-21T23:34:33.709551615Z"));
    }

    #[test]
    fn durations_pick_readable_units() {
        assert_eq!(duration(999), "0 µs");
        assert_eq!(duration(12_000), "12 µs");
        assert_eq!(duration(850_000_000), "850 ms");
        assert_eq!(duration(4_200_000_000), "4.2 s");
        assert_eq!(duration(182_000_000_000), "3 min 2 s");
        assert_eq!(duration(7_500_000_000_000), "2 h 5 min");
        assert_eq!(duration(273_600_000_000_000), "3 d 4 h");
        assert_eq!(age(5, 3), "0 µs in the future");
        assert_eq!(age(0, 3), "-");
    }

    #[test]
    fn sizes_show_exact_bytes_or_a_binary_unit() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(2 << 30), "2 GiB");
    }

    #[test]
    fn tables_align_on_the_widest_cell_without_trailing_spaces() {
        let mut t = Table::new(&["A", "LONG HEADER", "C"]);
        t.row(vec!["wide cell".into(), "x".into(), String::new()]);
        assert_eq!(t.render(2), "  A          LONG HEADER  C\n  wide cell  x\n");
    }
}
