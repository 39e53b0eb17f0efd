//! The on-disk format: every struct that lives in a mapped file, with explicit sizes, offsets and
//! padding checked at compile time; the range limits; and the parsing and initialisation of the
//! mapped views, with the one `unsafe` step that turns a mapping into references.
//!
//! All integers are little-endian (the crate refuses to build for big-endian targets, so native
//! atomics are the on-disk encoding). Every field another process may write concurrently is an
//! atomic; fields written once, before the file is renamed into place, are atomics too, so that
//! a hostile write can never make a read of them undefined behaviour.
//!
//! ```text
//! P_state (format 2)                          P_readers (format 2)
//!   0  StateHeader (384 bytes)                  0  ReadersHeader (128 bytes)
//!        0  magic "MMSYNCst"                         0  magic "MMSYNCrd"
//!        8  format_version      12 header_size       8  format_version  12 slot_count
//!       16  fingerprint (what descriptors carry)    16  slot_size       20 waiter_words
//!       24  copies              28 reader_slots     64  slot_high_water (readers raise it)
//!       32  max_size                              128  waiter bitmap: waiter_words u64, one bit
//!       40  type_name_len       44 flags                per slot, padded to 128 bytes
//!       48  layout_fingerprint                     ...  ReaderSlot i (128 bytes each):
//!       56  schema_len                                     0 pin   8 pid  12 tid
//!       64  type_name [u8; 128]                           16 claimed_at (unix ns)
//!      192  active          (own cache line)
//!      256  publish_futex   260 superseded      P_data_i
//!      320  writer_pid      328 writer_started_at   0  the archived value, root at the end
//!      336  created_at      344 readers_dev
//!      352  readers_ino                         P_writer
//!    384  CopyDescriptor i (64 bytes each):         empty; the live writer holds an exclusive
//!           0 generation  8 length  16 checksum     lock on it (mode 0600: no other user can
//!          24 fingerprint 32 published_at           open it, so none can hold it)
//!          40 data_dev    48 data_ino
//!   384 + 64 * copies: the schema description (schema_len bytes)
//! ```
//!
//! A channel's files are a *set*: `P_state` records the device and inode of `P_readers` and of
//! every `P_data_i`, so that a reader never combines files of two sets, and a writer never
//! writes into a file that readers of an older set may still have mapped. The writer creates a
//! set under temporary names and renames `P_state` into place last.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::error::{Error, Result, Schema};
use crate::os::Mapping;

#[cfg(target_endian = "big")]
compile_error!("the mmap-sync file format is little-endian; big-endian targets are not supported");

/// First eight bytes of `P_state`, read as a little-endian u64.
pub const STATE_MAGIC: u64 = u64::from_le_bytes(*b"MMSYNCst");
/// First eight bytes of `P_readers`.
pub const READERS_MAGIC: u64 = u64::from_le_bytes(*b"MMSYNCrd");
/// Bumped on any incompatible change of this module or of what the state file stores. Version 3
/// stores the structural schema ([`crate::schema::Structure`]) and fingerprints over the whole
/// type tree; version 2 (3.0.0 before alpha.1) stored a flat description, and is refused with a
/// message naming it.
pub const FORMAT_VERSION: u32 = 3;

/// Fewest data copies a channel may have.
pub const MIN_COPIES: usize = 2;
/// Most data copies a channel may have (the copy index lives in 8 bits of `active`, and the
/// writer keeps one bit per copy in a `u32`).
pub const MAX_COPIES: usize = 16;
/// Data copies of a channel unless its type or writer says otherwise.
pub const DEFAULT_COPIES: usize = 2;
/// Reader slots a channel has unless told otherwise.
pub const DEFAULT_READER_SLOTS: usize = 128;
/// Most reader slots a channel may have.
pub const MAX_READER_SLOTS: usize = 1 << 16;
/// Largest archived value unless told otherwise: rkyv's relative pointers are 32-bit, so an
/// archive cannot usefully exceed 2 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;
/// Bytes of the type name kept in the header (longer names are truncated).
pub const TYPE_NAME_CAPACITY: usize = 128;
/// Most bytes of schema description a state file may carry.
pub const MAX_SCHEMA_LEN: usize = 1 << 20;

/// Size of one reader slot: two cache lines, so that neither adjacent slots nor the spatial
/// prefetcher's line pairs make two readers share a line.
pub const SLOT_SIZE: usize = 128;

/// `flags` bit: `fingerprint` was derived from the type's definition (`#[derive(SharedState)]`);
/// clear when it is the layout fingerprint (types without the derive).
pub const FLAG_DERIVED_FINGERPRINT: u32 = 1;

/// The range of copy counts a channel may have, as an error message says it.
pub fn check_copies(copies: usize) -> std::result::Result<(), String> {
    if (MIN_COPIES..=MAX_COPIES).contains(&copies) {
        Ok(())
    } else {
        Err(format!("copies must be within {MIN_COPIES}..={MAX_COPIES}, not {copies}"))
    }
}

/// The range of reader slot counts a channel may have.
pub fn check_reader_slots(slots: usize) -> std::result::Result<(), String> {
    if (1..=MAX_READER_SLOTS).contains(&slots) {
        Ok(())
    } else {
        Err(format!("reader slots must be within 1..={MAX_READER_SLOTS}, not {slots}"))
    }
}

/// The header of `P_state`.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct StateHeader {
    /// [`STATE_MAGIC`].
    pub magic: AtomicU64,
    /// [`FORMAT_VERSION`].
    pub format_version: AtomicU32,
    /// `size_of::<StateHeader>()`.
    pub header_size: AtomicU32,
    /// The fingerprint every copy descriptor of this channel carries.
    pub fingerprint: AtomicU64,
    /// Number of data copies.
    pub copies: AtomicU32,
    /// Number of reader slots in `P_readers`.
    pub reader_slots: AtomicU32,
    /// Largest archived value the channel holds; readers reserve this much address space per copy.
    pub max_size: AtomicU64,
    /// Bytes of `type_name` in use.
    pub type_name_len: AtomicU32,
    /// [`FLAG_DERIVED_FINGERPRINT`].
    pub flags: AtomicU32,
    /// The layout fingerprint of the value's type (see `fingerprint::layout_fingerprint`), which
    /// any program can compute for its type, with or without the derive.
    pub layout_fingerprint: AtomicU64,
    /// Bytes of schema description following the descriptors (0: none).
    pub schema_len: AtomicU32,
    reserved0: [u8; 4],
    /// The value's type name (UTF-8, truncated to [`TYPE_NAME_CAPACITY`]).
    pub type_name: [AtomicU8x8; TYPE_NAME_CAPACITY / 8],
    /// `generation << 8 | copy index`; 0 while nothing is published. On its own cache line:
    /// every read loads it, only a publish writes it.
    pub active: AtomicU64,
    pad_active: [u8; 56],
    /// Bumped after every publish; readers futex-wait on it through their read-only mapping.
    pub publish_futex: AtomicU32,
    /// Non-zero once a writer has replaced this set of files by a new one: readers of this set
    /// keep their last value but will see no new one.
    pub superseded: AtomicU32,
    pad_futex: [u8; 56],
    /// Process id of the writer that last opened the channel.
    pub writer_pid: AtomicU32,
    reserved1: [u8; 4],
    /// When that writer opened the channel (unix nanoseconds).
    pub writer_started_at: AtomicU64,
    /// When this set of files was created (unix nanoseconds).
    pub created_at: AtomicU64,
    /// Device of the set's `P_readers`.
    pub readers_dev: AtomicU64,
    /// Inode of the set's `P_readers`.
    pub readers_ino: AtomicU64,
    pad_writer: [u8; 24],
}

/// Eight bytes of text, read and written as one atomic word so that concurrent hostile writes
/// are never undefined behaviour.
#[repr(transparent)]
#[derive(Debug)]
pub struct AtomicU8x8(AtomicU64);

/// What the writer records about one data copy. Written only while no reader can read the copy.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct CopyDescriptor {
    /// Generation the copy holds; 0 while it holds none, is being rewritten, or the writer is
    /// deciding whether it may take it (see `protocol`).
    pub generation: AtomicU64,
    /// Length in bytes of the archived value at the start of `P_data_i`.
    pub length: AtomicU64,
    /// xxh3-64 of those bytes.
    pub checksum: AtomicU64,
    /// Schema fingerprint of the value (the header's `fingerprint`).
    pub fingerprint: AtomicU64,
    /// When the generation was published (unix nanoseconds).
    pub published_at: AtomicU64,
    /// Device of `P_data_i` in this set.
    pub data_dev: AtomicU64,
    /// Inode of `P_data_i` in this set.
    pub data_ino: AtomicU64,
    reserved: [u8; 8],
}

/// The one format-version check of the crate: a file of another format version is
/// [`Error::Incompatible`] for readers, writers and the command-line tool alike, naming the
/// version (a writer never replaces the files of a format it does not know).
pub(crate) fn check_version(version: u32, path: &Path) -> Result<()> {
    if version == FORMAT_VERSION {
        return Ok(());
    }
    Err(Error::Incompatible { path: path.to_owned(), reason: version_reason(version) })
}

/// Why a file of format `version` is refused.
pub(crate) fn version_reason(version: u32) -> String {
    format!(
        "the channel's files are of format version {version}; this build of mmap-sync reads \
         format version {FORMAT_VERSION} only"
    )
}

/// The header of `P_readers`.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ReadersHeader {
    /// [`READERS_MAGIC`].
    pub magic: AtomicU64,
    /// [`FORMAT_VERSION`].
    pub format_version: AtomicU32,
    /// Number of slots (the state file's `reader_slots`).
    pub slot_count: AtomicU32,
    /// [`SLOT_SIZE`].
    pub slot_size: AtomicU32,
    /// Number of u64 words in the waiter bitmap.
    pub waiter_words: AtomicU32,
    reserved: [u8; 40],
    /// One past the highest slot index ever claimed. Readers raise it when they claim a slot;
    /// the writer keeps its own maximum of it and scans only slots below.
    pub slot_high_water: AtomicU32,
    pad: [u8; 60],
}

/// One reader slot. The slot is owned by whoever holds the exclusive OFD lock on its first byte.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ReaderSlot {
    /// 0 when the owner reads nothing; else a range pin `g` (bit 63 clear: "any generation >=
    /// g") or an exact pin `g | 1 << 63` ("generation g only"). See `protocol`.
    pub pin: AtomicU64,
    /// Process id of the owner (recorded at claim; informational).
    pub pid: AtomicU32,
    /// Thread id of the owner (recorded at claim; informational).
    pub tid: AtomicU32,
    /// When the slot was claimed (unix nanoseconds, to the kernel's tick of a few
    /// milliseconds; informational).
    pub claimed_at: AtomicU64,
    pad: [u8; SLOT_SIZE - 24],
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<StateHeader>() == 384);
    assert!(offset_of!(StateHeader, magic) == 0);
    assert!(offset_of!(StateHeader, format_version) == 8);
    assert!(offset_of!(StateHeader, header_size) == 12);
    assert!(offset_of!(StateHeader, fingerprint) == 16);
    assert!(offset_of!(StateHeader, copies) == 24);
    assert!(offset_of!(StateHeader, reader_slots) == 28);
    assert!(offset_of!(StateHeader, max_size) == 32);
    assert!(offset_of!(StateHeader, type_name_len) == 40);
    assert!(offset_of!(StateHeader, flags) == 44);
    assert!(offset_of!(StateHeader, layout_fingerprint) == 48);
    assert!(offset_of!(StateHeader, schema_len) == 56);
    assert!(offset_of!(StateHeader, type_name) == 64);
    assert!(offset_of!(StateHeader, active) == 192);
    assert!(offset_of!(StateHeader, publish_futex) == 256);
    assert!(offset_of!(StateHeader, superseded) == 260);
    assert!(offset_of!(StateHeader, writer_pid) == 320);
    assert!(offset_of!(StateHeader, writer_started_at) == 328);
    assert!(offset_of!(StateHeader, created_at) == 336);
    assert!(offset_of!(StateHeader, readers_dev) == 344);
    assert!(offset_of!(StateHeader, readers_ino) == 352);
    assert!(size_of::<CopyDescriptor>() == 64);
    assert!(offset_of!(CopyDescriptor, generation) == 0);
    assert!(offset_of!(CopyDescriptor, length) == 8);
    assert!(offset_of!(CopyDescriptor, checksum) == 16);
    assert!(offset_of!(CopyDescriptor, fingerprint) == 24);
    assert!(offset_of!(CopyDescriptor, published_at) == 32);
    assert!(offset_of!(CopyDescriptor, data_dev) == 40);
    assert!(offset_of!(CopyDescriptor, data_ino) == 48);
    assert!(size_of::<ReadersHeader>() == SLOT_SIZE);
    assert!(offset_of!(ReadersHeader, slot_count) == 12);
    assert!(offset_of!(ReadersHeader, slot_size) == 16);
    assert!(offset_of!(ReadersHeader, waiter_words) == 20);
    assert!(offset_of!(ReadersHeader, slot_high_water) == 64);
    assert!(size_of::<ReaderSlot>() == SLOT_SIZE);
    assert!(offset_of!(ReaderSlot, pin) == 0);
    assert!(offset_of!(ReaderSlot, pid) == 8);
    assert!(offset_of!(ReaderSlot, tid) == 12);
    assert!(offset_of!(ReaderSlot, claimed_at) == 16);
    // The proof of the protocol relies on the pin's bit 63 being the EXACT flag.
    assert!(crate::protocol::EXACT == 1 << 63);
    // One bit per copy in the writer's `Blocked` mask; copy indices fit in 8 bits of `active`.
    assert!(MAX_COPIES <= 32 && MAX_COPIES <= 256);
};

/// Size of `P_state` without its schema description, for a channel with `copies` copies; the
/// description, if any, starts here.
pub const fn state_file_len(copies: usize) -> usize {
    size_of::<StateHeader>() + copies * size_of::<CopyDescriptor>()
}

/// Number of u64 words of the waiter bitmap for `slots` slots.
pub const fn waiter_words(slots: usize) -> usize {
    slots.div_ceil(64)
}

/// Byte offset of word `word` of the waiter bitmap in `P_readers`: the bitmap follows the header.
pub const fn waiter_offset(word: usize) -> usize {
    size_of::<ReadersHeader>() + word * 8
}

/// Byte offset of the first slot in `P_readers`: after the header and the waiter bitmap.
pub const fn slots_offset(slots: usize) -> usize {
    waiter_offset(0) + (waiter_words(slots) * 8).next_multiple_of(SLOT_SIZE)
}

/// Size of `P_readers` for a channel with `slots` reader slots.
pub const fn readers_file_len(slots: usize) -> usize {
    slots_offset(slots) + slots * SLOT_SIZE
}

/// Byte offset of slot `index` in `P_readers`; its first byte is the slot's lock byte.
pub const fn slot_offset(slots: usize, index: usize) -> usize {
    slots_offset(slots) + index * SLOT_SIZE
}

/// A file's identity: device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl From<&crate::os::FileStat> for FileId {
    fn from(meta: &crate::os::FileStat) -> FileId {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

/// For metadata read by path (`symlink_metadata`).
impl From<&std::fs::Metadata> for FileId {
    fn from(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

impl FileId {
    /// The identity of an open file.
    pub fn of(file: &std::fs::File) -> io::Result<FileId> {
        Ok(FileId::from(&crate::os::FileStat::of(file)?))
    }
}

/// What the writer writes into a new state file.
#[derive(Debug)]
pub struct NewState<'a> {
    /// The schema: type name and the fingerprint descriptors carry.
    pub schema: &'a Schema,
    /// Whether `schema.fingerprint` comes from the derive.
    pub derived: bool,
    /// The type's layout fingerprint.
    pub layout_fingerprint: u64,
    /// The encoded schema description (may be empty).
    pub description: &'a [u8],
    /// Data copies.
    pub copies: usize,
    /// Reader slots.
    pub reader_slots: usize,
    /// Largest archived value.
    pub max_size: u64,
    /// Identity of the set's readers file.
    pub readers: FileId,
    /// Identity of each data file.
    pub data: &'a [FileId],
}

impl NewState<'_> {
    /// Length of the state file these contents need.
    pub fn file_len(&self) -> usize {
        state_file_len(self.copies) + self.description.len()
    }
}

// ---------------------------------------------------------------------------------------------
// The mapped views
// ---------------------------------------------------------------------------------------------

/// A mapped, parsed `P_state`.
#[derive(Debug)]
pub struct StateMap {
    map: Mapping,
    copies: usize,
}

impl StateMap {
    /// Parses a mapped state file of `file_len` bytes. `Ok(None)` when the file is too short to
    /// have a magic, or its magic is 0 (not a finished state file).
    pub fn parse(map: Mapping, file_len: u64, path: &Path) -> Result<Option<StateMap>> {
        let header_len = size_of::<StateHeader>();
        if file_len < 8 {
            return Ok(None);
        }
        if file_len < header_len as u64 {
            return Err(Error::corrupt(
                path,
                format!(
                    "state file is {file_len} bytes, shorter than its {header_len}-byte header"
                ),
            ));
        }
        // SAFETY: the mapping is page-aligned and covers at least the header's bytes of file,
        // and StateHeader is repr(C) made of atomics and padding, valid for any bit pattern.
        let header = unsafe { &*(map.ptr() as *const StateHeader) };
        // Acquire: a writer publishes a whole header before (renaming the file with) the magic.
        match header.magic.load(Ordering::Acquire) {
            0 => return Ok(None),
            STATE_MAGIC => {}
            other => {
                return Err(Error::corrupt(
                    path,
                    format!(
                        "wrong magic {:?} (not an mmap-sync state file)",
                        other.to_le_bytes().escape_ascii().to_string()
                    ),
                ));
            }
        }
        // Relaxed (here and for every header field): written before the magic, never again.
        check_version(header.format_version.load(Ordering::Relaxed), path)?;
        let declared = header.header_size.load(Ordering::Relaxed) as usize;
        if declared != header_len {
            return Err(Error::corrupt(
                path,
                format!("header size {declared}, expected {header_len}"),
            ));
        }
        let copies = header.copies.load(Ordering::Relaxed) as usize;
        check_copies(copies).map_err(|reason| Error::corrupt(path, reason))?;
        let slots = header.reader_slots.load(Ordering::Relaxed) as usize;
        check_reader_slots(slots).map_err(|reason| Error::corrupt(path, reason))?;
        let schema_len = header.schema_len.load(Ordering::Relaxed) as usize;
        if schema_len > MAX_SCHEMA_LEN {
            return Err(Error::corrupt(
                path,
                format!("schema description of {schema_len} bytes (at most {MAX_SCHEMA_LEN})"),
            ));
        }
        let need = state_file_len(copies) + schema_len;
        if file_len < need as u64 || map.len() < need {
            return Err(Error::corrupt(
                path,
                format!("state file is {file_len} bytes, {copies} copies need {need}"),
            ));
        }
        Ok(Some(StateMap { map, copies }))
    }

    /// Initialises a new state file mapped at `map` (at least `new.file_len()` bytes of file)
    /// with `new`, magic last. Only for files no other process can see yet.
    pub fn init(map: Mapping, new: &NewState<'_>) -> StateMap {
        debug_assert!(map.len() >= new.file_len());
        // SAFETY: as in `parse`; the file is the writer's alone until it is renamed into place.
        let header = unsafe { &*(map.ptr() as *const StateHeader) };
        // Relaxed stores throughout: nobody else maps the file yet; the rename that publishes it
        // happens after these stores (and after an msync when the writer is durable).
        header.magic.store(0, Ordering::Relaxed);
        header.format_version.store(FORMAT_VERSION, Ordering::Relaxed);
        header.header_size.store(size_of::<StateHeader>() as u32, Ordering::Relaxed);
        header.fingerprint.store(new.schema.fingerprint, Ordering::Relaxed);
        header.copies.store(new.copies as u32, Ordering::Relaxed);
        header.reader_slots.store(new.reader_slots as u32, Ordering::Relaxed);
        header.max_size.store(new.max_size, Ordering::Relaxed);
        header
            .flags
            .store(if new.derived { FLAG_DERIVED_FINGERPRINT } else { 0 }, Ordering::Relaxed);
        header.layout_fingerprint.store(new.layout_fingerprint, Ordering::Relaxed);
        header.schema_len.store(new.description.len() as u32, Ordering::Relaxed);
        let name = truncate_utf8(&new.schema.type_name, TYPE_NAME_CAPACITY);
        let mut bytes = [0u8; TYPE_NAME_CAPACITY];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        for (word, chunk) in header.type_name.iter().zip(bytes.chunks_exact(8)) {
            word.0.store(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])), Ordering::Relaxed);
        }
        header.type_name_len.store(name.len() as u32, Ordering::Relaxed);
        header.active.store(0, Ordering::Relaxed);
        header.publish_futex.store(0, Ordering::Relaxed);
        header.superseded.store(0, Ordering::Relaxed);
        header.created_at.store(crate::os::unix_nanos(), Ordering::Relaxed);
        header.readers_dev.store(new.readers.dev, Ordering::Relaxed);
        header.readers_ino.store(new.readers.ino, Ordering::Relaxed);
        let state = StateMap { map, copies: new.copies };
        for (descriptor, id) in state.descriptors().iter().zip(new.data) {
            descriptor.generation.store(0, Ordering::Relaxed);
            descriptor.length.store(0, Ordering::Relaxed);
            descriptor.checksum.store(0, Ordering::Relaxed);
            descriptor.fingerprint.store(0, Ordering::Relaxed);
            descriptor.published_at.store(0, Ordering::Relaxed);
            descriptor.data_dev.store(id.dev, Ordering::Relaxed);
            descriptor.data_ino.store(id.ino, Ordering::Relaxed);
        }
        if !new.description.is_empty() {
            // SAFETY: the description's bytes lie within the mapped, still private file.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    new.description.as_ptr(),
                    state.map.ptr().add(state_file_len(new.copies)),
                    new.description.len(),
                )
            };
        }
        // Release: whoever acquires the magic sees the header.
        header.magic.store(STATE_MAGIC, Ordering::Release);
        state
    }

    /// The header.
    #[inline]
    pub fn header(&self) -> &StateHeader {
        // SAFETY: checked in `parse`/`init`: the mapping holds a header.
        unsafe { &*(self.map.ptr() as *const StateHeader) }
    }

    /// The copy descriptors.
    #[inline]
    pub fn descriptors(&self) -> &[CopyDescriptor] {
        // SAFETY: `parse`/`init` checked that `copies` descriptors are mapped after the header,
        // at a 64-byte aligned offset; they are atomics, valid for any bit pattern.
        unsafe {
            std::slice::from_raw_parts(
                self.map.ptr().add(size_of::<StateHeader>()) as *const CopyDescriptor,
                self.copies,
            )
        }
    }

    /// Number of data copies.
    pub fn copies(&self) -> usize {
        self.copies
    }

    // The accessors below load fields written once, before the set was renamed into place
    // (or before the magic was stored): Relaxed suffices, and any value they return is checked
    // or only shown.

    /// Number of reader slots.
    pub fn reader_slots(&self) -> usize {
        self.header().reader_slots.load(Ordering::Relaxed) as usize
    }

    /// Largest archived value.
    pub fn max_size(&self) -> u64 {
        self.header().max_size.load(Ordering::Relaxed)
    }

    /// The identity the set records for its readers file.
    pub fn readers_id(&self) -> FileId {
        let h = self.header();
        FileId {
            dev: h.readers_dev.load(Ordering::Relaxed),
            ino: h.readers_ino.load(Ordering::Relaxed),
        }
    }

    /// The identity the set records for data file `index`.
    pub fn data_id(&self, index: usize) -> FileId {
        let d = &self.descriptors()[index];
        FileId { dev: d.data_dev.load(Ordering::Relaxed), ino: d.data_ino.load(Ordering::Relaxed) }
    }

    /// Whether the fingerprint descriptors carry comes from the derive.
    pub fn derived(&self) -> bool {
        self.header().flags.load(Ordering::Relaxed) & FLAG_DERIVED_FINGERPRINT != 0
    }

    /// The type's layout fingerprint.
    pub fn layout_fingerprint(&self) -> u64 {
        self.header().layout_fingerprint.load(Ordering::Relaxed)
    }

    /// The fingerprint the channel's copy descriptors carry (the schema's, without its name).
    pub fn fingerprint(&self) -> u64 {
        self.header().fingerprint.load(Ordering::Relaxed)
    }

    /// The schema recorded by the writer.
    pub fn schema(&self) -> Schema {
        let header = self.header();
        let len = (header.type_name_len.load(Ordering::Relaxed) as usize).min(TYPE_NAME_CAPACITY);
        let mut bytes = [0u8; TYPE_NAME_CAPACITY];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(&header.type_name) {
            chunk.copy_from_slice(&word.0.load(Ordering::Relaxed).to_le_bytes());
        }
        Schema {
            type_name: String::from_utf8_lossy(&bytes[..len]).into_owned(),
            fingerprint: header.fingerprint.load(Ordering::Relaxed),
        }
    }

    /// The encoded schema description stored with the set (empty: none).
    pub fn description(&self) -> Vec<u8> {
        let len = (self.header().schema_len.load(Ordering::Relaxed) as usize).min(MAX_SCHEMA_LEN);
        let mut out = vec![0u8; len];
        // SAFETY: `parse` checked that the description's bytes are mapped; they were written
        // once before the file was renamed into place. A volatile copy keeps a concurrent hostile
        // write from being undefined behaviour in the compiler's view.
        unsafe {
            let src = self.map.ptr().add(state_file_len(self.copies));
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = std::ptr::read_volatile(src.add(i));
            }
        }
        out
    }

    /// The mapping (for flushing and fault counts).
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }
}

/// A mapped, parsed `P_readers`.
#[derive(Debug)]
pub struct ReadersMap {
    map: Mapping,
    slots: usize,
}

/// Why a readers file cannot be used as it is.
#[derive(Debug)]
pub enum ReadersProblem {
    /// Shorter than the slot table needs: its slots (and pins) are gone.
    TooShort(u64),
    /// The header is damaged (the slots may still be intact).
    Header(String),
}

impl std::fmt::Display for ReadersProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadersProblem::TooShort(len) => {
                write!(f, "readers file is only {len} bytes: truncated")
            }
            ReadersProblem::Header(reason) => f.write_str(reason),
        }
    }
}

impl ReadersMap {
    /// Parses a mapped readers file of `file_len` bytes that must have `slots` slots.
    pub fn parse(
        map: Mapping,
        file_len: u64,
        slots: usize,
    ) -> std::result::Result<ReadersMap, (Mapping, ReadersProblem)> {
        let need = readers_file_len(slots);
        if file_len < need as u64 || map.len() < need {
            return Err((map, ReadersProblem::TooShort(file_len)));
        }
        let readers = ReadersMap { map, slots };
        match readers.header_problem() {
            None => Ok(readers),
            Some(problem) => Err((readers.map, ReadersProblem::Header(problem))),
        }
    }

    fn header_problem(&self) -> Option<String> {
        let h = self.header();
        // Acquire/Relaxed: any value is handled; a damaged header is reported, never trusted.
        if h.magic.load(Ordering::Acquire) != READERS_MAGIC {
            return Some("wrong magic (not an mmap-sync readers file)".into());
        }
        let version = h.format_version.load(Ordering::Relaxed);
        if version != FORMAT_VERSION {
            return Some(version_reason(version));
        }
        let count = h.slot_count.load(Ordering::Relaxed) as usize;
        let size = h.slot_size.load(Ordering::Relaxed) as usize;
        let words = h.waiter_words.load(Ordering::Relaxed) as usize;
        if count != self.slots || size != SLOT_SIZE || words != waiter_words(self.slots) {
            return Some(format!(
                "header says {count} slots of {size} bytes and {words} waiter words; the state \
                 file says {} slots",
                self.slots
            ));
        }
        None
    }

    /// Writes the header's constant fields (magic last), leaving slots and the high-water mark
    /// as they are: repairs a damaged header, or initialises a new file (whose bytes are 0).
    pub fn write_header(map: Mapping, slots: usize) -> ReadersMap {
        let readers = ReadersMap { map, slots };
        let h = readers.header();
        // Relaxed: readers check the magic (Acquire) before trusting the other fields.
        h.format_version.store(FORMAT_VERSION, Ordering::Relaxed);
        h.slot_count.store(slots as u32, Ordering::Relaxed);
        h.slot_size.store(SLOT_SIZE as u32, Ordering::Relaxed);
        h.waiter_words.store(waiter_words(slots) as u32, Ordering::Relaxed);
        // Release: publishes the fields above to readers that acquire the magic.
        h.magic.store(READERS_MAGIC, Ordering::Release);
        readers
    }

    /// The header.
    #[inline]
    pub fn header(&self) -> &ReadersHeader {
        // SAFETY: `parse`/`write_header` callers map at least the header; atomics only.
        unsafe { &*(self.map.ptr() as *const ReadersHeader) }
    }

    /// The waiter bitmap: one bit per slot.
    #[inline]
    pub fn waiters(&self) -> &[AtomicU64] {
        // SAFETY: the bitmap follows the header within the mapped file; atomics only.
        unsafe {
            std::slice::from_raw_parts(
                self.map.ptr().add(waiter_offset(0)) as *const AtomicU64,
                waiter_words(self.slots),
            )
        }
    }

    /// Every slot.
    #[inline]
    pub fn slots(&self) -> &[ReaderSlot] {
        // SAFETY: `readers_file_len(slots)` bytes are mapped; slots are SLOT_SIZE-aligned atomics.
        unsafe {
            std::slice::from_raw_parts(
                self.map.ptr().add(slots_offset(self.slots)) as *const ReaderSlot,
                self.slots,
            )
        }
    }

    /// Number of slots.
    pub fn slot_count(&self) -> usize {
        self.slots
    }

    /// Byte offset of slot `index` (its lock byte).
    pub fn slot_offset(&self, index: usize) -> u64 {
        slot_offset(self.slots, index) as u64
    }

    /// The mapping (for fault counts and remapping).
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
