//! The binary form of a [`Structure`], stored beside the fingerprint in a channel's state file:
//! [`Structure::encode`], and the decoder that refuses whatever a hostile file may hold.

use super::shape::{ArchivedLayout, Float, Int, Style};
use super::structure::{Body, Definition, Encoding, Field, Fields, Shape, Structure, Variant};

/// Largest encoding [`Structure::decode`] accepts, in bytes. Real types describe themselves in a
/// few hundred bytes to a few kilobytes; the bound keeps what a hostile file can make a decoder
/// allocate small.
pub const MAX_ENCODED_LEN: usize = 1 << 20;

/// First eight bytes of an encoded structure.
pub const ENCODING_MAGIC: [u8; 8] = *b"MMSYNCds";

/// Version of the encoding [`Structure::encode`] writes; [`Structure::decode`] refuses others,
/// saying which version it found. Version 1, a table of fields with their types as text, was
/// written by the previous format of the channel files, which this build refuses as a whole.
pub const ENCODING_VERSION: u32 = 2;

/// Nesting levels of shapes inside one shape (`Vec<Option<Box<..>>>`) the decoder accepts.
/// Named types do not nest in the encoding (they are referred to by index), so this bounds the
/// decoder's recursion, not the depth of a value.
pub const MAX_SHAPE_DEPTH: usize = 32;

/// Size of the encoding's header: magic, version, and the length of the body that follows.
const HEADER_LEN: usize = 16;

const KIND_STRUCT: u8 = 0;
const KIND_ENUM: u8 = 1;

impl Structure {
    /// The structure in its binary form, to store beside a channel's fingerprint.
    ///
    /// The form is self-delimiting: 8 bytes of [`ENCODING_MAGIC`], the [`ENCODING_VERSION`] and
    /// the length of the body as little-endian `u32`s, then the body. In the body, numbers are
    /// LEB128 varints and strings a varint length followed by UTF-8. The body is the encoding
    /// (rkyv's version, a flags byte: 1 big-endian, 2 unaligned; the pointer width in bits), the
    /// named types (their count, then each: name, size, alignment, a kind byte, 0 struct or 1
    /// enum; a struct's fields, an enum's variants: name, tag byte, fields), then the root's
    /// shape. Fields are a style byte (0 named, 1 unnamed, 2 unit), their count, and each: name,
    /// offset, size, alignment, shape. A shape is a tag byte and what its kind needs (see
    /// `put_shape`).
    ///
    /// An encoding longer than [`MAX_ENCODED_LEN`] cannot be decoded; a writer checks the
    /// length before storing it.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_varint(u64::from(self.encoding.rkyv), &mut body);
        body.push(u8::from(self.encoding.big_endian) | (u8::from(self.encoding.unaligned) << 1));
        body.push(self.encoding.pointer_width);
        put_varint(self.types.len() as u64, &mut body);
        for definition in &self.types {
            put_str(&definition.name, &mut body);
            put_layout(definition.layout, &mut body);
            match &definition.body {
                Body::Struct(fields) => {
                    body.push(KIND_STRUCT);
                    put_fields(fields, &mut body);
                }
                Body::Enum(variants) => {
                    body.push(KIND_ENUM);
                    put_varint(variants.len() as u64, &mut body);
                    for variant in variants {
                        put_str(&variant.name, &mut body);
                        body.push(variant.tag);
                        put_fields(&variant.fields, &mut body);
                    }
                }
            }
        }
        put_shape(&self.root, &mut body);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&ENCODING_MAGIC);
        out.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a structure that [`encode`](Self::encode) wrote at the start of `bytes`; bytes
    /// after its end are ignored, so it can be read from a larger, zero-padded region.
    ///
    /// Never panics, whatever `bytes` holds: malformed, truncated, too deeply nested or too
    /// long input, a named type that does not exist, an alignment that is not a power of two,
    /// are each an error that says what is wrong and where; nothing is allocated beyond a small
    /// multiple of the input's length.
    pub fn decode(bytes: &[u8]) -> Result<Structure, String> {
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
        let mut d = Decoder { bytes: body, pos: 0 };
        let structure = d.structure()?;
        if d.pos != body.len() {
            return Err(d.error("bytes left after the root shape"));
        }
        structure.check()?;
        Ok(structure)
    }

    /// Refuses a structure no writer could have made: a named type out of range, an alignment
    /// that is not a power of two, a field outside its type.
    pub fn check(&self) -> Result<(), String> {
        let e = self.encoding;
        if e.rkyv != Encoding::RKYV_0_8 || ![16, 32, 64].contains(&e.pointer_width) {
            return Err(format!(
                "an archive encoding this build does not know ({e}); it reads rkyv 0.8's"
            ));
        }
        let count = self.types.len();
        let mut named_ok = Ok(());
        self.root.visit(&mut |shape| {
            if let Shape::Named(i) = shape
                && *i >= count
            {
                named_ok = Err(format!("the root refers to type {i} of {count}"));
            }
        });
        named_ok?;
        for definition in &self.types {
            let name = &definition.name;
            check_layout(definition.layout, name)?;
            let fields: Vec<(&str, &Fields)> = match &definition.body {
                Body::Struct(fields) => vec![("", fields)],
                Body::Enum(variants) => {
                    variants.iter().map(|v| (v.name.as_str(), &v.fields)).collect()
                }
            };
            for (variant, fields) in fields {
                for field in &fields.list {
                    let at = if variant.is_empty() {
                        format!("{name}.{}", field.name)
                    } else {
                        format!("{name}::{variant}.{}", field.name)
                    };
                    check_layout(field.layout, &at)?;
                    let end = field.offset.checked_add(field.layout.size);
                    if end.is_none_or(|end| end > definition.layout.size) {
                        return Err(format!(
                            "{at}: {} bytes at offset {} do not fit the type's {} bytes",
                            field.layout.size, field.offset, definition.layout.size
                        ));
                    }
                    let mut bad = None;
                    field.shape.visit(&mut |shape| match shape {
                        Shape::Named(i) if *i >= count => {
                            bad = Some(format!("{at} refers to type {i} of {count}"));
                        }
                        Shape::Opaque { layout, .. } => {
                            if let Err(e) = check_layout(*layout, &at) {
                                bad = Some(e);
                            }
                        }
                        _ => {}
                    });
                    if let Some(bad) = bad {
                        return Err(bad);
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_layout(layout: ArchivedLayout, at: &str) -> Result<(), String> {
    layout.check().map_err(|m| format!("{at}: {m}"))
}

impl Shape {
    /// Calls `f` on this shape and every shape inside it (not following named types).
    pub fn visit(&self, f: &mut impl FnMut(&Shape)) {
        f(self);
        match self {
            Shape::Vec(s)
            | Shape::BoxSlice(s)
            | Shape::Box(s)
            | Shape::Option(s)
            | Shape::Array(s, _)
            | Shape::HashSet(s)
            | Shape::BTreeSet(s) => s.visit(f),
            Shape::HashMap(k, v) | Shape::BTreeMap(k, v) => {
                k.visit(f);
                v.visit(f);
            }
            Shape::Tuple(list) => list.iter().for_each(|s| s.visit(f)),
            _ => {}
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

fn put_layout(layout: ArchivedLayout, out: &mut Vec<u8>) {
    put_varint(layout.size, out);
    put_varint(layout.align, out);
}

fn style_code(style: Style) -> u8 {
    match style {
        Style::Named => 0,
        Style::Unnamed => 1,
        Style::Unit => 2,
    }
}

fn put_fields(fields: &Fields, out: &mut Vec<u8>) {
    out.push(style_code(fields.style));
    put_varint(fields.list.len() as u64, out);
    for field in &fields.list {
        put_str(&field.name, out);
        put_varint(field.offset, out);
        put_layout(field.layout, out);
        put_shape(&field.shape, out);
    }
}

// Shape tags.
const UNIT: u8 = 0;
const BOOL: u8 = 1;
const CHAR: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STRING: u8 = 5;
const BOX_STR: u8 = 6;
const VEC: u8 = 7;
const BOX_SLICE: u8 = 8;
const BOX: u8 = 9;
const OPTION: u8 = 10;
const ARRAY: u8 = 11;
const TUPLE: u8 = 12;
const HASH_MAP: u8 = 13;
const HASH_SET: u8 = 14;
const BTREE_MAP: u8 = 15;
const BTREE_SET: u8 = 16;
const NAMED: u8 = 17;
const OPAQUE: u8 = 18;

/// A shape: its tag, then an integer's kind (its index in [`Int::ALL`], which lists the kinds
/// in declaration order: its discriminant), a float's (0 `f32`,
/// 1 `f64`), an array's length, a tuple's count, a named type's index, an opaque type's name
/// and layout, followed by the shapes inside it.
fn put_shape(shape: &Shape, out: &mut Vec<u8>) {
    match shape {
        Shape::Unit => out.push(UNIT),
        Shape::Bool => out.push(BOOL),
        Shape::Char => out.push(CHAR),
        Shape::Int(int) => {
            out.push(INT);
            out.push(*int as u8);
        }
        Shape::Float(float) => {
            out.push(FLOAT);
            out.push(u8::from(*float == Float::F64));
        }
        Shape::String => out.push(STRING),
        Shape::BoxStr => out.push(BOX_STR),
        Shape::Vec(s) => {
            out.push(VEC);
            put_shape(s, out);
        }
        Shape::BoxSlice(s) => {
            out.push(BOX_SLICE);
            put_shape(s, out);
        }
        Shape::Box(s) => {
            out.push(BOX);
            put_shape(s, out);
        }
        Shape::Option(s) => {
            out.push(OPTION);
            put_shape(s, out);
        }
        Shape::Array(s, len) => {
            out.push(ARRAY);
            put_varint(*len, out);
            put_shape(s, out);
        }
        Shape::Tuple(list) => {
            out.push(TUPLE);
            put_varint(list.len() as u64, out);
            list.iter().for_each(|s| put_shape(s, out));
        }
        Shape::HashMap(k, v) => {
            out.push(HASH_MAP);
            put_shape(k, out);
            put_shape(v, out);
        }
        Shape::HashSet(s) => {
            out.push(HASH_SET);
            put_shape(s, out);
        }
        Shape::BTreeMap(k, v) => {
            out.push(BTREE_MAP);
            put_shape(k, out);
            put_shape(v, out);
        }
        Shape::BTreeSet(s) => {
            out.push(BTREE_SET);
            put_shape(s, out);
        }
        Shape::Named(index) => {
            out.push(NAMED);
            put_varint(*index as u64, out);
        }
        Shape::Opaque { name, layout } => {
            out.push(OPAQUE);
            put_str(name, out);
            put_layout(*layout, out);
        }
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn error(&self, what: &str) -> String {
        format!("schema description: {what} at byte {} of its body", self.pos)
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
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                if shift == 63 && byte > 1 {
                    return Err(self.error("a number beyond 64 bits"));
                }
                return Ok(value);
            }
        }
        Err(self.error("a number beyond 64 bits"))
    }

    /// A count of items that each take at least one byte: never more than the bytes left.
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let count = self.varint()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if count > left {
            return Err(self.error(&format!("{count} {what} announced, {left} bytes left")));
        }
        Ok(count as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.count("bytes of a name")?;
        let bytes = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.error("a name that is not UTF-8"))
    }

    fn layout(&mut self) -> Result<ArchivedLayout, String> {
        Ok(ArchivedLayout { size: self.varint()?, align: self.varint()? })
    }

    fn structure(&mut self) -> Result<Structure, String> {
        let rkyv = u32::try_from(self.varint()?).map_err(|_| self.error("an rkyv version"))?;
        let flags = self.byte()?;
        if flags & !3 != 0 {
            return Err(self.error(&format!("unknown encoding flags {flags:#x}")));
        }
        let pointer_width = self.byte()?;
        let encoding =
            Encoding { rkyv, big_endian: flags & 1 != 0, pointer_width, unaligned: flags & 2 != 0 };
        let count = self.count("types")?;
        // Capacities are capped: a count is checked against the bytes left, and an item takes more
        // memory than its bytes, so the vectors grow with what is decoded.
        let mut types = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            types.push(self.definition()?);
        }
        let root = self.shape(0)?;
        Ok(Structure { encoding, root, types })
    }

    fn definition(&mut self) -> Result<Definition, String> {
        let name = self.string()?;
        let layout = self.layout()?;
        let body = match self.byte()? {
            KIND_STRUCT => Body::Struct(self.fields()?),
            KIND_ENUM => {
                let count = self.count("variants")?;
                let mut variants = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    let name = self.string()?;
                    let tag = self.byte()?;
                    variants.push(Variant { name, tag, fields: self.fields()? });
                }
                Body::Enum(variants)
            }
            kind => return Err(self.error(&format!("unknown kind {kind}"))),
        };
        Ok(Definition { name, layout, body })
    }

    fn fields(&mut self) -> Result<Fields, String> {
        let style = match self.byte()? {
            0 => Style::Named,
            1 => Style::Unnamed,
            2 => Style::Unit,
            other => return Err(self.error(&format!("unknown field style {other}"))),
        };
        let count = self.count("fields")?;
        let mut list = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let name = self.string()?;
            let offset = self.varint()?;
            let layout = self.layout()?;
            let shape = self.shape(0)?;
            list.push(Field { name, offset, layout, shape });
        }
        Ok(Fields { style, list })
    }

    fn shape(&mut self, depth: usize) -> Result<Shape, String> {
        if depth > MAX_SHAPE_DEPTH {
            return Err(self.error(&format!("a shape nested more than {MAX_SHAPE_DEPTH} levels")));
        }
        let inner = |d: &mut Self| d.shape(depth + 1).map(Box::new);
        Ok(match self.byte()? {
            UNIT => Shape::Unit,
            BOOL => Shape::Bool,
            CHAR => Shape::Char,
            INT => {
                let code = self.byte()?;
                Shape::Int(
                    *Int::ALL
                        .get(code as usize)
                        .ok_or_else(|| self.error(&format!("unknown integer kind {code}")))?,
                )
            }
            FLOAT => match self.byte()? {
                0 => Shape::Float(Float::F32),
                1 => Shape::Float(Float::F64),
                code => return Err(self.error(&format!("unknown float kind {code}"))),
            },
            STRING => Shape::String,
            BOX_STR => Shape::BoxStr,
            VEC => Shape::Vec(inner(self)?),
            BOX_SLICE => Shape::BoxSlice(inner(self)?),
            BOX => Shape::Box(inner(self)?),
            OPTION => Shape::Option(inner(self)?),
            ARRAY => {
                let len = self.varint()?;
                Shape::Array(inner(self)?, len)
            }
            TUPLE => {
                let count = self.count("tuple elements")?;
                let mut list = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    list.push(self.shape(depth + 1)?);
                }
                Shape::Tuple(list)
            }
            HASH_MAP => Shape::HashMap(inner(self)?, inner(self)?),
            HASH_SET => Shape::HashSet(inner(self)?),
            BTREE_MAP => Shape::BTreeMap(inner(self)?, inner(self)?),
            BTREE_SET => Shape::BTreeSet(inner(self)?),
            NAMED => {
                let index = usize::try_from(self.varint()?)
                    .map_err(|_| self.error("a type index beyond the address space"))?;
                Shape::Named(index)
            }
            OPAQUE => Shape::Opaque { name: self.string()?, layout: self.layout()? },
            tag => return Err(self.error(&format!("unknown shape {tag}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::{field, layout, status, tree};

    /// Every kind of shape once, in one struct.
    fn every_shape() -> Structure {
        let shapes = vec![
            Shape::Unit,
            Shape::Bool,
            Shape::Char,
            Shape::Int(Int::I128),
            Shape::Float(Float::F32),
            Shape::String,
            Shape::BoxStr,
            Shape::Vec(Box::new(Shape::Int(Int::U8))),
            Shape::BoxSlice(Box::new(Shape::Float(Float::F64))),
            Shape::Box(Box::new(Shape::Char)),
            Shape::Option(Box::new(Shape::String)),
            Shape::Array(Box::new(Shape::Bool), 3),
            Shape::Tuple(vec![Shape::Int(Int::Usize), Shape::Unit]),
            Shape::HashMap(Box::new(Shape::String), Box::new(Shape::Named(0))),
            Shape::HashSet(Box::new(Shape::Int(Int::I16))),
            Shape::BTreeMap(Box::new(Shape::Int(Int::U64)), Box::new(Shape::BoxStr)),
            Shape::BTreeSet(Box::new(Shape::Int(Int::Isize))),
            Shape::Opaque { name: "chrono::DateTime<Utc>".to_owned(), layout: layout(16, 8) },
        ];
        let fields =
            shapes.into_iter().enumerate().map(|(i, s)| field(&format!("f{i}"), 0, 0, 1, s));
        let all = Definition {
            name: "All".to_owned(),
            layout: layout(64, 8),
            body: Body::Struct(Fields { style: Style::Named, list: fields.collect() }),
        };
        Structure { encoding: Encoding::standard(), root: Shape::Named(0), types: vec![all] }
    }

    #[test]
    fn an_integer_kinds_code_is_its_index_in_all() {
        for (index, int) in Int::ALL.into_iter().enumerate() {
            assert_eq!(int as usize, index, "{int:?}");
        }
    }

    #[test]
    fn structures_survive_encoding() {
        for structure in [status(Shape::String), tree(), every_shape()] {
            let encoded = structure.encode();
            assert_eq!(Structure::decode(&encoded), Ok(structure.clone()));
            // Bytes after the end are ignored: the state file pads with zeros.
            let mut padded = encoded.clone();
            padded.extend_from_slice(&[0; 64]);
            assert_eq!(Structure::decode(&padded), Ok(structure));
        }
    }

    #[test]
    fn a_structure_of_another_encoding_version_is_refused_naming_it() {
        let mut encoded = tree().encode();
        encoded[8..12].copy_from_slice(&1u32.to_le_bytes());
        let error = Structure::decode(&encoded).unwrap_err();
        assert!(error.contains("encoding version 1, this build reads version 2"), "{error}");
    }

    #[test]
    fn an_archive_encoding_this_build_does_not_know_is_refused() {
        for encoding in [
            Encoding { rkyv: 9, ..Encoding::standard() },
            Encoding { pointer_width: 24, ..Encoding::standard() },
        ] {
            let structure = Structure { encoding, ..tree() };
            let error = Structure::decode(&structure.encode()).unwrap_err();
            assert!(error.contains("does not know"), "{error}");
        }
        // Big-endian and unaligned archives are described; a reader of values refuses them.
        let big =
            Structure { encoding: Encoding { big_endian: true, ..Encoding::standard() }, ..tree() };
        assert_eq!(Structure::decode(&big.encode()), Ok(big));
    }

    #[test]
    fn impossible_structures_are_refused_naming_the_place() {
        let mut out_of_range = tree();
        out_of_range.root = Shape::Named(5);
        let mut bad_align = status(Shape::String);
        let Body::Struct(fields) = &mut bad_align.types[0].body else { unreachable!() };
        fields.list[0].layout.align = 3;
        let mut outside = status(Shape::String);
        let Body::Enum(variants) = &mut outside.types[1].body else { unreachable!() };
        variants[1].fields.list[0].offset = 8;
        for (structure, words) in [
            (out_of_range, "refers to type 5 of 1"),
            (bad_align, "Status.version: alignment 3"),
            (outside, "Mode::Failed.0: 8 bytes at offset 8"),
        ] {
            let error = Structure::decode(&structure.encode()).unwrap_err();
            assert!(error.contains(words), "{error} (expected {words:?})");
        }
    }

    #[test]
    fn a_shape_nested_too_deeply_is_refused() {
        let mut shape = Shape::Unit;
        for _ in 0..=MAX_SHAPE_DEPTH + 1 {
            shape = Shape::Option(Box::new(shape));
        }
        let structure = Structure { root: shape, ..tree() };
        let error = Structure::decode(&structure.encode()).unwrap_err();
        assert!(error.contains("nested more than 32 levels"), "{error}");
    }

    /// A small deterministic generator (xorshift), so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn damaged_encodings_are_errors_never_panics() {
        let mut rng = Rng(0x5eed_cafe_f00d_0001);
        for original in [status(Shape::String).encode(), every_shape().encode(), tree().encode()] {
            // Every truncation.
            for len in 0..original.len() {
                assert!(Structure::decode(&original[..len]).is_err(), "truncated to {len}");
            }
            // Random byte flips, one to four at a time; whatever decodes must check.
            for _ in 0..20_000 {
                let mut bytes = original.clone();
                for _ in 0..=rng.next() % 4 {
                    let at = (rng.next() as usize) % bytes.len();
                    bytes[at] = rng.next() as u8;
                }
                if let Ok(structure) = Structure::decode(&bytes) {
                    assert_eq!(structure.check(), Ok(()));
                }
            }
        }
    }

    #[test]
    fn a_count_beyond_the_input_is_refused_before_allocating() {
        // A body that announces 2^40 types in a few bytes.
        let mut body = vec![8, 0, 32];
        put_varint(1 << 40, &mut body);
        let mut bytes = ENCODING_MAGIC.to_vec();
        bytes.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        let error = Structure::decode(&bytes).unwrap_err();
        assert!(error.contains("1099511627776 types announced"), "{error}");
    }
}
