//! [`DynArchive`]: a structure and the bytes of a whole archive, checked to belong together, and
//! the checked reads every value is made of.

use std::fmt;

use crate::schema::{ArchivedLayout, Shape, Structure};

use super::error::DynError;
use super::layout::{check_structure, direct_layout, layout_of, quick_layout};

/// An rkyv archive read through its [`Structure`]: the pairing of a structure that agrees with
/// rkyv 0.8's layouts and the bytes of a whole archive (the root at the end, as
/// `rkyv::to_bytes` writes it and a channel's copy holds it). Made by [`DynArchive::new`],
/// which checks both; [`root`](DynArchive::root) is where reading starts.
///
/// `Copy` and two references wide: a [`Value`](super::Value) carries it.
#[derive(Clone, Copy)]
pub struct DynArchive<'a> {
    structure: &'a Structure,
    bytes: &'a [u8],
    /// Where the root is.
    pub(super) root: usize,
}

impl<'a> DynArchive<'a> {
    /// Checks `structure` ([`check_structure`](Self::check_structure)) and that `bytes` can hold
    /// its root at their end, aligned (offsets are relative to the start of `bytes`, which
    /// rkyv's archives and a channel's copies keep aligned to 16 bytes in memory).
    ///
    /// Nothing else of the bytes is read: each value is checked as it is read, and
    /// [`Value::check`](super::Value::check) checks the whole value at once.
    pub fn new(structure: &'a Structure, bytes: &'a [u8]) -> Result<DynArchive<'a>, DynError> {
        let root = check_structure(structure)?;
        DynArchive::with_root_layout(structure, bytes, root)
    }

    /// As [`new`](Self::new), for a structure [`check_structure`](Self::check_structure) has
    /// accepted before (a reader checks its channel's structure once, when it opens).
    pub(crate) fn with_checked_structure(
        structure: &'a Structure,
        bytes: &'a [u8],
    ) -> Result<DynArchive<'a>, DynError> {
        let root = DynArchive::root_layout(structure)?;
        DynArchive::with_root_layout(structure, bytes, root)
    }

    /// The archived layout of a (checked) structure's root, which
    /// [`with_root_layout`](Self::with_root_layout) takes: a reader computes it once.
    pub(crate) fn root_layout(structure: &Structure) -> Result<ArchivedLayout, DynError> {
        layout_of(&structure.types, &structure.root)
            .map_err(|m| DynError::structure("", format!("the root: {m}")))
    }

    /// As [`with_checked_structure`](Self::with_checked_structure), with the root's layout
    /// given ([`root_layout`](Self::root_layout) of the same structure): O(1), whatever the
    /// root's shape.
    #[inline]
    pub(crate) fn with_root_layout(
        structure: &'a Structure,
        bytes: &'a [u8],
        root: ArchivedLayout,
    ) -> Result<DynArchive<'a>, DynError> {
        match bytes.len().checked_sub(usize::try_from(root.size).unwrap_or(usize::MAX)) {
            Some(position) if (position as u64).is_multiple_of(root.align) => {
                Ok(DynArchive { structure, bytes, root: position })
            }
            _ => Err(no_root(structure, bytes, root)),
        }
    }

    /// Checks a structure on its own, as [`new`](Self::new) does: the encoding must be
    /// [`Encoding::standard`](crate::schema::Encoding::standard) (rkyv 0.8, little-endian,
    /// 32-bit relative pointers, aligned); every named type in range; every field's recorded
    /// size, alignment and offset what rkyv 0.8 archives its shape to, inside its type (variant
    /// fields after the tag byte); enum tags distinct; shapes nested at most 64 levels.
    pub fn check_structure(structure: &Structure) -> Result<(), DynError> {
        check_structure(structure).map(|_| ())
    }

    /// The structure.
    pub fn structure(&self) -> &'a Structure {
        self.structure
    }

    /// The archive's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether the structure has opaque shapes anywhere: their bytes are shown, not checked, so
    /// [`Value::check`](super::Value::check) cannot vouch for what they hold.
    pub fn has_opaque(&self) -> bool {
        let mut found = false;
        let mut look = |shape: &Shape| found |= matches!(shape, Shape::Opaque { .. });
        self.structure.root.visit(&mut look);
        for definition in &self.structure.types {
            let lists: Vec<&crate::schema::Fields> = match &definition.body {
                crate::schema::Body::Struct(fields) => vec![fields],
                crate::schema::Body::Enum(variants) => variants.iter().map(|v| &v.fields).collect(),
            };
            for field in lists.into_iter().flat_map(|fields| &fields.list) {
                field.shape.visit(&mut look);
            }
        }
        found
    }

    // -- checked reads ------------------------------------------------------------------------

    /// The archived layout of a shape of this (checked) structure.
    #[inline]
    pub(super) fn layout(&self, shape: &Shape) -> Result<ArchivedLayout, DynError> {
        match direct_layout(&self.structure.types, shape) {
            Some(layout) => Ok(layout),
            None => self.computed_layout(shape),
        }
    }

    /// The layout of an `Option`, array, tuple or opaque shape, computed from its parts.
    #[inline(never)]
    fn computed_layout(&self, shape: &Shape) -> Result<ArchivedLayout, DynError> {
        match quick_layout(&self.structure.types, shape, 0) {
            Some(layout) => Ok(layout),
            None => Err(self.refused_layout(shape)),
        }
    }

    #[cold]
    fn refused_layout(&self, shape: &Shape) -> DynError {
        match layout_of(&self.structure.types, shape) {
            Err(m) => DynError::structure("", m),
            // Not reached: `quick_layout` fails only where `layout_of` does.
            Ok(_) => DynError::structure("", "a shape whose layout cannot be computed"),
        }
    }

    /// `len` bytes at `at`.
    #[inline]
    pub(super) fn span(&self, at: usize, len: usize) -> Result<&'a [u8], DynError> {
        match at.checked_add(len).and_then(|end| self.bytes.get(at..end)) {
            Some(bytes) => Ok(bytes),
            None => Err(self.past_the_end(at, len)),
        }
    }

    #[cold]
    fn past_the_end(&self, at: usize, len: usize) -> DynError {
        DynError::corrupt(format!(
            "{len} bytes at byte {at} lie past the end of the {}-byte archive",
            self.bytes.len()
        ))
    }

    #[inline]
    pub(super) fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], DynError> {
        let mut out = [0; N];
        out.copy_from_slice(self.span(at, N)?);
        Ok(out)
    }

    #[inline]
    pub(super) fn u8(&self, at: usize) -> Result<u8, DynError> {
        Ok(self.array::<1>(at)?[0])
    }

    #[inline]
    pub(super) fn u32(&self, at: usize) -> Result<u32, DynError> {
        Ok(u32::from_le_bytes(self.array(at)?))
    }

    #[inline]
    pub(super) fn i32(&self, at: usize) -> Result<i32, DynError> {
        Ok(i32::from_le_bytes(self.array(at)?))
    }

    /// Where the relative pointer stored at `at` points: `offset` bytes from `from` (rkyv's
    /// pointers are relative to their own position; a string's to the string's), checked to
    /// hold `size` bytes inside the archive, aligned to `align`.
    pub(super) fn target(
        &self,
        from: usize,
        offset: i32,
        size: u64,
        align: u64,
    ) -> Result<usize, DynError> {
        let start = from as i128 + i128::from(offset);
        let len = self.bytes.len() as u64;
        if start < 0 {
            return Err(DynError::corrupt(format!(
                "a relative pointer at byte {from} points {} bytes before the archive",
                -start
            )));
        }
        let start = start as u64;
        if start.checked_add(size).is_none_or(|end| end > len) {
            return Err(DynError::corrupt(format!(
                "a relative pointer at byte {from} points to {size} bytes at byte {start}, past \
                 the end of the {len}-byte archive"
            )));
        }
        if !start.is_multiple_of(align) {
            return Err(DynError::corrupt(format!(
                "a relative pointer at byte {from} points to byte {start}, not aligned to {align}"
            )));
        }
        Ok(start as usize)
    }

    /// The target of the relative pointer stored at `at` (relative to `at`).
    pub(super) fn follow(&self, at: usize, size: u64, align: u64) -> Result<usize, DynError> {
        self.target(at, self.i32(at)?, size, align)
    }

    /// `count` elements of `layout` at the pointer stored at `at`: the start of the run.
    pub(super) fn follow_run(
        &self,
        at: usize,
        count: u64,
        element: ArchivedLayout,
    ) -> Result<usize, DynError> {
        let size = count.checked_mul(element.size).ok_or_else(|| {
            DynError::corrupt(format!("{count} elements of {} bytes overflow", element.size))
        })?;
        self.target(at, self.i32(at)?, size, element.align)
    }
}

/// Why `bytes` cannot hold the root of `structure`, whose layout is `root`.
#[cold]
fn no_root(structure: &Structure, bytes: &[u8], root: ArchivedLayout) -> DynError {
    let size = usize::try_from(root.size).unwrap_or(usize::MAX);
    let Some(position) = bytes.len().checked_sub(size) else {
        return DynError::corrupt(format!(
            "the root ({}) takes {size} bytes; the archive has {}",
            structure.root_name(),
            bytes.len()
        ));
    };
    DynError::corrupt(format!(
        "the root ({}) would start at byte {position}, not aligned to {}: an archive of {} bytes \
         is not one of this type",
        structure.root_name(),
        root.align,
        bytes.len()
    ))
}

impl fmt::Debug for DynArchive<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynArchive")
            .field("root", &self.structure.root_name())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}
