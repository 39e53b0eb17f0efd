//! Helpers for code that `#[derive(SharedState)]` and `#[derive(Describe)]` generate, reached
//! through `__private`. Not a public API.

use std::marker::PhantomData;

use super::{ArchivedLayout, Describe, FieldDescription, TypeDescription};
use crate::__private::Archivable;

/// Size and alignment of `T`'s archived form.
pub const fn layout_of<T: Archivable>() -> ArchivedLayout {
    ArchivedLayout {
        size: size_of::<T::Archived>() as u64,
        align: align_of::<T::Archived>() as u64,
    }
}

/// Size and alignment of field type `F` archived through wrapper `W`.
pub const fn layout_with<F, W: rkyv::with::ArchiveWith<F>>() -> ArchivedLayout {
    ArchivedLayout {
        size: size_of::<W::Archived>() as u64,
        align: align_of::<W::Archived>() as u64,
    }
}

/// A variant's discriminant expression, typed as rkyv types it: the `u8` tag of its
/// archived enum.
pub const fn discriminant(tag: u8) -> u64 {
    tag as u64
}

/// The fields of one variant of an archived enum, with their offsets: rkyv archives an enum
/// as `#[repr(u8)]`, whose variants are laid out as `#[repr(C)]` structs that start with
/// the one-byte tag, so each field lies at the end of the previous one rounded up to its
/// alignment.
pub const fn variant_fields<const N: usize>(
    mut fields: [FieldDescription; N],
) -> [FieldDescription; N] {
    let mut end = 1u64;
    let mut i = 0;
    while i < N {
        let align = fields[i].layout.align;
        let offset = end.div_ceil(align) * align;
        fields[i].offset = Some(offset);
        end = offset + fields[i].layout.size;
        i += 1;
    }
    fields
}

/// Asks, where the field type is known, whether it implements [`Describe`]: method
/// resolution picks [`DescribedProbe`] on `&Probe<T>` when `T: Describe`, and otherwise
/// takes one more reference and finds [`OpaqueProbe`].
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// The probe.
    pub const NEW: Self = Probe(PhantomData);
}

impl<T> std::fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

/// The probe's answer for a type that has a description.
pub trait DescribedProbe {
    /// `T`'s description.
    fn description(&self) -> Option<&'static TypeDescription>;
}

impl<T: Describe> DescribedProbe for Probe<T> {
    fn description(&self) -> Option<&'static TypeDescription> {
        Some(T::DESCRIPTION)
    }
}

/// The probe's answer for every other type.
pub trait OpaqueProbe {
    /// None.
    fn description(&self) -> Option<&'static TypeDescription>;
}

impl<T> OpaqueProbe for &Probe<T> {
    fn description(&self) -> Option<&'static TypeDescription> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_fields_follow_the_tag_and_their_alignment() {
        let fields = variant_fields([
            FieldDescription::new("a", "u16", ArchivedLayout { size: 2, align: 2 }),
            FieldDescription::new("b", "u64", ArchivedLayout { size: 8, align: 8 }),
            FieldDescription::new("c", "u8", ArchivedLayout { size: 1, align: 1 }),
        ]);
        let offsets: Vec<Option<u64>> = fields.iter().map(|field| field.offset).collect();
        assert_eq!(offsets, [Some(2), Some(8), Some(16)]);
    }
}
