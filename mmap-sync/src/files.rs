//! Opening and mapping a channel's files, shared by the writer and the reader.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::Ordering;

use memmap2::{Mmap, MmapMut, MmapOptions, MmapRaw};

use crate::error::{Error, Result, Schema};
use crate::layout::{
    self, CopyDescriptor, FORMAT_VERSION, READERS_MAGIC, ReaderSlot, ReadersHeader, STATE_MAGIC,
    StateHeader,
};
use crate::os;

/// How a channel file is opened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    ReadOnly,
    ReadWrite,
    /// Read-write, created with `mode` if missing.
    Create {
        mode: u32,
    },
}

/// Opens `path` without following a symlink at its last component.
pub(crate) fn open(path: &Path, access: Access) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(os::OPEN_FLAGS);
    match access {
        Access::ReadOnly => {}
        Access::ReadWrite => {
            options.write(true);
        }
        Access::Create { mode } => {
            options.write(true).create(true).mode(mode);
        }
    }
    let file = options.open(path).map_err(|source| match source.raw_os_error() {
        Some(libc::ELOOP) => Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to follow it",
            ),
        ),
        _ => Error::io(path, source),
    })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file"),
        ));
    }
    Ok(file)
}

/// For files the writer opens: refuses a file owned by another user (a file planted in a shared
/// directory), and gives a file it just created exactly `mode` whatever the umask.
pub(crate) fn check_owner(file: &File, path: &Path, mode: u32, allow_foreign: bool) -> Result<()> {
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let me = os::effective_uid();
    if meta.uid() != me && !allow_foreign {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "is owned by uid {} but the writer runs as uid {me}; refusing a file planted \
                     by another user (WriterBuilder::allow_foreign_owner overrides)",
                    meta.uid()
                ),
            ),
        ));
    }
    // A hard link planted at a channel path would make the writer write through another name
    // into a file it may not mean to touch (it passes the owner check when the writer's user owns
    // the target). Channel files have exactly one name.
    if meta.nlink() != 1 {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("has {} hard links; refusing a file that other names reach", meta.nlink()),
            ),
        ));
    }
    if meta.uid() == me && meta.len() == 0 && meta.mode() & 0o7777 != mode {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

pub(crate) fn file_len(file: &File, path: &Path) -> Result<u64> {
    Ok(file.metadata().map_err(|e| Error::io(path, e))?.len())
}

/// Maps a data copy read-only.
pub(crate) fn map_read_only(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: the mapping is of a channel file whose bytes other processes may change. Every
    // byte another process may write concurrently is read through an atomic (layout.rs), and
    // data copies are read only while the protocol guarantees the writer leaves them alone.
    // Callers check the length before reading any structure from the mapping.
    unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))
}

/// Maps a data copy read-write (writer only).
pub(crate) fn map_read_write(file: &File, path: &Path) -> Result<MmapMut> {
    // SAFETY: as for `map_read_only`; the writer is the only process that writes the state and
    // data files (it holds the writer lock), and readers write only their own slot's atomics.
    unsafe { MmapMut::map_mut(file) }.map_err(|e| Error::io(path, e))
}

/// Maps a state or readers file without creating Rust references to its bytes: other processes
/// change them concurrently, so they are only ever accessed through the atomics of layout.rs.
pub(crate) fn map_shared(file: &File, path: &Path, writable: bool) -> Result<MmapRaw> {
    let options = MmapOptions::new();
    if writable { options.map_raw(file) } else { options.map_raw_read_only(file) }
        .map_err(|e| Error::io(path, e))
}

/// A validated view of a mapped `P_state`.
#[derive(Debug)]
pub(crate) struct StateView<'a> {
    pub header: &'a StateHeader,
    pub descriptors: &'a [CopyDescriptor],
}

impl<'a> StateView<'a> {
    /// Checks the header of a mapped state file. `Ok(None)` when the magic is still zero (the
    /// writer has not finished creating the channel).
    pub fn parse(map: &'a MmapRaw, path: &Path) -> Result<Option<Self>> {
        let header_len = size_of::<StateHeader>();
        let (ptr, len) = (map.as_ptr(), map.len());
        if len < 8 {
            return Ok(None);
        }
        if len < header_len {
            return Err(Error::corrupt(
                path,
                format!("state file is {} bytes, shorter than its {header_len}-byte header", len),
            ));
        }
        // SAFETY: the mapping is page-aligned and at least `size_of::<StateHeader>()` long, and
        // StateHeader is repr(C) made of atomics and byte arrays, valid for any bit pattern.
        let header = unsafe { &*(ptr as *const StateHeader) };
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
        let version = header.format_version.load(Ordering::Relaxed);
        if version != FORMAT_VERSION {
            return Err(Error::corrupt(
                path,
                format!(
                    "unknown format version {version} (this build reads version {FORMAT_VERSION})"
                ),
            ));
        }
        let declared = header.header_size.load(Ordering::Relaxed) as usize;
        if declared != header_len {
            return Err(Error::corrupt(
                path,
                format!("header size {declared}, expected {header_len}"),
            ));
        }
        let copies = header.copies.load(Ordering::Relaxed) as usize;
        if !(layout::MIN_COPIES..=layout::MAX_COPIES).contains(&copies) {
            return Err(Error::corrupt(path, format!("copy count {copies} is outside 2..=16")));
        }
        let need = layout::state_file_len(copies);
        if len < need {
            return Err(Error::corrupt(
                path,
                format!("state file is {} bytes, {copies} copies need {need}", len),
            ));
        }
        let slots = header.reader_slots.load(Ordering::Relaxed) as usize;
        if slots == 0 || slots > layout::MAX_READER_SLOTS {
            return Err(Error::corrupt(path, format!("reader slot count {slots} is out of range")));
        }
        // SAFETY: `need` bytes are mapped; descriptors follow the header at a 64-byte aligned
        // offset and, like the header, are atomics valid for any bit pattern.
        let descriptors = unsafe {
            std::slice::from_raw_parts(ptr.add(header_len) as *const CopyDescriptor, copies)
        };
        Ok(Some(StateView { header, descriptors }))
    }

    pub fn copies(&self) -> usize {
        self.descriptors.len()
    }

    pub fn reader_slots(&self) -> usize {
        self.header.reader_slots.load(Ordering::Relaxed) as usize
    }

    pub fn schema(&self) -> Schema {
        let len = (self.header.type_name_len.load(Ordering::Relaxed) as usize)
            .min(layout::TYPE_NAME_CAPACITY);
        // SAFETY: reading the type name bytes through a raw pointer copy: they were written once
        // before the magic, and a volatile read keeps a concurrent hostile write from being UB
        // in the compiler's view.
        let bytes: [u8; layout::TYPE_NAME_CAPACITY] =
            unsafe { std::ptr::read_volatile(&self.header.type_name) };
        Schema {
            type_name: String::from_utf8_lossy(&bytes[..len]).into_owned(),
            fingerprint: self.header.fingerprint.load(Ordering::Relaxed),
        }
    }
}

/// A validated view of a mapped `P_readers`.
#[derive(Debug)]
pub(crate) struct ReadersView<'a> {
    pub header: &'a ReadersHeader,
    pub slots: &'a [ReaderSlot],
}

impl<'a> ReadersView<'a> {
    pub fn parse(map: &'a MmapRaw, path: &Path, expected_slots: usize) -> Result<Self> {
        let header_len = size_of::<ReadersHeader>();
        let (ptr, len) = (map.as_ptr(), map.len());
        if len < header_len {
            return Err(Error::corrupt(
                path,
                format!("readers file is {} bytes, shorter than its {header_len}-byte header", len),
            ));
        }
        // SAFETY: page-aligned mapping of at least the header's size; atomics and bytes only.
        let header = unsafe { &*(ptr as *const ReadersHeader) };
        let magic = header.magic.load(Ordering::Acquire);
        if magic != READERS_MAGIC {
            return Err(Error::corrupt(path, "wrong magic (not an mmap-sync readers file)"));
        }
        let version = header.format_version.load(Ordering::Relaxed);
        if version != FORMAT_VERSION {
            return Err(Error::corrupt(path, format!("unknown format version {version}")));
        }
        let slots = header.slot_count.load(Ordering::Relaxed) as usize;
        if slots != expected_slots
            || header.slot_size.load(Ordering::Relaxed) as usize != layout::SLOT_SIZE
        {
            return Err(Error::corrupt(
                path,
                format!("readers file has {slots} slots, the state file says {expected_slots}"),
            ));
        }
        let need = layout::readers_file_len(slots);
        if len < need {
            return Err(Error::corrupt(
                path,
                format!("readers file is {} bytes, {slots} slots need {need}", len),
            ));
        }
        // SAFETY: `need` bytes are mapped; slots follow the header at SLOT_SIZE alignment.
        let slots =
            unsafe { std::slice::from_raw_parts(ptr.add(header_len) as *const ReaderSlot, slots) };
        Ok(ReadersView { header, slots })
    }
}
