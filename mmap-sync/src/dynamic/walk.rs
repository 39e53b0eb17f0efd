//! The whole-value walks: [`Value::check`] and [`Value::to_json`] are one walk over every part
//! of a value, the first writing nothing, so that what `check` accepts is exactly what JSON can
//! be written for.
//!
//! A walk visits at most [`work_budget`] steps (a value, or eight bytes of a string, or a
//! bucket of a hash table) and nests at most [`MAX_DEPTH`] values deep: relative pointers that
//! share or loop cannot make it run long or write much.

use std::fmt;
use std::io;

use crate::schema::{Body, Definition, Field, Fields as FieldList, Shape, Style};

use super::archive::DynArchive;
use super::btree::Tree;
use super::error::{DynError, DynErrorKind};
use super::hash::Table;
use super::iter::{Elements, Entries};
use super::json_text::{FloatValue, write_float, write_i64, write_string, write_u64};
use super::key::quoted;
use super::layout::ReprC;
use super::numeric::{NumericKind, NumericSlice};
use super::value::{
    Kind, Num, Value, read_bool, read_box_str, read_char, read_float, read_int, read_option,
    read_string, utf8,
};
use super::{MAX_DEPTH, work_budget};

/// Where a walk writes. The walk is generic over it, so that writing to a `String` is a
/// `push_str` and a check compiles its writes away.
trait Sink: fmt::Write {
    /// Whether text is wanted at all (a check only reads).
    const ACTIVE: bool = true;

    /// Why the last write failed, in words.
    fn failure(&mut self) -> String {
        "the output refused the text".to_owned()
    }
}

/// A check's sink.
struct Discard;

impl fmt::Write for Discard {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

impl Sink for Discard {
    const ACTIVE: bool = false;
}

struct FmtSink<'w, W: fmt::Write + ?Sized>(&'w mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for FmtSink<'_, W> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }

    #[inline]
    fn write_char(&mut self, c: char) -> fmt::Result {
        self.0.write_char(c)
    }
}

impl<W: fmt::Write + ?Sized> Sink for FmtSink<'_, W> {}

struct IoSink<'w, W: io::Write + ?Sized> {
    out: &'w mut W,
    error: Option<io::Error>,
}

impl<W: io::Write + ?Sized> fmt::Write for IoSink<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

impl<W: io::Write + ?Sized> Sink for IoSink<'_, W> {
    fn failure(&mut self) -> String {
        match self.error.take() {
            Some(e) => format!("writing the JSON failed: {e}"),
            None => "writing the JSON failed".to_owned(),
        }
    }
}

impl Value<'_> {
    /// Checks the whole value as rkyv's validation (bytecheck) would check an archive of the
    /// original type: every relative pointer in range and aligned, every length within the
    /// archive, strings UTF-8 (and stored inline when short, as rkyv does), `bool`s 0 or 1,
    /// `char`s Unicode scalar values, enum and option tags known, hash tables with `len`
    /// full buckets below their capacity and wrapped control bytes, B-trees with `len`
    /// entries in valid nodes.
    ///
    /// Unlike rkyv's validator, it does not refuse parts that share bytes: a walk is bounded by
    /// [`work_budget`] and [`MAX_DEPTH`] instead, and every read is checked, so sharing cannot
    /// make a reader misbehave. Opaque values are not looked into
    /// ([`DynArchive::has_opaque`](super::DynArchive::has_opaque)).
    pub fn check(&self) -> Result<(), DynError> {
        Walk::new(&mut Discard, self.archive()).run(*self)
    }

    /// The value as JSON: what `serde_json::to_string` prints for the original Rust value with
    /// serde's default (externally tagged) representation. See the
    /// [module documentation](super#json) for the mapping.
    pub fn to_json(&self) -> Result<String, DynError> {
        let mut out = String::new();
        self.write_json(&mut out)?;
        Ok(out)
    }

    /// [`to_json`](Self::to_json), written to `out` as it is made.
    pub fn write_json<W: fmt::Write + ?Sized>(&self, out: &mut W) -> Result<(), DynError> {
        Walk::new(&mut FmtSink(out), self.archive()).run(*self)
    }

    /// [`to_json`](Self::to_json), written to `out` as it is made (in many small writes: give
    /// it a buffered writer).
    pub fn write_json_io<W: io::Write + ?Sized>(&self, out: &mut W) -> Result<(), DynError> {
        let mut sink = IoSink { out, error: None };
        Walk::new(&mut sink, self.archive()).run(*self)
    }
}

/// One walk over a value of `archive`. Values are passed as their shape and position (the
/// archive is the walk's), so that each step moves two words, not a whole [`Value`].
struct Walk<'a, 's, S: Sink + ?Sized> {
    archive: DynArchive<'a>,
    sink: &'s mut S,
    /// Steps left.
    budget: u64,
    /// The archive's length, for messages.
    len: usize,
    depth: usize,
}

impl<'a, 's, S: Sink + ?Sized> Walk<'a, 's, S> {
    fn new(sink: &'s mut S, archive: DynArchive<'a>) -> Walk<'a, 's, S> {
        let len = archive.bytes().len();
        Walk { archive, sink, budget: work_budget(len), len, depth: 0 }
    }

    fn run(mut self, value: Value<'a>) -> Result<(), DynError> {
        self.value(value.shape(), value.position())
    }

    fn at(&self, shape: &'a Shape, at: usize) -> Value<'a> {
        Value::new(self.archive, shape, at)
    }

    #[inline]
    fn charge(&mut self, work: u64) -> Result<(), DynError> {
        if work > self.budget {
            return Err(self.over_budget());
        }
        self.budget -= work;
        Ok(())
    }

    #[cold]
    fn over_budget(&mut self) -> DynError {
        self.budget = 0;
        DynError::limit(format!(
            "the value takes more than {} steps to read, the most for an archive of {} bytes: \
             relative pointers that share or loop?",
            work_budget(self.len),
            self.len
        ))
    }

    #[cold]
    fn refused(&mut self) -> DynError {
        DynError::new(DynErrorKind::Output, self.sink.failure())
    }

    /// Writes `text` (nothing in a check).
    #[inline]
    fn put(&mut self, text: &str) -> Result<(), DynError> {
        if S::ACTIVE && self.sink.write_str(text).is_err() {
            return Err(self.refused());
        }
        Ok(())
    }

    /// Writes one ASCII character.
    #[inline]
    fn punct(&mut self, c: char) -> Result<(), DynError> {
        if S::ACTIVE && self.sink.write_char(c).is_err() {
            return Err(self.refused());
        }
        Ok(())
    }

    /// Writes `text` as a JSON string.
    #[inline]
    fn string(&mut self, text: &str) -> Result<(), DynError> {
        if S::ACTIVE && write_string(self.sink, text).is_err() {
            return Err(self.refused());
        }
        Ok(())
    }

    /// A string's bytes, checked to be UTF-8 and charged, written as a JSON string.
    #[inline]
    fn checked_string(&mut self, bytes: &[u8]) -> Result<(), DynError> {
        let text = utf8(bytes)?;
        self.charge(text.len() as u64 / 8)?;
        self.string(text)
    }

    /// Writes an integer: 64-bit ones digit pairs at a time, wider ones through `Display`.
    fn number(&mut self, n: Num) -> Result<(), DynError> {
        if !S::ACTIVE {
            return Ok(());
        }
        let written = match n {
            Num::U(v) => match u64::try_from(v) {
                Ok(v) => write_u64(self.sink, v),
                Err(_) => write!(self.sink, "{v}"),
            },
            Num::S(v) => match i64::try_from(v) {
                Ok(v) => write_i64(self.sink, v),
                Err(_) => write!(self.sink, "{v}"),
            },
        };
        if written.is_err() {
            return Err(self.refused());
        }
        Ok(())
    }

    /// A float as serde_json prints it ([`write_float`]), `null` when not finite.
    fn float(&mut self, f: FloatValue) -> Result<(), DynError> {
        if !S::ACTIVE {
            return Ok(());
        }
        if !f.is_finite() {
            return self.put("null");
        }
        if write_float(self.sink, f).is_err() {
            return Err(self.refused());
        }
        Ok(())
    }

    /// The value of `shape` at `at`: charged, its depth counted, written.
    fn value(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        self.charge(1)?;
        if self.depth >= MAX_DEPTH {
            return Err(DynError::limit(format!("values nested more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let result = self.value_here(shape, at);
        self.depth -= 1;
        result
    }

    // Each kind of value is written by a function of its own, so that the frames on the
    // recursive path hold only what their kind needs: a walk nests `MAX_DEPTH` values deep
    // within a small stack, unoptimized builds included.
    fn value_here(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let (shape, at) = match shape {
            Shape::Box(_) => {
                let value = self.at(shape, at).resolved()?;
                (value.shape(), value.position())
            }
            _ => (shape, at),
        };
        match shape {
            Shape::Unit
            | Shape::Bool
            | Shape::Char
            | Shape::Int(_)
            | Shape::Float(_)
            | Shape::String
            | Shape::BoxStr => self.scalar(shape, at),
            Shape::Vec(_) | Shape::BoxSlice(_) | Shape::Array(..) => self.list(shape, at),
            Shape::Tuple(_) => self.tuple(shape, at),
            Shape::Option(inner) => match read_option(&self.archive, inner, at)? {
                Some(at) => self.value(inner, at),
                None => self.put("null"),
            },
            Shape::HashMap(..) | Shape::HashSet(_) => self.hash_table(shape, at),
            Shape::BTreeMap(..) | Shape::BTreeSet(_) => self.btree(shape, at),
            Shape::Named(index) => match self.archive.structure().types.get(*index) {
                Some(Definition { body: Body::Struct(fields), .. }) => self.structure(fields, at),
                Some(Definition { body: Body::Enum(_), .. }) => self.enumeration(shape, at),
                None => Err(DynError::structure("", format!("no type {index}"))),
            },
            Shape::Opaque { .. } => self.opaque(shape, at),
            // Every box was followed above.
            Shape::Box(_) => Err(DynError::corrupt("a box that was not followed")),
        }
    }

    #[inline(never)]
    fn scalar(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let archive = &self.archive;
        match shape {
            Shape::Bool => {
                let b = read_bool(archive, at)?;
                self.put(if b { "true" } else { "false" })
            }
            Shape::Char => {
                let c = read_char(archive, at)?;
                self.string(c.encode_utf8(&mut [0; 4]))
            }
            Shape::Int(int) => {
                let n = read_int(*archive, *int, at)?;
                self.number(n)
            }
            Shape::Float(float) => {
                let f = read_float(archive, *float, at)?;
                self.float(f)
            }
            Shape::String => {
                let bytes = read_string(archive, at)?;
                self.checked_string(bytes)
            }
            Shape::BoxStr => {
                let bytes = read_box_str(archive, at)?;
                self.checked_string(bytes)
            }
            _ => self.put("null"),
        }
    }

    /// A tuple: its elements laid out as a `repr(C)` struct.
    #[inline(never)]
    fn tuple(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let Shape::Tuple(elements) = shape else {
            return Err(DynError::corrupt("not a tuple"));
        };
        self.punct('[')?;
        let mut layout = ReprC::new();
        for (i, element) in elements.iter().enumerate() {
            if i > 0 {
                self.punct(',')?;
            }
            let offset = layout
                .place(self.archive.layout(element)?)
                .ok_or_else(|| DynError::structure("", "a tuple too large"))?;
            // Inside the tuple: its layout holds every element.
            self.value(element, at + offset as usize).map_err(|e| e.under_index(i))?;
        }
        self.punct(']')
    }

    #[inline(never)]
    fn hash_table(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let value = self.at(shape, at);
        match shape {
            Shape::HashMap(k, v) => {
                // `table` checked that exactly `len` of its `cap` buckets are full and charged
                // `cap > len` steps, so the entries' own item budget (as large) never ends first.
                let table = self.table(value, k, Some(v))?;
                self.map(&mut Entries::table(table))
            }
            Shape::HashSet(k) => {
                let table = self.table(value, k, None)?;
                self.sequence(&mut Elements::table(table))
            }
            _ => Err(DynError::corrupt("not a hash table")),
        }
    }

    #[inline(never)]
    fn btree(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let value = self.at(shape, at);
        match shape {
            Shape::BTreeMap(k, v) => self.map(&mut Entries::tree(Tree::open(value, k, Some(v))?)),
            Shape::BTreeSet(k) => self.sequence(&mut Elements::tree(Tree::open(value, k, None)?)),
            _ => Err(DynError::corrupt("not a B-tree")),
        }
    }

    /// A hash table, checked whole before its entries are read.
    fn table(
        &mut self,
        value: Value<'a>,
        key: &'a Shape,
        entry_value: Option<&'a Shape>,
    ) -> Result<Table<'a>, DynError> {
        let table = Table::open(value, key, entry_value)?;
        self.charge(table.capacity() as u64)?;
        table.check()?;
        Ok(table)
    }

    /// A `Vec`, `Box<[T]>` or array: numbers straight from their bytes, other elements one by
    /// one (each charged as a value, which bounds the loop by the budget).
    #[inline(never)]
    fn list(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let value = self.at(shape, at);
        let run = value.run()?;
        if let Some(numbers) = value.numeric_run(&run)? {
            return self.numbers(numbers);
        }
        self.punct('[')?;
        for i in 0..run.len {
            if i > 0 {
                self.punct(',')?;
            }
            // Inside the run, which `run` checked.
            self.value(run.element, run.start + i * run.stride).map_err(|e| e.under_index(i))?;
        }
        self.punct(']')
    }

    /// A list of numbers, read straight from its bytes.
    #[inline(never)]
    fn numbers(&mut self, numbers: NumericSlice<'_>) -> Result<(), DynError> {
        self.charge(numbers.len() as u64)?;
        if !S::ACTIVE {
            return Ok(());
        }
        self.punct('[')?;
        let size = numbers.kind().size();
        for (i, bytes) in numbers.bytes().chunks_exact(size).enumerate() {
            if i > 0 {
                self.punct(',')?;
            }
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(bytes);
            match numbers.kind() {
                NumericKind::U8 => self.number(Num::U(b[0].into()))?,
                NumericKind::U16 => self.number(Num::U(u16::from_le_bytes([b[0], b[1]]).into()))?,
                NumericKind::U32 => {
                    self.number(Num::U(u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into()))?;
                }
                NumericKind::U64 => self.number(Num::U(u64::from_le_bytes(b).into()))?,
                NumericKind::I8 => self.number(Num::S((b[0] as i8).into()))?,
                NumericKind::I16 => self.number(Num::S(i16::from_le_bytes([b[0], b[1]]).into()))?,
                NumericKind::I32 => {
                    self.number(Num::S(i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into()))?;
                }
                NumericKind::I64 => self.number(Num::S(i64::from_le_bytes(b).into()))?,
                NumericKind::F32 => {
                    self.float(FloatValue::F32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))?;
                }
                NumericKind::F64 => self.float(FloatValue::F64(f64::from_le_bytes(b)))?,
            }
        }
        self.punct(']')
    }

    #[inline(never)]
    fn sequence(&mut self, elements: &mut Elements<'a>) -> Result<(), DynError> {
        self.punct('[')?;
        for (i, element) in elements.enumerate() {
            let element = element?;
            if i > 0 {
                self.punct(',')?;
            }
            self.value(element.shape(), element.position()).map_err(|e| e.under_index(i))?;
        }
        self.punct(']')
    }

    /// A map's entries (a hash map's in storage order).
    #[inline(never)]
    fn map(&mut self, entries: &mut Entries<'a>) -> Result<(), DynError> {
        self.punct('{')?;
        for (i, entry) in entries.enumerate() {
            let (key, value) = entry?;
            self.entry(i, key, value)?;
        }
        self.punct('}')
    }

    /// Entry `i` of a map.
    fn entry(&mut self, i: usize, key: Value<'a>, value: Value<'a>) -> Result<(), DynError> {
        if i > 0 {
            self.punct(',')?;
        }
        self.key(key).map_err(|e| e.under_key(&format!("key #{i}")))?;
        self.punct(':')?;
        self.value(value.shape(), value.position()).map_err(|e| e.under_key(&key_segment(key, i)))
    }

    /// A map key as serde_json writes one: a string as it is; an integer, float, `bool` or
    /// `char` as a string of its JSON; `Some`, a newtype struct and a box as what they hold; a
    /// unit variant by its name. Keys serde_json refuses (tuples, structs, other variants,
    /// `None`, `()`) are written as a string of their JSON text.
    #[inline(never)]
    fn key(&mut self, key: Value<'a>) -> Result<(), DynError> {
        if !S::ACTIVE {
            return self.value(key.shape(), key.position());
        }
        self.charge(1)?;
        if let Shape::String = key.shape() {
            let bytes = read_string(&self.archive, key.position())?;
            return self.checked_string(bytes);
        }
        let mut inner = key.resolved()?;
        for _ in 0..MAX_DEPTH {
            let next = match inner.shape() {
                Shape::Option(_) => inner.option()?,
                Shape::Named(index) if inner.kind() == Kind::Struct => {
                    match &inner.definition(*index)?.body {
                        Body::Struct(fields) => newtype_field(fields.style, &fields.list)
                            .map(|field| inner.field_value(field)),
                        Body::Enum(_) => None,
                    }
                }
                _ => None,
            };
            match next {
                Some(next) => inner = next.resolved()?,
                None => break,
            }
        }
        match inner.shape() {
            Shape::String | Shape::BoxStr => {
                let text = inner.as_str()?;
                self.charge(text.len() as u64 / 8)?;
                return self.string(text);
            }
            Shape::Char => return self.string(inner.as_char()?.encode_utf8(&mut [0; 4])),
            Shape::Bool => {
                return self.put(if inner.as_bool()? { "\"true\"" } else { "\"false\"" });
            }
            Shape::Int(_) => {
                let n = inner.num()?;
                self.punct('"')?;
                self.number(n)?;
                return self.punct('"');
            }
            Shape::Float(_) => {
                let f = inner.float()?;
                if f.is_finite() {
                    self.punct('"')?;
                    self.float(f)?;
                    return self.punct('"');
                }
            }
            Shape::Named(_) if inner.kind() == Kind::Enum => {
                let variant = inner.variant()?;
                if variant.style() == Style::Unit {
                    return self.string(variant.name());
                }
            }
            _ => {}
        }
        // No JSON key: the key's JSON text, as a string.
        let mut text = String::new();
        let mut sink = FmtSink(&mut text);
        let mut walk = Walk {
            archive: self.archive,
            sink: &mut sink,
            budget: self.budget,
            len: self.len,
            depth: self.depth,
        };
        walk.value(key.shape(), key.position())?;
        self.budget = walk.budget;
        self.charge(text.len() as u64 / 8)?;
        self.string(&text)
    }

    /// A struct at `at`: its fields in declaration order, where the structure puts them.
    #[inline(never)]
    fn structure(&mut self, fields: &'a FieldList, at: usize) -> Result<(), DynError> {
        let list = fields.list.as_slice();
        if let Some(field) = newtype_field(fields.style, list) {
            return self.field(field, at);
        }
        match fields.style {
            Style::Unit => self.put("null"),
            Style::Unnamed => self.field_values(list, at),
            Style::Named => self.field_object(list, at),
        }
    }

    #[inline(never)]
    fn enumeration(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let variant = self.at(shape, at).variant()?;
        if variant.style() == Style::Unit {
            return self.string(variant.name());
        }
        self.punct('{')?;
        self.string(variant.name())?;
        self.punct(':')?;
        let list = variant.field_list();
        match newtype_field(variant.style(), list) {
            Some(field) => self.field(field, at)?,
            None if variant.style() == Style::Named => self.field_object(list, at)?,
            None => self.field_values(list, at)?,
        }
        self.punct('}')
    }

    /// The field `field` of the struct or variant at `at` (inside it: the structure check put
    /// every field inside its type).
    fn field(&mut self, field: &'a Field, at: usize) -> Result<(), DynError> {
        self.value(&field.shape, at + field.offset as usize).map_err(|e| e.under_field(&field.name))
    }

    fn field_values(&mut self, list: &'a [Field], at: usize) -> Result<(), DynError> {
        self.punct('[')?;
        for (i, field) in list.iter().enumerate() {
            if i > 0 {
                self.punct(',')?;
            }
            self.field(field, at)?;
        }
        self.punct(']')
    }

    fn field_object(&mut self, list: &'a [Field], at: usize) -> Result<(), DynError> {
        self.punct('{')?;
        for (i, field) in list.iter().enumerate() {
            if i > 0 {
                self.punct(',')?;
            }
            self.string(&field.name)?;
            self.punct(':')?;
            self.field(field, at)?;
        }
        self.punct('}')
    }

    /// An opaque value: `{"$opaque": "<type as written>", "hex": "<its archived bytes>"}`.
    #[inline(never)]
    fn opaque(&mut self, shape: &'a Shape, at: usize) -> Result<(), DynError> {
        let (name, bytes) = self.at(shape, at).opaque()?;
        self.charge(bytes.len() as u64 / 8)?;
        if !S::ACTIVE {
            return Ok(());
        }
        self.put("{\"$opaque\":")?;
        self.string(name)?;
        self.put(",\"hex\":\"")?;
        for byte in bytes {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            self.punct(char::from(HEX[usize::from(byte >> 4)]))?;
            self.punct(char::from(HEX[usize::from(byte & 0xf)]))?;
        }
        self.put("\"}")
    }
}

/// The field of a newtype struct or variant (`A(T)`: unnamed, one field), which serde writes
/// as that field.
fn newtype_field(style: Style, list: &[Field]) -> Option<&Field> {
    match list {
        [field] if style == Style::Unnamed => Some(field),
        _ => None,
    }
}

/// A map key as a path segment: `"a"` or `3`, or `#i` (the entry's place) for other keys.
fn key_segment(key: Value<'_>, index: usize) -> String {
    let text = match key.kind() {
        Kind::String => key.as_str().ok().map(quoted),
        Kind::Int(_) => key.num().ok().map(|n| n.to_string()),
        Kind::Bool => key.as_bool().ok().map(|b| b.to_string()),
        Kind::Char => key.as_char().ok().map(|c| quoted(c.encode_utf8(&mut [0; 4]))),
        _ => None,
    };
    text.unwrap_or_else(|| format!("#{index}"))
}
