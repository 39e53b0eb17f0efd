//! The size of a memory page, asked of the kernel once: what mappings are rounded to, and what
//! the fault guard replaces.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The size of a memory page, asked of the kernel once.
pub fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    // Relaxed: the value is the same whichever thread computes it first.
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let size = if size > 0 { size as usize } else { 4096 };
            PAGE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}
