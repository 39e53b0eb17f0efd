//! Damaging a channel's files the way a bug, a crash or another user could: bytes written at
//! the format's own offsets (from `mmap_sync::format` and `std::mem::offset_of!`, never
//! numbers copied from the format's diagram), files cut short, checksums rewritten.
//!
//! ```
//! use std::mem::offset_of;
//! use mmap_sync::format::{CopyDescriptor, StateHeader};
//! use mmap_sync_tests::files;
//! # fn demo(paths: &mmap_sync::ChannelPaths) {
//! files::patch_u32(&paths.state, offset_of!(StateHeader, copies), 200);
//! let generation = files::descriptor_offset(0, offset_of!(CopyDescriptor, generation));
//! files::patch_u64(&paths.state, generation, 77);
//! # }
//! ```

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use mmap_sync::ChannelPaths;
use mmap_sync::format::{CopyDescriptor, StateHeader};

/// Where a field lies in a file: its byte offset and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Width of the field in bytes.
    pub width: usize,
}

impl Span {
    /// The span of a field at `offset` whose type the accessor `_field` names; see [`span!`](crate::span).
    pub const fn of<S, T>(offset: usize, _field: fn(&S) -> &T) -> Span {
        Span { offset, width: size_of::<T>() }
    }

    /// The same field in a struct that starts at `base`.
    pub const fn at(self, base: usize) -> Span {
        Span { offset: base + self.offset, width: self.width }
    }
}

/// The [`Span`] of field `$field` of the `repr(C)` format struct `$ty`, e.g.
/// `span!(StateHeader, copies)`: offset and width both come from the struct's definition.
#[macro_export]
macro_rules! span {
    ($ty:ty, $field:ident) => {
        $crate::files::Span::of(::std::mem::offset_of!($ty, $field), |s: &$ty| &s.$field)
    };
}

/// Byte offset in `P_state` of `field_offset` within the descriptor of copy `copy` (e.g.
/// `descriptor_offset(1, offset_of!(CopyDescriptor, checksum))`).
pub const fn descriptor_offset(copy: usize, field_offset: usize) -> usize {
    size_of::<StateHeader>() + copy * size_of::<CopyDescriptor>() + field_offset
}

fn open_for_writing(file: &Path) -> File {
    OpenOptions::new()
        .write(true)
        .open(file)
        .unwrap_or_else(|e| panic!("open {} for writing: {e}", file.display()))
}

/// Writes `bytes` at `offset` of `file` (extending it when past its end).
pub fn patch(file: &Path, offset: usize, bytes: &[u8]) {
    open_for_writing(file)
        .write_all_at(bytes, offset as u64)
        .unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// Writes a little-endian `u32` at `offset` of `file`.
pub fn patch_u32(file: &Path, offset: usize, value: u32) {
    patch(file, offset, &value.to_le_bytes());
}

/// Writes a little-endian `u64` at `offset` of `file`.
pub fn patch_u64(file: &Path, offset: usize, value: u64) {
    patch(file, offset, &value.to_le_bytes());
}

/// The `N` bytes at `offset` of `file`; `None` when the file is missing or too short.
fn read_at<const N: usize>(file: &Path, offset: usize) -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    File::open(file).ok()?.read_exact_at(&mut bytes, offset as u64).ok()?;
    Some(bytes)
}

/// The little-endian `u32` at `offset` of `file`; `None` when the file is missing or too short.
pub fn read_u32(file: &Path, offset: usize) -> Option<u32> {
    read_at(file, offset).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `offset` of `file`; `None` when the file is missing or too short.
pub fn read_u64(file: &Path, offset: usize) -> Option<u64> {
    read_at(file, offset).map(u64::from_le_bytes)
}

/// Cuts `file` to `len` bytes, or extends it with zeroes.
pub fn set_len(file: &Path, len: u64) {
    open_for_writing(file)
        .set_len(len)
        .unwrap_or_else(|e| panic!("set the length of {}: {e}", file.display()));
}

/// The length the descriptor of copy `copy` gives its value, if the state file has one.
pub fn descriptor_length(paths: &ChannelPaths, copy: usize) -> Option<u64> {
    read_u64(&paths.state, descriptor_offset(copy, std::mem::offset_of!(CopyDescriptor, length)))
}

/// Recomputes the checksum in copy `copy`'s descriptor over the bytes its data file now holds,
/// so that only archive validation can find the damage done to them. Returns whether it could
/// (the descriptor and as many bytes as it says must exist).
pub fn rewrite_checksum(paths: &ChannelPaths, copy: usize) -> bool {
    let Some(len) = descriptor_length(paths, copy) else { return false };
    let Ok(data) = std::fs::read(paths.data(copy)) else { return false };
    let Some(bytes) = usize::try_from(len).ok().and_then(|len| data.get(..len)) else {
        return false;
    };
    let checksum = xxhash_rust::xxh3::xxh3_64(bytes);
    let offset = descriptor_offset(copy, std::mem::offset_of!(CopyDescriptor, checksum));
    patch_u64(&paths.state, offset, checksum);
    true
}

/// Makes the state file record the files now at the channel's paths as its set (each one's
/// device and inode, as the writer records them when it creates a set), for a channel put
/// together by copying another channel's files: without it, readers refuse the copies as
/// files of another set.
pub fn adopt_copied_files(paths: &ChannelPaths, copies: usize) {
    use std::mem::offset_of;
    use std::os::unix::fs::MetadataExt;
    let identity = |file: &Path| {
        let meta =
            std::fs::metadata(file).unwrap_or_else(|e| panic!("stat {}: {e}", file.display()));
        (meta.dev(), meta.ino())
    };
    let (dev, ino) = identity(&paths.readers);
    patch_u64(&paths.state, offset_of!(StateHeader, readers_dev), dev);
    patch_u64(&paths.state, offset_of!(StateHeader, readers_ino), ino);
    for copy in 0..copies {
        let (dev, ino) = identity(&paths.data(copy));
        patch_u64(&paths.state, descriptor_offset(copy, offset_of!(CopyDescriptor, data_dev)), dev);
        patch_u64(&paths.state, descriptor_offset(copy, offset_of!(CopyDescriptor, data_ino)), ino);
    }
}

/// How many of the `slots` reader slots of `readers_file` are claimed right now: a slot is
/// claimed exactly while some open file description holds the lock on its first byte, which
/// `F_OFD_GETLK` reports (the kernel answers with the conflicting lock, or `F_UNLCK`).
pub fn claimed_slots(readers_file: &Path, slots: usize) -> usize {
    use nix::fcntl::{FcntlArg, fcntl};
    use nix::libc;
    let file = std::fs::File::open(readers_file).expect("open the readers file");
    (0..slots)
        .filter(|&index| {
            let mut query = libc::flock {
                l_type: libc::F_WRLCK as libc::c_short,
                l_whence: libc::SEEK_SET as libc::c_short,
                l_start: mmap_sync::format::slot_offset(slots, index) as libc::off_t,
                l_len: 1,
                l_pid: 0,
            };
            fcntl(&file, FcntlArg::F_OFD_GETLK(&mut query)).expect("F_OFD_GETLK");
            query.l_type != libc::F_UNLCK as libc::c_short
        })
        .count()
}
