//! The reader without its type: what [`Reader<T>`](super::Reader) and the dynamic view's
//! `DynReader` share. One set of methods for both faces, and the read that gives a guard on the
//! generation's archive bytes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::handle::Handle;
use super::pinned::Pinned;
use super::shared::ReaderShared;
use super::validated::Check;
use super::{ReaderStats, ValidationFailure, thread_slot, wait};
use crate::error::{Result, Schema};
use crate::format::StateMap;
use crate::paths::ChannelPaths;
use crate::value_type::ValueType;

/// A reader of some type: the shared state and the handle whose last clone stops the
/// background validator.
#[derive(Clone, Debug)]
pub(crate) struct ReaderCore {
    pub(super) shared: Arc<ReaderShared>,
    /// Dropped with the last clone: stops the background validator (none without one).
    _handle: Option<Arc<Handle>>,
}

impl ReaderCore {
    /// Opens the channel at `prefix` for values of the type `ty` gives once the state file is
    /// open (the type a program knows, or the one the channel records).
    pub fn open(
        prefix: &Path,
        ty: impl FnOnce(&StateMap, &Path) -> Result<ValueType>,
        checksum: bool,
        background: bool,
    ) -> Result<ReaderCore> {
        let (shared, handle) = Handle::open(prefix, ty, checksum, background)?;
        Ok(ReaderCore { shared, _handle: handle })
    }

    /// A read whose pin the caller turns into a guard.
    #[inline]
    pub fn read(&self, check: Check) -> Result<Pinned<'_>> {
        self.shared.read(check)
    }

    /// A read that gives the whole archive of the generation served: for a reader whose type is
    /// only known as a structure, which checks what it reads as it goes.
    pub fn read_bytes(&self) -> Result<BytesGuard<'_>> {
        let pinned = self.shared.read(Check::Safe)?;
        // The copy served is the one whose validated root the pin carries, which the pin names
        // (not the one whose descriptor holds the generation: the writer marks every copy but
        // the active one while it chooses where to write, a pinned one included, and restores
        // it after).
        let validated = &self.shared.validated;
        let start = validated.start(pinned.copy());
        let len = pinned.root() as usize + validated.ty().root_size - start as usize;
        // SAFETY: validation mapped the copy's `len` bytes from `start`, checked them and
        // recorded `start` with the root it found `len - root_size` bytes after it (roots and
        // starts are stored together, under the validation lock); the pin keeps the writer off
        // the copy until the guard drops, and the mapping lives as long as the reader `'_`
        // borrows.
        let bytes = unsafe { std::slice::from_raw_parts(start, len) };
        Ok(BytesGuard { bytes, pinned })
    }

    pub fn generation(&self) -> u64 {
        self.shared.generation()
    }

    pub fn validated_generation(&self) -> u64 {
        self.shared.validated_generation()
    }

    pub fn last_failure(&self) -> Option<ValidationFailure> {
        self.shared.validated.last_failure(&self.shared.files)
    }

    pub fn stats(&self) -> ReaderStats {
        self.shared.validated.stats()
    }

    pub fn is_superseded(&self) -> bool {
        self.shared.is_superseded()
    }

    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        wait::wait_for_change(&self.shared, since, timeout)
    }

    pub fn wait_for_validated(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        wait::wait_for_validated(&self.shared, since, timeout)
    }

    pub fn paths(&self) -> &ChannelPaths {
        self.shared.paths()
    }

    pub fn schema(&self) -> Schema {
        self.shared.files.state.schema()
    }

    pub fn slot(&self) -> Option<usize> {
        thread_slot::index_of(self.shared.id())
    }
}

/// A pinned generation's archive bytes; the pin is released when it drops.
pub(crate) struct BytesGuard<'a> {
    bytes: &'a [u8],
    pinned: Pinned<'a>,
}

impl<'a> BytesGuard<'a> {
    /// The generation's whole archive, its root at the end. Borrowed from the guard: the
    /// bytes are only stable while the pin holds.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    /// The generation this guard reads.
    pub fn generation(&self) -> u64 {
        self.pinned.generation()
    }
}
