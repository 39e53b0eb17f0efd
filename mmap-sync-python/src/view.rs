//! `View`: a lazy, read-only view of one part of a pinned value, shaped as its JSON mapping
//! is: structs, maps and enums with data are mappings (`view["field"]`, `view[key]`,
//! `view["Variant"]`), lists, tuples, sets and tuple structs are sequences (`view[i]`).
//! Numeric lists (and `Vec<u8>`) export their bytes through the buffer protocol, read-only and
//! without a copy.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;

use mmap_sync::dynamic::{DynErrorKind, Key, Kind, NumericKind, Value};
use mmap_sync::schema::Style;
use pyo3::exceptions::{PyBufferError, PyIndexError, PyKeyError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PySlice, PyString, PyTuple};

use crate::convert::{self, Failure, Mode, Settled};
use crate::errors;
use crate::guard::{Access, ReadGuard, Stored};

/// A key and its value.
type Pair = (Py<PyAny>, Py<PyAny>);

/// How a view behaves, decided once when it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    /// A struct with named fields, or an enum variant's named fields: keys are field names.
    Fields,
    /// A tuple struct, or an enum variant's unnamed fields: indexed.
    Numbered,
    /// An enum with data, whole: one key, the variant's name.
    Variant,
    List,
    Tuple,
    Set,
    Map,
    /// A root that is no container (a newtype of a scalar, a unit struct, a unit variant):
    /// only `to_python()` reads it.
    Leaf,
}

impl Face {
    fn name(self) -> &'static str {
        match self {
            Face::Fields => "struct",
            Face::Numbered => "tuple struct",
            Face::Variant => "enum",
            Face::List => "list",
            Face::Tuple => "tuple",
            Face::Set => "set",
            Face::Map => "map",
            Face::Leaf => "value",
        }
    }

    fn is_mapping(self) -> bool {
        matches!(self, Face::Fields | Face::Variant | Face::Map)
    }
}

/// A view of part of a value read by a `ReadGuard`; usable while its `with` block lasts.
#[pyclass(module = "mmap_sync", frozen, sequence)]
#[allow(missing_debug_implementations)] // Python shows it by `__repr__`.
pub struct View {
    guard: Py<ReadGuard>,
    value: Stored,
    mode: Mode,
    face: Face,
}

fn face_of(value: &Value<'_>, mode: Mode) -> Result<Face, Failure> {
    Ok(match (value.kind(), mode) {
        (Kind::Enum, Mode::Whole) => Face::Variant,
        (Kind::Enum, Mode::Payload) => match value.variant()?.style() {
            Style::Named => Face::Fields,
            _ => Face::Numbered,
        },
        // A tuple struct with fields is indexed; one without (`struct Empty();`) has nothing to
        // index and shows as an empty mapping, as a unit struct does.
        (Kind::Struct, _) => match convert::struct_style(value) {
            Some((Style::Unnamed, fields)) if fields > 0 => Face::Numbered,
            _ => Face::Fields,
        },
        (Kind::List, _) => Face::List,
        (Kind::Tuple, _) => Face::Tuple,
        (Kind::Set, _) => Face::Set,
        (Kind::Map, _) => Face::Map,
        _ => Face::Leaf,
    })
}

impl View {
    /// A view of `value`, a part of what `guard` pinned (the caller holds an access of it).
    pub fn new(
        py: Python<'_>,
        guard: Py<ReadGuard>,
        value: Value<'_>,
        mode: Mode,
    ) -> PyResult<Py<View>> {
        let face = face_of(&value, mode).map_err(|f| failure(py, guard.get(), f))?;
        Py::new(py, View { guard, value: Stored::new(value), mode, face })
    }

    /// The view `__enter__` gives: of the root, looked through a newtype.
    pub fn root(py: Python<'_>, guard: Py<ReadGuard>, root: Value<'_>) -> PyResult<Py<View>> {
        let settled = convert::settle(root).map_err(|f| failure(py, guard.get(), f))?;
        match settled {
            Settled::Nested(value) => View::new(py, guard, value, Mode::Whole),
            _ => Py::new(
                py,
                View { guard, value: Stored::new(root), mode: Mode::Whole, face: Face::Leaf },
            ),
        }
    }

    fn guard(&self) -> &ReadGuard {
        self.guard.get()
    }

    /// Runs `f` on the value while the pin is held; failures become exceptions.
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Access<'_>, Value<'_>) -> Result<T, Failure>,
    ) -> PyResult<T> {
        let access = self.guard().access(py)?;
        let value = self.value.get(&access);
        f(&access, value).map_err(|e| failure(py, self.guard(), e))
    }

    /// A part of this view's value as `[]` gives it: scalars and strings as Python values,
    /// nested parts as views of the same guard.
    fn item(&self, py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
        Ok(match convert::settle(value)? {
            Settled::None => py.None(),
            Settled::Scalar(value) => convert::scalar(py, value)?,
            Settled::Variant(name) => name.into_pyobject(py)?.into_any().unbind(),
            Settled::Opaque(value) => convert::opaque(py, value)?,
            Settled::Nested(value) => {
                View::new(py, self.guard.clone_ref(py), value, Mode::Whole)?.into_any()
            }
        })
    }

    /// The payload of an enum's variant, as `view["Variant"]` gives it.
    fn payload(&self, py: Python<'_>, value: Value<'_>) -> Result<Py<PyAny>, Failure> {
        let variant = value.variant()?;
        match variant.style() {
            Style::Unit => Ok(py.None()),
            Style::Unnamed if variant.len() == 1 => match variant.fields().next() {
                Some((_, field)) => self.item(py, field),
                None => Ok(py.None()),
            },
            _ => Ok(View::new(py, self.guard.clone_ref(py), value, Mode::Payload)?.into_any()),
        }
    }

    fn len_of(&self, value: Value<'_>) -> Result<usize, Failure> {
        Ok(match self.face {
            Face::Variant => 1,
            Face::Leaf => return Err(PyTypeError::new_err("this value has no length").into()),
            _ => value.len()?,
        })
    }

    /// Element `index` (negative from the end) of a sequence.
    fn element(
        &self,
        py: Python<'_>,
        value: Value<'_>,
        index: isize,
    ) -> Result<Py<PyAny>, Failure> {
        let len = self.len_of(value)?;
        let at = if index < 0 { index + len as isize } else { index };
        if at < 0 || at as usize >= len {
            return Err(PyIndexError::new_err(format!(
                "index {index} is out of range for {len} elements"
            ))
            .into());
        }
        let at = at as usize;
        let element = match self.face {
            Face::Set => match value.elements()?.nth(at) {
                Some(element) => element?,
                None => {
                    return Err(
                        PyIndexError::new_err(format!("index {index} is out of range")).into()
                    );
                }
            },
            _ => value.index(at)?,
        };
        self.item(py, element)
    }

    /// The value at `key` of a mapping.
    fn lookup(
        &self,
        py: Python<'_>,
        value: Value<'_>,
        key: &Bound<'_, PyAny>,
    ) -> Result<Option<Py<PyAny>>, Failure> {
        match self.face {
            Face::Fields => {
                let Ok(name) = key.cast::<PyString>() else { return Ok(None) };
                let name = name.to_str()?;
                if !value.fields()?.any(|(field, _)| field == name) {
                    return Ok(None);
                }
                Ok(Some(self.item(py, value.field(name)?)?))
            }
            Face::Variant => {
                let Ok(name) = key.cast::<PyString>() else { return Ok(None) };
                if name.to_str()? != value.variant()?.name() {
                    return Ok(None);
                }
                Ok(Some(self.payload(py, value)?))
            }
            Face::Map => match key_of(key)? {
                Some(key) => match value.get(key) {
                    Ok(Some(found)) => Ok(Some(self.item(py, found)?)),
                    Ok(None) => Ok(None),
                    // A key of another type than the map's (`"7"` in a map of integers): not
                    // there, as in a dict.
                    Err(err) if err.kind() == DynErrorKind::WrongKind => Ok(None),
                    Err(err) => Err(err.into()),
                },
                None => Ok(None),
            },
            _ => {
                Err(PyTypeError::new_err(format!("a {} is indexed by integers", self.face.name()))
                    .into())
            }
        }
    }

    /// The keys of a mapping, as Python values (map keys keep their type).
    fn keys_of(&self, py: Python<'_>, value: Value<'_>) -> Result<Vec<Py<PyAny>>, Failure> {
        let mut keys = Vec::new();
        match self.face {
            Face::Fields => {
                for (name, _) in value.fields()? {
                    keys.push(PyString::new(py, name).into_any().unbind());
                }
            }
            Face::Variant => {
                keys.push(PyString::new(py, value.variant()?.name()).into_any().unbind())
            }
            Face::Map => {
                for entry in value.entries()? {
                    keys.push(convert::map_key(py, entry?.0)?);
                }
            }
            _ => {
                return Err(
                    PyTypeError::new_err(format!("a {} has no keys", self.face.name())).into()
                );
            }
        }
        Ok(keys)
    }

    /// `(key, value)` pairs of a mapping, values as `[]` gives them.
    fn items_of(&self, py: Python<'_>, value: Value<'_>) -> Result<Vec<Pair>, Failure> {
        let mut items = Vec::new();
        match self.face {
            Face::Fields => {
                for (name, field) in value.fields()? {
                    items
                        .push((PyString::new(py, name).into_any().unbind(), self.item(py, field)?));
                }
            }
            Face::Variant => {
                let name = PyString::new(py, value.variant()?.name()).into_any().unbind();
                items.push((name, self.payload(py, value)?));
            }
            Face::Map => {
                for entry in value.entries()? {
                    let (key, item) = entry?;
                    items.push((convert::map_key(py, key)?, self.item(py, item)?));
                }
            }
            _ => {
                return Err(
                    PyTypeError::new_err(format!("a {} has no keys", self.face.name())).into()
                );
            }
        }
        Ok(items)
    }

    /// Every element of a sequence, as `[]` gives them.
    fn elements_of(&self, py: Python<'_>, value: Value<'_>) -> Result<Vec<Py<PyAny>>, Failure> {
        let mut out = Vec::new();
        match self.face {
            Face::Set | Face::Tuple => {
                for element in value.elements()? {
                    out.push(self.item(py, element?)?);
                }
            }
            Face::List | Face::Numbered => {
                for i in 0..self.len_of(value)? {
                    out.push(self.item(py, value.index(i)?)?);
                }
            }
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "a {} is not a sequence",
                    self.face.name()
                ))
                .into());
            }
        }
        Ok(out)
    }
}

/// A Python key as a key to look up: `str`, `bool`, `int`; `None` for any other type (no map
/// can hold it).
fn key_of<'k>(key: &'k Bound<'_, PyAny>) -> PyResult<Option<Key<'k>>> {
    if let Ok(text) = key.cast::<PyString>() {
        return Ok(Some(Key::from(text.to_str()?)));
    }
    if let Ok(flag) = key.cast::<PyBool>() {
        return Ok(Some(Key::from(flag.is_true())));
    }
    if key.cast::<PyInt>().is_ok() {
        if let Ok(n) = key.extract::<i128>() {
            return Ok(Some(Key::from(n)));
        }
        if let Ok(n) = key.extract::<u128>() {
            return Ok(Some(Key::from(n)));
        }
        // Larger than any key type.
        return Ok(None);
    }
    Ok(None)
}

/// The exception for a failure reading from `guard`'s channel.
pub fn failure(py: Python<'_>, guard: &ReadGuard, failure: Failure) -> PyErr {
    match failure {
        Failure::Python(err) => err,
        Failure::Dyn(err) => errors::from_dyn(py, &err, &guard.channel.state_path),
        Failure::Limit(message) => {
            errors::raise(py, "Limit", Some(&guard.channel.state_path), message)
        }
    }
}

/// The buffer format of a numeric element (PEP 3118, as the `struct` module writes it). The
/// archive is little-endian and the runtime builds only for little-endian targets, so the
/// native codes describe it exactly, and with them `memoryview` itself indexes the buffer
/// (it reads only native formats). Elements that are not aligned for their type get the
/// standard-size codes (`"<d"`), which say nothing about alignment; numpy reads both.
fn format_of(kind: NumericKind, aligned: bool) -> Option<&'static CStr> {
    Some(match (kind, aligned) {
        (NumericKind::U8, _) => c"B",
        (NumericKind::I8, _) => c"b",
        (NumericKind::U16, true) => c"H",
        (NumericKind::U32, true) => c"I",
        (NumericKind::U64, true) => c"Q",
        (NumericKind::I16, true) => c"h",
        (NumericKind::I32, true) => c"i",
        (NumericKind::I64, true) => c"q",
        (NumericKind::F32, true) => c"f",
        (NumericKind::F64, true) => c"d",
        (NumericKind::U16, false) => c"<H",
        (NumericKind::U32, false) => c"<I",
        (NumericKind::U64, false) => c"<Q",
        (NumericKind::I16, false) => c"<h",
        (NumericKind::I32, false) => c"<i",
        (NumericKind::I64, false) => c"<q",
        (NumericKind::F32, false) => c"<f",
        (NumericKind::F64, false) => c"<d",
        _ => return None,
    })
}

// Native sizes are the archive's on the targets the runtime builds for.
const _: () = assert!(
    size_of::<std::ffi::c_uint>() == 4
        && size_of::<std::ffi::c_ulonglong>() == 8
        && size_of::<std::ffi::c_ushort>() == 2
);

/// The shape and stride of an exported buffer, which the `Py_buffer` points at: freed when it
/// is released.
struct Dims {
    shape: [ffi::Py_ssize_t; 1],
    strides: [ffi::Py_ssize_t; 1],
}

#[pymethods]
impl View {
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.with(py, |_, value| {
            if !self.face.is_mapping() {
                if let Ok(slice) = key.cast::<PySlice>() {
                    let len = self.len_of(value)?;
                    let indices = slice.indices(len as isize)?;
                    let mut out = Vec::new();
                    let mut i = indices.start;
                    for _ in 0..indices.slicelength {
                        out.push(self.element(py, value, i)?);
                        i += indices.step;
                    }
                    return Ok(PyList::new(py, out)?.into_any().unbind());
                }
                if key.cast::<PyInt>().is_ok() && key.cast::<PyBool>().is_err() {
                    return self.element(py, value, key.extract::<isize>()?);
                }
                return Err(PyTypeError::new_err(format!(
                    "a {} is indexed by integers, not {}",
                    self.face.name(),
                    key.get_type().name()?
                ))
                .into());
            }
            match self.lookup(py, value, key)? {
                Some(found) => Ok(found),
                None => Err(PyKeyError::new_err(key.clone().unbind()).into()),
            }
        })
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |_, value| self.len_of(value))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.with(py, |_, value| match self.face {
            Face::Fields | Face::Variant | Face::Map => Ok(self.lookup(py, value, key)?.is_some()),
            Face::Set => match key_of(key)? {
                Some(k) => match value.contains(k) {
                    Err(err) if err.kind() == DynErrorKind::WrongKind => Ok(false),
                    found => Ok(found?),
                },
                None => Ok(false),
            },
            _ => {
                for element in self.elements_of(py, value)? {
                    if element.bind(py).eq(key)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        })
    }

    /// Keys for a mapping (as a dict iterates), elements for a sequence.
    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let all = self.with(py, |_, value| {
            if self.face.is_mapping() {
                self.keys_of(py, value)
            } else {
                self.elements_of(py, value)
            }
        })?;
        Ok(PyList::new(py, all)?.try_iter()?.into_any().unbind())
    }

    /// The keys of a mapping view: field names, map keys (keeping their type), or the variant.
    fn keys(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let keys = self.with(py, |_, value| self.keys_of(py, value))?;
        Ok(PyList::new(py, keys)?.unbind())
    }

    /// The values of a mapping view, as `[]` gives them.
    fn values(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let items = self.with(py, |_, value| self.items_of(py, value))?;
        Ok(PyList::new(py, items.into_iter().map(|(_, v)| v))?.unbind())
    }

    /// `(key, value)` pairs of a mapping view.
    fn items(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let items = self.with(py, |_, value| self.items_of(py, value))?;
        let pairs: Vec<Bound<'_, PyTuple>> =
            items.into_iter().map(|(k, v)| PyTuple::new(py, [k, v])).collect::<PyResult<_>>()?;
        Ok(PyList::new(py, pairs)?.unbind())
    }

    /// `view[key]`, or `default` when a mapping has no such key.
    #[pyo3(signature = (key, default=None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let found = self.with(py, |_, value| self.lookup(py, value, key))?;
        Ok(found.unwrap_or_else(|| default.unwrap_or_else(|| py.None())))
    }

    /// The part at `path` (`"routes[3].prefix"`, `settings["retry.max"]`), as `[]` gives it.
    fn at(&self, py: Python<'_>, path: &str) -> PyResult<Py<PyAny>> {
        self.with(py, |_, value| {
            let found = value.at(path)?;
            self.item(py, found)
        })
    }

    /// The whole part as Python values: the JSON mapping (dicts, lists, str, int, float,
    /// bool, None), with map keys of their own type and byte lists as `bytes`.
    fn to_python(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.with(py, |_, value| convert::to_python(py, value, self.mode))
    }

    /// What the view shows: `"struct"`, `"tuple struct"`, `"enum"`, `"list"`, `"tuple"`,
    /// `"set"`, `"map"` or `"value"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.face.name()
    }

    /// The Rust type of the part (`Vec<Route>`).
    #[getter]
    fn type_name(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |_, value| Ok(value.type_name()))
    }

    /// The name of an enum's variant; `None` for other views.
    #[getter]
    fn variant(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.with(py, |_, value| match value.kind() {
            Kind::Enum => Ok(Some(value.variant()?.name().to_owned())),
            _ => Ok(None),
        })
    }

    /// The generation the view reads.
    #[getter]
    fn generation(&self) -> u64 {
        self.guard().generation_number()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.with(py, |_, value| Ok(value.type_name())) {
            Ok(name) => format!(
                "<mmap_sync.View {} ({}) of generation {}>",
                name,
                self.face.name(),
                self.guard().generation_number()
            ),
            Err(_) => format!(
                "<mmap_sync.View of generation {} (released)>",
                self.guard().generation_number()
            ),
        }
    }

    /// Numeric lists and `Vec<u8>`: the archived elements, read-only, without a copy. The
    /// buffer keeps the generation pinned until it is released.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let py = slf.py();
        if view.is_null() {
            return Err(PyBufferError::new_err("no Py_buffer to fill"));
        }
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("a channel's values are read-only"));
        }
        let this = slf.get();
        let access = this.guard().access(py)?;
        let value = this.value.get(&access);
        let numbers = match value.numeric() {
            Ok(Some(numbers)) => numbers,
            Ok(None) => {
                return Err(PyBufferError::new_err(format!(
                    "only lists of integers (up to 64 bits) and floats export a buffer, not {}",
                    value.type_name()
                )));
            }
            Err(err) => return Err(failure(py, this.guard(), Failure::Dyn(err))),
        };
        let Some(format) = format_of(numbers.kind(), numbers.is_aligned()) else {
            return Err(PyBufferError::new_err("an element type without a buffer format"));
        };
        let (buf, len) = (numbers.bytes().as_ptr(), numbers.bytes().len());
        let itemsize = numbers.kind().size() as ffi::Py_ssize_t;
        let dims =
            Box::new(Dims { shape: [numbers.len() as ffi::Py_ssize_t], strides: [itemsize] });
        // The generation stays pinned until `__releasebuffer__`: counted before the access
        // (which alone holds the pin now) ends.
        this.guard().export();
        drop(access);
        let dims = Box::into_raw(dims);
        // SAFETY: `view` is the non-null `Py_buffer` Python asks us to fill. The bytes stay
        // mapped and unchanged while the export count holds the pin, which lasts until
        // `__releasebuffer__` for this very buffer; `obj` holds a reference to this view (and
        // so to the guard and reader). `format` is a static string; `shape` and `strides`
        // point into `dims`, freed in `__releasebuffer__` through `internal`.
        unsafe {
            (*view).obj = slf.clone().into_any().into_ptr();
            (*view).buf = buf as *mut c_void;
            (*view).len = len as ffi::Py_ssize_t;
            (*view).readonly = 1;
            (*view).itemsize = itemsize;
            (*view).format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
                format.as_ptr() as *mut _
            } else {
                ptr::null_mut()
            };
            (*view).ndim = 1;
            (*view).shape = if flags & ffi::PyBUF_ND == ffi::PyBUF_ND {
                (*dims).shape.as_mut_ptr()
            } else {
                ptr::null_mut()
            };
            (*view).strides = if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES {
                (*dims).strides.as_mut_ptr()
            } else {
                ptr::null_mut()
            };
            (*view).suboffsets = ptr::null_mut();
            (*view).internal = dims as *mut c_void;
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, view: *mut ffi::Py_buffer) {
        // SAFETY: `internal` is the `Dims` box `__getbuffer__` made for this buffer, released
        // once.
        unsafe {
            let dims = (*view).internal as *mut Dims;
            if !dims.is_null() {
                drop(Box::from_raw(dims));
                (*view).internal = ptr::null_mut();
            }
        }
        self.guard().unexport();
    }
}
