//! The exceptions: one base class, `mmap_sync.Error`, and a subclass per kind of error, each
//! instance carrying `kind` (the subclass's name, which is the Rust `mmap_sync::Error`
//! variant's) and `path` (the file the error is about, a `str`, or `None`).

use std::path::Path;

use mmap_sync::dynamic::{DynError, DynErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyIndexError, PyKeyError, PyOverflowError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(
    mmap_sync,
    Error,
    PyException,
    "Base class of every mmap_sync error; `kind` names the kind, `path` the file."
);

/// The subclasses, by kind: the variants of the Rust `mmap_sync::Error` users match on, and
/// `Released`, this package's own.
macro_rules! kinds {
    ($($name:ident: $doc:literal,)*) => {
        $(create_exception!(mmap_sync, $name, Error, $doc);)*

        /// Adds the base class and every subclass to the module.
        pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = module.py();
            module.add("Error", py.get_type::<Error>())?;
            $(module.add(stringify!($name), py.get_type::<$name>())?;)*
            Ok(())
        }

        /// The class of `kind`; the base class for a kind this build does not know.
        fn class_of<'py>(py: Python<'py>, kind: &str) -> Bound<'py, PyType> {
            match kind {
                $(stringify!($name) => py.get_type::<$name>(),)*
                _ => py.get_type::<Error>(),
            }
        }
    };
}

kinds! {
    NotPublished: "Nothing has been published at this path yet.",
    WriterExists: "Another live writer holds this channel.",
    SchemaMismatch: "The files hold a value of another type.",
    Corrupt: "A file's content, or the archive of a value, is malformed.",
    Incompatible: "The files were created with another layout than asked for.",
    ReadersFull: "Every reader slot of the channel is held by a live reader.",
    WriterBlocked: "Every free copy stayed pinned by readers for the writer's wait limit.",
    TooLarge: "The value is larger than the channel's max_size.",
    InvalidValue: "The value could not be serialized, or bytes are not a valid archive.",
    Superseded: "The channel's files were replaced by a new set; open a new Reader to follow it.",
    Forked: "A handle opened before fork() was used in the child for what only its owner may do.",
    NoStructure: "The channel's writer recorded no structure: only a program with the Rust type can read it.",
    Io: "An operating-system error on the named file.",
    Released: "A view was used after its `with` block (or after its read guard was closed).",
    Limit: "A value too deep or too large to walk within the reader's limits.",
}

/// An exception of `kind` about `path`, with `message` as its text.
pub fn raise(py: Python<'_>, kind: &str, path: Option<&Path>, message: String) -> PyErr {
    let class = class_of(py, kind);
    let made = class.call1((message,)).and_then(|instance| {
        instance.setattr("kind", kind)?;
        instance.setattr("path", path.map(|p| p.to_string_lossy().into_owned()))?;
        Ok(instance)
    });
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// The exception of an error reading a value through its structure, on the channel whose
/// state file is `state`: `KeyError`, `IndexError`, `TypeError`, `OverflowError` or
/// `ValueError` for what Python code asks wrongly (no such field or key, an index past the
/// end, a field of a list, a path that does not parse), and `mmap_sync.Corrupt` (the archive
/// or structure breaks its rules) or `mmap_sync.Limit` for what the channel holds. The last
/// two carry `field`, the path of the value where the problem was found.
pub fn from_dyn(py: Python<'_>, error: &DynError, state: &Path) -> PyErr {
    let message = error.to_string();
    let kind = match error.kind() {
        DynErrorKind::NotFound => return PyKeyError::new_err(message),
        DynErrorKind::OutOfRange => return PyIndexError::new_err(message),
        DynErrorKind::WrongKind => return PyTypeError::new_err(message),
        DynErrorKind::Range => return PyOverflowError::new_err(message),
        DynErrorKind::Path => return PyValueError::new_err(message),
        DynErrorKind::Limit => "Limit",
        _ => "Corrupt",
    };
    let err = raise(py, kind, Some(state), format!("{}: {message}", state.display()));
    let _ = err.value(py).setattr("field", error.path());
    err
}

/// The Python exception of a runtime error.
pub fn from_runtime(py: Python<'_>, error: &mmap_sync::Error) -> PyErr {
    raise(py, error.kind_name(), Some(error.path()), error.to_string())
}
