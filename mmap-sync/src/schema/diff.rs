//! Which parts of two structures differ ([`diff`]): for a schema mismatch that names the field,
//! nested types and enum variants included, instead of showing two hashes.

use std::collections::HashSet;
use std::fmt;

use crate::escape::printable;

use super::shape::ArchivedLayout;
use super::structure::{Body, Definition, Fields, Shape, Structure};

/// One difference between this program's structure and a channel's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Where: the type, then the variant and field: `Routes` (the type itself),
    /// `Routes.version` (a field), `Mode::Failed.0` (field 0 of variant `Failed` of `Mode`),
    /// `Mode::Idle` (a variant). Every type is compared once, wherever it is used; the root's
    /// own shape, when it is not a named type, is `<root>`.
    pub path: String,
    /// What differs there.
    pub change: Change,
}

/// What differs at one place. "Expected" is this program's structure, "found" the channel's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The archives were made with different encodings (see
    /// [`Encoding`](super::Encoding)).
    Encoding {
        /// Here.
        expected: String,
        /// In the channel.
        found: String,
    },
    /// The types compared at this place have different names.
    TypeName {
        /// This program's type name.
        expected: String,
        /// The channel's type name.
        found: String,
    },
    /// One is a struct, the other an enum.
    Kind {
        /// `"struct"` or `"enum"` here.
        expected: &'static str,
        /// `"struct"` or `"enum"` in the channel.
        found: &'static str,
    },
    /// The archived type's size or alignment differs.
    Layout {
        /// Here.
        expected: ArchivedLayout,
        /// In the channel.
        found: ArchivedLayout,
    },
    /// A field only the channel's type has.
    FieldAdded {
        /// Its type.
        ty: String,
    },
    /// A field only this program's type has.
    FieldRemoved {
        /// Its type.
        ty: String,
    },
    /// The field (or the root) has another type.
    FieldType {
        /// Here.
        expected: String,
        /// In the channel.
        found: String,
    },
    /// The field comes at another position among the fields both types have.
    FieldMoved {
        /// Position here, from 0.
        expected: usize,
        /// Position in the channel, from 0.
        found: usize,
    },
    /// The archived field is at another offset.
    FieldOffset {
        /// Here.
        expected: u64,
        /// In the channel.
        found: u64,
    },
    /// The archived field has another size or alignment.
    FieldLayout {
        /// Here.
        expected: ArchivedLayout,
        /// In the channel.
        found: ArchivedLayout,
    },
    /// A variant only the channel's type has.
    VariantAdded,
    /// A variant only this program's type has.
    VariantRemoved,
    /// The variant comes at another position among the variants both types have.
    VariantMoved {
        /// Position here, from 0.
        expected: usize,
        /// Position in the channel, from 0.
        found: usize,
    },
    /// The variant has another tag (discriminant).
    Discriminant {
        /// Here.
        expected: u64,
        /// In the channel.
        found: u64,
    },
}

impl Change {
    /// Differences of layout follow from others (a field added earlier moves every later
    /// offset), so they are listed last.
    fn is_layout(&self) -> bool {
        matches!(
            self,
            Change::Layout { .. } | Change::FieldOffset { .. } | Change::FieldLayout { .. }
        )
    }
}

/// Every difference between `expected` (this program's structure) and `found` (a channel's),
/// structural ones first, differences of layout after them. Empty when they are equal.
pub fn diff(expected: &Structure, found: &Structure) -> Vec<Difference> {
    let mut d = Differ { expected, found, out: Vec::new(), seen: HashSet::new() };
    if expected.encoding != found.encoding {
        d.push(
            "<encoding>",
            Change::Encoding {
                expected: expected.encoding.to_string(),
                found: found.encoding.to_string(),
            },
        );
    }
    match (&expected.root, &found.root) {
        // Two root types are compared field by field even when their names differ (a type
        // renamed along with a change): the names are one difference among the others.
        (Shape::Named(e), Shape::Named(f)) => d.definitions(*e, *f),
        (e, f) => d.shapes("<root>", e, f),
    }
    let Differ { mut out, .. } = d;
    // Stable: structural differences first, in the order found.
    out.sort_by_key(|difference| difference.change.is_layout());
    out
}

struct Differ<'a> {
    expected: &'a Structure,
    found: &'a Structure,
    out: Vec<Difference>,
    /// Pairs of definitions already compared (each pair once, so recursive types end).
    seen: HashSet<(usize, usize)>,
}

impl Differ<'_> {
    fn push(&mut self, path: &str, change: Change) {
        self.out.push(Difference { path: path.to_owned(), change });
    }

    /// Compares two shapes at `path`: a different shape is one difference there (shapes are
    /// written out, named types by name); equal shapes lead into the pairs of named types they
    /// hold, each compared once.
    fn shapes(&mut self, path: &str, expected: &Shape, found: &Shape) {
        let mut pairs = Vec::new();
        if same_shape(expected, found, &mut pairs, self.expected, self.found) {
            for (e, f) in pairs {
                self.definitions(e, f);
            }
        } else {
            self.push(
                path,
                Change::FieldType {
                    expected: self.expected.render(expected),
                    found: self.found.render(found),
                },
            );
        }
    }

    fn definitions(&mut self, e: usize, f: usize) {
        if !self.seen.insert((e, f)) {
            return;
        }
        let (Some(expected), Some(found)) = (self.expected.definition(e), self.found.definition(f))
        else {
            return;
        };
        let name = expected.name.clone();
        if expected.name != found.name {
            self.push(
                &name,
                Change::TypeName { expected: expected.name.clone(), found: found.name.clone() },
            );
        }
        if expected.layout != found.layout {
            self.push(&name, Change::Layout { expected: expected.layout, found: found.layout });
        }
        match (&expected.body, &found.body) {
            (Body::Struct(a), Body::Struct(b)) => self.fields(&name, a, b),
            (Body::Enum(a), Body::Enum(b)) => {
                let names_a: Vec<&str> = a.iter().map(|v| v.name.as_str()).collect();
                let names_b: Vec<&str> = b.iter().map(|v| v.name.as_str()).collect();
                for (ia, va) in a.iter().enumerate() {
                    let at = format!("{name}::{}", va.name);
                    match names_b.iter().position(|n| *n == va.name) {
                        None => self.push(&at, Change::VariantRemoved),
                        Some(ib) => {
                            let vb = &b[ib];
                            if moved(&names_a, &names_b, ia, ib) {
                                self.push(&at, Change::VariantMoved { expected: ia, found: ib });
                            }
                            if va.tag != vb.tag {
                                self.push(
                                    &at,
                                    Change::Discriminant {
                                        expected: u64::from(va.tag),
                                        found: u64::from(vb.tag),
                                    },
                                );
                            }
                            self.fields(&at, &va.fields, &vb.fields);
                        }
                    }
                }
                for vb in b {
                    if !names_a.contains(&vb.name.as_str()) {
                        self.push(&format!("{name}::{}", vb.name), Change::VariantAdded);
                    }
                }
            }
            (a, b) => self.push(&name, Change::Kind { expected: a.kind(), found: b.kind() }),
        }
    }

    fn fields(&mut self, owner: &str, a: &Fields, b: &Fields) {
        let names_a: Vec<&str> = a.list.iter().map(|f| f.name.as_str()).collect();
        let names_b: Vec<&str> = b.list.iter().map(|f| f.name.as_str()).collect();
        for (ia, fa) in a.list.iter().enumerate() {
            let at = format!("{owner}.{}", fa.name);
            let Some(ib) = names_b.iter().position(|n| *n == fa.name) else {
                let ty = self.expected.render(&fa.shape);
                self.push(&at, Change::FieldRemoved { ty });
                continue;
            };
            let fb = &b.list[ib];
            if moved(&names_a, &names_b, ia, ib) {
                self.push(&at, Change::FieldMoved { expected: ia, found: ib });
            }
            self.shapes(&at, &fa.shape, &fb.shape);
            if fa.offset != fb.offset {
                self.push(&at, Change::FieldOffset { expected: fa.offset, found: fb.offset });
            }
            if fa.layout != fb.layout {
                self.push(&at, Change::FieldLayout { expected: fa.layout, found: fb.layout });
            }
        }
        for fb in &b.list {
            if !names_a.contains(&fb.name.as_str()) {
                let ty = self.found.render(&fb.shape);
                self.push(&format!("{owner}.{}", fb.name), Change::FieldAdded { ty });
            }
        }
    }
}

/// Whether the item at `ia` in `a` (at `ib` in `b`) comes at another position among the items
/// both lists have.
fn moved(a: &[&str], b: &[&str], ia: usize, ib: usize) -> bool {
    let rank_a = a[..ia].iter().filter(|n| b.contains(n)).count();
    let rank_b = b[..ib].iter().filter(|n| a.contains(n)).count();
    rank_a != rank_b
}

/// Whether two shapes are the same shape, named types compared by name; collects the pairs of
/// named types to compare further.
fn same_shape(
    a: &Shape,
    b: &Shape,
    pairs: &mut Vec<(usize, usize)>,
    sa: &Structure,
    sb: &Structure,
) -> bool {
    let mut same = |x: &Shape, y: &Shape| same_shape(x, y, pairs, sa, sb);
    match (a, b) {
        (Shape::Vec(x), Shape::Vec(y))
        | (Shape::BoxSlice(x), Shape::BoxSlice(y))
        | (Shape::Box(x), Shape::Box(y))
        | (Shape::Option(x), Shape::Option(y))
        | (Shape::HashSet(x), Shape::HashSet(y))
        | (Shape::BTreeSet(x), Shape::BTreeSet(y)) => same(x, y),
        (Shape::Array(x, n), Shape::Array(y, m)) => n == m && same(x, y),
        (Shape::HashMap(k, v), Shape::HashMap(l, w))
        | (Shape::BTreeMap(k, v), Shape::BTreeMap(l, w)) => same(k, l) && same(v, w),
        (Shape::Tuple(x), Shape::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Shape::Named(i), Shape::Named(j)) => {
            let name =
                |s: &Structure, i: usize| s.definition(i).map(|d: &Definition| d.name.clone());
            let equal = name(sa, *i) == name(sb, *j);
            if equal {
                pairs.push((*i, *j));
            }
            equal
        }
        (x, y) => x == y,
    }
}

fn layout_text(layout: ArchivedLayout) -> String {
    format!("{} bytes (alignment {})", layout.size, layout.align)
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and types may come from a damaged or hostile file.
        let path = printable(&self.path);
        let p = |text: &str| printable(text).into_owned();
        match &self.change {
            Change::Encoding { expected, found } => {
                write!(f, "encoding: {} here, {} in the channel", p(expected), p(found))
            }
            Change::TypeName { expected, found } => {
                write!(f, "{path}: type '{}' here, '{}' in the channel", p(expected), p(found))
            }
            Change::Kind { expected, found } => {
                write!(
                    f,
                    "{path}: a{} {expected} here, a{} {found} in the channel",
                    an(expected),
                    an(found)
                )
            }
            Change::Layout { expected, found } => write!(
                f,
                "{path}: archived in {} here, in {} in the channel",
                layout_text(*expected),
                layout_text(*found)
            ),
            Change::FieldAdded { ty } => {
                write!(f, "{path}: a field ({}) in the channel, not here", p(ty))
            }
            Change::FieldRemoved { ty } => {
                write!(f, "{path}: a field ({}) here, not in the channel", p(ty))
            }
            Change::FieldType { expected, found } => {
                write!(f, "{path}: {} here, {} in the channel", p(expected), p(found))
            }
            Change::FieldMoved { expected, found } => {
                write!(f, "{path}: field {} here, field {} in the channel", expected + 1, found + 1)
            }
            Change::FieldOffset { expected, found } => {
                write!(f, "{path}: at archived offset {expected} here, {found} in the channel")
            }
            Change::FieldLayout { expected, found } => write!(
                f,
                "{path}: archived in {} here, in {} in the channel",
                layout_text(*expected),
                layout_text(*found)
            ),
            Change::VariantAdded => write!(f, "{path}: a variant in the channel, not here"),
            Change::VariantRemoved => write!(f, "{path}: a variant here, not in the channel"),
            Change::VariantMoved { expected, found } => write!(
                f,
                "{path}: variant {} here, variant {} in the channel",
                expected + 1,
                found + 1
            ),
            Change::Discriminant { expected, found } => {
                write!(f, "{path}: tag {expected} here, {found} in the channel")
            }
        }
    }
}

fn an(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "n" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::{status, tree};
    use crate::schema::shape::Int;

    fn messages(expected: &Structure, found: &Structure) -> Vec<String> {
        diff(expected, found).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn equal_structures_have_no_difference() {
        assert!(diff(&status(Shape::String), &status(Shape::String)).is_empty());
        assert!(diff(&tree(), &tree()).is_empty());
    }

    #[test]
    fn a_change_inside_a_variant_names_the_type_variant_and_field() {
        let here = status(Shape::Vec(Box::new(Shape::Int(Int::U8))));
        assert_eq!(
            messages(&here, &status(Shape::String)),
            ["Mode::Failed.0: Vec<u8> here, String in the channel"]
        );
    }

    #[test]
    fn added_removed_and_renamed_fields_and_variants_are_named() {
        let here = status(Shape::String);
        let mut found = status(Shape::String);
        let Body::Struct(fields) = &mut found.types[0].body else { unreachable!() };
        fields.list[2].name = "journal".to_owned();
        let Body::Enum(variants) = &mut found.types[1].body else { unreachable!() };
        variants[0].name = "Waiting".to_owned();
        variants[1].tag = 4;
        assert_eq!(
            messages(&here, &found),
            // Depth first: a nested type's differences where its field is compared.
            [
                "Mode::Idle: a variant here, not in the channel",
                "Mode::Failed: tag 1 here, 4 in the channel",
                "Mode::Waiting: a variant in the channel, not here",
                "Status.log: a field (Vec<String>) here, not in the channel",
                "Status.journal: a field (Vec<String>) in the channel, not here",
            ]
        );
    }

    #[test]
    fn a_recursive_type_is_compared_once() {
        let mut found = tree();
        let Body::Struct(fields) = &mut found.types[0].body else { unreachable!() };
        fields.list[0].shape = Shape::Int(Int::I32);
        assert_eq!(messages(&tree(), &found), ["Tree.label: u32 here, i32 in the channel"]);
    }

    #[test]
    fn another_encoding_is_a_difference() {
        let mut found = tree();
        found.encoding.big_endian = true;
        assert_eq!(
            messages(&tree(), &found),
            ["encoding: rkyv 0.8, little-endian, 32-bit pointers, aligned here, rkyv 0.8, \
                 big-endian, 32-bit pointers, aligned in the channel"]
        );
    }

    #[test]
    fn names_from_a_hostile_file_are_escaped() {
        let mut found = tree();
        found.types[0].name = "Tree\u{1b}[2J".to_owned();
        let text = messages(&tree(), &found).join("\n");
        assert!(text.contains("Tree\\u{1b}[2J"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
