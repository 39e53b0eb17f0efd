//! Shared mappings of channel files: mapped once, never moved, registered with the fault guard;
//! the page size; and the storage a file needs before it is written through a mapping.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};

use super::fault::{FaultGuard, FaultWords};
use super::page::page_size;

/// A shared mapping of a file. It may be longer than the file: the bytes past the end of the
/// file are address space reserved for the file to grow into, so a mapping never has to move
/// (readers on other threads keep pointers into it). Touching a page past the end of the file
/// raises SIGBUS, which the [fault guard](FaultGuard) turns into a recorded fault.
///
/// Its owner drops it before the file it maps (in a struct, declares it first). A file closed
/// while still mapped has the mapping as its last reference, and the `munmap` that drops it
/// makes the kernel defer the file's release to the return to user space (task work, with an
/// rseq update): a few tenths of a microsecond per file, where `close` after `munmap` releases
/// it at once.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
    guard: FaultGuard,
}

// SAFETY: a Mapping is an address range; all access to the bytes goes through atomics or through
// the protocol's rules (crate::protocol), which say which thread may touch which copy when.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `file` from offset 0, shared, read-only or read-write. `len` may
    /// exceed the file's length (see the type's doc). `on_fault` is told of faults (see [`FaultWords`])
    /// by the fault guard when a page of this mapping faults (see [`FaultGuard`]).
    pub fn map(
        file: &File,
        len: usize,
        writable: bool,
        on_fault: Option<&'static FaultWords>,
    ) -> io::Result<Mapping> {
        Self::map_with(file, len, writable, on_fault, 0)
    }

    /// [`map`](Self::map), with the pages the file has mapped at once (`MAP_POPULATE`): cheaper
    /// than faulting them in one by one when they will all be touched (a state file, a slot
    /// table, a value about to be validated).
    pub fn map_populated(
        file: &File,
        len: usize,
        writable: bool,
        on_fault: Option<&'static FaultWords>,
    ) -> io::Result<Mapping> {
        Self::map_with(file, len, writable, on_fault, libc::MAP_POPULATE)
    }

    fn map_with(
        file: &File,
        len: usize,
        writable: bool,
        on_fault: Option<&'static FaultWords>,
        flags: libc::c_int,
    ) -> io::Result<Mapping> {
        let len = len.max(1).next_multiple_of(page_size());
        let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: a fresh mapping at an address the kernel chooses; it aliases no Rust object.
        let ptr = unsafe {
            libc::mmap(ptr::null_mut(), len, prot, libc::MAP_SHARED | flags, file.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr as *mut u8).ok_or_else(|| io::Error::other("mmap gave null"))?;
        let guard = FaultGuard::register(ptr.as_ptr() as usize, len, writable, on_fault);
        Ok(Mapping { ptr, len, writable, guard })
    }

    /// Maps `file` again over the same addresses. Pages the fault guard replaced with zeros
    /// (because the file was shorter than a page being touched) show the file again; pointers
    /// into the mapping stay valid. The fault count is kept: callers compare it.
    pub fn remap_in_place(&self, file: &File) -> io::Result<()> {
        let prot = if self.writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: MAP_FIXED over exactly the range this Mapping owns; the new pages map the same
        // file at the same offsets, so every pointer into the range keeps its meaning.
        let ptr = unsafe {
            libc::mmap(
                self.ptr.as_ptr() as *mut libc::c_void,
                self.len,
                prot,
                libc::MAP_SHARED | libc::MAP_FIXED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// First byte of the mapping (page-aligned).
    #[inline]
    pub fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length of the mapping in bytes (a multiple of the page size).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Pages of this mapping that faulted so far (see [`FaultGuard`]).
    #[inline]
    pub fn faults(&self) -> u64 {
        self.guard.faults()
    }

    /// Maps the pages of `[offset, offset + len)` for writing now (`MADV_POPULATE_WRITE`, Linux
    /// 5.14 and later), instead of taking one page fault per page as they are first written.
    /// Best effort: on an older kernel, or on error, the pages fault in as usual.
    pub fn prefault_write(&self, offset: usize, len: usize) {
        /// `MADV_POPULATE_WRITE` from the kernel's uapi headers (the libc crate lacks it).
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        let start = offset - offset % page_size();
        let end = (offset + len).min(self.len);
        if !self.writable || end <= start {
            return;
        }
        // SAFETY: the range lies within this writable mapping; populating changes no content.
        unsafe {
            libc::madvise(
                self.ptr.as_ptr().add(start) as *mut libc::c_void,
                end - start,
                MADV_POPULATE_WRITE,
            )
        };
    }

    /// Writes dirty pages in `[offset, offset + len)` back to the file (msync).
    pub fn flush(&self, offset: usize, len: usize) -> io::Result<()> {
        let start = offset - offset % page_size();
        let len = (len + offset - start).min(self.len - start);
        // SAFETY: the range lies within this mapping.
        let rc = unsafe {
            libc::msync(self.ptr.as_ptr().add(start) as *mut libc::c_void, len, libc::MS_SYNC)
        };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        self.guard.unregister();
        // SAFETY: the range was mapped by `map` and nothing refers to it once its owner drops
        // (owners hand out references that borrow them).
        unsafe { libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.len) };
    }
}

/// Makes sure `file` has at least `len` bytes of allocated storage, so that writing through a
/// mapping can never hit a hole the filesystem cannot fill (which would be a SIGBUS, not an
/// error). Fails with ENOSPC when the space is not there. Never shrinks the file.
pub fn allocate(file: &File, len: u64) -> io::Result<()> {
    // SAFETY: posix_fallocate only reads its integer arguments; the fd is open.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(rc)) }
}
