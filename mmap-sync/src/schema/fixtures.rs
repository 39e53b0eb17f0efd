//! Structures the tests of this module's parts build on, made by hand.

use super::shape::{ArchivedLayout, Int, Style};
use super::structure::{Body, Definition, Encoding, Field, Fields, Shape, Structure, Variant};

pub fn layout(size: u64, align: u64) -> ArchivedLayout {
    ArchivedLayout { size, align }
}

pub fn field(name: &str, offset: u64, size: u64, align: u64, shape: Shape) -> Field {
    Field { name: name.to_owned(), offset, layout: layout(size, align), shape }
}

fn named(list: Vec<Field>) -> Fields {
    Fields { style: Style::Named, list }
}

fn unnamed(list: Vec<Field>) -> Fields {
    Fields { style: Style::Unnamed, list }
}

/// `struct Status { version: u32, mode: Mode, log: Vec<String> }` with
/// `enum Mode { Idle, Failed(<failed>) }`, `failed` being `String` or `Vec<u8>` (both 8 bytes,
/// alignment 4: the change a layout cannot see).
pub fn status(failed: Shape) -> Structure {
    let status = Definition {
        name: "Status".to_owned(),
        layout: layout(24, 4),
        body: Body::Struct(named(vec![
            field("version", 0, 4, 4, Shape::Int(Int::U32)),
            field("mode", 4, 12, 4, Shape::Named(1)),
            field("log", 16, 8, 4, Shape::Vec(Box::new(Shape::String))),
        ])),
    };
    let mode = Definition {
        name: "Mode".to_owned(),
        layout: layout(12, 4),
        body: Body::Enum(vec![
            Variant {
                name: "Idle".to_owned(),
                tag: 0,
                fields: Fields { style: Style::Unit, list: vec![] },
            },
            Variant {
                name: "Failed".to_owned(),
                tag: 1,
                fields: unnamed(vec![field("0", 4, 8, 4, failed)]),
            },
        ]),
    };
    Structure { encoding: Encoding::standard(), root: Shape::Named(0), types: vec![status, mode] }
}

/// `struct Tree { label: u32, children: Vec<Tree> }`: a type that refers to itself.
pub fn tree() -> Structure {
    let tree = Definition {
        name: "Tree".to_owned(),
        layout: layout(12, 4),
        body: Body::Struct(named(vec![
            field("label", 0, 4, 4, Shape::Int(Int::U32)),
            field("children", 4, 8, 4, Shape::Vec(Box::new(Shape::Named(0)))),
        ])),
    };
    Structure { encoding: Encoding::standard(), root: Shape::Named(0), types: vec![tree] }
}
