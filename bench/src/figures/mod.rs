//! The figures, one file per group of figures measured together. Each group's `run` (or named
//! function) takes the harness's [`Context`](crate::harness::Context) and returns its rows and,
//! where the method needs saying, a section of the report.

pub mod bare;
pub mod big_write;
pub mod first_read;
pub mod hot_read;
pub mod iceoryx;
pub mod large;
pub mod latency;
pub mod many;
pub mod memory;
pub mod reading_threads;
pub mod reads;
pub mod timer;
pub mod validation_cpu;
pub mod visible;
pub mod writes;
