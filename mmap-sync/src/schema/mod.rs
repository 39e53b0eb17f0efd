//! Readable descriptions of channel types: what a channel holds, field by field, as archived.
//!
//! The fingerprint says *whether* two definitions of a type agree; a description says *how*
//! they differ. `#[derive(SharedState)]` records one for every channel type
//! ([`SharedState::DESCRIPTION`](crate::SharedState::DESCRIPTION)): the type's name and archived
//! size and alignment, then each field with its name, its type as written, and its offset, size
//! and alignment in the archived form, computed by the compiler; for an enum, each variant with
//! its discriminant and fields.
//!
//! A [`TypeDescription`] is the `&'static` form the derive emits in a constant. Everything
//! else works on its owned form, [`OwnedDescription`]:
//!
//! * [`OwnedDescription::encode`] / [`OwnedDescription::decode`]: a compact, versioned binary
//!   form to store beside the fingerprint in a channel's files, so a program that does not know
//!   the type (the `inspect` command) can still show it;
//! * [`diff`](fn@diff): which fields and variants differ between two descriptions, for a schema mismatch
//!   that names the field instead of showing two hashes;
//! * `Display`: an aligned table (field, type, offset, size, alignment; nested types indented);
//! * [`OwnedDescription::to_json`]: the same in one stable JSON shape, for scripts.
//!
//! # Nested types
//!
//! A field whose type (or, inside `Vec`, `Option`, `Box`, maps, arrays and tuples, whose element
//! type) implements [`Describe`] carries that type's description too, so an inspection shows
//! the layout of `Vec<Route>`'s `Route` under the field. Every `SharedState` type implements
//! `Describe`; for a type that is only ever nested, derive it:
//!
//! ```
//! use mmap_sync::SharedState;
//! use mmap_sync::schema::Describe;
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
//! pub struct Route {
//!     pub prefix: String,
//!     pub timeout_ms: u32,
//! }
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
//! #[shared_state(path = "/dev/shm/routes")]
//! pub struct Routes {
//!     pub version: u64,
//!     pub routes: Vec<Route>,
//! }
//!
//! let description = Routes::DESCRIPTION.to_owned_description();
//! println!("{description}");
//! ```
//!
//! The opt-in is per type, not per field: which field types implement `Describe` is decided by
//! the compiler where the derive expands, and a type that does not is described by its name and
//! archived size and alignment only, as `u32`, `String` and every type of another crate are.
//! Rust offers no way for a trait to have a fallback for all other types, which is why nesting
//! cannot simply be automatic for every type.
//!
//! A recursive type (`struct Tree { children: Vec<Tree> }`) is described once; where it nests
//! in itself the description says so ([`Nested::Recursive`]). Nesting deeper than
//! [`MAX_DEPTH`] levels is cut off ([`Nested::TooDeep`]).
//!
//! # What a description cannot show
//!
//! Types are shown as written in the definition (`Vec<String>`, or `std::vec::Vec<String>` if
//! spelled so, or an alias's name): two spellings of one type differ in the description as they
//! do in the fingerprint. Offsets are those of the archived root's fields and of each variant's
//! fields (which start after the one-byte tag of rkyv's archived enums); data that an archived
//! field points to (a `Vec`'s elements, a `String`'s bytes) lives elsewhere in the archive and
//! has no fixed offset. A type archived as another type (`#[rkyv(as = ..)]`) has no field
//! offsets. Types that implement `SharedState` by hand, and values published through the
//! [`Synchronizer`](crate::synchronizer::Synchronizer) facade, have no description at all.

// Where each part lives: the model (the `&'static` and owned forms, and `Describe`) is this
// file; `encode` holds the binary form, `diff` the comparison of two descriptions, `render` the
// table that `Display` prints, `json` the JSON shape, and `derive_support` what the derives'
// generated code calls. Each part imports the model from here and nothing from its siblings;
// the escaping rule they share is the crate's `escape`, the JSON writer the crate's `json`.

pub use mmap_sync_derive::Describe;

#[doc(hidden)]
pub mod derive_support;
mod diff;
mod encode;
#[cfg(test)]
mod fixtures;
mod json;
mod render;

pub use crate::escape::{is_escaped, printable, printable_cut};
pub use diff::{Change, Difference, diff};
pub use encode::{ENCODING_MAGIC, ENCODING_VERSION, MAX_ENCODED_LEN};
pub use render::NAME_WIDTH;

/// Nesting levels a description records below its root; deeper nested types are cut off with
/// [`Nested::TooDeep`], and [`OwnedDescription::decode`] refuses encodings nested deeper.
pub const MAX_DEPTH: usize = 32;

/// A type that carries a description of its archived layout.
///
/// Implemented by `#[derive(SharedState)]` for channel types and by `#[derive(Describe)]` for
/// types that are only nested in them (see the [module documentation](self)). A type deriving
/// `SharedState` must not also derive `Describe`: it already implements it.
pub trait Describe {
    /// The type's description.
    const DESCRIPTION: &'static TypeDescription;
}

/// Size and alignment of a type's archived form, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchivedLayout {
    /// `size_of` the archived type.
    pub size: u64,
    /// `align_of` the archived type.
    pub align: u64,
}

/// Looks up the description of a nested type, if it has one. A function rather than a
/// reference, so that a recursive type can refer to its own description.
pub type NestedProbe = fn() -> Option<&'static TypeDescription>;

/// A type's description in the `&'static` form the derive emits in a constant. Convert it with
/// [`TypeDescription::to_owned_description`] to print, encode or compare it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct TypeDescription {
    /// The type's name, without its module path.
    pub name: &'static str,
    /// Size and alignment of the archived type.
    pub layout: ArchivedLayout,
    /// Its fields or variants.
    pub shape: Shape,
}

/// What a described type is made of.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Shape {
    /// A struct's fields in declaration order (`"0"`, `"1"`, .. for a tuple struct; none for a
    /// unit struct).
    Struct(&'static [FieldDescription]),
    /// An enum's variants in declaration order.
    Enum(&'static [VariantDescription]),
}

/// One field of a described struct or variant.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FieldDescription {
    /// The field's name, `"0"`, `"1"`, .. for tuple fields.
    pub name: &'static str,
    /// The field's type as written, tokens one space apart where Rust needs one, followed by
    /// `with W` when the field is archived through `#[rkyv(with = W)]`.
    pub ty: &'static str,
    /// Offset of the archived field from the start of the archived struct (or enum, for a
    /// variant's field); `None` where it cannot be known (see the module documentation).
    pub offset: Option<u64>,
    /// Size and alignment of the archived field.
    pub layout: ArchivedLayout,
    /// Descriptions of the field's type and element types that have one.
    pub nested: &'static [NestedProbe],
}

/// One variant of a described enum.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct VariantDescription {
    /// The variant's name.
    pub name: &'static str,
    /// The variant's discriminant, which is also the tag byte of its archived form.
    pub discriminant: u64,
    /// The variant's fields in declaration order.
    pub fields: &'static [FieldDescription],
}

impl TypeDescription {
    /// Describes a struct.
    pub const fn of_struct(
        name: &'static str,
        layout: ArchivedLayout,
        fields: &'static [FieldDescription],
    ) -> Self {
        TypeDescription { name, layout, shape: Shape::Struct(fields) }
    }

    /// Describes an enum.
    pub const fn of_enum(
        name: &'static str,
        layout: ArchivedLayout,
        variants: &'static [VariantDescription],
    ) -> Self {
        TypeDescription { name, layout, shape: Shape::Enum(variants) }
    }

    /// The owned form, with every nested description looked up: at most [`MAX_DEPTH`] levels
    /// deep, and a type nested in itself recorded as [`Nested::Recursive`].
    pub fn to_owned_description(&self) -> OwnedDescription {
        let mut path = Vec::new();
        owned(self, &mut path)
    }

    fn same_definition(&self, other: &TypeDescription) -> bool {
        let same_fields = |a: &[FieldDescription], b: &[FieldDescription]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.name == b.name && a.ty == b.ty)
        };
        self.name == other.name
            && self.layout == other.layout
            && match (self.shape, other.shape) {
                (Shape::Struct(a), Shape::Struct(b)) => same_fields(a, b),
                (Shape::Enum(a), Shape::Enum(b)) => {
                    a.len() == b.len()
                        && a.iter().zip(b).all(|(a, b)| {
                            a.name == b.name
                                && a.discriminant == b.discriminant
                                && same_fields(a.fields, b.fields)
                        })
                }
                _ => false,
            }
    }
}

impl FieldDescription {
    /// Describes a field without an offset or nested descriptions.
    pub const fn new(name: &'static str, ty: &'static str, layout: ArchivedLayout) -> Self {
        FieldDescription { name, ty, offset: None, layout, nested: &[] }
    }

    /// This field at `offset` bytes from the start of the archived type.
    pub const fn at(self, offset: usize) -> Self {
        FieldDescription { offset: Some(offset as u64), ..self }
    }

    /// This field with the descriptions of its type and element types.
    pub const fn nested(self, nested: &'static [NestedProbe]) -> Self {
        FieldDescription { nested, ..self }
    }
}

impl VariantDescription {
    /// Describes a variant.
    pub const fn new(
        name: &'static str,
        discriminant: u64,
        fields: &'static [FieldDescription],
    ) -> Self {
        VariantDescription { name, discriminant, fields }
    }
}

/// `path` holds the descriptions being converted, root first, to find recursion.
fn owned(description: &TypeDescription, path: &mut Vec<TypeDescription>) -> OwnedDescription {
    path.push(*description);
    let fields = |fields: &[FieldDescription], path: &mut Vec<TypeDescription>| {
        fields.iter().map(|field| owned_field(field, path)).collect()
    };
    let shape = match description.shape {
        Shape::Struct(list) => OwnedShape::Struct(fields(list, path)),
        Shape::Enum(variants) => OwnedShape::Enum(
            variants
                .iter()
                .map(|variant| OwnedVariant {
                    name: variant.name.to_owned(),
                    discriminant: variant.discriminant,
                    fields: fields(variant.fields, path),
                })
                .collect(),
        ),
    };
    path.pop();
    OwnedDescription { name: description.name.to_owned(), layout: description.layout, shape }
}

fn owned_field(field: &FieldDescription, path: &mut Vec<TypeDescription>) -> OwnedField {
    let nested = field
        .nested
        .iter()
        .filter_map(|probe| probe())
        .map(|nested| {
            let name = nested.name.to_owned();
            if path.iter().any(|outer| outer.same_definition(nested)) {
                Nested::Recursive { name }
            } else if path.len() > MAX_DEPTH {
                Nested::TooDeep { name }
            } else {
                Nested::Described(owned(nested, path))
            }
        })
        .collect();
    OwnedField {
        name: field.name.to_owned(),
        ty: field.ty.to_owned(),
        offset: field.offset,
        layout: field.layout,
        nested,
    }
}

/// A type's description, owned: what a reader decodes from a channel's files and what
/// [`diff`](fn@diff), `Display` and [`to_json`](OwnedDescription::to_json) work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedDescription {
    /// The type's name, without its module path.
    pub name: String,
    /// Size and alignment of the archived type.
    pub layout: ArchivedLayout,
    /// Its fields or variants.
    pub shape: OwnedShape,
}

/// What a described type is made of (owned form of [`Shape`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedShape {
    /// A struct's fields in declaration order.
    Struct(Vec<OwnedField>),
    /// An enum's variants in declaration order.
    Enum(Vec<OwnedVariant>),
}

/// One field (owned form of [`FieldDescription`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedField {
    /// The field's name, `"0"`, `"1"`, .. for tuple fields.
    pub name: String,
    /// The field's type as written (see [`FieldDescription::ty`]).
    pub ty: String,
    /// Offset of the archived field, where known.
    pub offset: Option<u64>,
    /// Size and alignment of the archived field.
    pub layout: ArchivedLayout,
    /// Descriptions of the field's type and element types that have one.
    pub nested: Vec<Nested>,
}

/// One variant (owned form of [`VariantDescription`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedVariant {
    /// The variant's name.
    pub name: String,
    /// The variant's discriminant, which is also the tag byte of its archived form.
    pub discriminant: u64,
    /// The variant's fields in declaration order.
    pub fields: Vec<OwnedField>,
}

/// The description of a type nested in a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nested {
    /// The nested type, described.
    Described(OwnedDescription),
    /// A type that contains itself, described further up the same path.
    Recursive {
        /// The type's name.
        name: String,
    },
    /// A type nested more than [`MAX_DEPTH`] levels deep, not described.
    TooDeep {
        /// The type's name.
        name: String,
    },
}

impl Nested {
    /// The nested type's name.
    pub fn name(&self) -> &str {
        match self {
            Nested::Described(description) => &description.name,
            Nested::Recursive { name } | Nested::TooDeep { name } => name,
        }
    }
}

impl From<&TypeDescription> for OwnedDescription {
    fn from(description: &TypeDescription) -> Self {
        description.to_owned_description()
    }
}

impl OwnedShape {
    /// `"struct"` or `"enum"`: how the table, the differences and the JSON name the kind.
    fn kind(&self) -> &'static str {
        match self {
            OwnedShape::Struct(_) => "struct",
            OwnedShape::Enum(_) => "enum",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LEAF: TypeDescription = TypeDescription::of_struct(
        "Leaf",
        ArchivedLayout { size: 4, align: 4 },
        &[FieldDescription::new("x", "u32", ArchivedLayout { size: 4, align: 4 }).at(0)],
    );

    static NODE: TypeDescription = TypeDescription::of_struct(
        "Node",
        ArchivedLayout { size: 12, align: 4 },
        &[
            FieldDescription::new("leaf", "Leaf", ArchivedLayout { size: 4, align: 4 })
                .at(0)
                .nested(&[|| Some(&LEAF)]),
            FieldDescription::new("children", "Vec<Node>", ArchivedLayout { size: 8, align: 4 })
                .at(4)
                .nested(&[|| None, || Some(&NODE)]),
        ],
    );

    #[test]
    fn the_owned_form_describes_nested_types_and_marks_recursion() {
        let owned = NODE.to_owned_description();
        let OwnedShape::Struct(fields) = &owned.shape else { panic!("a struct") };
        assert_eq!(fields[0].nested, [Nested::Described(LEAF.to_owned_description())]);
        // The probe that found nothing leaves nothing; the one that found Node itself is cut.
        assert_eq!(fields[1].nested, [Nested::Recursive { name: "Node".to_owned() }]);
        assert_eq!(fields[1].offset, Some(4));
    }
}
