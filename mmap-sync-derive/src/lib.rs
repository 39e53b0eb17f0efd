//! `#[derive(SharedState)]`: turns a struct or enum into a typed, named, checked mmap-sync
//! channel. Use it through `mmap_sync::SharedState`, which re-exports it next to the trait;
//! programs depend on [`mmap-sync`], not on this crate.
//!
//! ```no_run
//! use mmap_sync::SharedState;
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
//! #[shared_state(path = "/dev/shm/hello_world")]
//! pub struct HelloWorld {
//!     pub version: u32,
//!     pub messages: Vec<String>,
//! }
//!
//! # fn main() -> mmap_sync::Result<()> {
//! let writer = HelloWorld::writer()?; // a mmap_sync::Writer<HelloWorld> at PATH
//! let reader = HelloWorld::reader()?; // refuses a channel of another definition
//! # Ok(()) }
//! ```
//!
//! The attributes and the generated items are documented on [`SharedState`](derive@SharedState);
//! [`Describe`](derive@Describe) gives types nested in a channel type their structure.
//! The sections below say what the schema fingerprint catches and cannot see, and what the
//! structure records. Reading and writing channels, and the guarantees, are documented in
//! [`mmap-sync`].
//!
//! # The schema fingerprint
//!
//! `FINGERPRINT` is a 64-bit hash that a writer stores in the channel's header and in every
//! copy it publishes; a reader whose type has another fingerprint refuses the files with
//! `Error::SchemaMismatch`, naming what differs, instead of reading bytes laid out for some
//! other type. It is computed by const evaluation over the type's whole structure (below),
//! folded with `schema_version` and the archive encoding (rkyv's version, endianness, pointer
//! width and alignment rules).
//!
//! It **catches**: a field or variant added, removed, renamed or reordered, in the channel type
//! or in any nested type that implements `mmap_sync::schema::Describe`; a field's type changed
//! anywhere in the tree, also when the layout stays equal (`u32` to `i32`) and inside enum
//! variants and container elements (`Failed(String)` to `Failed(Vec<u8>)`); another archive
//! encoding; a bumped `schema_version`.
//!
//! It **cannot see**: a change inside an *opaque* type (one that does not implement
//! `Describe`, such as a type of another crate, or a field archived through
//! `#[rkyv(with = ..)]`) that keeps its name as written and its archived size and alignment;
//! what lies behind a recursive field (`#[rkyv(omit_bounds)]`), beyond its type's name and
//! layout (a reader compares the whole stored structure when it opens the channel); the meaning
//! of a field (same type, new units). Bump `schema_version` for such changes. Module paths and
//! spellings are not part of the fingerprint: two programs that each define the same
//! `struct HelloWorld` can talk to each other, and `Vec<String>`, `std::vec::Vec<String>` and
//! an alias of it are one shape.
//!
//! Names are written without a raw identifier's `r#` (`r#type` is the identifier `type`), here
//! as in `TYPE_NAME` and the structure.
//!
//! # The structure
//!
//! Beside the fingerprint, the derive records the type's structural schema
//! (`mmap_sync::schema::Describe::SHAPE`): the type's fields or variants (with their tags),
//! each field's name, archived offset, size and alignment computed by the compiler, and its
//! shape as a tree of scalars, strings, containers and the nested types that implement
//! `Describe`, which [`Describe`](derive@Describe) derives for types that are nested in a
//! channel without being one. What it records, and how it is stored, printed and read without
//! the Rust type, is documented in `mmap_sync::schema` and `mmap_sync::dynamic`.
//!
// The runtime of the same version (the two are released together): docs.rs's unversioned page
// of `mmap-sync` is upstream's 2.x until a stable 3.x exists.
#![doc = concat!("[`mmap-sync`]: https://docs.rs/mmap-sync/", env!("CARGO_PKG_VERSION"), "/mmap_sync/")]
#![deny(missing_docs)]

mod ast;
mod attr;
mod byte_size;
mod check;
mod ctxt;
mod description;
mod expand;
mod fingerprint;
mod rkyv_crate;
mod suggest;

#[cfg(test)]
mod expansion_tests;

/// The crate's README (its page on crates.io), compiled as doctests so its example cannot
/// drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Makes a struct or enum a `mmap_sync::SharedState` channel type.
///
/// ```no_run
/// use mmap_sync::{Reader, SharedState, Writer};
///
/// #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, SharedState)]
/// #[shared_state(path = "/dev/shm/hello_world", env = "HELLO_WORLD_PATH")]
/// pub struct HelloWorld {
///     pub version: u32,
///     pub messages: Vec<String>,
/// }
///
/// # fn main() -> mmap_sync::Result<()> {
/// assert_eq!(HelloWorld::DATA_PATHS, ["/dev/shm/hello_world_data_0", "/dev/shm/hello_world_data_1"]);
/// let mut writer: Writer<HelloWorld> = HelloWorld::writer()?;
/// let mut reader: Reader<HelloWorld> = HelloWorld::reader()?;
/// # Ok(()) }
/// ```
///
/// The type must also derive rkyv's `Archive` and `Serialize`, be concrete (no generic or
/// lifetime parameters), and be a struct (named, tuple or unit) or an enum.
///
/// # Attributes
///
/// All keys go in `#[shared_state(..)]`; several such attributes may be combined. Each key may
/// be given once.
///
/// | key | value | default |
/// | --- | --- | --- |
/// | `path` | absolute path prefix of the files, e.g. `"/dev/shm/hello_world"`; not empty, no NUL, no trailing `/` | required |
/// | `copies` | number of data copies, `2..=16` (checked against the runtime's own limits too); 3 or more let the writer publish while a slow reader holds a copy | `2` |
/// | `readers` | reader slots (readers open at once), `1..=65536` | the runtime's, 128 |
/// | `max_size` | largest archived value: `"64 MiB"`, `"1 GB"`, `"4096"` or `4096`; kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024; must be at least the archived root's size | the runtime's, 2 GiB |
/// | `env` | name of an environment variable that, when set and not empty, replaces `path` at run time for `writer()` and `reader()` | none |
/// | `schema_version` | integer mixed into the fingerprint; bump it for changes the fingerprint cannot see | `0` |
/// | `crate` | path of the runtime crate, when it is not reachable as `::mmap_sync`: `crate = ::my::reexport` or `crate = "my::reexport"` | `::mmap_sync` |
///
/// # Generated items
///
/// Besides `impl mmap_sync::SharedState`, the type gets these inherent items:
///
/// * `PATH`, `STATE_PATH`, `READERS_PATH`: `&'static str`, the prefix and the state and
///   reader-table files (`{PATH}_state`, `{PATH}_readers`);
/// * `DATA_PATHS: [&'static str; COPIES]`: the data files, `{PATH}_data_{i}`;
/// * `FINGERPRINT: u64`: the schema fingerprint (see the crate documentation for what it catches);
/// * `SHAPE: mmap_sync::schema::StaticShape`: the type's structural schema, also given as
///   `SharedState::SHAPE` and through `mmap_sync::schema::Describe`;
/// * `fn writer() -> mmap_sync::Result<mmap_sync::Writer<Self>>` and
///   `fn reader() -> mmap_sync::Result<mmap_sync::Reader<Self>>`: open the channel at
///   `SharedState::path()`, i.e. at the `env` override when set, else at `PATH`.
///
/// The constants name the default files; with an `env` override in effect the files opened by
/// `writer()` and `reader()` are elsewhere.
#[proc_macro_derive(SharedState, attributes(shared_state))]
pub fn derive_shared_state(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::expand(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Gives a type that is nested in a channel type its structural schema
/// (`mmap_sync::schema::Describe`), so that the channel type's structure, fingerprint and
/// dynamic view see into the fields that hold it. Use it through `mmap_sync::schema::Describe`.
///
/// ```
/// use mmap_sync::SharedState;
/// use mmap_sync::schema::Describe;
///
/// #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
/// pub struct Upstream {
///     pub host: String,
///     pub port: u16,
/// }
///
/// #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
/// #[shared_state(path = "/dev/shm/upstreams")]
/// pub struct Upstreams {
///     pub all: Vec<Upstream>,
/// }
///
/// let structure = mmap_sync::schema::Structure::of(&Upstreams::SHAPE);
/// assert!(structure.to_string().contains("Upstream (struct"));
/// ```
///
/// The type must be concrete, as for `SharedState`, and must not also derive `SharedState`,
/// which implements `Describe` itself. Of the `#[shared_state(..)]` keys only `crate` applies.
#[proc_macro_derive(Describe, attributes(shared_state))]
pub fn derive_describe(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::expand_describe(input).unwrap_or_else(syn::Error::into_compile_error).into()
}
