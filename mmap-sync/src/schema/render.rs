//! A structure shown as text: the aligned table `Display` prints, every name and type in it
//! escaped and cut to [`NAME_WIDTH`].

use std::fmt;

use super::structure::{Body, Fields, Structure};
use crate::escape::printable_cut;

/// Most characters of a name or type the table shows (control characters escaped); longer
/// ones are cut and end in `…`. [`Structure::to_json`](super::Structure::to_json) has them
/// whole.
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

fn field_lines(structure: &Structure, fields: &Fields, indent: usize, lines: &mut Vec<Line>) {
    for field in &fields.list {
        lines.push(Line::Field {
            indent,
            cells: [
                cell(&field.name),
                cell(&structure.render(&field.shape)),
                field.offset.to_string(),
                field.layout.size.to_string(),
                field.layout.align.to_string(),
            ],
        });
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

/// An aligned table: the root's shape, then each named type once, in the order the structure
/// lists them (the root type first): its heading, one row per field (name, type, archived
/// offset, size and alignment), and, for an enum, each variant as a heading with its tag and
/// its fields below.
///
/// Names and types are escaped ([`printable`](crate::schema::printable)) and cut to
/// [`NAME_WIDTH`] characters, so a structure read from a hostile file makes lines of at most a
/// few hundred characters, and at most one line per byte of its encoding.
impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = vec![Line::Heading {
            indent: 0,
            text: format!("root: {} ({})", cell(&self.render(&self.root)), self.encoding),
        }];
        for definition in &self.types {
            let kind = definition.body.kind();
            lines.push(Line::Heading {
                indent: 0,
                text: format!(
                    "{} ({kind}, archived in {} bytes, aligned to {})",
                    cell(&definition.name),
                    definition.layout.size,
                    definition.layout.align
                ),
            });
            match &definition.body {
                Body::Struct(fields) => field_lines(self, fields, 1, &mut lines),
                Body::Enum(variants) => {
                    for variant in variants {
                        lines.push(Line::Heading {
                            indent: 1,
                            text: format!("variant {} = {}", cell(&variant.name), variant.tag),
                        });
                        field_lines(self, &variant.fields, 2, &mut lines);
                    }
                }
            }
        }
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
        if any_field {
            row(f, 0, COLUMNS)?;
        }
        for line in &lines {
            match line {
                Line::Heading { indent, text } => {
                    writeln!(f, "{:indent$}{text}", "", indent = 2 * indent)?;
                }
                Line::Field { indent, cells } => {
                    row(f, *indent, cells.each_ref().map(String::as_str))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::fixtures::{status, tree};
    use crate::schema::structure::Shape;

    #[test]
    fn each_type_is_shown_once_with_its_fields_and_variants() {
        insta::assert_snapshot!(status(Shape::String).to_string(), @r"
        field      type         offset  size  align
        root: Status (rkyv 0.8, little-endian, 32-bit pointers, aligned)
        Status (struct, archived in 24 bytes, aligned to 4)
          version  u32               0     4      4
          mode     Mode              4    12      4
          log      Vec<String>      16     8      4
        Mode (enum, archived in 12 bytes, aligned to 4)
          variant Idle = 0
          variant Failed = 1
            0      String            4     8      4
        ");
    }

    #[test]
    fn a_recursive_type_refers_to_itself() {
        let text = tree().to_string();
        assert_eq!(text.matches("Tree (struct").count(), 1, "{text}");
        assert!(text.contains("children  Vec<Tree>"), "{text}");
    }
}
