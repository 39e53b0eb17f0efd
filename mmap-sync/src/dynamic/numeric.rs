//! [`NumericSlice`]: the elements of a list of one integer or float type, as their archived
//! bytes, for a buffer protocol to hand out without a copy.

use crate::schema::{Float, Int, Shape};

/// The element type of a [`NumericSlice`], as archived: little-endian, aligned to its size.
/// `usize` and `isize` are archived as 32 bits, so they are [`U32`](Self::U32) and
/// [`I32`](Self::I32) here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NumericKind {
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32` (and `usize`).
    U32,
    /// `u64`.
    U64,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32` (and `isize`).
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl NumericKind {
    /// The kind of a list element of `shape`, if it is numeric (not 128-bit).
    pub(super) fn of(shape: &Shape) -> Option<NumericKind> {
        Some(match shape {
            Shape::Int(Int::U8) => NumericKind::U8,
            Shape::Int(Int::U16) => NumericKind::U16,
            Shape::Int(Int::U32 | Int::Usize) => NumericKind::U32,
            Shape::Int(Int::U64) => NumericKind::U64,
            Shape::Int(Int::I8) => NumericKind::I8,
            Shape::Int(Int::I16) => NumericKind::I16,
            Shape::Int(Int::I32 | Int::Isize) => NumericKind::I32,
            Shape::Int(Int::I64) => NumericKind::I64,
            Shape::Float(Float::F32) => NumericKind::F32,
            Shape::Float(Float::F64) => NumericKind::F64,
            _ => return None,
        })
    }

    /// Bytes per element (also their alignment).
    pub fn size(self) -> usize {
        match self {
            NumericKind::U8 | NumericKind::I8 => 1,
            NumericKind::U16 | NumericKind::I16 => 2,
            NumericKind::U32 | NumericKind::I32 | NumericKind::F32 => 4,
            NumericKind::U64 | NumericKind::I64 | NumericKind::F64 => 8,
        }
    }

    /// The element's format in Python's `struct` syntax, as PEP 3118 buffers (and numpy) take
    /// it: little-endian with standard sizes (`"<i"` for `i32`, `"<d"` for `f64`).
    pub fn format(self) -> &'static str {
        match self {
            NumericKind::U8 => "<B",
            NumericKind::U16 => "<H",
            NumericKind::U32 => "<I",
            NumericKind::U64 => "<Q",
            NumericKind::I8 => "<b",
            NumericKind::I16 => "<h",
            NumericKind::I32 => "<i",
            NumericKind::I64 => "<q",
            NumericKind::F32 => "<f",
            NumericKind::F64 => "<d",
        }
    }

    /// The Rust name of the archived element (`"u32"` for `usize`).
    pub fn name(self) -> &'static str {
        match self {
            NumericKind::U8 => "u8",
            NumericKind::U16 => "u16",
            NumericKind::U32 => "u32",
            NumericKind::U64 => "u64",
            NumericKind::I8 => "i8",
            NumericKind::I16 => "i16",
            NumericKind::I32 => "i32",
            NumericKind::I64 => "i64",
            NumericKind::F32 => "f32",
            NumericKind::F64 => "f64",
        }
    }
}

/// The elements of a `Vec`, `Box<[T]>` or array of one numeric type, from
/// [`Value::numeric`](super::Value::numeric): exactly the bytes rkyv laid them out in.
///
/// The bytes start at an offset of the archive that is a multiple of the element size; they
/// are aligned in memory when the archive is (rkyv's `AlignedVec` and a channel's copies are
/// aligned to 16 bytes), which [`is_aligned`](Self::is_aligned) tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumericSlice<'a> {
    bytes: &'a [u8],
    kind: NumericKind,
    len: usize,
}

impl<'a> NumericSlice<'a> {
    pub(super) fn new(bytes: &'a [u8], kind: NumericKind, len: usize) -> NumericSlice<'a> {
        NumericSlice { bytes, kind, len }
    }

    /// The elements' bytes: `len() * kind().size()` of them, little-endian.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The element type.
    pub fn kind(&self) -> NumericKind {
        self.kind
    }

    /// How many elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the bytes are aligned in memory for the element type (a zero-copy view that
    /// needs alignment, numpy's for one, can take them as they are).
    pub fn is_aligned(&self) -> bool {
        (self.bytes.as_ptr() as usize).is_multiple_of(self.kind.size())
    }
}
