//! Helpers for code that `#[derive(SharedState)]` and `#[derive(Describe)]` generate, reached
//! through `__private`. Not a public API.

use std::marker::PhantomData;

use super::shape::{ArchivedLayout, Describe, StaticField, StaticShape};
use crate::__private::Archivable;

/// Size and alignment of `T`'s archived form ([`ArchivedLayout::of`], under the bound whose
/// error says what to do).
pub const fn layout_of<T: Archivable>() -> ArchivedLayout {
    ArchivedLayout::of::<T>()
}

/// Size and alignment of field type `F` archived through wrapper `W`.
pub const fn layout_with<F, W: rkyv::with::ArchiveWith<F>>() -> ArchivedLayout {
    ArchivedLayout {
        size: size_of::<W::Archived>() as u64,
        align: align_of::<W::Archived>() as u64,
    }
}

/// A variant's discriminant expression, typed as rkyv types it: the `u8` tag of its archived
/// enum.
pub const fn tag(tag: u8) -> u8 {
    tag
}

/// The fields of one variant of an archived enum, with their offsets: rkyv archives an enum as
/// `#[repr(u8)]`, whose variants are laid out as `#[repr(C)]` structs that start with the
/// one-byte tag, so each field lies at the end of the previous one rounded up to its
/// alignment.
pub const fn variant_fields<const N: usize>(mut fields: [StaticField; N]) -> [StaticField; N] {
    let mut end = 1u64;
    let mut i = 0;
    while i < N {
        let align = fields[i].layout.align;
        let offset = end.div_ceil(align) * align;
        fields[i].offset = offset;
        end = offset + fields[i].layout.size;
        i += 1;
    }
    fields
}

/// The shape of a field type, found where the type is known: `Probe::<T>::SHAPE` is `T`'s own
/// shape when `T` implements [`Describe`] (the inherent constant below, which path resolution
/// prefers), and otherwise [`Opaque::SHAPE`], an opaque shape that
/// [`opaque_named`] names after the field's type as written.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl<T: Describe> Probe<T> {
    /// `T`'s shape.
    pub const SHAPE: StaticShape = T::SHAPE;
}

/// The shape of a type without a description: opaque, with its archived layout.
pub trait Opaque {
    /// An opaque shape without a name yet.
    const SHAPE: StaticShape;
}

impl<T: Archivable> Opaque for Probe<T> {
    const SHAPE: StaticShape = StaticShape::Opaque("", layout_of::<T>());
}

/// `shape`, with the name of an opaque shape the probe made set to `name` (the field's type as
/// written); any other shape unchanged.
pub const fn opaque_named(shape: StaticShape, name: &'static str) -> StaticShape {
    match shape {
        StaticShape::Opaque(given, layout) if given.is_empty() => StaticShape::Opaque(name, layout),
        other => other,
    }
}

/// Whether `A` and `B` are one type, found where both are known: the inherent constant when
/// they are (which path resolution prefers), [`Different::SAME`] otherwise. The derive looks
/// into a field's `Vec<T>` only when the field's type is std's `Vec<T>`.
pub struct Same<A: ?Sized, B: ?Sized>(PhantomData<Pair<A, B>>);

/// What [`Same`] holds: nothing of `A` or `B`, so it is `Send`, `Sync` and variant-free.
type Pair<A, B> = (fn() -> *const A, fn() -> *const B);

impl<A: ?Sized, B: ?Sized> std::fmt::Debug for Same<A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Same")
    }
}

impl<T: ?Sized> Same<T, T> {
    /// `A` is `B`.
    pub const SAME: bool = true;
}

/// The fallback of [`Same`]: two different types.
pub trait Different {
    /// `A` is not `B`.
    const SAME: bool = false;
}

impl<A: ?Sized, B: ?Sized> Different for Same<A, B> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_fields_follow_the_tag_and_their_alignment() {
        let field = |name, size, align| StaticField {
            name,
            offset: 0,
            layout: ArchivedLayout { size, align },
            shape: StaticShape::Unit,
        };
        let fields = variant_fields([field("a", 2, 2), field("b", 8, 8), field("c", 1, 1)]);
        let offsets: Vec<u64> = fields.iter().map(|field| field.offset).collect();
        assert_eq!(offsets, [2, 8, 16]);
    }

    #[test]
    fn the_probe_gives_a_described_types_shape_and_an_opaque_shape_otherwise() {
        struct Undescribed;
        #[allow(dead_code)]
        #[derive(rkyv::Archive)]
        struct Plain(u64);
        let _ = Undescribed;
        const DESCRIBED: StaticShape = Probe::<Vec<u32>>::SHAPE;
        const OPAQUE: StaticShape = opaque_named(Probe::<Plain>::SHAPE, "Plain");
        assert!(matches!(DESCRIBED, StaticShape::Vec(StaticShape::Int(super::super::Int::U32))));
        assert!(
            matches!(OPAQUE, StaticShape::Opaque("Plain", ArchivedLayout { size: 8, align: 8 })),
            "{OPAQUE:?}"
        );
    }
}
