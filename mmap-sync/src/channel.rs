//! The mapped state and readers files of an open channel, as both sides hold them.

use std::fs::File;
use std::ptr::NonNull;

use crate::error::Schema;
use crate::files::{ReadersView, StateView};
use crate::layout::{CopyDescriptor, ReaderSlot, ReadersHeader, StateHeader};
use crate::paths::ChannelPaths;

/// Pointers into the validated state and readers mappings. The mappings are owned by the same
/// struct that owns this one and are never unmapped or moved while it lives, so the pointers
/// stay valid; `Mmap` memory does not move when its owner moves.
#[derive(Debug)]
pub(crate) struct Shared {
    header: NonNull<StateHeader>,
    descriptors: NonNull<CopyDescriptor>,
    copies: usize,
    readers_header: NonNull<ReadersHeader>,
    slots: NonNull<ReaderSlot>,
    slot_count: usize,
}

// SAFETY: the pointers refer to shared memory made of atomics (layout.rs); any thread may use
// them, and the owner keeps the mappings alive.
unsafe impl Send for Shared {}
// SAFETY: as above; all access is through atomics.
unsafe impl Sync for Shared {}

impl Shared {
    /// # Safety
    /// The mappings the views point into must outlive the returned value and never be unmapped
    /// or remapped while it exists.
    pub unsafe fn new(state: StateView<'_>, readers: ReadersView<'_>) -> Self {
        Shared {
            header: NonNull::from(state.header),
            descriptors: NonNull::from(&state.descriptors[0]),
            copies: state.descriptors.len(),
            readers_header: NonNull::from(readers.header),
            slots: NonNull::from(&readers.slots[0]),
            slot_count: readers.slots.len(),
        }
    }

    #[inline]
    pub fn header(&self) -> &StateHeader {
        // SAFETY: see the type's invariant.
        unsafe { self.header.as_ref() }
    }

    #[inline]
    pub fn descriptors(&self) -> &[CopyDescriptor] {
        // SAFETY: see the type's invariant; `copies` descriptors were validated as mapped.
        unsafe { std::slice::from_raw_parts(self.descriptors.as_ptr(), self.copies) }
    }

    #[inline]
    pub fn readers_header(&self) -> &ReadersHeader {
        // SAFETY: see the type's invariant.
        unsafe { self.readers_header.as_ref() }
    }

    #[inline]
    pub fn slots(&self) -> &[ReaderSlot] {
        // SAFETY: see the type's invariant; `slot_count` slots were validated as mapped.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), self.slot_count) }
    }

    /// Slots that may be in use: those below the high-water mark readers raise when they claim.
    pub fn used_slots(&self) -> &[ReaderSlot] {
        let hw = self.readers_header().slot_high_water.load(std::sync::atomic::Ordering::SeqCst);
        &self.slots()[..(hw as usize).min(self.slot_count)]
    }

    pub fn copies(&self) -> usize {
        self.copies
    }

    pub fn schema(&self) -> Schema {
        StateView { header: self.header(), descriptors: self.descriptors() }.schema()
    }
}

/// What a side keeps open for the lifetime of its handle: the files (so OFD locks stay held) and
/// the mappings (so `Shared`'s pointers stay valid).
#[derive(Debug)]
pub(crate) struct Channel {
    pub paths: ChannelPaths,
    /// Held open for the writer lock (writer) and the state mapping.
    pub _state_file: File,
    pub readers_file: File,
    // Field order matters: `shared` points into the mappings below it.
    pub shared: Shared,
    pub _state_map: memmap2::MmapRaw,
    pub _readers_map: memmap2::MmapRaw,
}
