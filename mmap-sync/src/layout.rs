//! The on-disk format: every struct that lives in a mapped file, with explicit sizes, offsets and
//! padding, checked at compile time.
//!
//! All integers are little-endian (the crate refuses to build for big-endian targets, so native
//! atomics are the on-disk encoding). Every field another process may write concurrently is an
//! atomic; plain fields are written once, before the magic is published.
//!
//! ```text
//! P_state                                 P_readers
//! 0    StateHeader (256 bytes)            0     ReadersHeader (128 bytes)
//!        0   magic "MMSYNCst"                     0   magic "MMSYNCrd"
//!        8   format_version                       8   format_version
//!       12   header_size                         12   slot_count
//!       16   fingerprint                         16   slot_size
//!       24   copies, 28 reader_slots             64   waiters   (readers write it)
//!       32   max_size                            68   slot_high_water (readers write it)
//!       40   type_name_len                128   ReaderSlot 0 (128 bytes: pin, padding)
//!       64   type_name [u8; 128]          256   ReaderSlot 1 ...
//!      192   active  (own cache line)
//!      256   publish_futex (own cache line)   P_data_i
//! 320  CopyDescriptor 0 (64 bytes)        0     the archived value, root at the end
//! 384  CopyDescriptor 1 ...
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64};

#[cfg(target_endian = "big")]
compile_error!("the mmap-sync file format is little-endian; big-endian targets are not supported");

/// First eight bytes of `P_state`, read as a little-endian u64. Written last at creation.
pub const STATE_MAGIC: u64 = u64::from_le_bytes(*b"MMSYNCst");
/// First eight bytes of `P_readers`.
pub const READERS_MAGIC: u64 = u64::from_le_bytes(*b"MMSYNCrd");
/// Bumped on any incompatible change of this module.
pub const FORMAT_VERSION: u32 = 1;

/// Fewest and most data copies a channel may have (the copy index lives in 8 bits of `active`).
pub const MIN_COPIES: usize = 2;
pub const MAX_COPIES: usize = 16;
pub const DEFAULT_COPIES: usize = 2;
/// Reader slots a channel has unless told otherwise.
pub const DEFAULT_READER_SLOTS: usize = 128;
pub const MAX_READER_SLOTS: usize = 1 << 16;
/// rkyv's relative pointers are 32-bit: an archive cannot usefully exceed 2 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;
/// Bytes of the type name kept in the header (longer names are truncated).
pub const TYPE_NAME_CAPACITY: usize = 128;

/// Size of one reader slot: two cache lines, so that neither adjacent slots nor the spatial
/// prefetcher's line pairs make two readers share a line.
pub const SLOT_SIZE: usize = 128;

/// The header of `P_state`.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct StateHeader {
    pub magic: AtomicU64,
    pub format_version: AtomicU32,
    /// `size_of::<StateHeader>()`, so a future version can grow the header.
    pub header_size: AtomicU32,
    pub fingerprint: AtomicU64,
    pub copies: AtomicU32,
    pub reader_slots: AtomicU32,
    pub max_size: AtomicU64,
    pub type_name_len: AtomicU32,
    pub _reserved: [u8; 20],
    pub type_name: [u8; TYPE_NAME_CAPACITY],
    /// `generation << 8 | copy index`; 0 while nothing is published. On its own cache line:
    /// every read loads it, only a publish writes it.
    pub active: AtomicU64,
    pub _pad_active: [u8; 56],
    /// Bumped after every publish; readers futex-wait on it through their read-only mapping.
    pub publish_futex: AtomicU32,
    pub _pad_futex: [u8; 60],
}

/// What the writer records about one data copy. Written only while no reader can read the copy.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct CopyDescriptor {
    /// Generation the copy holds; 0 while it holds none (never written, or being rewritten).
    pub generation: AtomicU64,
    /// Length in bytes of the archived value at the start of `P_data_i`.
    pub length: AtomicU64,
    /// xxh3-64 of those bytes.
    pub checksum: AtomicU64,
    /// Schema fingerprint of the value.
    pub fingerprint: AtomicU64,
    pub _pad: [u8; 32],
}

/// The header of `P_readers`.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ReadersHeader {
    pub magic: AtomicU64,
    pub format_version: AtomicU32,
    pub slot_count: AtomicU32,
    pub slot_size: AtomicU32,
    pub _reserved: [u8; 44],
    /// Readers blocked in `wait_for_change`; the writer issues a futex wake only when non-zero.
    pub waiters: AtomicU32,
    /// One past the highest slot index ever claimed; the writer scans only slots below it.
    pub slot_high_water: AtomicU32,
    pub _pad: [u8; 56],
}

/// One reader's slot. `pin` is 0 when the reader holds nothing, else the oldest generation the
/// reader may be reading. The slot is owned by whoever holds the OFD write lock on its first byte.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ReaderSlot {
    pub pin: AtomicU64,
    pub _pad: [u8; SLOT_SIZE - 8],
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<StateHeader>() == 320);
    assert!(offset_of!(StateHeader, magic) == 0);
    assert!(offset_of!(StateHeader, format_version) == 8);
    assert!(offset_of!(StateHeader, header_size) == 12);
    assert!(offset_of!(StateHeader, fingerprint) == 16);
    assert!(offset_of!(StateHeader, copies) == 24);
    assert!(offset_of!(StateHeader, reader_slots) == 28);
    assert!(offset_of!(StateHeader, max_size) == 32);
    assert!(offset_of!(StateHeader, type_name_len) == 40);
    assert!(offset_of!(StateHeader, type_name) == 64);
    assert!(offset_of!(StateHeader, active) == 192);
    assert!(offset_of!(StateHeader, publish_futex) == 256);
    assert!(size_of::<CopyDescriptor>() == 64);
    assert!(offset_of!(CopyDescriptor, generation) == 0);
    assert!(offset_of!(CopyDescriptor, length) == 8);
    assert!(offset_of!(CopyDescriptor, checksum) == 16);
    assert!(offset_of!(CopyDescriptor, fingerprint) == 24);
    assert!(size_of::<ReadersHeader>() == SLOT_SIZE);
    assert!(offset_of!(ReadersHeader, waiters) == 64);
    assert!(offset_of!(ReadersHeader, slot_high_water) == 68);
    assert!(size_of::<ReaderSlot>() == SLOT_SIZE);
};

/// Size of `P_state` for a channel with `copies` copies.
pub const fn state_file_len(copies: usize) -> usize {
    size_of::<StateHeader>() + copies * size_of::<CopyDescriptor>()
}

/// Size of `P_readers` for a channel with `slots` reader slots.
pub const fn readers_file_len(slots: usize) -> usize {
    size_of::<ReadersHeader>() + slots * SLOT_SIZE
}

/// Byte offset of slot `index` in `P_readers`; its first byte is the slot's lock byte.
pub const fn slot_offset(index: usize) -> usize {
    size_of::<ReadersHeader>() + index * SLOT_SIZE
}
