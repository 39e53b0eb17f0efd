//! Share one value between a single writer process and many reader processes on the same host,
//! through memory-mapped files.
//!
//! * Reads are **wait-free** (a thread-local lookup and five memory operations, no loop, no
//!   syscall) and **zero-copy**: a [`ReadGuard`] dereferences straight into the shared mapping as
//!   the value's rkyv archived form. One [`Reader`] serves every thread of a process.
//! * Reads are **safe**: a copy is validated (bytecheck, checksum, schema fingerprint) once per
//!   published generation, and every further read of that generation is a pointer cast.
//! * The writer **never overwrites a copy a reader may be reading**, and never takes data away
//!   from a live reader; readers that die while holding a copy are detected through the kernel's
//!   open-file-description locks and reclaimed.
//!
//! ```no_run
//! use mmap_sync::{Reader, SharedState, Writer};
//! # fn demo<T: SharedState>(value: &T) -> mmap_sync::Result<()> {
//! let mut writer: Writer<T> = Writer::open("/dev/shm/example")?;
//! writer.write(value)?;
//!
//! let reader: Reader<T> = Reader::open("/dev/shm/example")?; // clone it into every thread
//! let guard = reader.read()?; // derefs to T::Archived
//! println!("generation {}", guard.generation());
//! # Ok(()) }
//! ```
//!
//! The protocol and its correctness argument live in [`protocol`]; the on-disk format in
//! [`format`](mod@format).

#![deny(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "mmap-sync needs Linux: it relies on open-file-description locks and futexes (see README)"
);

mod background;
#[cfg(feature = "tokio")]
pub mod changes;
mod error;
mod files;
mod fingerprint;
pub mod format;
pub mod guard;
pub mod inspect;
pub mod instance;
pub mod locks;
mod log;
mod os;
mod paths;
pub mod protocol;
mod reader;
pub mod schema;
mod serialize;
mod set;
mod shared_state;
mod slots;
pub mod synchronizer;
mod validation;
mod value_type;
mod writer;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{Error, Result, Schema};
#[allow(deprecated)]
pub use fingerprint::{fingerprint_of, fold_fingerprint, layout_fingerprint};
pub use guard::ReadGuard;
pub use mmap_sync_derive::SharedState;
pub use paths::ChannelPaths;
pub use reader::{Reader, ReaderBuilder, ReaderStats, ValidationFailure};
pub use serialize::{CopySerializer, CopyWriter};
pub use shared_state::SharedState;
pub use writer::{Published, Staged, Writer, WriterBuilder};

/// The rkyv version this crate archives with, so users need not name it themselves.
pub use rkyv;

/// The README's examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
