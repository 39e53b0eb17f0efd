//! Where two descriptions differ: [`diff`](fn@diff) matches fields and variants by name and
//! says what changed, path by path, in words a schema mismatch can show.

use std::collections::HashMap;
use std::fmt;

use super::{ArchivedLayout, Nested, OwnedDescription, OwnedField, OwnedShape, OwnedVariant};
use crate::escape::printable;

/// Where two descriptions differ: at `path`, `change`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Dotted path from the root to the field or variant concerned: `messages`,
    /// `routes.timeout_ms` (a field of the type nested in `routes`), `Forward.upstream` (a field
    /// of variant `Forward`); empty for the root type itself.
    pub path: String,
    /// What differs there.
    pub change: Change,
}

/// What differs at one place. "Expected" is this program's definition, "found" the channel's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The root types have different names.
    TypeName {
        /// This program's type name.
        expected: String,
        /// The channel's type name.
        found: String,
    },
    /// One is a struct, the other an enum.
    Kind {
        /// The type's name.
        name: String,
        /// `"struct"` or `"enum"` here.
        expected: &'static str,
        /// `"struct"` or `"enum"` in the channel.
        found: &'static str,
    },
    /// The archived type's size or alignment differs.
    Layout {
        /// The type's name.
        name: String,
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
    /// The field's type is written differently.
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
    /// The archived field has another size or alignment although its type is written alike
    /// (a change inside a nested type or behind an alias).
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
    /// The variant has another discriminant (archived tag).
    Discriminant {
        /// Here.
        expected: u64,
        /// In the channel.
        found: u64,
    },
}

impl Change {
    /// This change with control characters escaped in every name and type.
    fn printable(&self) -> Change {
        let text = |text: &String| printable(text).into_owned();
        match self {
            Change::TypeName { expected, found } => {
                Change::TypeName { expected: text(expected), found: text(found) }
            }
            Change::Kind { name, expected, found } => {
                Change::Kind { name: text(name), expected, found }
            }
            Change::Layout { name, expected, found } => {
                Change::Layout { name: text(name), expected: *expected, found: *found }
            }
            Change::FieldAdded { ty } => Change::FieldAdded { ty: text(ty) },
            Change::FieldRemoved { ty } => Change::FieldRemoved { ty: text(ty) },
            Change::FieldType { expected, found } => {
                Change::FieldType { expected: text(expected), found: text(found) }
            }
            other => other.clone(),
        }
    }

    /// Differences of layout follow from others (a field added earlier moves every later
    /// offset), so they are listed last.
    fn is_layout(&self) -> bool {
        matches!(
            self,
            Change::Layout { .. } | Change::FieldOffset { .. } | Change::FieldLayout { .. }
        )
    }
}

/// Every difference between `expected` (this program's description) and `found` (the
/// channel's), the ones of names, types and order first and those of offsets and sizes after.
/// Empty when the descriptions are equal.
///
/// Fields and variants are matched by name. A field whose type is written alike in both is
/// compared further: its archived size and offset, and the nested descriptions of the same
/// name, recursively.
pub fn diff(expected: &OwnedDescription, found: &OwnedDescription) -> Vec<Difference> {
    let mut out = Vec::new();
    if expected.name != found.name {
        out.push(Difference {
            path: String::new(),
            change: Change::TypeName { expected: expected.name.clone(), found: found.name.clone() },
        });
    }
    diff_type("", expected, found, &mut out);
    out.sort_by_key(|difference| difference.change.is_layout());
    out
}

fn diff_type(
    path: &str,
    expected: &OwnedDescription,
    found: &OwnedDescription,
    out: &mut Vec<Difference>,
) {
    let at = |change| Difference { path: path.to_owned(), change };
    if expected.shape.kind() != found.shape.kind() {
        out.push(at(Change::Kind {
            name: expected.name.clone(),
            expected: expected.shape.kind(),
            found: found.shape.kind(),
        }));
        return;
    }
    if expected.layout != found.layout {
        out.push(at(Change::Layout {
            name: expected.name.clone(),
            expected: expected.layout,
            found: found.layout,
        }));
    }
    match (&expected.shape, &found.shape) {
        (OwnedShape::Struct(expected), OwnedShape::Struct(found)) => {
            diff_fields(path, expected, found, out);
        }
        (OwnedShape::Enum(expected), OwnedShape::Enum(found)) => {
            diff_variants(path, expected, found, out);
        }
        _ => unreachable!("kinds were compared above"),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn diff_fields(
    path: &str,
    expected: &[OwnedField],
    found: &[OwnedField],
    out: &mut Vec<Difference>,
) {
    let names = |fields: &[OwnedField]| -> Vec<String> {
        fields.iter().map(|field| field.name.clone()).collect()
    };
    let matching = Matching::new(&names(expected), &names(found));
    // A field that is removed, added, moved, retyped or resized shifts the fields after it, in
    // this program's order or the channel's; their new offsets follow from it and are not
    // reported, so that one change reads as one difference.
    let disturbed = |e: usize| {
        matching.found_index(e).is_none_or(|f| {
            matching.moved(e)
                || expected[e].ty != found[f].ty
                || expected[e].layout != found[f].layout
        })
    };
    let first_disturbed_here = (0..expected.len()).find(|&e| disturbed(e));
    let first_disturbed_there = (0..found.len()).find(|&f| {
        (0..expected.len()).find(|&e| matching.found_index(e) == Some(f)).is_none_or(disturbed)
    });
    let undisturbed_before = |e: usize, f: usize| {
        first_disturbed_here.is_none_or(|first| e <= first)
            && first_disturbed_there.is_none_or(|first| f <= first)
    };
    for (e, field) in expected.iter().enumerate() {
        let path = join(path, &field.name);
        let Some(f) = matching.found_index(e) else {
            out.push(Difference { path, change: Change::FieldRemoved { ty: field.ty.clone() } });
            continue;
        };
        let other = &found[f];
        if matching.moved(e) {
            out.push(Difference {
                path: path.clone(),
                change: Change::FieldMoved { expected: e, found: f },
            });
        }
        if field.ty != other.ty {
            out.push(Difference {
                path,
                change: Change::FieldType { expected: field.ty.clone(), found: other.ty.clone() },
            });
            continue;
        }
        if field.layout != other.layout {
            out.push(Difference {
                path: path.clone(),
                change: Change::FieldLayout { expected: field.layout, found: other.layout },
            });
        }
        if let (Some(expected_offset), Some(found_offset)) = (field.offset, other.offset)
            && expected_offset != found_offset
            && !disturbed(e)
            && undisturbed_before(e, f)
        {
            out.push(Difference {
                path: path.clone(),
                change: Change::FieldOffset { expected: expected_offset, found: found_offset },
            });
        }
        for nested in &field.nested {
            let Nested::Described(nested) = nested else { continue };
            let counterpart = other.nested.iter().find_map(|candidate| match candidate {
                Nested::Described(candidate) if candidate.name == nested.name => Some(candidate),
                _ => None,
            });
            if let Some(counterpart) = counterpart {
                diff_type(&path, nested, counterpart, out);
            }
        }
    }
    for (f, field) in found.iter().enumerate() {
        if !matching.found_matched(f) {
            out.push(Difference {
                path: join(path, &field.name),
                change: Change::FieldAdded { ty: field.ty.clone() },
            });
        }
    }
}

fn diff_variants(
    path: &str,
    expected: &[OwnedVariant],
    found: &[OwnedVariant],
    out: &mut Vec<Difference>,
) {
    let names = |variants: &[OwnedVariant]| -> Vec<String> {
        variants.iter().map(|variant| variant.name.clone()).collect()
    };
    let matching = Matching::new(&names(expected), &names(found));
    for (e, variant) in expected.iter().enumerate() {
        let path = join(path, &variant.name);
        let Some(f) = matching.found_index(e) else {
            out.push(Difference { path, change: Change::VariantRemoved });
            continue;
        };
        let other = &found[f];
        if matching.moved(e) {
            out.push(Difference {
                path: path.clone(),
                change: Change::VariantMoved { expected: e, found: f },
            });
        }
        if variant.discriminant != other.discriminant {
            out.push(Difference {
                path: path.clone(),
                change: Change::Discriminant {
                    expected: variant.discriminant,
                    found: other.discriminant,
                },
            });
        }
        diff_fields(&path, &variant.fields, &other.fields, out);
    }
    for (f, variant) in found.iter().enumerate() {
        if !matching.found_matched(f) {
            out.push(Difference { path: join(path, &variant.name), change: Change::VariantAdded });
        }
    }
}

/// Which names of one list are in the other, and which of those changed their order: the
/// names both lists have, taken in expected order, keep their place when they form the longest
/// run that is also in found order; the others are reported as moved. A swap of two fields
/// thus reports one, and a field added or removed reports none.
struct Matching {
    /// For each expected element, the index of the found element of the same name.
    found_of: Vec<Option<usize>>,
    /// For each found element, whether an expected element has its name.
    matched: Vec<bool>,
    /// For each expected element, whether it is out of order.
    moved: Vec<bool>,
}

impl Matching {
    fn new(expected: &[String], found: &[String]) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(found.len());
        for (i, name) in found.iter().enumerate() {
            index.entry(name.as_str()).or_insert(i);
        }
        let mut matched = vec![false; found.len()];
        let found_of: Vec<Option<usize>> = expected
            .iter()
            .map(|name| {
                let f = *index.get(name.as_str())?;
                // A name twice in one list (only in a hand-made or damaged description) is
                // matched once.
                if matched[f] {
                    return None;
                }
                matched[f] = true;
                Some(f)
            })
            .collect();
        let common: Vec<(usize, usize)> =
            found_of.iter().enumerate().filter_map(|(e, f)| Some((e, (*f)?))).collect();
        let mut moved = vec![false; expected.len()];
        let in_order = longest_increasing(&common.iter().map(|&(_, f)| f).collect::<Vec<_>>());
        for (k, &(e, _)) in common.iter().enumerate() {
            moved[e] = !in_order[k];
        }
        Matching { found_of, matched, moved }
    }

    fn found_index(&self, expected: usize) -> Option<usize> {
        self.found_of[expected]
    }

    fn found_matched(&self, found: usize) -> bool {
        self.matched[found]
    }

    fn moved(&self, expected: usize) -> bool {
        self.moved[expected]
    }
}

/// Marks the elements of one longest strictly increasing subsequence of `values`, in
/// O(n log n); ties go to the earliest elements.
fn longest_increasing(values: &[usize]) -> Vec<bool> {
    // tails[k]: index of the smallest last value of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &value) in values.iter().enumerate() {
        let k = tails.partition_point(|&t| values[t] < value);
        previous[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = vec![false; values.len()];
    let mut next = tails.last().copied();
    while let Some(i) = next {
        keep[i] = true;
        next = previous[i];
    }
    keep
}

fn layout_text(layout: ArchivedLayout) -> String {
    format!("{} bytes aligned to {}", layout.size, layout.align)
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and types may come from a damaged or hostile file.
        let path = printable(&self.path);
        match &self.change.printable() {
            Change::TypeName { expected, found } => {
                write!(f, "the type is '{expected}' here but '{found}' in the channel")
            }
            Change::Kind { name, expected, found } => {
                if path.is_empty() {
                    write!(
                        f,
                        "'{name}' is a{} {expected} here but a{} {found} in the channel",
                        an(expected),
                        an(found)
                    )
                } else {
                    write!(
                        f,
                        "'{name}' in field '{path}' is a{} {expected} here but a{} {found} in the channel",
                        an(expected),
                        an(found)
                    )
                }
            }
            Change::Layout { name, expected, found } => {
                let whose = if path.is_empty() {
                    format!("'{name}'")
                } else {
                    format!("'{name}' in field '{path}'")
                };
                write!(
                    f,
                    "{whose} is archived in {} here but in {} in the channel",
                    layout_text(*expected),
                    layout_text(*found)
                )
            }
            Change::FieldAdded { ty } => {
                write!(f, "field '{path}' ({ty}) is in the channel but not here")
            }
            Change::FieldRemoved { ty } => {
                write!(f, "field '{path}' ({ty}) is here but not in the channel")
            }
            Change::FieldType { expected, found } => {
                write!(f, "field '{path}' has type '{expected}' here but '{found}' in the channel")
            }
            Change::FieldMoved { expected, found } => write!(
                f,
                "field '{path}' is field {} here but field {} in the channel",
                expected + 1,
                found + 1
            ),
            Change::FieldOffset { expected, found } => write!(
                f,
                "field '{path}' is at archived offset {expected} here but {found} in the channel"
            ),
            Change::FieldLayout { expected, found } => write!(
                f,
                "field '{path}' is archived in {} here but in {} in the channel",
                layout_text(*expected),
                layout_text(*found)
            ),
            Change::VariantAdded => write!(f, "variant '{path}' is in the channel but not here"),
            Change::VariantRemoved => write!(f, "variant '{path}' is here but not in the channel"),
            Change::VariantMoved { expected, found } => write!(
                f,
                "variant '{path}' is variant {} here but variant {} in the channel",
                expected + 1,
                found + 1
            ),
            Change::Discriminant { expected, found } => write!(
                f,
                "variant '{path}' has discriminant {expected} here but {found} in the channel"
            ),
        }
    }
}

fn an(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "n" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::*;

    fn messages(expected: &OwnedDescription, found: &OwnedDescription) -> Vec<String> {
        diff(expected, found).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn equal_descriptions_have_no_differences() {
        assert_eq!(diff(&everything(), &everything()), []);
    }

    #[test]
    fn a_retyped_field_is_named_with_both_types() {
        let mut found = hello_world();
        let OwnedShape::Struct(fields) = &mut found.shape else { unreachable!() };
        fields[1].ty = "Vec<u64>".to_owned();
        assert_eq!(
            messages(&hello_world(), &found),
            ["field 'messages' has type 'Vec<String>' here but 'Vec<u64>' in the channel"]
        );
    }

    #[test]
    fn added_and_removed_fields_are_named_without_the_offsets_they_shift() {
        let expected = hello_world();
        let found = structure(
            "HelloWorld",
            16,
            vec![field("generation", "u32", 0, 4), field("version", "u32", 4, 4)],
        );
        assert_eq!(
            messages(&expected, &found),
            [
                "field 'messages' (Vec<String>) is here but not in the channel",
                "field 'generation' (u32) is in the channel but not here",
                "'HelloWorld' is archived in 12 bytes aligned to 4 here but in 16 bytes aligned \
                 to 4 in the channel",
            ]
        );
    }

    #[test]
    fn swapped_fields_report_one_move_and_no_offsets() {
        let expected = structure("P", 8, vec![field("x", "u32", 0, 4), field("y", "u32", 4, 4)]);
        let found = structure("P", 8, vec![field("y", "u32", 0, 4), field("x", "u32", 4, 4)]);
        assert_eq!(
            diff(&expected, &found),
            [Difference {
                path: "x".to_owned(),
                change: Change::FieldMoved { expected: 0, found: 1 }
            }]
        );
        assert_eq!(
            messages(&expected, &found),
            ["field 'x' is field 1 here but field 2 in the channel"]
        );
    }

    #[test]
    fn an_offset_that_no_other_difference_explains_is_reported() {
        let expected = structure("P", 8, vec![field("a", "u32", 0, 4), field("b", "u32", 4, 4)]);
        let found = structure("P", 8, vec![field("a", "u32", 0, 4), field("b", "u32", 8, 4)]);
        assert_eq!(
            messages(&expected, &found),
            ["field 'b' is at archived offset 4 here but 8 in the channel"]
        );
    }

    #[test]
    fn a_field_moved_to_the_front_is_the_only_one_reported_as_moved() {
        let names = ["a", "b", "c", "d"];
        let expected = structure(
            "S",
            16,
            names.iter().enumerate().map(|(i, n)| field(n, "u32", 4 * i as u64, 4)).collect(),
        );
        let found = structure(
            "S",
            16,
            ["d", "a", "b", "c"]
                .iter()
                .enumerate()
                .map(|(i, n)| field(n, "u32", 4 * i as u64, 4))
                .collect(),
        );
        let differences = diff(&expected, &found);
        let moved: Vec<&str> = differences
            .iter()
            .filter(|d| matches!(d.change, Change::FieldMoved { .. }))
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(moved, ["d"]);
        // a, b and c shifted because d moved before them: nothing more to say about them.
        assert_eq!(differences.len(), 1);
    }

    #[test]
    fn variant_changes_are_named() {
        let expected = enumeration(
            "Policy",
            vec![
                variant("RoundRobin", 0, vec![]),
                variant("Random", 1, vec![]),
                variant("Sticky", 2, vec![]),
            ],
        );
        let found = enumeration(
            "Policy",
            vec![
                variant("RoundRobin", 0, vec![]),
                variant("Sticky", 5, vec![]),
                variant("LeastLoaded", 6, vec![]),
            ],
        );
        assert_eq!(
            messages(&expected, &found),
            [
                "variant 'Random' is here but not in the channel",
                "variant 'Sticky' has discriminant 2 here but 5 in the channel",
                "variant 'LeastLoaded' is in the channel but not here",
            ]
        );
    }

    #[test]
    fn reordered_variants_and_variant_fields_are_named_by_their_path() {
        let expected = enumeration(
            "E",
            vec![variant("A", 0, vec![field("x", "u32", 4, 4)]), variant("B", 1, vec![])],
        );
        let found = enumeration(
            "E",
            vec![variant("B", 1, vec![]), variant("A", 0, vec![field("x", "i32", 4, 4)])],
        );
        assert_eq!(
            messages(&expected, &found),
            [
                "variant 'A' is variant 1 here but variant 2 in the channel",
                "field 'A.x' has type 'u32' here but 'i32' in the channel",
            ]
        );
    }

    #[test]
    fn a_change_inside_a_nested_type_is_named_by_its_path() {
        let mut found = everything();
        let OwnedShape::Struct(fields) = &mut found.shape else { unreachable!() };
        let Nested::Described(route) = &mut fields[1].nested[0] else { unreachable!() };
        let OwnedShape::Struct(route_fields) = &mut route.shape else { unreachable!() };
        let Nested::Described(policy) = &mut route_fields[1].nested[0] else { unreachable!() };
        let OwnedShape::Enum(variants) = &mut policy.shape else { unreachable!() };
        variants[1].fields[0].ty = "Box<str>".to_owned();
        route_fields[0].layout = layout(16, 8);
        assert_eq!(
            messages(&everything(), &found),
            [
                "field 'route.policy.HashHeader.header' has type 'String' here but 'Box<str>' in \
                 the channel",
                "field 'route.prefix' is archived in 8 bytes aligned to 8 here but in 16 bytes \
                 aligned to 8 in the channel",
            ]
        );
    }

    #[test]
    fn a_struct_become_an_enum_is_one_difference() {
        let found = enumeration("HelloWorld", vec![variant("A", 0, vec![])]);
        assert_eq!(
            messages(&hello_world(), &found),
            ["'HelloWorld' is a struct here but an enum in the channel"]
        );
    }

    #[test]
    fn a_renamed_type_is_named() {
        let mut found = hello_world();
        found.name = "Greeting".to_owned();
        assert_eq!(
            messages(&hello_world(), &found),
            ["the type is 'HelloWorld' here but 'Greeting' in the channel"]
        );
    }

    #[test]
    fn differences_escape_control_characters_from_the_channel() {
        let mut found = hello_world();
        let OwnedShape::Struct(fields) = &mut found.shape else { unreachable!() };
        fields[1].ty = "Vec<u8>\u{1b}[2J".to_owned();
        assert_eq!(
            messages(&hello_world(), &found),
            ["field 'messages' has type 'Vec<String>' here but 'Vec<u8>\\u{1b}[2J' in the channel"]
        );
    }

    #[test]
    fn longest_increasing_keeps_the_longest_ordered_run() {
        assert_eq!(longest_increasing(&[3, 0, 1, 2]), [false, true, true, true]);
        assert_eq!(longest_increasing(&[0, 2, 1, 3]), [true, false, true, true]);
        assert_eq!(longest_increasing(&[]), Vec::<bool>::new());
    }
}
