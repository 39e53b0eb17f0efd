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
//! * [`diff`]: which fields and variants differ between two descriptions, for a schema mismatch
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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

pub use mmap_sync_derive::Describe;

/// Nesting levels a description records below its root; deeper nested types are cut off with
/// [`Nested::TooDeep`], and [`OwnedDescription::decode`] refuses encodings nested deeper.
pub const MAX_DEPTH: usize = 32;

/// Largest encoding [`OwnedDescription::decode`] accepts, in bytes. Real types describe
/// themselves in a few hundred bytes to a few kilobytes; the bound keeps what a hostile file can
/// make a decoder allocate small.
pub const MAX_ENCODED_LEN: usize = 1 << 20;

/// First eight bytes of an encoded description.
pub const ENCODING_MAGIC: [u8; 8] = *b"MMSYNCds";

/// Version of the encoding [`OwnedDescription::encode`] writes; [`OwnedDescription::decode`]
/// refuses others, saying which version it found.
pub const ENCODING_VERSION: u32 = 1;

/// Size of the encoding's header: magic, version, and the length of the body that follows.
const HEADER_LEN: usize = 16;

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
/// [`diff`], `Display` and [`to_json`](OwnedDescription::to_json) work on.
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
    fn kind(&self) -> &'static str {
        match self {
            OwnedShape::Struct(_) => "struct",
            OwnedShape::Enum(_) => "enum",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

const KIND_STRUCT: u8 = 0;
const KIND_ENUM: u8 = 1;
const NESTED_DESCRIBED: u8 = 0;
const NESTED_RECURSIVE: u8 = 1;
const NESTED_TOO_DEEP: u8 = 2;

impl OwnedDescription {
    /// The description in its binary form, to store beside a channel's fingerprint.
    ///
    /// The form is self-delimiting: 8 bytes of [`ENCODING_MAGIC`], the [`ENCODING_VERSION`] and
    /// the length of the body as little-endian `u32`s, then the body. In the body, numbers are
    /// LEB128 varints and strings a varint length followed by UTF-8; a description is its name,
    /// archived size and alignment, a kind byte (0 struct, 1 enum), then its fields, or its
    /// variants (name, discriminant, fields), each list preceded by its length. A field is its
    /// name, type, an optional offset (byte 0, or byte 1 and the offset), size, alignment and
    /// its list of nested types (byte 0 and a description, 1 and the name of a recursive type,
    /// 2 and the name of one nested too deep).
    ///
    /// An encoding longer than [`MAX_ENCODED_LEN`] cannot be decoded; a writer should check
    /// the length before storing it.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        encode_description(self, &mut body);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&ENCODING_MAGIC);
        out.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a description that [`encode`](Self::encode) wrote at the start of `bytes`; bytes
    /// after its end are ignored, so it can be read from a larger, zero-padded region.
    ///
    /// Never panics, whatever `bytes` holds: malformed, truncated, too deeply nested or too
    /// long input is an error that says what is wrong and where, and nothing is allocated
    /// beyond a small multiple of the input's length.
    pub fn decode(bytes: &[u8]) -> Result<OwnedDescription, String> {
        let header = bytes.get(..HEADER_LEN).ok_or_else(|| {
            format!(
                "schema description: {} bytes, shorter than its {HEADER_LEN}-byte header",
                bytes.len()
            )
        })?;
        if header[..8] != ENCODING_MAGIC {
            return Err("schema description: wrong magic".to_owned());
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != ENCODING_VERSION {
            return Err(format!(
                "schema description: encoding version {version}, this build reads version \
                 {ENCODING_VERSION}"
            ));
        }
        let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize;
        if len > MAX_ENCODED_LEN - HEADER_LEN {
            return Err(format!(
                "schema description: body of {len} bytes, more than the {MAX_ENCODED_LEN}-byte \
                 limit"
            ));
        }
        let body = bytes.get(HEADER_LEN..HEADER_LEN + len).ok_or_else(|| {
            format!(
                "schema description: truncated: header announces {len} bytes, {} follow",
                bytes.len() - HEADER_LEN
            )
        })?;
        let mut decoder = Decoder { bytes: body, pos: 0 };
        let description = decoder.description(0)?;
        if decoder.pos != body.len() {
            return Err(decoder.error("bytes left over after the description"));
        }
        Ok(description)
    }
}

fn encode_description(description: &OwnedDescription, out: &mut Vec<u8>) {
    put_str(&description.name, out);
    put_varint(description.layout.size, out);
    put_varint(description.layout.align, out);
    match &description.shape {
        OwnedShape::Struct(fields) => {
            out.push(KIND_STRUCT);
            encode_fields(fields, out);
        }
        OwnedShape::Enum(variants) => {
            out.push(KIND_ENUM);
            put_varint(variants.len() as u64, out);
            for variant in variants {
                put_str(&variant.name, out);
                put_varint(variant.discriminant, out);
                encode_fields(&variant.fields, out);
            }
        }
    }
}

fn encode_fields(fields: &[OwnedField], out: &mut Vec<u8>) {
    put_varint(fields.len() as u64, out);
    for field in fields {
        put_str(&field.name, out);
        put_str(&field.ty, out);
        match field.offset {
            None => out.push(0),
            Some(offset) => {
                out.push(1);
                put_varint(offset, out);
            }
        }
        put_varint(field.layout.size, out);
        put_varint(field.layout.align, out);
        put_varint(field.nested.len() as u64, out);
        for nested in &field.nested {
            match nested {
                Nested::Described(description) => {
                    out.push(NESTED_DESCRIBED);
                    encode_description(description, out);
                }
                Nested::Recursive { name } => {
                    out.push(NESTED_RECURSIVE);
                    put_str(name, out);
                }
                Nested::TooDeep { name } => {
                    out.push(NESTED_TOO_DEEP);
                    put_str(name, out);
                }
            }
        }
    }
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(text: &str, out: &mut Vec<u8>) {
    put_varint(text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

/// Reads a body. Every list is read element by element, never pre-allocated from a length
/// taken from the input, so what is allocated grows only with the bytes actually read.
struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn error(&self, what: &str) -> String {
        format!("schema description: {what} at byte {} of the body", self.pos)
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.pos).ok_or_else(|| self.error("truncated"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.error("number overflows 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("number longer than 10 bytes"))
    }

    /// A length or count: it cannot exceed the bytes left, since every element takes at least
    /// one byte.
    fn count(&mut self) -> Result<usize, String> {
        let count = self.varint()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if count > left {
            return Err(self.error(&format!("a count of {count} with {left} bytes left")));
        }
        Ok(count as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.count()?;
        let bytes = &self.bytes[self.pos..self.pos + len];
        let text = std::str::from_utf8(bytes).map_err(|_| self.error("a string is not UTF-8"))?;
        self.pos += len;
        Ok(text.to_owned())
    }

    fn layout(&mut self) -> Result<ArchivedLayout, String> {
        let size = self.varint()?;
        let align = self.varint()?;
        if !align.is_power_of_two() {
            return Err(self.error(&format!("alignment {align} is not a power of two")));
        }
        Ok(ArchivedLayout { size, align })
    }

    fn description(&mut self, depth: usize) -> Result<OwnedDescription, String> {
        let name = self.string()?;
        let layout = self.layout()?;
        let shape = match self.byte()? {
            KIND_STRUCT => OwnedShape::Struct(self.fields(depth)?),
            KIND_ENUM => {
                let count = self.count()?;
                let mut variants = Vec::new();
                for _ in 0..count {
                    let name = self.string()?;
                    let discriminant = self.varint()?;
                    let fields = self.fields(depth)?;
                    variants.push(OwnedVariant { name, discriminant, fields });
                }
                OwnedShape::Enum(variants)
            }
            kind => return Err(self.error(&format!("unknown kind {kind}"))),
        };
        Ok(OwnedDescription { name, layout, shape })
    }

    fn fields(&mut self, depth: usize) -> Result<Vec<OwnedField>, String> {
        let count = self.count()?;
        let mut fields = Vec::new();
        for _ in 0..count {
            let name = self.string()?;
            let ty = self.string()?;
            let offset = match self.byte()? {
                0 => None,
                1 => Some(self.varint()?),
                other => return Err(self.error(&format!("offset marker {other}"))),
            };
            let layout = self.layout()?;
            let nested_count = self.count()?;
            let mut nested = Vec::new();
            for _ in 0..nested_count {
                nested.push(match self.byte()? {
                    NESTED_DESCRIBED if depth >= MAX_DEPTH => {
                        return Err(self.error("nested more than MAX_DEPTH levels deep"));
                    }
                    NESTED_DESCRIBED => Nested::Described(self.description(depth + 1)?),
                    NESTED_RECURSIVE => Nested::Recursive { name: self.string()? },
                    NESTED_TOO_DEEP => Nested::TooDeep { name: self.string()? },
                    other => return Err(self.error(&format!("nested marker {other}"))),
                });
            }
            fields.push(OwnedField { name, ty, offset, layout, nested });
        }
        Ok(fields)
    }
}

// ---------------------------------------------------------------------------------------------
// Differences

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

// ---------------------------------------------------------------------------------------------
// Display and JSON

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

/// Whether `c` is shown escaped in text: control characters (C0, DEL and C1, which a terminal
/// may act on) and Unicode's bidirectional formatting characters (which reorder the rest of a
/// line as a terminal shows it).
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character [`is_escaped`] says escaped as Rust writes it (`\n`,
/// `\u{1b}`), so that a string read from a damaged or hostile file cannot break a table, forge
/// a line or send escape sequences to a terminal. Every string read from a channel's files goes
/// through it before it is shown as text (the `mmap-sync` command's tables, this module's
/// `Display`s).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`], cut to at most `max` characters: a longer text keeps what fits before a final
/// `…`, and never half an escape. Reads no further into `text` than it shows.
pub fn printable_cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped = is_escaped(c);
        let width = if escaped { c.escape_default().count() } else { 1 };
        // The last character may take the room of the ellipsis it makes unnecessary.
        let room = if chars.peek().is_some() { max.saturating_sub(1) } else { max };
        if shown + width > room {
            if max > 0 {
                out.push('…');
            }
            break;
        }
        if escaped {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        shown += width;
    }
    out
}

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
/// Names and types are escaped ([`printable`]) and cut to [`NAME_WIDTH`] characters, so a
/// description read from a hostile file (nested at most [`MAX_DEPTH`] levels deep, as
/// [`decode`](OwnedDescription::decode) ensures) makes lines of at most a few hundred
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

impl OwnedDescription {
    /// The description as one line of JSON, in a shape that stays stable across releases
    /// (new keys may be added):
    ///
    /// ```text
    /// description: {"name": str, "kind": "struct", "size": n, "align": n, "fields": [field]}
    ///            | {"name": str, "kind": "enum", "size": n, "align": n, "variants": [variant]}
    /// variant:     {"name": str, "discriminant": n, "fields": [field]}
    /// field:       {"name": str, "type": str, "offset": n | null, "size": n, "align": n,
    ///               "nested": [description | {"name": str, "kind": "recursive" | "too_deep"}]}
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        json_description(self, &mut out);
        out
    }
}

fn json_description(description: &OwnedDescription, out: &mut String) {
    out.push_str("{\"name\":");
    json_str(&description.name, out);
    let _ = write!(
        out,
        ",\"kind\":\"{}\",\"size\":{},\"align\":{}",
        description.shape.kind(),
        description.layout.size,
        description.layout.align
    );
    match &description.shape {
        OwnedShape::Struct(fields) => {
            out.push_str(",\"fields\":");
            json_fields(fields, out);
        }
        OwnedShape::Enum(variants) => {
            out.push_str(",\"variants\":[");
            for (i, variant) in variants.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_str(&variant.name, out);
                let _ = write!(out, ",\"discriminant\":{},\"fields\":", variant.discriminant);
                json_fields(&variant.fields, out);
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
}

fn json_fields(fields: &[OwnedField], out: &mut String) {
    out.push('[');
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_str(&field.name, out);
        out.push_str(",\"type\":");
        json_str(&field.ty, out);
        match field.offset {
            Some(offset) => {
                let _ = write!(out, ",\"offset\":{offset}");
            }
            None => out.push_str(",\"offset\":null"),
        }
        let _ = write!(
            out,
            ",\"size\":{},\"align\":{},\"nested\":[",
            field.layout.size, field.layout.align
        );
        for (j, nested) in field.nested.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            match nested {
                Nested::Described(description) => json_description(description, out),
                Nested::Recursive { name } | Nested::TooDeep { name } => {
                    out.push_str("{\"name\":");
                    json_str(name, out);
                    let kind = if matches!(nested, Nested::Recursive { .. }) {
                        "recursive"
                    } else {
                        "too_deep"
                    };
                    let _ = write!(out, ",\"kind\":\"{kind}\"}}");
                }
            }
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// `text` as a JSON string: quotes, backslashes and what [`is_escaped`] names (control
/// characters, bidirectional formatting characters) escaped, everything else (valid UTF-8
/// already) as is.
fn json_str(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_escaped(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// What generated code calls

/// Helpers for code that `#[derive(SharedState)]` and `#[derive(Describe)]` generate, reached
/// through `__private`. Not a public API.
#[doc(hidden)]
pub mod derive_support {
    use std::marker::PhantomData;

    use super::{ArchivedLayout, Describe, FieldDescription, TypeDescription};
    use crate::__private::Archivable;

    /// Size and alignment of `T`'s archived form.
    pub const fn layout_of<T: Archivable>() -> ArchivedLayout {
        ArchivedLayout {
            size: size_of::<T::Archived>() as u64,
            align: align_of::<T::Archived>() as u64,
        }
    }

    /// Size and alignment of field type `F` archived through wrapper `W`.
    pub const fn layout_with<F, W: rkyv::with::ArchiveWith<F>>() -> ArchivedLayout {
        ArchivedLayout {
            size: size_of::<W::Archived>() as u64,
            align: align_of::<W::Archived>() as u64,
        }
    }

    /// A variant's discriminant expression, typed as rkyv types it: the `u8` tag of its
    /// archived enum.
    pub const fn discriminant(tag: u8) -> u64 {
        tag as u64
    }

    /// The fields of one variant of an archived enum, with their offsets: rkyv archives an enum
    /// as `#[repr(u8)]`, whose variants are laid out as `#[repr(C)]` structs that start with
    /// the one-byte tag, so each field lies at the end of the previous one rounded up to its
    /// alignment.
    pub const fn variant_fields<const N: usize>(
        mut fields: [FieldDescription; N],
    ) -> [FieldDescription; N] {
        let mut end = 1u64;
        let mut i = 0;
        while i < N {
            let align = fields[i].layout.align;
            let offset = end.div_ceil(align) * align;
            fields[i].offset = Some(offset);
            end = offset + fields[i].layout.size;
            i += 1;
        }
        fields
    }

    /// Asks, where the field type is known, whether it implements [`Describe`]: method
    /// resolution picks [`DescribedProbe`] on `&Probe<T>` when `T: Describe`, and otherwise
    /// takes one more reference and finds [`OpaqueProbe`].
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// The probe.
        pub const NEW: Self = Probe(PhantomData);
    }

    impl<T> std::fmt::Debug for Probe<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Probe")
        }
    }

    /// The probe's answer for a type that has a description.
    pub trait DescribedProbe {
        /// `T`'s description.
        fn description(&self) -> Option<&'static TypeDescription>;
    }

    impl<T: Describe> DescribedProbe for Probe<T> {
        fn description(&self) -> Option<&'static TypeDescription> {
            Some(T::DESCRIPTION)
        }
    }

    /// The probe's answer for every other type.
    pub trait OpaqueProbe {
        /// None.
        fn description(&self) -> Option<&'static TypeDescription>;
    }

    impl<T> OpaqueProbe for &Probe<T> {
        fn description(&self) -> Option<&'static TypeDescription> {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: u64, align: u64) -> ArchivedLayout {
        ArchivedLayout { size, align }
    }

    fn field(name: &str, ty: &str, offset: u64, size: u64) -> OwnedField {
        OwnedField {
            name: name.to_owned(),
            ty: ty.to_owned(),
            offset: Some(offset),
            layout: layout(size, size.clamp(1, 8)),
            nested: Vec::new(),
        }
    }

    fn structure(name: &str, size: u64, fields: Vec<OwnedField>) -> OwnedDescription {
        OwnedDescription {
            name: name.to_owned(),
            layout: layout(size, 4),
            shape: OwnedShape::Struct(fields),
        }
    }

    fn variant(name: &str, discriminant: u64, fields: Vec<OwnedField>) -> OwnedVariant {
        OwnedVariant { name: name.to_owned(), discriminant, fields }
    }

    fn enumeration(name: &str, variants: Vec<OwnedVariant>) -> OwnedDescription {
        OwnedDescription {
            name: name.to_owned(),
            layout: layout(12, 4),
            shape: OwnedShape::Enum(variants),
        }
    }

    fn hello_world() -> OwnedDescription {
        structure(
            "HelloWorld",
            12,
            vec![field("version", "u32", 0, 4), field("messages", "Vec<String>", 4, 8)],
        )
    }

    /// A description with every kind of part: nested struct, nested enum with unit, named and
    /// tuple variants, an unknown offset, a recursive and a too-deep nested type, and names
    /// that need escaping in JSON.
    fn everything() -> OwnedDescription {
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

    // -- encoding ------------------------------------------------------------------------

    #[test]
    fn encoding_round_trips() {
        for description in [hello_world(), everything(), structure("Unit", 0, vec![])] {
            let bytes = description.encode();
            assert_eq!(OwnedDescription::decode(&bytes), Ok(description));
        }
    }

    #[test]
    fn decoding_ignores_bytes_after_the_encoding() {
        let mut bytes = everything().encode();
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(OwnedDescription::decode(&bytes), Ok(everything()));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = everything().encode();
        for len in 0..bytes.len() {
            let result = OwnedDescription::decode(&bytes[..len]);
            assert!(result.is_err(), "decoding the first {len} of {} bytes succeeded", bytes.len());
        }
    }

    #[test]
    fn a_body_shorter_than_its_header_announces_is_refused_even_if_it_parses() {
        // Shortening the announced length cuts the body inside its last field.
        let mut bytes = hello_world().encode();
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) - 1;
        bytes[12..16].copy_from_slice(&len.to_le_bytes());
        assert!(OwnedDescription::decode(&bytes).is_err());
        // A longer announced length leaves bytes over.
        let mut bytes = hello_world().encode();
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) + 1;
        bytes[12..16].copy_from_slice(&len.to_le_bytes());
        bytes.push(0);
        let error = OwnedDescription::decode(&bytes).unwrap_err();
        assert!(error.contains("left over"), "{error}");
    }

    #[test]
    fn wrong_magic_other_versions_and_oversized_bodies_are_refused_by_name() {
        let good = hello_world().encode();
        let mut bad_magic = good.clone();
        bad_magic[0] ^= 1;
        assert!(OwnedDescription::decode(&bad_magic).unwrap_err().contains("magic"));

        let mut newer = good.clone();
        newer[8..12].copy_from_slice(&(ENCODING_VERSION + 1).to_le_bytes());
        let error = OwnedDescription::decode(&newer).unwrap_err();
        assert!(error.contains(&format!("version {}", ENCODING_VERSION + 1)), "{error}");

        let mut huge = good;
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = OwnedDescription::decode(&huge).unwrap_err();
        assert!(error.contains("limit"), "{error}");
    }

    /// Small deterministic generator, so a failure reproduces.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn decoding_damaged_or_random_bytes_never_panics() {
        let good = everything().encode();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut refused = 0;
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                // A valid encoding with a few bytes of its body changed.
                let mut bytes = good.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let at = HEADER_LEN + (rng.next() as usize) % (bytes.len() - HEADER_LEN);
                    bytes[at] = rng.next() as u8;
                }
                bytes
            } else {
                // A valid header followed by random bytes.
                let len = (rng.next() % 200) as usize;
                let mut bytes = good[..HEADER_LEN].to_vec();
                bytes[12..16].copy_from_slice(&(len as u32).to_le_bytes());
                bytes.extend((0..len).map(|_| rng.next() as u8));
                bytes
            };
            if rng.next().is_multiple_of(8) {
                bytes.truncate((rng.next() as usize) % bytes.len());
            }
            if OwnedDescription::decode(&bytes).is_err() {
                refused += 1;
            }
        }
        // Most damage must be noticed, not decoded into something else.
        assert!(refused > 10_000, "only {refused} of 20000 damaged inputs were refused");
    }

    #[test]
    fn huge_counts_are_refused_before_anything_is_allocated_for_them() {
        // name "", size 0, align 1, struct, then a field count of 2^62.
        let mut body = vec![0, 0, 1, KIND_STRUCT];
        put_varint(1 << 62, &mut body);
        let mut bytes = ENCODING_MAGIC.to_vec();
        bytes.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        let error = OwnedDescription::decode(&bytes).unwrap_err();
        assert!(error.contains("count"), "{error}");
    }

    fn nested_chain(depth: usize) -> OwnedDescription {
        let mut description = structure("Leaf", 4, vec![field("x", "u32", 0, 4)]);
        for level in 0..depth {
            let mut holder = field("inner", "Inner", 0, 4);
            holder.nested.push(Nested::Described(description));
            description = structure(&format!("Level{level}"), 4, vec![holder]);
        }
        description
    }

    #[test]
    fn nesting_up_to_the_limit_decodes_and_deeper_nesting_is_refused() {
        let deepest = nested_chain(MAX_DEPTH);
        assert_eq!(OwnedDescription::decode(&deepest.encode()), Ok(deepest));
        let error = OwnedDescription::decode(&nested_chain(MAX_DEPTH + 1).encode()).unwrap_err();
        assert!(error.contains("MAX_DEPTH"), "{error}");
    }

    #[test]
    fn varints_that_overflow_64_bits_are_refused() {
        let mut decoder = Decoder {
            bytes: &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            pos: 0,
        };
        assert!(decoder.varint().is_err());
        let mut decoder = Decoder {
            bytes: &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            pos: 0,
        };
        assert_eq!(decoder.varint(), Ok(u64::MAX));
        let mut encoded = Vec::new();
        put_varint(u64::MAX, &mut encoded);
        assert_eq!(encoded.len(), 10);
    }

    // -- static form -----------------------------------------------------------------------

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

    #[test]
    fn variant_fields_follow_the_tag_and_their_alignment() {
        let fields = derive_support::variant_fields([
            FieldDescription::new("a", "u16", ArchivedLayout { size: 2, align: 2 }),
            FieldDescription::new("b", "u64", ArchivedLayout { size: 8, align: 8 }),
            FieldDescription::new("c", "u8", ArchivedLayout { size: 1, align: 1 }),
        ]);
        let offsets: Vec<Option<u64>> = fields.iter().map(|field| field.offset).collect();
        assert_eq!(offsets, [Some(2), Some(8), Some(16)]);
    }

    // -- differences -----------------------------------------------------------------------

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

    // -- display and JSON -----------------------------------------------------------------

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

    #[test]
    fn bidirectional_formatting_characters_are_escaped_like_control_characters() {
        // U+202E would show the rest of the line reversed.
        assert_eq!(printable("a\u{202e}b\u{2066}c"), r"a\u{202e}b\u{2066}c");
        assert_eq!(printable("é ü → ok"), "é ü → ok");
        assert!(matches!(printable("plain"), Cow::Borrowed("plain")));
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
    fn json_escapes_quotes_backslashes_and_control_characters() {
        let mut out = String::new();
        json_str("a\"b\\c\nd\re\tf\u{1}g\u{1f}h\u{7f}i\u{9b}j\u{202e}é", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u001fh\u007fi\u009bj\u202eé""#);
    }

    #[test]
    fn json_has_the_documented_shape() {
        assert_eq!(
            hello_world().to_json(),
            "{\"name\":\"HelloWorld\",\"kind\":\"struct\",\"size\":12,\"align\":4,\"fields\":[\
             {\"name\":\"version\",\"type\":\"u32\",\"offset\":0,\"size\":4,\"align\":4,\"nested\":[]},\
             {\"name\":\"messages\",\"type\":\"Vec<String>\",\"offset\":4,\"size\":8,\"align\":8,\"nested\":[]}]}"
        );
        let json = everything().to_json();
        assert!(json.contains("{\"name\":\"Tree\",\"kind\":\"recursive\"}"), "{json}");
        assert!(json.contains("{\"name\":\"Deep\",\"kind\":\"too_deep\"}"), "{json}");
        assert!(json.contains("\"offset\":null"), "{json}");
        assert!(
            json.contains(
                "\"variants\":[{\"name\":\"RoundRobin\",\"discriminant\":0,\"fields\":[]}"
            ),
            "{json}"
        );
    }
}
