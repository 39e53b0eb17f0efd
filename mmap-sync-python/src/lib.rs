//! `mmap_sync` for Python: read a channel that a Rust writer publishes, in place, without the
//! Rust type, through the structure the channel records (the runtime's `mmap_sync::dynamic`).
//!
//! * [`reader`]: `Reader(path)`, one per process, shared by its threads, and the Python face
//!   of what `reader.read()` gives (`ReadGuard`'s methods);
//! * [`view`]: `View`, the lazy view of part of a value, and the buffer protocol;
//! * [`guard`]: `ReadGuard`, the `with` block that pins one generation, and the rules for how
//!   long views and buffers may use it;
//! * [`pin`]: how a runtime guard, which borrows its reader and belongs to its thread, is held
//!   by Python objects that may die on any thread;
//! * [`convert`]: values as Python objects (the JSON mapping);
//! * [`channel`]: what every object of a reader knows about its channel;
//! * [`errors`]: the exceptions.
//!
//! Each module imports only from modules listed after it.

mod channel;
mod convert;
mod errors;
mod guard;
mod pin;
mod reader;
mod view;

use pyo3::prelude::*;

#[pymodule(name = "mmap_sync")]
fn mmap_sync_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(module)?;
    module.add_class::<reader::Reader>()?;
    module.add_class::<guard::ReadGuard>()?;
    module.add_class::<view::View>()?;
    Ok(())
}
