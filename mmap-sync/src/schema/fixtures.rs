//! Descriptions the tests of this module's parts build on.

use super::{ArchivedLayout, Nested, OwnedDescription, OwnedField, OwnedShape, OwnedVariant};

pub fn layout(size: u64, align: u64) -> ArchivedLayout {
    ArchivedLayout { size, align }
}

pub fn field(name: &str, ty: &str, offset: u64, size: u64) -> OwnedField {
    OwnedField {
        name: name.to_owned(),
        ty: ty.to_owned(),
        offset: Some(offset),
        layout: layout(size, size.clamp(1, 8)),
        nested: Vec::new(),
    }
}

pub fn structure(name: &str, size: u64, fields: Vec<OwnedField>) -> OwnedDescription {
    OwnedDescription {
        name: name.to_owned(),
        layout: layout(size, 4),
        shape: OwnedShape::Struct(fields),
    }
}

pub fn variant(name: &str, discriminant: u64, fields: Vec<OwnedField>) -> OwnedVariant {
    OwnedVariant { name: name.to_owned(), discriminant, fields }
}

pub fn enumeration(name: &str, variants: Vec<OwnedVariant>) -> OwnedDescription {
    OwnedDescription {
        name: name.to_owned(),
        layout: layout(12, 4),
        shape: OwnedShape::Enum(variants),
    }
}

pub fn hello_world() -> OwnedDescription {
    structure(
        "HelloWorld",
        12,
        vec![field("version", "u32", 0, 4), field("messages", "Vec<String>", 4, 8)],
    )
}

/// A description with every kind of part: nested struct, nested enum with unit, named and
/// tuple variants, an unknown offset, a recursive and a too-deep nested type, and names
/// that need escaping in JSON.
pub fn everything() -> OwnedDescription {
    let policy = enumeration(
        "Policy",
        vec![
            variant("RoundRobin", 0, vec![]),
            variant("HashHeader", 1, vec![field("header", "String", 4, 8)]),
            variant("Weighted", 7, vec![field("0", "u8", 1, 1), field("1", "u64", 8, 8)]),
        ],
    );
    let mut route = field("route", "Route", 16, 24);
    route.nested.push(Nested::Described(structure(
        "Route",
        24,
        vec![field("prefix", "String", 0, 8), {
            let mut policy_field = field("policy", "Policy", 8, 12);
            policy_field.nested.push(Nested::Described(policy));
            policy_field
        }],
    )));
    let mut tree = field("tree", "Box<Tree>", 40, 4);
    tree.nested.push(Nested::Recursive { name: "Tree".to_owned() });
    tree.nested.push(Nested::TooDeep { name: "Deep".to_owned() });
    let mut quoted = field("odd \"name\"\\\n\u{1}", "Vec<u8> with \"x\"", 0, 8);
    quoted.offset = None;
    structure("Everything", 48, vec![field("version", "u64", 0, 8), route, tree, quoted])
}

pub fn nested_chain(depth: usize) -> OwnedDescription {
    let mut description = structure("Leaf", 4, vec![field("x", "u32", 0, 4)]);
    for level in 0..depth {
        let mut holder = field("inner", "Inner", 0, 4);
        holder.nested.push(Nested::Described(description));
        description = structure(&format!("Level{level}"), 4, vec![holder]);
    }
    description
}
