//! `mmap_sync` for Python: read a channel published by a Rust writer, in place, without the
//! Rust type, through the structure the channel records.

mod errors;

use pyo3::prelude::*;

#[pymodule(name = "mmap_sync")]
fn mmap_sync_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(module)?;
    Ok(())
}
