//! The archived shape of a type as the compiler knows it: [`Describe::SHAPE`], a `const` tree
//! that `#[derive(SharedState)]` and `#[derive(Describe)]` build for every channel type and the
//! types nested in it, and that this module provides for the standard types rkyv archives. A
//! [`Structure`](super::Structure) is its owned, storable form.
//!
//! A named type refers to its definition by `&'static` reference, so the tree can be walked in
//! `const` context (the fingerprint is computed so). The one exception is a field marked
//! `#[rkyv(omit_bounds)]`, which is how rkyv 0.8 lets a type contain itself: its shape is
//! [`StaticShape::Deferred`], looked up through a function when the tree is made owned, so that
//! a recursive type is no `const` cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Size and alignment of a type's archived form, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchivedLayout {
    /// `size_of` the archived type.
    pub size: u64,
    /// `align_of` the archived type.
    pub align: u64,
}

impl ArchivedLayout {
    /// The layout of `T`'s archived form.
    pub const fn of<T: rkyv::Archive>() -> Self {
        ArchivedLayout {
            size: size_of::<T::Archived>() as u64,
            align: align_of::<T::Archived>() as u64,
        }
    }

    /// Refuses a layout no compiler makes: an alignment that is not a power of two up to
    /// 64 KiB, or a size that is not a multiple of it.
    pub(crate) fn check(self) -> Result<(), String> {
        if self.align == 0 || !self.align.is_power_of_two() || self.align > 1 << 16 {
            return Err(format!("alignment {} is not a power of two up to 65536", self.align));
        }
        if !self.size.is_multiple_of(self.align) {
            return Err(format!(
                "size {} is not a multiple of its alignment {}",
                self.size, self.align
            ));
        }
        Ok(())
    }
}

/// An integer type, as archived. `usize` and `isize` are archived with the width rkyv was
/// built with (32 bits by default), which the channel's [`Encoding`](super::Encoding) records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Int {
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `u128`.
    U128,
    /// `usize`.
    Usize,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
    /// `isize`.
    Isize,
}

impl Int {
    /// Every kind, in the order of their codes.
    pub const ALL: [Int; 12] = [
        Int::U8,
        Int::U16,
        Int::U32,
        Int::U64,
        Int::U128,
        Int::Usize,
        Int::I8,
        Int::I16,
        Int::I32,
        Int::I64,
        Int::I128,
        Int::Isize,
    ];

    /// Whether values may be negative.
    pub const fn signed(self) -> bool {
        matches!(self, Int::I8 | Int::I16 | Int::I32 | Int::I64 | Int::I128 | Int::Isize)
    }

    /// The Rust name.
    pub const fn name(self) -> &'static str {
        match self {
            Int::U8 => "u8",
            Int::U16 => "u16",
            Int::U32 => "u32",
            Int::U64 => "u64",
            Int::U128 => "u128",
            Int::Usize => "usize",
            Int::I8 => "i8",
            Int::I16 => "i16",
            Int::I32 => "i32",
            Int::I64 => "i64",
            Int::I128 => "i128",
            Int::Isize => "isize",
        }
    }
}

/// A floating-point type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Float {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl Float {
    /// The Rust name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Float::F32 => "f32",
            Float::F64 => "f64",
        }
    }
}

/// How a struct or variant names its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// `{ a: A, b: B }`.
    Named,
    /// `(A, B)`: fields named `"0"`, `"1"`, ...
    Unnamed,
    /// No fields.
    Unit,
}

/// The archived shape of a type, as a `const` tree. See the [module documentation](crate::schema).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum StaticShape {
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// `char`.
    Char,
    /// An integer.
    Int(Int),
    /// A float.
    Float(Float),
    /// `String` (rkyv's `ArchivedString`, which holds short strings inline).
    String,
    /// `Box<str>` (`ArchivedBox<str>`: a pointer and a length).
    BoxStr,
    /// `Vec<T>`.
    Vec(&'static StaticShape),
    /// `Box<[T]>`.
    BoxSlice(&'static StaticShape),
    /// `Box<T>`.
    Box(&'static StaticShape),
    /// `Option<T>`.
    Option(&'static StaticShape),
    /// `[T; N]`.
    Array(&'static StaticShape, u64),
    /// A tuple of one or more elements (`()` is [`Unit`](Self::Unit)).
    Tuple(&'static [StaticShape]),
    /// `HashMap<K, V>`.
    HashMap(&'static StaticShape, &'static StaticShape),
    /// `HashSet<T>`.
    HashSet(&'static StaticShape),
    /// `BTreeMap<K, V>`.
    BTreeMap(&'static StaticShape, &'static StaticShape),
    /// `BTreeSet<T>`.
    BTreeSet(&'static StaticShape),
    /// A struct or enum with a description of its own.
    Named(&'static StaticDefinition),
    /// A field marked `#[rkyv(omit_bounds)]` (see the module documentation): its type as
    /// written, its layout, and the function that gives its shape.
    Deferred(&'static str, ArchivedLayout, fn() -> StaticShape),
    /// A type without a description: its name as written and its archived layout. A decoder
    /// shows its bytes.
    Opaque(&'static str, ArchivedLayout),
}

/// A described struct or enum.
#[derive(Clone, Copy, Debug)]
pub struct StaticDefinition {
    /// The type's name, without its module path.
    pub name: &'static str,
    /// Size and alignment of the archived type.
    pub layout: ArchivedLayout,
    /// Its fields or variants.
    pub body: StaticBody,
    /// [`definition_fingerprint`] of the above: computed once, by the derive, so that the
    /// fingerprint of a type that nests it reads it instead of walking it again.
    pub fingerprint: u64,
}

/// What a described type is made of.
#[derive(Clone, Copy, Debug)]
pub enum StaticBody {
    /// A struct's fields in declaration order.
    Struct(Style, &'static [StaticField]),
    /// An enum's variants in declaration order.
    Enum(&'static [StaticVariant]),
}

/// One field of a struct or variant.
#[derive(Clone, Copy, Debug)]
pub struct StaticField {
    /// The field's name (`"0"`, `"1"`, .. for unnamed fields).
    pub name: &'static str,
    /// Offset of the archived field from the start of the archived struct (or enum).
    pub offset: u64,
    /// Size and alignment of the archived field, as the compiler laid it out.
    pub layout: ArchivedLayout,
    /// The field's archived shape.
    pub shape: StaticShape,
}

/// One variant of an enum: rkyv archives an enum as `#[repr(u8)]`, its tag byte first.
#[derive(Clone, Copy, Debug)]
pub struct StaticVariant {
    /// The variant's name.
    pub name: &'static str,
    /// The tag byte (the variant's discriminant).
    pub tag: u8,
    /// How its fields are named.
    pub style: Style,
    /// Its fields, offsets from the start of the archived enum.
    pub fields: &'static [StaticField],
}

/// A type whose archived shape is known: implemented here for the standard types rkyv 0.8
/// archives, and by `#[derive(SharedState)]` and `#[derive(Describe)]` for the types they
/// derive on.
pub trait Describe {
    /// The archived shape of the type.
    const SHAPE: StaticShape;
}

macro_rules! leaf {
    ($($ty:ty => $shape:expr),* $(,)?) => {
        $(impl Describe for $ty { const SHAPE: StaticShape = $shape; })*
    };
}

leaf! {
    () => StaticShape::Unit,
    bool => StaticShape::Bool,
    char => StaticShape::Char,
    u8 => StaticShape::Int(Int::U8),
    u16 => StaticShape::Int(Int::U16),
    u32 => StaticShape::Int(Int::U32),
    u64 => StaticShape::Int(Int::U64),
    u128 => StaticShape::Int(Int::U128),
    usize => StaticShape::Int(Int::Usize),
    i8 => StaticShape::Int(Int::I8),
    i16 => StaticShape::Int(Int::I16),
    i32 => StaticShape::Int(Int::I32),
    i64 => StaticShape::Int(Int::I64),
    i128 => StaticShape::Int(Int::I128),
    isize => StaticShape::Int(Int::Isize),
    f32 => StaticShape::Float(Float::F32),
    f64 => StaticShape::Float(Float::F64),
    String => StaticShape::String,
    Box<str> => StaticShape::BoxStr,
}

impl<T: Describe> Describe for Vec<T> {
    const SHAPE: StaticShape = StaticShape::Vec(&T::SHAPE);
}

impl<T: Describe> Describe for Box<[T]> {
    const SHAPE: StaticShape = StaticShape::BoxSlice(&T::SHAPE);
}

impl<T: Describe> Describe for Box<T> {
    const SHAPE: StaticShape = StaticShape::Box(&T::SHAPE);
}

impl<T: Describe> Describe for Option<T> {
    const SHAPE: StaticShape = StaticShape::Option(&T::SHAPE);
}

impl<T: Describe, const N: usize> Describe for [T; N] {
    const SHAPE: StaticShape = StaticShape::Array(&T::SHAPE, N as u64);
}

impl<K: Describe, V: Describe, S> Describe for HashMap<K, V, S> {
    const SHAPE: StaticShape = StaticShape::HashMap(&K::SHAPE, &V::SHAPE);
}

impl<T: Describe, S> Describe for HashSet<T, S> {
    const SHAPE: StaticShape = StaticShape::HashSet(&T::SHAPE);
}

impl<K: Describe, V: Describe> Describe for BTreeMap<K, V> {
    const SHAPE: StaticShape = StaticShape::BTreeMap(&K::SHAPE, &V::SHAPE);
}

impl<T: Describe> Describe for BTreeSet<T> {
    const SHAPE: StaticShape = StaticShape::BTreeSet(&T::SHAPE);
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: Describe),+> Describe for ($($name,)+) {
            const SHAPE: StaticShape = StaticShape::Tuple(&[$($name::SHAPE),+]);
        }
    };
}

tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);
tuple!(A, B, C, D, E, F, G, H, I);
tuple!(A, B, C, D, E, F, G, H, I, J);
tuple!(A, B, C, D, E, F, G, H, I, J, K);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L);

// ---------------------------------------------------------------------------------------------
// Fingerprints of the `const` tree
// ---------------------------------------------------------------------------------------------

use crate::fingerprint::{fold_fingerprint as fold, hash_str};

/// The fingerprint of a shape, in `const` context: every kind, integer and float width, array
/// length and opaque layout, and for a named type its definition's [`StaticDefinition::fingerprint`]
/// (which covers its fields' shapes the same way, so the whole tree counts). A
/// [`StaticShape::Deferred`] field counts by its type as written and its layout: the recursion
/// stops there.
pub const fn shape_fingerprint(shape: &StaticShape) -> u64 {
    match shape {
        StaticShape::Unit => tag(1),
        StaticShape::Bool => tag(2),
        StaticShape::Char => tag(3),
        StaticShape::Int(int) => fold(tag(4), *int as u64),
        StaticShape::Float(float) => fold(tag(5), *float as u64),
        StaticShape::String => tag(6),
        StaticShape::BoxStr => tag(7),
        StaticShape::Vec(s) => fold(tag(8), shape_fingerprint(s)),
        StaticShape::BoxSlice(s) => fold(tag(9), shape_fingerprint(s)),
        StaticShape::Box(s) => fold(tag(10), shape_fingerprint(s)),
        StaticShape::Option(s) => fold(tag(11), shape_fingerprint(s)),
        StaticShape::Array(s, len) => fold(fold(tag(12), *len), shape_fingerprint(s)),
        StaticShape::Tuple(list) => {
            let mut fp = fold(tag(13), list.len() as u64);
            let mut i = 0;
            while i < list.len() {
                fp = fold(fp, shape_fingerprint(&list[i]));
                i += 1;
            }
            fp
        }
        StaticShape::HashMap(k, v) => {
            fold(fold(tag(14), shape_fingerprint(k)), shape_fingerprint(v))
        }
        StaticShape::HashSet(s) => fold(tag(15), shape_fingerprint(s)),
        StaticShape::BTreeMap(k, v) => {
            fold(fold(tag(16), shape_fingerprint(k)), shape_fingerprint(v))
        }
        StaticShape::BTreeSet(s) => fold(tag(17), shape_fingerprint(s)),
        StaticShape::Named(definition) => fold(tag(18), definition.fingerprint),
        StaticShape::Deferred(text, layout, _) => {
            fold(fold(fold(tag(19), hash_str(text)), layout.size), layout.align)
        }
        StaticShape::Opaque(text, layout) => {
            fold(fold(fold(tag(20), hash_str(text)), layout.size), layout.align)
        }
    }
}

/// Whether the fingerprint of `shape` stops somewhere inside it at a [`StaticShape::Deferred`]
/// field (a type that refers to itself), so that two types with one fingerprint may still differ
/// behind it: a reader then compares whole structures as well. Walks at most 10,000 shapes
/// and answers `true` beyond (comparing is always correct, only slower).
pub const fn has_deferred(shape: &StaticShape) -> bool {
    let mut budget = 10_000u32;
    defers(shape, &mut budget)
}

const fn defers(shape: &StaticShape, budget: &mut u32) -> bool {
    if *budget == 0 {
        return true;
    }
    *budget -= 1;
    match shape {
        StaticShape::Deferred(..) => true,
        StaticShape::Vec(s)
        | StaticShape::BoxSlice(s)
        | StaticShape::Box(s)
        | StaticShape::Option(s)
        | StaticShape::Array(s, _)
        | StaticShape::HashSet(s)
        | StaticShape::BTreeSet(s) => defers(s, budget),
        StaticShape::HashMap(k, v) | StaticShape::BTreeMap(k, v) => {
            defers(k, budget) || defers(v, budget)
        }
        StaticShape::Tuple(list) => {
            let mut i = 0;
            while i < list.len() {
                if defers(&list[i], budget) {
                    return true;
                }
                i += 1;
            }
            false
        }
        StaticShape::Named(definition) => match definition.body {
            StaticBody::Struct(_, fields) => fields_defer(fields, budget),
            StaticBody::Enum(variants) => {
                let mut i = 0;
                while i < variants.len() {
                    if fields_defer(variants[i].fields, budget) {
                        return true;
                    }
                    i += 1;
                }
                false
            }
        },
        _ => false,
    }
}

const fn fields_defer(fields: &[StaticField], budget: &mut u32) -> bool {
    let mut i = 0;
    while i < fields.len() {
        if defers(&fields[i].shape, budget) {
            return true;
        }
        i += 1;
    }
    false
}

/// The fingerprint of a definition: its name, layout, kind, and every variant's name and tag
/// and every field's name, offset, layout and [`shape_fingerprint`].
pub const fn definition_fingerprint(name: &str, layout: ArchivedLayout, body: &StaticBody) -> u64 {
    let mut fp = fold(fold(hash_str(name), layout.size), layout.align);
    match body {
        StaticBody::Struct(style, fields) => {
            fp = fold(fold(fp, 1), *style as u64);
            fields_fingerprint(fp, fields)
        }
        StaticBody::Enum(variants) => {
            fp = fold(fold(fp, 2), variants.len() as u64);
            let mut i = 0;
            while i < variants.len() {
                let v = &variants[i];
                fp = fold(fold(fold(fp, hash_str(v.name)), v.tag as u64), v.style as u64);
                fp = fields_fingerprint(fp, v.fields);
                i += 1;
            }
            fp
        }
    }
}

/// The start of a shape's fingerprint: which kind it is.
const fn tag(kind: u64) -> u64 {
    fold(0x6d6d_6170_7379_6e63, kind)
}

const fn fields_fingerprint(mut fp: u64, fields: &[StaticField]) -> u64 {
    fp = fold(fp, fields.len() as u64);
    let mut i = 0;
    while i < fields.len() {
        let f = &fields[i];
        fp = fold(fold(fp, hash_str(f.name)), f.offset);
        fp = fold(fold(fp, f.layout.size), f.layout.align);
        fp = fold(fp, shape_fingerprint(&f.shape));
        i += 1;
    }
    fp
}
