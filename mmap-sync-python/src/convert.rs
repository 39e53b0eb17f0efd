//! Values as Python objects, in the JSON mapping: what `serde_json` prints for the Rust value
//! (serde's externally tagged enums), except that map keys keep their type and `Vec<u8>`
//! (and other byte lists) are `bytes`.
//!
//! [`item`] is the lazy form a view's `[]` gives: scalars and strings as Python values, nested
//! parts as views. [`to_python`] converts a whole value; it checks the value first with the
//! runtime's bounded walk (`Value::check`: at most a budget of steps proportional to the
//! archive's size, nesting at most `MAX_DEPTH`), so that no archive can make it run long,
//! recurse deep or allocate much more than the value's size.

use mmap_sync::dynamic::{DynError, Kind, NumericKind, Value};
use mmap_sync::schema::{Body, Int, Shape, Style};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

/// What a value is to Python, after looking through `Option`s, boxes and newtype structs.
pub enum Settled<'a> {
    /// `None`, `()`, a unit struct.
    None,
    /// A scalar or string.
    Scalar(Value<'a>),
    /// A part that is a view: struct, enum with data, list, tuple, map, set.
    Nested(Value<'a>),
    /// A unit variant: its name.
    Variant(&'a str),
    /// A value without a description.
    Opaque(Value<'a>),
}

/// The style and field count of a struct value, from its definition.
pub(crate) fn struct_style(value: &Value<'_>) -> Option<(Style, usize)> {
    let mut shape = value.shape();
    while let Shape::Box(inner) = shape {
        shape = inner;
    }
    let Shape::Named(index) = shape else { return None };
    match &value.archive().structure().types.get(*index)?.body {
        Body::Struct(fields) => Some((fields.style, fields.list.len())),
        Body::Enum(_) => None,
    }
}

/// Whether a struct is a newtype (one unnamed field), which serde writes as its field.
fn newtype(value: &Value<'_>) -> bool {
    struct_style(value) == Some((Style::Unnamed, 1))
}

/// Whether a struct is a unit struct, which serde writes as `null`.
fn unit_struct(value: &Value<'_>) -> bool {
    matches!(struct_style(value), Some((Style::Unit, _)))
}

/// The value with `Option`s opened and newtype structs looked through, and what it is.
pub fn settle(value: Value<'_>) -> Result<Settled<'_>, Failure> {
    let mut value = value;
    // Bounded: a description nests at most so deep (each step goes one level in).
    for _ in 0..=mmap_sync::dynamic::MAX_DEPTH {
        match value.kind() {
            Kind::Option => match value.option()? {
                Some(inner) => value = inner,
                None => return Ok(Settled::None),
            },
            Kind::Struct if newtype(&value) => match value.fields()?.next() {
                Some((_, inner)) => value = inner,
                None => return Ok(Settled::None),
            },
            Kind::Struct if unit_struct(&value) => return Ok(Settled::None),
            Kind::Unit => return Ok(Settled::None),
            Kind::Enum => {
                let variant = value.variant()?;
                return Ok(if variant.style() == Style::Unit {
                    Settled::Variant(variant.name())
                } else {
                    Settled::Nested(value)
                });
            }
            Kind::Struct | Kind::List | Kind::Tuple | Kind::Map | Kind::Set => {
                return Ok(Settled::Nested(value));
            }
            Kind::Opaque => return Ok(Settled::Opaque(value)),
            _ => return Ok(Settled::Scalar(value)),
        }
    }
    Err(Failure::Limit(format!(
        "Options and newtype structs nested more than {} deep",
        mmap_sync::dynamic::MAX_DEPTH
    )))
}

/// A scalar or string as a Python object.
pub fn scalar(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    Ok(match value.kind() {
        Kind::Unit => py.None(),
        Kind::Bool => value.as_bool()?.into_pyobject(py)?.to_owned().into_any().unbind(),
        Kind::Char => value.as_char()?.into_pyobject(py)?.into_any().unbind(),
        Kind::Int(int) => match int {
            Int::U64 => value.as_u64()?.into_pyobject(py)?.into_any().unbind(),
            Int::U128 => value.as_u128()?.into_pyobject(py)?.into_any().unbind(),
            Int::I128 => value.as_i128()?.into_pyobject(py)?.into_any().unbind(),
            // Every other width fits an i64.
            _ => value.as_i64()?.into_pyobject(py)?.into_any().unbind(),
        },
        Kind::Float(_) => value.as_f64()?.into_pyobject(py)?.into_any().unbind(),
        Kind::String => value.as_str()?.into_pyobject(py)?.into_any().unbind(),
        _ => return Err(Failure::Python(PyTypeError::new_err("not a scalar"))),
    })
}

/// An opaque value, as the JSON mapping writes it: `{"$opaque": type, "hex": bytes}`.
pub fn opaque(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    let (name, bytes) = value.opaque()?;
    let dict = PyDict::new(py);
    dict.set_item("$opaque", name)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    dict.set_item("hex", hex)?;
    Ok(dict.into_any().unbind())
}

/// What went wrong converting: the archive (a `DynError`) or Python (an allocation, say).
pub enum Failure {
    Dyn(DynError),
    Python(PyErr),
    /// A limit of this module's own (the runtime's are `DynError`s).
    Limit(String),
}

impl From<DynError> for Failure {
    fn from(e: DynError) -> Failure {
        Failure::Dyn(e)
    }
}

impl From<std::convert::Infallible> for Failure {
    fn from(never: std::convert::Infallible) -> Failure {
        match never {}
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Failure {
        Failure::Python(e)
    }
}

/// Whether a view shows a value whole or, for an enum, the payload of its variant (what
/// `view["Variant"]` gives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Whole,
    Payload,
}

/// The whole value as Python objects (the JSON mapping), checked first.
pub fn to_python(py: Python<'_>, value: Value<'_>, mode: Mode) -> Result<Py<PyAny>, Failure> {
    value.check()?;
    match mode {
        Mode::Whole => whole(py, value),
        Mode::Payload => payload(py, value),
    }
}

fn whole(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    Ok(match settle(value)? {
        Settled::None => py.None(),
        Settled::Scalar(value) => scalar(py, value)?,
        Settled::Variant(name) => name.into_pyobject(py)?.into_any().unbind(),
        Settled::Opaque(value) => opaque(py, value)?,
        Settled::Nested(value) => match value.kind() {
            Kind::Struct => fields(py, value)?,
            Kind::Enum => {
                let dict = PyDict::new(py);
                dict.set_item(value.variant()?.name(), payload(py, value)?)?;
                dict.into_any().unbind()
            }
            Kind::List => list(py, value)?,
            Kind::Tuple | Kind::Set => {
                let out = PyList::empty(py);
                for element in value.elements()? {
                    out.append(whole(py, element?)?)?;
                }
                out.into_any().unbind()
            }
            Kind::Map => {
                let dict = PyDict::new(py);
                for entry in value.entries()? {
                    let (key, item) = entry?;
                    dict.set_item(map_key(py, key)?, whole(py, item)?)?;
                }
                dict.into_any().unbind()
            }
            _ => scalar(py, value)?,
        },
    })
}

/// A struct's fields (or an enum variant's): a dict for named fields, a list for unnamed.
fn fields(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    let style = match value.kind() {
        Kind::Enum => value.variant()?.style(),
        _ => struct_style(&value).map_or(Style::Named, |(style, _)| style),
    };
    if style == Style::Unnamed {
        let out = PyList::empty(py);
        for (_, field) in value.fields()? {
            out.append(whole(py, field)?)?;
        }
        return Ok(out.into_any().unbind());
    }
    let dict = PyDict::new(py);
    for (name, field) in value.fields()? {
        dict.set_item(name, whole(py, field)?)?;
    }
    Ok(dict.into_any().unbind())
}

/// An enum's payload as serde writes it inside `{"Variant": payload}`: a newtype variant's
/// field, a tuple variant's list, a struct variant's dict.
pub fn payload(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    let variant = value.variant()?;
    match variant.style() {
        Style::Unit => Ok(py.None()),
        Style::Unnamed if variant.len() == 1 => match variant.fields().next() {
            Some((_, field)) => whole(py, field),
            None => Ok(py.None()),
        },
        _ => fields(py, value),
    }
}

/// A list: `bytes` for `u8` elements, numbers read straight from a numeric run, else each
/// element converted.
fn list(py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
    if let Some(numbers) = value.numeric()? {
        let bytes = numbers.bytes();
        if numbers.kind() == NumericKind::U8 {
            return Ok(PyBytes::new(py, bytes).into_any().unbind());
        }
        let size = numbers.kind().size();
        let out = PyList::empty(py);
        for chunk in bytes.chunks_exact(size) {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(chunk);
            let item = match numbers.kind() {
                NumericKind::U16 => u16::from_le_bytes([b[0], b[1]]).into_pyobject(py)?.into_any(),
                NumericKind::U32 => {
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into_pyobject(py)?.into_any()
                }
                NumericKind::U64 => u64::from_le_bytes(b).into_pyobject(py)?.into_any(),
                NumericKind::I8 => (b[0] as i8).into_pyobject(py)?.into_any(),
                NumericKind::I16 => i16::from_le_bytes([b[0], b[1]]).into_pyobject(py)?.into_any(),
                NumericKind::I32 => {
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into_pyobject(py)?.into_any()
                }
                NumericKind::I64 => i64::from_le_bytes(b).into_pyobject(py)?.into_any(),
                NumericKind::F32 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .into_pyobject(py)?
                    .into_any(),
                NumericKind::F64 => f64::from_le_bytes(b).into_pyobject(py)?.into_any(),
                _ => return Err(Failure::Python(PyTypeError::new_err("an unknown numeric type"))),
            };
            out.append(item)?;
        }
        return Ok(out.into_any().unbind());
    }
    let out = PyList::empty(py);
    for element in value.elements()? {
        out.append(whole(py, element?)?)?;
    }
    Ok(out.into_any().unbind())
}

/// A map key as a Python key, keeping its type: scalars and strings as themselves, unit
/// variants by name, tuples (and tuple structs) as tuples of keys; keys Python cannot hash
/// otherwise (structs with named fields, enums with data) as their JSON text.
pub fn map_key(py: Python<'_>, key: Value<'_>) -> Result<Py<PyAny>, Failure> {
    Ok(match settle(key)? {
        Settled::None => py.None(),
        Settled::Scalar(value) => scalar(py, value)?,
        Settled::Variant(name) => name.into_pyobject(py)?.into_any().unbind(),
        Settled::Nested(value) if matches!(value.kind(), Kind::Tuple | Kind::List) => {
            let mut items = Vec::new();
            for element in value.elements()? {
                items.push(map_key(py, element?)?);
            }
            PyTuple::new(py, items)?.into_any().unbind()
        }
        Settled::Nested(value) | Settled::Opaque(value) => {
            value.to_json()?.into_pyobject(py)?.into_any().unbind()
        }
    })
}
