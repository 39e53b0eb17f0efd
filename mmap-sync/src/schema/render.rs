//! A description shown as text: the aligned table `Display` prints, every name and type in it
//! escaped and cut to [`NAME_WIDTH`].

use std::fmt;

use super::{Nested, OwnedDescription, OwnedField, OwnedShape};
use crate::escape::printable_cut;

/// Most characters of a name or type the table shows (control characters escaped); longer
/// ones are cut and end in `…`. [`OwnedDescription::to_json`] has them whole.
pub const NAME_WIDTH: usize = 64;

/// One line of the table `Display` prints.
enum Line {
    /// A type's or variant's heading, not aligned to the columns.
    Heading { indent: usize, text: String },
    /// A field: name, type, offset, size, alignment.
    Field { indent: usize, cells: [String; 5] },
}

const COLUMNS: [&str; 5] = ["field", "type", "offset", "size", "align"];

/// A name or type as the table shows it.
fn cell(text: &str) -> String {
    printable_cut(text, NAME_WIDTH)
}

fn table_lines(description: &OwnedDescription, indent: usize, lines: &mut Vec<Line>) {
    lines.push(Line::Heading {
        indent,
        text: format!(
            "{} ({}, archived in {} bytes, aligned to {})",
            cell(&description.name),
            description.shape.kind(),
            description.layout.size,
            description.layout.align
        ),
    });
    match &description.shape {
        OwnedShape::Struct(fields) => field_lines(fields, indent + 1, lines),
        OwnedShape::Enum(variants) => {
            for variant in variants {
                lines.push(Line::Heading {
                    indent: indent + 1,
                    text: format!("variant {} = {}", cell(&variant.name), variant.discriminant),
                });
                field_lines(&variant.fields, indent + 2, lines);
            }
        }
    }
}

fn field_lines(fields: &[OwnedField], indent: usize, lines: &mut Vec<Line>) {
    for field in fields {
        lines.push(Line::Field {
            indent,
            cells: [
                cell(&field.name),
                cell(&field.ty),
                field.offset.map_or_else(|| "-".to_owned(), |offset| offset.to_string()),
                field.layout.size.to_string(),
                field.layout.align.to_string(),
            ],
        });
        for nested in &field.nested {
            match nested {
                Nested::Described(description) => table_lines(description, indent + 1, lines),
                Nested::Recursive { name } => lines.push(Line::Heading {
                    indent: indent + 1,
                    text: format!("{} (recursive: described above)", cell(name)),
                }),
                Nested::TooDeep { name } => lines.push(Line::Heading {
                    indent: indent + 1,
                    text: format!("{} (nested too deep to describe)", cell(name)),
                }),
            }
        }
    }
}

/// Appends `text` to `line`, then spaces up to `width` characters of it (left-aligned), or the
/// spaces first (right-aligned). Padding by hand: a format width is limited to 16 bits and
/// panics beyond.
fn pad(line: &mut String, text: &str, width: usize, right: bool) {
    let spaces = width.saturating_sub(text.chars().count());
    if right {
        line.extend(std::iter::repeat_n(' ', spaces));
        line.push_str(text);
    } else {
        line.push_str(text);
        line.extend(std::iter::repeat_n(' ', spaces));
    }
}

/// An aligned table: the type's heading, then one row per field (name, type as written,
/// archived offset, size and alignment), variants as headings with their fields below, and
/// each nested type's own table indented under the field that holds it. `-` marks an offset
/// that is not known.
///
/// Names and types are escaped ([`printable`](crate::schema::printable)) and cut to [`NAME_WIDTH`] characters, so a
/// description read from a hostile file (nested at most [`MAX_DEPTH`](super::MAX_DEPTH) levels
/// deep, as [`decode`](OwnedDescription::decode) ensures) makes lines of at most a few hundred
/// characters, and at most one line per two bytes of its encoding.
impl fmt::Display for OwnedDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        table_lines(self, 0, &mut lines);
        let mut widths = COLUMNS.map(str::len);
        // The first column holds the indentation of the rows below the header.
        widths[0] += 2;
        let mut any_field = false;
        for line in &lines {
            if let Line::Field { indent, cells } = line {
                any_field = true;
                // Cells are padded by characters, so widths are counted in characters.
                widths[0] = widths[0].max(2 * indent + cells[0].chars().count());
                for (width, cell) in widths.iter_mut().zip(cells).skip(1) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }
        let mut text = String::new();
        let mut row = |f: &mut fmt::Formatter<'_>, indent: usize, cells: [&str; 5]| {
            text.clear();
            text.extend(std::iter::repeat_n(' ', 2 * indent));
            pad(&mut text, cells[0], widths[0].saturating_sub(2 * indent), false);
            for (i, cell) in cells.iter().enumerate().skip(1) {
                text.push_str("  ");
                // The type is left-aligned, the numbers right-aligned.
                pad(&mut text, cell, widths[i], i > 1);
            }
            writeln!(f, "{}", text.trim_end())
        };
        for (i, line) in lines.iter().enumerate() {
            match line {
                Line::Heading { indent, text } => {
                    writeln!(f, "{:indent$}{text}", "", indent = 2 * indent)?;
                }
                Line::Field { indent, cells } => {
                    row(f, *indent, cells.each_ref().map(String::as_str))?;
                }
            }
            if i == 0 && any_field {
                row(f, 1, COLUMNS)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MAX_DEPTH;
    use crate::schema::fixtures::*;

    #[test]
    fn the_table_aligns_columns_across_nesting_levels_and_escapes_control_characters() {
        let table = everything().to_string();
        let expected = r#"Everything (struct, archived in 48 bytes, aligned to 4)
  field               type              offset  size  align
  version             u64                    0     8      8
  route               Route                 16    24      8
    Route (struct, archived in 24 bytes, aligned to 4)
      prefix          String                 0     8      8
      policy          Policy                 8    12      8
        Policy (enum, archived in 12 bytes, aligned to 4)
          variant RoundRobin = 0
          variant HashHeader = 1
            header    String                 4     8      8
          variant Weighted = 7
            0         u8                     1     1      1
            1         u64                    8     8      8
  tree                Box<Tree>             40     4      4
    Tree (recursive: described above)
    Deep (nested too deep to describe)
  odd "name"\\n\u{1}  Vec<u8> with "x"       -     8      8
"#;
        assert_eq!(table, expected);
    }

    /// Longest line of the table of a description nested at most [`MAX_DEPTH`] levels deep (as
    /// every decoded one is), in characters: the deepest field row (two spaces of indentation
    /// per level, at most three levels per nesting depth below the root's two), its name and
    /// type cut to [`NAME_WIDTH`], then three numbers of at most 20 digits, columns two apart.
    /// Headings are shorter.
    const MAX_LINE: usize = 2 * (3 * MAX_DEPTH + 2) + NAME_WIDTH + 2 + NAME_WIDTH + 3 * (2 + 20);

    /// The longest line of `table` in characters, and its number of lines.
    fn measure(table: &str) -> (usize, usize) {
        let longest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        (longest, table.lines().count())
    }

    #[test]
    fn a_name_longer_than_the_formatter_can_pad_is_cut_with_an_ellipsis_and_whole_in_json() {
        // 550,000 characters: more than a format width can be, so padding it panicked.
        let long = "n".repeat(550_000);
        let mut description = hello_world();
        let OwnedShape::Struct(fields) = &mut description.shape else { unreachable!() };
        fields[0].name = long.clone();
        fields[1].ty = format!("Vec<{long}>");
        description.name = long.clone();
        let table = description.to_string();
        let (longest, lines) = measure(&table);
        assert_eq!(lines, 4, "{table}");
        assert!(longest <= 2 * NAME_WIDTH + 80, "a line of {longest} characters");
        let cut = format!("{}…", "n".repeat(NAME_WIDTH - 1));
        assert!(table.starts_with(&format!("{cut} (struct,")), "{table}");
        assert!(table.contains(&format!("  {cut}  u32")), "{table}");
        assert!(table.contains(&format!("  Vec<{}…", "n".repeat(NAME_WIDTH - 5))), "{table}");
        let json = description.to_json();
        assert!(json.contains(&format!("\"name\":\"{long}\"")), "the JSON has the whole name");
    }

    #[test]
    fn the_table_grows_with_the_description_not_with_its_widest_cell_times_its_rows() {
        // One wide name and many small fields: padding every row to the widest cell made
        // gigabytes of a one-megabyte description.
        let mut fields = vec![field(&"w".repeat(60_000), "u8", 0, 1)];
        fields.extend((0..3000).map(|i| field(&i.to_string(), "u8", 0, 1)));
        let wide = structure("Wide", 1, fields);
        // Nesting as deep as a description may be, under every field of the root.
        let mut deep = nested_chain(MAX_DEPTH);
        let OwnedShape::Struct(fields) = &mut deep.shape else { unreachable!() };
        for i in 0..3000 {
            let mut recursive = field(&i.to_string(), "R", 0, 1);
            recursive.nested.push(Nested::Recursive { name: String::new() });
            fields.push(recursive);
        }
        for description in [wide, deep, everything(), hello_world()] {
            let table = description.to_string();
            let encoded = description.encode().len();
            let (longest, lines) = measure(&table);
            assert!(longest <= MAX_LINE, "a line of {longest} characters");
            assert!(lines <= encoded / 2, "{lines} lines of {encoded} bytes");
            assert!(table.len() <= 4 * MAX_LINE * encoded / 2, "{} bytes", table.len());
        }
    }

    #[test]
    fn escapes_are_cut_whole_and_only_names_longer_than_the_width_are_cut() {
        let fits = "f".repeat(NAME_WIDTH);
        assert_eq!(printable_cut(&fits, NAME_WIDTH), fits);
        // 61 characters, then an escape of six that does not fit before the ellipsis.
        let text = format!("{}\u{1b}[2J", "e".repeat(NAME_WIDTH - 3));
        assert_eq!(printable_cut(&text, NAME_WIDTH), format!("{}…", "e".repeat(NAME_WIDTH - 3)));
        assert_eq!(printable_cut("a\u{1b}b", 5), "a…");
        assert_eq!(printable_cut("a\u{1b}b", 9), "a\\u{1b}b");
        assert_eq!(printable_cut("", 3), "");
    }
}
