//! Reading a channel's value without its Rust type: the archived bytes read through the
//! channel's [`Structure`](crate::schema::Structure), with every read checked.
//!
//! A [`DynArchive`] pairs a structure with the bytes of a whole rkyv archive (the root at the
//! end, as `rkyv::to_bytes` writes it and a channel's copy holds it). Its
//! [`root`](DynArchive::root) is a [`Value`]: a position and a shape, `Copy`, navigated
//! without allocating by [`field`](Value::field), [`index`](Value::index), [`get`](Value::get)
//! (a key in a map: probed in a `HashMap`'s swiss table, descended in a `BTreeMap`) and
//! [`at`](Value::at) (`"routes[3].prefix"`), read by [`as_str`](Value::as_str),
//! [`as_i64`](Value::as_i64) and their kin, iterated by [`elements`](Value::elements),
//! [`entries`](Value::entries) and [`fields`](Value::fields), checked whole by
//! [`check`](Value::check) and written as JSON by [`to_json`](Value::to_json).
//!
//! ```
//! use mmap_sync::dynamic::DynArchive;
//! use mmap_sync::schema::{Describe, Structure};
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
//! pub struct Route {
//!     pub prefix: String,
//!     pub timeout_ms: u32,
//! }
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
//! pub struct Routes {
//!     pub version: u64,
//!     pub routes: Vec<Route>,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let routes = Routes {
//!     version: 7,
//!     routes: vec![Route { prefix: "/api".into(), timeout_ms: 250 }],
//! };
//! let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&routes)?;
//! let structure = Structure::of(&Routes::SHAPE);
//!
//! let archive = DynArchive::new(&structure, &bytes)?;
//! let root = archive.root();
//! assert_eq!(root.at("routes[0].prefix")?.as_str()?, "/api");
//! assert_eq!(root.field("version")?.as_u64()?, 7);
//! assert_eq!(
//!     root.to_json()?,
//!     r#"{"version":7,"routes":[{"prefix":"/api","timeout_ms":250}]}"#
//! );
//! let missing = root.at("routes[1].prefix").unwrap_err();
//! assert_eq!(missing.to_string(), "routes[1]: index 1 is past the end of 1 elements");
//! # Ok(()) }
//! ```
//!
//! # What is read
//!
//! Every shape a structure has: integers of every width (`usize`/`isize` as 32 bits), floats,
//! `bool`, `char`, `()`, `String`, `Box<str>`, `Vec`, `Box<[T]>`, `Box`, `Option`, arrays,
//! tuples, `HashMap`, `HashSet`, `BTreeMap`, `BTreeSet`, structs and enums (recursive ones
//! too) in rkyv 0.8's layouts. Only the [standard encoding](crate::schema::Encoding::standard)
//! is read (rkyv 0.8, little-endian, 32-bit relative pointers, aligned); [`DynArchive::new`]
//! refuses another, and a structure whose recorded layouts disagree with rkyv's, naming the
//! field ([`DynArchive::check_structure`]). Opaque values (types without a description,
//! fields archived `with` a wrapper, types archived `as` another) are shown as their bytes,
//! unchecked. Lookups by key take string, integer, `char` and `bool` keys; maps with other
//! keys (tuples, structs, enums, options) are iterated.
//!
//! # Checks and limits
//!
//! Nothing is trusted: relative pointers must land inside the archive, aligned for what they
//! point to; lengths must fit; strings must be UTF-8, `bool`s 0 or 1, `char`s scalar values,
//! tags known; hash tables and B-trees must keep rkyv's invariants. A bad read is a
//! [`DynError`] naming the path of the value (`routes[3].prefix: a string that is not
//! UTF-8`). No input makes the decoder panic, loop, or allocate more than a small multiple of
//! its input (of its output, for JSON):
//!
//! * values nest at most [`MAX_DEPTH`] deep (a cycle of pointers ends there);
//! * a whole-value walk ([`check`](Value::check), JSON) takes at most
//!   [`work_budget`]`(bytes.len())` steps, so that pointers that share (a DAG in a hostile
//!   archive) cannot multiply the work or the output; every iterator yields at most as many
//!   items (a `Vec<()>` of four billion elements is refused, not walked);
//! * B-trees are at most 16 levels deep, hash table probes end.
//!
//! A walk to [`MAX_DEPTH`] takes less than 1 MiB of stack in an unoptimized build (a thread's
//! default is 2 MiB, a process's main thread 8 MiB), far less optimized. Navigation is not
//! recursive: a path may go as deep as the value does.
//!
//! [`Value::check`] accepts every archive rkyv's validation (bytecheck) accepts, but for the
//! work limit (rkyv reads a list of billions of zero-sized values), and reads the same values
//! from it; it does not refuse, as rkyv does, parts that share bytes, which the budget makes
//! harmless.//!
//! # JSON
//!
//! [`Value::to_json`] writes what `serde_json::to_string` prints for the original Rust value
//! with serde's default representation, byte for byte: structs are objects with their fields
//! in declaration order, newtype structs their field, tuple structs arrays, unit structs
//! `null`; unit variants `"Name"`, newtype variants `{"Name":v}`, tuple variants
//! `{"Name":[..]}`, struct variants `{"Name":{..}}`; `Option` `null` or the value; tuples,
//! arrays, lists and sets arrays (`Vec<u8>` too); maps objects; `char` a string; `()` `null`;
//! integers exact, 128-bit ones too; floats as serde_json writes them (the shortest text that
//! reads back as the same value, `1.0`, `1e+16`, `1e-7`), `null` when not finite; strings
//! escaped as serde_json escapes them. Map keys are written as serde_json writes them:
//! strings as they are, integers, floats, `bool`s and `char`s as strings, `Some`, boxes and
//! newtype structs as what they hold, unit variants by name. Names are the Rust names: serde
//! attributes (`rename`, `tag`, `skip`) on the original type are not in the structure.
//!
//! Where serde_json has no answer this module chooses:
//!
//! * an opaque value is `{"$opaque":"<type as written>","hex":"<archived bytes>"}`;
//! * a key serde_json refuses (a tuple, struct, non-unit variant, `None`, `()`) is its JSON
//!   text, as a string: `{"[1,\"a\"]":2}`;
//! * a `HashMap`'s and `HashSet`'s entries come in their storage order (serde_json follows
//!   the Rust map's random order).
//!
//! Strings are escaped as serde_json escapes them, not as the crate's other JSON output
//! ([`json`](crate::json)), which also escapes DEL, C1 and bidirectional controls: a program
//! showing this JSON on a terminal escapes those itself.

#![forbid(unsafe_code)]

mod archive;
mod btree;
mod collection;
mod error;
mod hash;
mod iter;
mod json_text;
mod key;
mod layout;
mod numeric;
mod path;
mod reader;
mod value;
mod walk;
mod writer;

pub use archive::DynArchive;
pub use error::{DynError, DynErrorKind};
pub use iter::{Elements, Entries, Fields};
pub use key::Key;
pub use numeric::{NumericKind, NumericSlice};
pub use reader::{DynGuard, DynReader, DynReaderBuilder};
pub use value::{EnumValue, Kind, Value};
pub use writer::{ChannelType, DynStaged, DynWriter, DynWriterBuilder};

/// How deep values may nest in a walk ([`Value::check`], JSON): a value inside more than 128
/// others (counting structs, enums, options, lists, maps, boxes' targets) is refused with a
/// [`Limit`](DynErrorKind::Limit) error. Recursive types nest as deep as their values do.
pub const MAX_DEPTH: usize = 128;

/// Steps of work a walk may take per byte of the archive (see [`work_budget`]).
pub const WORK_PER_BYTE: u64 = 16;

/// Steps of work every walk may take, whatever the archive's size (see [`work_budget`]).
pub const WORK_BASE: u64 = 4096;

/// The most steps a whole-value walk over an archive of `len` bytes takes, and the most items
/// an iterator over it yields: `WORK_PER_BYTE * len + WORK_BASE`. A step is one value, eight
/// bytes of a string or opaque value, or one bucket of a hash table. Every value rkyv writes
/// takes at least a byte, except zero-sized ones (`()`, unit structs, empty arrays), so only
/// archives whose parts share bytes, or lists of millions of zero-sized values, reach it.
pub const fn work_budget(len: usize) -> u64 {
    (len as u64).saturating_mul(WORK_PER_BYTE).saturating_add(WORK_BASE)
}
