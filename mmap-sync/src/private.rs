//! Paths used by code that `#[derive(SharedState)]` generates. Not a public API: anything here
//! may change in any release.
//!
//! Generated code names everything through this module by absolute path, so it does not depend
//! on what the user's module has in scope (a `Result` of their own, `#![no_implicit_prelude]`).

pub use ::core;
pub use ::rkyv;
pub use ::std;

/// The checksum readers verify a copy with (xxh3-64, with AVX2 where the CPU has it), for the
/// benchmarks' floor of a reader's first read.
pub use crate::checksum::xxh3_64 as copy_checksum;
pub use crate::fingerprint::{fold_fingerprint, hash_str};
// The runtime's limits, which generated code asserts the derive's attribute values against.
pub use crate::format::{DEFAULT_COPIES, MAX_COPIES, MAX_READER_SLOTS, MIN_COPIES};
pub use crate::schema::derive_support::{
    DescribedProbe, OpaqueProbe, Probe, discriminant, layout_of, layout_with, variant_fields,
};
pub use crate::schema::{Describe, FieldDescription, TypeDescription, VariantDescription};
pub use crate::{Error, Reader, Result, SharedState, Writer};

/// The validator a copy's archived bytes are checked with.
pub type Validator<'a> = rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>;

/// `rkyv::Archive` under a name whose "not implemented" error says what to do, instead of
/// listing every type that does implement `Archive`. Generated code asks for this bound on
/// every field type (through [`Fingerprint::archived`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be archived by rkyv, so it cannot be part of a `SharedState` type",
    label = "not archivable: `{Self}` does not implement `rkyv::Archive`",
    note = "if `{Self}` is your type, add `#[derive(rkyv::Archive, rkyv::Serialize)]` to it; \
            otherwise archive the field through a wrapper (`#[rkyv(with = ..)]`) or use another type"
)]
pub trait Archivable: rkyv::Archive {}

impl<T: rkyv::Archive> Archivable for T {}

/// Builds a type's fingerprint in const context: the hash of its macro-time description, then
/// values and archived layouts folded in, in the order the calls are made.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// Starts from the hash of the type's description (kind, name, fields and type tokens).
    pub const fn of_schema(description: &str) -> Self {
        Fingerprint(hash_str(description))
    }

    /// Folds in a number (the `schema_version`).
    pub const fn value(self, value: u64) -> Self {
        Fingerprint(fold_fingerprint(self.0, value))
    }

    /// Folds in the size and alignment of `T`'s archived form.
    pub const fn archived<T: Archivable>(self) -> Self {
        self.layout(size_of::<T::Archived>(), align_of::<T::Archived>())
    }

    /// Folds in the size and alignment of field type `F` archived through wrapper `W`
    /// (`#[rkyv(with = W)]`).
    pub const fn archived_with<F, W: rkyv::with::ArchiveWith<F>>(self) -> Self {
        self.layout(size_of::<W::Archived>(), align_of::<W::Archived>())
    }

    const fn layout(self, size: usize, align: usize) -> Self {
        self.value(size as u64).value(align as u64)
    }

    /// The fingerprint.
    pub const fn finish(self) -> u64 {
        self.0
    }
}

/// Size of `T`'s archived root: a lower bound for any archived value of `T`, which the
/// derive checks `max_size` against at compile time.
pub const fn archived_root_size<T: Archivable>() -> u64 {
    size_of::<T::Archived>() as u64
}
