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
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
//! #[shared_state(path = "/dev/shm/hello_world", copies = 3)]
//! pub struct HelloWorld {
//!     pub version: u32,
//!     pub messages: Vec<String>,
//! }
//!
//! # fn main() -> mmap_sync::Result<()> {
//! // In the writer process (one per channel: a second one gets `Error::WriterExists`):
//! let mut writer: Writer<HelloWorld> = HelloWorld::writer()?; // or Writer::open(path)
//! writer.write(&HelloWorld { version: 7, messages: vec!["Hello".into()] })?;
//!
//! // In each reader process: one `Reader`, cloned into every thread that reads.
//! let reader: Reader<HelloWorld> = HelloWorld::reader()?;
//! let guard = reader.read()?; // derefs to ArchivedHelloWorld, in place in the mapping
//! println!("generation {}: version {}", guard.generation(), guard.version);
//! # Ok(()) }
//! ```
//!
//! `rkyv` here is the version this crate archives with, re-exported as [`mmap_sync::rkyv`](rkyv)
//! for programs that do not depend on it themselves (their types then say
//! `#[rkyv(crate = mmap_sync::rkyv)]`; see there).
//!
//! # Where to read next
//!
//! * **Writing**: [`Writer`] publishes a value ([`write`](Writer::write)), bytes archived
//!   elsewhere ([`write_bytes`](Writer::write_bytes), validated first), or an archive written
//!   straight into a free copy ([`stage`](Writer::stage)); [`WriterBuilder`] sets the number
//!   of copies (3 or more let the writer publish while a slow reader holds a copy), reader
//!   slots, `max_size`, file modes, how long a write may wait for readers, and durability.
//! * **Reading**: [`Reader`] serves the newest validated value through a [`ReadGuard`], which
//!   pins its copy until it drops: keep guards short. [`Reader::generation`] is one atomic load
//!   for cheap polling, [`Reader::wait_for_change`] sleeps on a futex until the next publish,
//!   and [`Reader::wait_for_validated`] until a read will serve it.
//! * **One reader per process**: a [`Reader`] is `Clone + Send + Sync`; clones share one set of
//!   mappings and validate each generation once for the process, and each reading thread holds
//!   a reader slot of its own, given back when the thread exits.
//! * **Validation modes**, on [`ReaderBuilder`]: by default the first thread to read a new
//!   generation validates it (bytecheck, checksum, schema fingerprint) while other threads
//!   keep serving the previous one; [`validate_in_background`](ReaderBuilder::validate_in_background)
//!   moves that work to a background thread so no read ever validates;
//!   [`verify_checksum(false)`](ReaderBuilder::verify_checksum) skips the checksum pass over
//!   very large values; `unsafe` [`Reader::read_unchecked`] skips bytecheck for writers you
//!   trust. A generation that fails validation is never served: [`Reader::last_failure`].
//! * **Typed channels**: [`SharedState`] (trait and derive) names a channel's files and its
//!   schema fingerprint; the derive's attributes and what the fingerprint catches are on
//!   [`derive@SharedState`]. [`schema`] shows a type's archived layout field by field, which
//!   [`Error::SchemaMismatch`] uses to name the fields two definitions disagree on.
//! * **Errors**: one [`Error`] enum; every variant names the file it is about.
//! * **Guarantees, limits and the trust model**: the README's
//!   [Guarantees and limits](https://github.com/mmap-sync/mmap-sync/blob/main/README.md#guarantees-and-limits)
//!   say what holds whatever happens to processes and files, who may do what to a channel,
//!   and which test proves each claim.
//! * **How it works**: [`protocol`] has the reader/writer protocol and its correctness
//!   argument; [`format`](mod@format) the files on disk, every offset asserted at compile time.
//! * **Operating a channel**: [`inspect`] looks at a channel without knowing its type (header,
//!   copies, writer liveness, reader slots with pids, the stored schema) and verifies every
//!   copy's checksum. The `mmap-sync` command (crate `mmap-sync-cli`) prints the same.
//! * **Upstream mmap-sync 2.x**: [`synchronizer::Synchronizer`] keeps upstream's API so a
//!   program ports by changing imports, and shares channels with [`Reader`] and [`Writer`];
//!   [MIGRATING.md](https://github.com/mmap-sync/mmap-sync/blob/main/MIGRATING.md) maps every
//!   upstream item to its successor and lists what behaves differently.
//!
//! # Features
//!
//! Both are off by default; with neither, the runtime depends on its derive, rkyv, libc,
//! xxhash-rust and thiserror only.
//!
//! * **`tokio`**: [`Reader::changes`] and [`Reader::changed`], futures that resolve when a
//!   newer generation is published. They are cancel-safe (fit for `tokio::select!` and
//!   `tokio::time::timeout`), and one waiter thread per process and channel wakes every
//!   waiting task; see the [`changes`] module.
//! * **`tracing`**: events for operators, under targets that start with `mmap_sync`: slots of
//!   dead readers reclaimed, writes that waited for readers and for how long, generations that
//!   failed validation (once per generation), new sets of files and why, schema mismatches.
//!   When the feature is off, no logging code is compiled in.
//!
// The `tokio` items exist only with that feature: the links above go to this build's items
// when it is on, and otherwise to this very version's documentation on docs.rs (built with all
// features). Not to docs.rs's "latest": that is upstream's 2.x until a stable 3.x exists.
#![cfg_attr(
    feature = "tokio",
    doc = "[`changes`]: crate::changes\n[`Reader::changes`]: crate::Reader::changes\n[`Reader::changed`]: crate::Reader::changed"
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = concat!(
        "[`changes`]: https://docs.rs/mmap-sync/", env!("CARGO_PKG_VERSION"), "/mmap_sync/changes/index.html\n",
        "[`Reader::changes`]: https://docs.rs/mmap-sync/", env!("CARGO_PKG_VERSION"), "/mmap_sync/struct.Reader.html#method.changes\n",
        "[`Reader::changed`]: https://docs.rs/mmap-sync/", env!("CARGO_PKG_VERSION"), "/mmap_sync/struct.Reader.html#method.changed",
    )
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "mmap-sync needs Linux: it relies on open-file-description locks and futexes (see README)"
);

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod changes;
mod checksum;
mod descriptor_check;
pub mod dynamic;
mod error;
mod escape;
mod files;
mod fingerprint;
pub mod format;
pub mod inspect;
pub mod json;
mod log;
mod os;
mod paths;
pub mod protocol;
mod reader;
pub mod schema;
mod serialize;
mod set;
mod shared_state;
pub mod synchronizer;
mod value_type;
mod writer;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{Error, Result, Schema};
#[allow(deprecated)]
pub use fingerprint::{fingerprint_of, fold_fingerprint, layout_fingerprint};
pub use mmap_sync_derive::SharedState;
pub use paths::ChannelPaths;
pub use reader::ReadGuard;
pub use reader::{Reader, ReaderBuilder, ReaderStats, SUPERSEDED_CHECK, ValidationFailure};
pub use serialize::{CopySerializer, CopyWriter};
pub use shared_state::SharedState;
pub use writer::{Published, Staged, Writer, WriterBuilder};

// mmap-sync 2.x's module paths, built from where the items live, so that no module of the
// crate imports from the facade above it.
pub use synchronizer::{instance, locks};

/// The read guards, at mmap-sync 2.x's path: [`ReadGuard`] of a [`Reader`] and
/// [`ReadResult`](guard::ReadResult) of the upstream-style facade.
pub mod guard {
    pub use crate::reader::ReadGuard;
    pub use crate::synchronizer::ReadResult;
}

/// The rkyv version this crate archives with, so users need not depend on it themselves.
///
/// rkyv's derives name their crate `::rkyv`; a crate that reaches rkyv only through this
/// re-export tells them where it is with `#[rkyv(crate = mmap_sync::rkyv)]` on each type
/// (without it, `#[derive(SharedState)]` reports exactly that):
///
/// ```
/// use mmap_sync::SharedState;
///
/// #[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, SharedState)]
/// #[rkyv(crate = mmap_sync::rkyv)]
/// #[shared_state(path = "/dev/shm/greeting")]
/// pub struct Greeting {
///     pub words: Vec<String>,
/// }
/// ```
pub use rkyv;

/// The crate's README (its page on crates.io), compiled as doctests so its example cannot drift
/// from the API. The repository's README and MIGRATING.md are compiled by the tests package.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
