//! [`Value`]: one archived value and its shape, navigated and read with a check at every read.

use std::cmp::Ordering;
use std::fmt;

use crate::escape::printable;
use crate::schema::{
    Body, Definition, Field, Fields as FieldList, Float, Int, Shape, Style, Variant,
};

use super::archive::DynArchive;
use super::error::{DynError, DynErrorKind};
use super::json_text::FloatValue;
use super::layout::{option_offset, tuple_offset};
use super::numeric::{NumericKind, NumericSlice};

/// What a [`Value`] is, from its shape (a `Box` is looked through).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `()`.
    Unit,
    /// `bool`: [`Value::as_bool`].
    Bool,
    /// `char`: [`Value::as_char`].
    Char,
    /// An integer: [`Value::as_i64`], [`as_u64`](Value::as_u64), [`as_i128`](Value::as_i128),
    /// [`as_u128`](Value::as_u128).
    Int(Int),
    /// A float: [`Value::as_f64`].
    Float(Float),
    /// `String` or `Box<str>`: [`Value::as_str`].
    String,
    /// `Vec<T>`, `Box<[T]>` or `[T; N]`: [`index`](Value::index),
    /// [`elements`](Value::elements); [`as_bytes`](Value::as_bytes) for `u8` elements and
    /// [`numeric`](Value::numeric) for integers and floats.
    List,
    /// A tuple: [`index`](Value::index), [`elements`](Value::elements).
    Tuple,
    /// `HashMap` or `BTreeMap`: [`get`](Value::get), [`entries`](Value::entries).
    Map,
    /// `HashSet` or `BTreeSet`: [`get`](Value::get), [`contains`](Value::contains),
    /// [`elements`](Value::elements).
    Set,
    /// A struct: [`field`](Value::field), [`fields`](Value::fields) (and
    /// [`index`](Value::index) for a tuple struct).
    Struct,
    /// An enum: [`variant`](Value::variant); [`field`](Value::field) and
    /// [`fields`](Value::fields) read the variant's fields.
    Enum,
    /// `Option<T>`: [`option`](Value::option).
    Option,
    /// A type without a description: [`opaque`](Value::opaque) gives its name and bytes.
    Opaque,
}

/// An integer read from an archive, of a signed or an unsigned type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Num {
    S(i128),
    U(u128),
}

impl Num {
    /// The two's complement bits.
    pub(super) fn bits(self) -> u128 {
        match self {
            Num::S(v) => v as u128,
            Num::U(v) => v,
        }
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Num) -> Ordering {
        match (*self, *other) {
            (Num::S(a), Num::S(b)) => a.cmp(&b),
            (Num::U(a), Num::U(b)) => a.cmp(&b),
            (Num::S(a), Num::U(b)) => u128::try_from(a).map_or(Ordering::Less, |a| a.cmp(&b)),
            (Num::U(a), Num::S(b)) => u128::try_from(b).map_or(Ordering::Greater, |b| a.cmp(&b)),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Num) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::S(v) => write!(f, "{v}"),
            Num::U(v) => write!(f, "{v}"),
        }
    }
}

/// The integer of type `int` at `at`.
#[inline]
pub(super) fn read_int(archive: DynArchive<'_>, int: Int, at: usize) -> Result<Num, DynError> {
    Ok(match int {
        Int::U8 => Num::U(archive.u8(at)?.into()),
        Int::I8 => Num::S((archive.u8(at)? as i8).into()),
        Int::U16 => Num::U(u16::from_le_bytes(archive.array(at)?).into()),
        Int::I16 => Num::S(i16::from_le_bytes(archive.array(at)?).into()),
        Int::U32 | Int::Usize => Num::U(archive.u32(at)?.into()),
        Int::I32 | Int::Isize => Num::S(archive.i32(at)?.into()),
        Int::U64 => Num::U(u64::from_le_bytes(archive.array(at)?).into()),
        Int::I64 => Num::S(i64::from_le_bytes(archive.array(at)?).into()),
        Int::U128 => Num::U(u128::from_le_bytes(archive.array(at)?)),
        Int::I128 => Num::S(i128::from_le_bytes(archive.array(at)?)),
    })
}

/// The `bool` at `at` (its byte must be 0 or 1).
#[inline]
pub(super) fn read_bool(archive: &DynArchive<'_>, at: usize) -> Result<bool, DynError> {
    match archive.u8(at)? {
        0 => Ok(false),
        1 => Ok(true),
        byte => Err(DynError::corrupt(format!("a bool's byte is {byte}, not 0 or 1"))),
    }
}

/// Where the value of the `Option<inner>` at `at` is: `None` for `None` (its tag must be 0
/// or 1).
#[inline]
pub(super) fn read_option(
    archive: &DynArchive<'_>,
    inner: &Shape,
    at: usize,
) -> Result<Option<usize>, DynError> {
    match archive.u8(at)? {
        0 => Ok(None),
        1 => Ok(Some(at + option_offset(archive.layout(inner)?) as usize)),
        tag => Err(DynError::corrupt(format!("an Option's tag is {tag}, not 0 or 1"))),
    }
}

/// The `char` at `at` (it must be a Unicode scalar value).
#[inline]
pub(super) fn read_char(archive: &DynArchive<'_>, at: usize) -> Result<char, DynError> {
    let code = archive.u32(at)?;
    char::from_u32(code).ok_or_else(|| DynError::corrupt(format!("{code:#x} is not a char")))
}

/// The float of type `float` at `at`.
#[inline]
pub(super) fn read_float(
    archive: &DynArchive<'_>,
    float: Float,
    at: usize,
) -> Result<FloatValue, DynError> {
    Ok(match float {
        Float::F32 => FloatValue::F32(f32::from_le_bytes(archive.array(at)?)),
        Float::F64 => FloatValue::F64(f64::from_le_bytes(archive.array(at)?)),
    })
}

/// The bytes of the `String` at `at`, before the UTF-8 check.
///
/// rkyv's `ArchivedStringRepr`: inline when the first byte is not `0b10xx_xxxx` (the bytes up
/// to the first 0xff, or all 8); otherwise a length whose low byte carries the flag bits, then
/// an offset relative to the string itself.
#[inline]
pub(super) fn read_string<'a>(archive: &DynArchive<'a>, at: usize) -> Result<&'a [u8], DynError> {
    let head = archive.span(at, 8)?;
    if head[0] & 0xc0 != 0x80 {
        let len = head.iter().position(|&b| b == 0xff).unwrap_or(8);
        return Ok(&head[..len]);
    }
    let raw = archive.u32(at)?;
    let len = (raw & 0x3f) | ((raw & !0xff) >> 2);
    if len <= 8 {
        return Err(DynError::corrupt(format!(
            "a string of {len} bytes stored out of line (rkyv stores those inline)"
        )));
    }
    let start = archive.target(at, archive.i32(at + 4)?, len.into(), 1)?;
    archive.span(start, len as usize)
}

/// The bytes of the `Box<str>` at `at`, before the UTF-8 check.
pub(super) fn read_box_str<'a>(archive: &DynArchive<'a>, at: usize) -> Result<&'a [u8], DynError> {
    let len = archive.u32(at + 4)?;
    let start = archive.follow(at, len.into(), 1)?;
    archive.span(start, len as usize)
}

/// A string's bytes, checked to be UTF-8.
#[inline]
pub(super) fn utf8(bytes: &[u8]) -> Result<&str, DynError> {
    std::str::from_utf8(bytes).map_err(|e| {
        DynError::corrupt(format!("a string that is not UTF-8 (from byte {})", e.valid_up_to()))
    })
}

/// `shape` without the `Box`es around it.
pub(super) fn strip_box(mut shape: &Shape) -> &Shape {
    while let Shape::Box(inner) = shape {
        shape = inner;
    }
    shape
}

/// Elements of a `Vec`, `Box<[T]>` or array: where they start, how many, how far apart.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run<'a> {
    pub element: &'a Shape,
    pub start: usize,
    pub len: usize,
    pub stride: usize,
}

/// One archived value: where it is in the archive and its shape. `Copy`, and navigating it
/// allocates nothing (errors do).
///
/// Every read is checked: relative pointers (inside the archive, aligned for what they point
/// to), lengths, UTF-8, `bool` and `char` values, enum and option tags, hash tables and
/// B-trees. A `Box` is followed wherever a value is read; navigation
/// ([`field`](Self::field), [`index`](Self::index), [`get`](Self::get), [`at`](Self::at))
/// also looks through `Option`s, and an `Option` that is `None` on the way is a
/// [`NotFound`](DynErrorKind::NotFound) error.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    pub(super) archive: DynArchive<'a>,
    pub(super) shape: &'a Shape,
    /// The value's first byte. The value's bytes (its shape's archived size) lie inside the
    /// archive and are aligned for it: every constructor makes sure.
    pub(super) position: usize,
}

impl<'a> DynArchive<'a> {
    /// The root value.
    #[inline]
    pub fn root(&self) -> Value<'a> {
        Value::new(*self, &self.structure().root, self.root)
    }
}

impl<'a> Value<'a> {
    pub(super) fn new(archive: DynArchive<'a>, shape: &'a Shape, position: usize) -> Value<'a> {
        Value { archive, shape, position }
    }

    fn part(&self, shape: &'a Shape, position: usize) -> Value<'a> {
        Value { archive: self.archive, shape, position }
    }

    /// The archive the value is part of.
    pub fn archive(&self) -> DynArchive<'a> {
        self.archive
    }

    /// The value's shape as declared (a `Box<T>` is still a `Box` here; [`kind`](Self::kind)
    /// looks through it).
    pub fn shape(&self) -> &'a Shape {
        self.shape
    }

    /// The offset of the value's first byte in the archive.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The value's type written as Rust (`Vec<Route>`, `HashMap<String, u32>`).
    pub fn type_name(&self) -> String {
        self.render(self.shape)
    }

    pub(super) fn render(&self, shape: &Shape) -> String {
        self.archive.structure().render(shape)
    }

    pub(super) fn definition(&self, index: usize) -> Result<&'a Definition, DynError> {
        self.archive
            .structure()
            .types
            .get(index)
            .ok_or_else(|| DynError::structure("", format!("no type {index}")))
    }

    /// What the value is.
    pub fn kind(&self) -> Kind {
        match strip_box(self.shape) {
            Shape::Unit => Kind::Unit,
            Shape::Bool => Kind::Bool,
            Shape::Char => Kind::Char,
            Shape::Int(int) => Kind::Int(*int),
            Shape::Float(float) => Kind::Float(*float),
            Shape::String | Shape::BoxStr => Kind::String,
            Shape::Vec(_) | Shape::BoxSlice(_) | Shape::Array(..) => Kind::List,
            Shape::Tuple(_) => Kind::Tuple,
            Shape::HashMap(..) | Shape::BTreeMap(..) => Kind::Map,
            Shape::HashSet(_) | Shape::BTreeSet(_) => Kind::Set,
            Shape::Option(_) => Kind::Option,
            Shape::Named(index) => match self.definition(*index).map(|d| &d.body) {
                Ok(Body::Struct(_)) => Kind::Struct,
                Ok(Body::Enum(_)) => Kind::Enum,
                Err(_) => Kind::Opaque,
            },
            Shape::Opaque { .. } | Shape::Box(_) => Kind::Opaque,
        }
    }

    /// The value with every `Box` around it followed.
    #[inline]
    pub(super) fn resolved(self) -> Result<Value<'a>, DynError> {
        match self.shape {
            Shape::Box(_) => self.follow_boxes(),
            _ => Ok(self),
        }
    }

    #[inline(never)]
    fn follow_boxes(self) -> Result<Value<'a>, DynError> {
        let mut value = self;
        while let Shape::Box(inner) = value.shape {
            let layout = value.archive.layout(inner)?;
            let target = value.archive.follow(value.position, layout.size, layout.align)?;
            value = value.part(inner, target);
        }
        Ok(value)
    }

    /// The value with `Box`es followed and `Option`s opened, for navigation.
    #[inline]
    pub(super) fn navigable(self) -> Result<Value<'a>, DynError> {
        match self.shape {
            Shape::Box(_) | Shape::Option(_) => self.open_options(),
            _ => Ok(self),
        }
    }

    #[inline(never)]
    fn open_options(self) -> Result<Value<'a>, DynError> {
        let mut value = self.resolved()?;
        while let Shape::Option(_) = value.shape {
            value = match value.option()? {
                Some(inner) => inner.resolved()?,
                None => return Err(DynError::not_found("the value is None")),
            };
        }
        Ok(value)
    }

    pub(super) fn wrong_kind(&self, what: &str) -> DynError {
        DynError::wrong_kind(format!("{} {what}", printable(&self.type_name())))
    }

    // -- navigation ---------------------------------------------------------------------------

    /// The field `name` of a struct, or of an enum's current variant (`"0"`, `"1"`, .. for
    /// unnamed fields; also the elements of a tuple).
    pub fn field(&self, name: &str) -> Result<Value<'a>, DynError> {
        let value = self.navigable()?;
        let not_found = |owner: &str| {
            DynError::not_found(format!("{} has no field `{}`", printable(owner), printable(name)))
                .under_field(name)
        };
        match value.shape {
            Shape::Named(index) => {
                let definition = value.definition(*index)?;
                let (variant, fields) = value.fields_of(definition)?;
                match fields.list.iter().find(|field| field.name == name) {
                    Some(field) => Ok(value.field_value(field)),
                    None => Err(not_found(&match variant {
                        Some(variant) => format!("{}::{}", definition.name, variant.name),
                        None => definition.name.clone(),
                    })),
                }
            }
            Shape::Tuple(elements) => match name.parse::<usize>() {
                Ok(i) if i < elements.len() => value.index(i).map_err(|e| e.under_field(name)),
                _ => Err(not_found(&value.type_name())),
            },
            _ => Err(value.wrong_kind(&format!("has no field `{}`", printable(name)))),
        }
    }

    /// The fields of a struct or of the current variant of an enum (which it also gives).
    pub(super) fn fields_of(
        &self,
        definition: &'a Definition,
    ) -> Result<(Option<&'a Variant>, &'a FieldList), DynError> {
        match &definition.body {
            Body::Struct(fields) => Ok((None, fields)),
            Body::Enum(variants) => {
                let variant = self.variant_of(definition, variants)?;
                Ok((Some(variant), &variant.fields))
            }
        }
    }

    /// The field `field` of this struct or variant (one of its definition's fields).
    #[inline]
    pub(super) fn field_value(&self, field: &'a Field) -> Value<'a> {
        // Inside the value: the structure check put every field inside its type.
        self.part(&field.shape, self.position + field.offset as usize)
    }

    /// The current variant of the enum `definition` at this value.
    fn variant_of(
        &self,
        definition: &'a Definition,
        variants: &'a [Variant],
    ) -> Result<&'a Variant, DynError> {
        if variants.is_empty() {
            return Err(DynError::corrupt(format!(
                "{} has no variants, so no value",
                printable(&definition.name)
            )));
        }
        let tag = self.archive.u8(self.position)?;
        variants.iter().find(|variant| variant.tag == tag).ok_or_else(|| {
            DynError::corrupt(format!("tag {tag} is no variant of {}", printable(&definition.name)))
        })
    }

    /// Element `index` of a list (`Vec`, `Box<[T]>`, array) or tuple, or field `index` of a
    /// tuple struct or tuple variant.
    pub fn index(&self, index: usize) -> Result<Value<'a>, DynError> {
        let value = self.navigable()?;
        let past = |len: usize| {
            DynError::new(
                DynErrorKind::OutOfRange,
                format!("index {index} is past the end of {len} elements"),
            )
            .under_index(index)
        };
        match value.shape {
            Shape::Vec(_) | Shape::BoxSlice(_) | Shape::Array(..) => {
                let run = value.run()?;
                if index >= run.len {
                    return Err(past(run.len));
                }
                Ok(value.part(run.element, run.start + index * run.stride))
            }
            Shape::Tuple(elements) => {
                let Some(element) = elements.get(index) else {
                    return Err(past(elements.len()));
                };
                let offset = tuple_offset(&value.archive.structure().types, elements, index)
                    .map_err(|m| DynError::structure("", m))?;
                Ok(value.part(element, value.position + offset as usize))
            }
            Shape::Named(i) => {
                let definition = value.definition(*i)?;
                let (_, fields) = value.fields_of(definition)?;
                if fields.style != Style::Unnamed {
                    return Err(value.wrong_kind("has no numbered fields"));
                }
                match fields.list.get(index) {
                    Some(field) => Ok(value.field_value(field)),
                    None => Err(past(fields.list.len())),
                }
            }
            _ => Err(value.wrong_kind("cannot be indexed")),
        }
    }

    /// The current variant of an enum.
    pub fn variant(&self) -> Result<EnumValue<'a>, DynError> {
        let value = self.resolved()?;
        if let Shape::Named(index) = value.shape {
            let definition = value.definition(*index)?;
            if let Body::Enum(variants) = &definition.body {
                let variant = value.variant_of(definition, variants)?;
                return Ok(EnumValue { value, definition, variant });
            }
        }
        Err(value.wrong_kind("is not an enum"))
    }

    /// An `Option`'s value: `None`, or the value inside `Some`.
    pub fn option(&self) -> Result<Option<Value<'a>>, DynError> {
        let value = self.resolved()?;
        let Shape::Option(inner) = value.shape else {
            return Err(value.wrong_kind("is not an Option"));
        };
        let some = read_option(&value.archive, inner, value.position)?;
        Ok(some.map(|at| value.part(inner, at)))
    }

    // -- scalars ------------------------------------------------------------------------------

    /// A `bool` (its byte must be 0 or 1).
    pub fn as_bool(&self) -> Result<bool, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Bool => read_bool(&value.archive, value.position),
            _ => Err(value.wrong_kind("is not a bool")),
        }
    }

    /// A `char` (it must be a Unicode scalar value).
    pub fn as_char(&self) -> Result<char, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Char => read_char(&value.archive, value.position),
            _ => Err(value.wrong_kind("is not a char")),
        }
    }

    /// An integer of any type, read.
    #[inline]
    pub(super) fn num(&self) -> Result<Num, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Int(int) => read_int(value.archive, *int, value.position),
            _ => Err(value.wrong_kind("is not an integer")),
        }
    }

    /// An integer of any type as `i128` (a [`Range`](DynErrorKind::Range) error for a `u128`
    /// above `i128::MAX`).
    pub fn as_i128(&self) -> Result<i128, DynError> {
        match self.num()? {
            Num::S(v) => Ok(v),
            Num::U(v) => i128::try_from(v).map_err(|_| out_of(v, "i128")),
        }
    }

    /// An integer of any type as `u128` (a [`Range`](DynErrorKind::Range) error when negative).
    pub fn as_u128(&self) -> Result<u128, DynError> {
        match self.num()? {
            Num::S(v) => u128::try_from(v).map_err(|_| out_of(v, "u128")),
            Num::U(v) => Ok(v),
        }
    }

    /// An integer of any type as `i64`, if it fits.
    #[inline]
    pub fn as_i64(&self) -> Result<i64, DynError> {
        let n = self.num()?;
        match n {
            Num::S(v) => i64::try_from(v).ok(),
            Num::U(v) => i64::try_from(v).ok(),
        }
        .ok_or_else(|| out_of(n, "i64"))
    }

    /// An integer of any type as `u64`, if it fits.
    #[inline]
    pub fn as_u64(&self) -> Result<u64, DynError> {
        let n = self.num()?;
        match n {
            Num::S(v) => u64::try_from(v).ok(),
            Num::U(v) => u64::try_from(v).ok(),
        }
        .ok_or_else(|| out_of(n, "u64"))
    }

    pub(super) fn float(&self) -> Result<FloatValue, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Float(float) => read_float(&value.archive, *float, value.position),
            _ => Err(value.wrong_kind("is not a float")),
        }
    }

    /// An `f32` (widened) or `f64`.
    pub fn as_f64(&self) -> Result<f64, DynError> {
        Ok(match self.float()? {
            FloatValue::F32(v) => v.into(),
            FloatValue::F64(v) => v,
        })
    }

    /// The bytes of a `String` or `Box<str>`, before the UTF-8 check.
    pub(super) fn str_bytes(&self) -> Result<&'a [u8], DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::String => read_string(&value.archive, value.position),
            Shape::BoxStr => read_box_str(&value.archive, value.position),
            _ => Err(value.wrong_kind("is not a string")),
        }
    }

    /// A `String` or `Box<str>` (it must be UTF-8).
    #[inline]
    pub fn as_str(&self) -> Result<&'a str, DynError> {
        utf8(self.str_bytes()?)
    }

    /// The bytes of a `Vec<u8>`, `Box<[u8]>` or `[u8; N]`, or of an opaque value.
    pub fn as_bytes(&self) -> Result<&'a [u8], DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Vec(e) | Shape::BoxSlice(e) | Shape::Array(e, _)
                if **e == Shape::Int(Int::U8) =>
            {
                let run = value.run()?;
                value.archive.span(run.start, run.len)
            }
            Shape::Opaque { .. } => Ok(value.opaque()?.1),
            _ => Err(value.wrong_kind("is not bytes")),
        }
    }

    /// The elements of a `Vec`, `Box<[T]>` or array of one integer type (not 128-bit) or
    /// float, as the bytes rkyv laid them out (little-endian, aligned for the element relative
    /// to the archive's start): `Ok(None)` for other values. A buffer protocol hands these to
    /// numpy without a copy.
    pub fn numeric(&self) -> Result<Option<NumericSlice<'a>>, DynError> {
        let value = self.resolved()?;
        let (Shape::Vec(element) | Shape::BoxSlice(element) | Shape::Array(element, _)) =
            value.shape
        else {
            return Ok(None);
        };
        if NumericKind::of(element).is_none() {
            return Ok(None);
        }
        value.numeric_run(&value.run()?)
    }

    /// The elements of `run` (this list's) as numbers, if they are of one numeric type.
    pub(super) fn numeric_run(&self, run: &Run<'a>) -> Result<Option<NumericSlice<'a>>, DynError> {
        let Some(kind) = NumericKind::of(run.element) else {
            return Ok(None);
        };
        let bytes = self.archive.span(run.start, run.len * run.stride)?;
        Ok(Some(NumericSlice::new(bytes, kind, run.len)))
    }

    /// An opaque value's type name (as written where it is used) and archived bytes.
    pub fn opaque(&self) -> Result<(&'a str, &'a [u8]), DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Opaque { name, layout } => {
                Ok((name.as_str(), value.archive.span(value.position, layout.size as usize)?))
            }
            _ => Err(value.wrong_kind("is not opaque")),
        }
    }

    /// The elements of a `Vec`, `Box<[T]>` or array, checked to lie inside the archive.
    pub(super) fn run(&self) -> Result<Run<'a>, DynError> {
        let archive = self.archive;
        let (element, layout, start, len) = match self.shape {
            Shape::Vec(element) | Shape::BoxSlice(element) => {
                let layout = archive.layout(element)?;
                let len = archive.u32(self.position + 4)?;
                let start = archive.follow_run(self.position, len.into(), layout)?;
                (element, layout, start, len as usize)
            }
            Shape::Array(element, len) => {
                (element, archive.layout(element)?, self.position, *len as usize)
            }
            _ => return Err(self.wrong_kind("is not a list")),
        };
        Ok(Run { element, start, len, stride: layout.size as usize })
    }
}

fn out_of(n: impl fmt::Display, ty: &str) -> DynError {
    DynError::new(DynErrorKind::Range, format!("{n} does not fit an {ty}"))
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value")
            .field("type", &self.type_name())
            .field("position", &self.position)
            .finish()
    }
}

/// An enum value: its current variant and the variant's fields.
#[derive(Clone, Copy)]
pub struct EnumValue<'a> {
    value: Value<'a>,
    definition: &'a Definition,
    variant: &'a Variant,
}

impl<'a> EnumValue<'a> {
    /// The variant's name.
    pub fn name(&self) -> &'a str {
        &self.variant.name
    }

    /// The enum's name.
    pub fn enum_name(&self) -> &'a str {
        &self.definition.name
    }

    /// The variant's tag byte.
    pub fn tag(&self) -> u8 {
        self.variant.tag
    }

    /// How the variant's fields are named (a unit, tuple or struct variant).
    pub fn style(&self) -> Style {
        self.variant.fields.style
    }

    /// How many fields the variant has.
    pub fn len(&self) -> usize {
        self.variant.fields.list.len()
    }

    /// Whether the variant has no fields.
    pub fn is_empty(&self) -> bool {
        self.variant.fields.list.is_empty()
    }

    /// The variant's fields as the structure lists them.
    pub(super) fn field_list(&self) -> &'a [Field] {
        &self.variant.fields.list
    }

    /// The variant's field `name`.
    pub fn field(&self, name: &str) -> Result<Value<'a>, DynError> {
        self.value.field(name)
    }

    /// The enum value itself.
    pub fn value(&self) -> Value<'a> {
        self.value
    }
}

impl fmt::Debug for EnumValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.definition.name, self.variant.name)
    }
}
