//! The structural schema of channel types: what a channel holds, as a tree of archived shapes,
//! so that a program without the Rust type can read the value, and a schema mismatch names the
//! field, nested types and enum variants included.
//!
//! Every type that derives `SharedState` or [`Describe`] has a [`Describe::SHAPE`]: a `const`
//! tree of [`StaticShape`]s (this module implements `Describe` for the standard types rkyv
//! archives: every integer and float, `bool`, `char`, `()`, `String`, `Box<str>`, `Vec`,
//! `Box`, `Box<[T]>`, `Option`, arrays, tuples up to 12 elements, `HashMap`, `HashSet`,
//! `BTreeMap` and `BTreeSet`). A [`Structure`] is its owned form: the root's [`Shape`], every
//! named struct and enum defined once ([`Definition`]), with each field's archived offset, size
//! and alignment as the compiler laid it out, and the archive [`Encoding`] (rkyv's version,
//! endianness, pointer width, alignment rules). The writer stores it in the channel:
//!
//! * [`Structure::encode`] / [`Structure::decode`]: the compact, versioned binary form stored
//!   in a channel's state file; the decoder refuses whatever a hostile file may hold;
//! * [`diff`](fn@diff): which types, variants and fields differ between two structures
//!   (`Mode::Failed.0: Vec<u8> here, String in the channel`);
//! * `Display`: an aligned table (each type once: field, type, offset, size, alignment);
//! * [`Structure::to_json`]: the same in one stable JSON shape, for scripts;
//! * [`dynamic`](crate::dynamic) reads a value through it, without the Rust type.
//!
//! The type's fingerprint (`SharedState::FINGERPRINT`) is computed by the compiler over the
//! whole tree, so a change inside a nested type changes it.
//!
//! # Nested types
//!
//! A field's type is described when it implements [`Describe`]: the standard types above, and
//! every type that derives `SharedState` or `Describe`. For a type that is only ever nested,
//! derive it:
//!
//! ```
//! use mmap_sync::SharedState;
//! use mmap_sync::schema::Describe;
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
//! pub struct Route {
//!     pub prefix: String,
//!     pub timeout_ms: u32,
//! }
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
//! #[shared_state(path = "/dev/shm/routes")]
//! pub struct Routes {
//!     pub version: u64,
//!     pub routes: Vec<Route>,
//! }
//!
//! let structure = mmap_sync::schema::Structure::of(&Routes::SHAPE);
//! println!("{structure}");
//! ```
//!
//! A field whose type does not implement `Describe` (a type of another crate, or a container
//! of one, such as `Vec<chrono::DateTime<Utc>>`) is [`Shape::Opaque`]: its name as written and
//! its archived size and alignment; a decoder shows its bytes. So is a field archived through
//! `#[rkyv(with = ..)]`, and a type archived as another (`#[rkyv(as = ..)]`) has no fields.
//!
//! A recursive type (`struct Tree { #[rkyv(omit_bounds)] children: Vec<Tree> }`) is described
//! once and refers to itself. rkyv needs `#[rkyv(omit_bounds)]` on the field where a type
//! contains itself; such a field's shape is looked up when the structure is made
//! ([`StaticShape::Deferred`]), and the fingerprint sees its type as written and its layout,
//! not what lies behind it (a reader still compares the whole structure when it opens the
//! channel).
//!
//! Types that implement `SharedState` by hand, and values published through the
//! [`Synchronizer`](crate::synchronizer::Synchronizer) facade, have no structure.

// Where each part lives: the `const` tree and `Describe` are `shape`; the owned form, the
// builder from the `const` tree and the writing of shapes as Rust are `structure`; `encode`
// holds the binary form, `diff` the comparison of two structures, `render` the table that
// `Display` prints, `json` the JSON shape, and `derive_support` what the derives' generated
// code calls. The escaping rule the parts share is the crate's `escape`, the JSON writer the
// crate's `json`.

pub use mmap_sync_derive::Describe;

#[doc(hidden)]
pub mod derive_support;
mod diff;
mod encode;
#[cfg(test)]
mod fixtures;
mod json;
mod render;
mod shape;
mod structure;

pub use crate::escape::{is_escaped, printable, printable_cut};
pub use diff::{Change, Difference, diff};
pub use encode::{ENCODING_MAGIC, ENCODING_VERSION, MAX_ENCODED_LEN, MAX_SHAPE_DEPTH};
pub use render::NAME_WIDTH;
pub use shape::{
    ArchivedLayout, Describe, Float, Int, StaticBody, StaticDefinition, StaticField, StaticShape,
    StaticVariant, Style, definition_fingerprint, has_deferred, shape_fingerprint,
};
pub use structure::{Body, Definition, Encoding, Field, Fields, Shape, Structure, Variant};
