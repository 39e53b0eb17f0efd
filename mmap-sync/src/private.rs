//! Paths used by code that `#[derive(SharedState)]` generates. Not a public API: anything here
//! may change in any release.
//!
//! Generated code names everything through this module by absolute path, so it does not depend
//! on what the user's module has in scope (a `Result` of their own, `#![no_implicit_prelude]`).

pub use ::core;
pub use ::rkyv;
pub use ::std;

/// The checksum readers verify a copy with (xxh3-64, with the widest vectors the CPU has), for
/// the benchmarks' floor of a reader's first read.
pub use crate::checksum::xxh3_64 as copy_checksum;
pub use crate::fingerprint::{fold_fingerprint, hash_str};
// The runtime's limits, which generated code asserts the derive's attribute values against.
pub use crate::format::{DEFAULT_COPIES, MAX_COPIES, MAX_READER_SLOTS, MIN_COPIES};
pub use crate::schema::derive_support::{
    Different, Opaque, Probe, Same, layout_of, layout_with, opaque_named, tag, variant_fields,
};
pub use crate::schema::{
    ArchivedLayout, Describe, Encoding, StaticBody, StaticDefinition, StaticField, StaticShape,
    StaticVariant, Style, definition_fingerprint,
};
pub use crate::{Error, Reader, Result, SharedState, Writer};

/// Copies `bytes` into the front of `buf` (which must hold them) and returns their checksum,
/// in one pass, as a writer copies a large value into a data copy: for the benchmarks' floor
/// of a publish that checksums what it publishes.
pub fn copy_checksummed(buf: &mut [u8], bytes: &[u8]) -> u64 {
    crate::serialize::copy_hashed(buf, bytes)
}

/// The validator a copy's archived bytes are checked with.
pub type Validator<'a> = rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>;

/// `rkyv::Archive` under a name whose "not implemented" error says what to do, instead of
/// listing every type that does implement `Archive`. Generated code asks for this bound on
/// every field type (through [`layout_of`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be archived by rkyv, so it cannot be part of a `SharedState` type",
    label = "not archivable: `{Self}` does not implement `rkyv::Archive`",
    note = "if `{Self}` is your type, add `#[derive(rkyv::Archive, rkyv::Serialize)]` to it; \
            otherwise archive the field through a wrapper (`#[rkyv(with = ..)]`) or use another type"
)]
pub trait Archivable: rkyv::Archive {}

impl<T: rkyv::Archive> Archivable for T {}

/// Compiles when `T` can be archived; the derive calls it for each field, spanned at the
/// field's type, so that the message above is reported there.
pub const fn archivable<T: Archivable>() {}

/// Compiles when the wrapper `W` archives `F` (a field with `#[rkyv(with = W)]`).
pub const fn archivable_with<F, W: rkyv::with::ArchiveWith<F>>() {}

/// A channel type's fingerprint, in `const` context: the fingerprint of its whole shape (see
/// [`shape_fingerprint`](crate::schema::shape_fingerprint)), its `schema_version`, and the
/// encoding rkyv archives with.
pub const fn type_fingerprint(shape: &StaticShape, schema_version: u64) -> u64 {
    let fp = fold_fingerprint(crate::schema::shape_fingerprint(shape), schema_version);
    fold_fingerprint(fp, Encoding::current().fingerprint())
}

/// Size of `T`'s archived root: a lower bound for any archived value of `T`, which the
/// derive checks `max_size` against at compile time.
pub const fn archived_root_size<T: Archivable>() -> u64 {
    ArchivedLayout::of::<T>().size
}
