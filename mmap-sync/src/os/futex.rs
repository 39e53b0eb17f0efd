//! Futexes on the state file's publish word: readers sleep on it through their read-only
//! mapping, the writer wakes them.

use std::io;
use std::ptr;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Blocks while `*word == expected`, for at most `timeout` (`None`: no limit), or until woken.
/// Returns `Ok` on a wake, a timeout, an interruption or a changed word (callers re-check their
/// condition); an error only when the kernel refuses the wait itself (no futex support, a bad
/// address), so that a caller never turns a refused wait into a silent spin. Works on a
/// read-only shared mapping.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; FUTEX_WAIT only reads
    // it. The shared (non-PRIVATE) operation keys the wait on the file page, so it pairs with a
    // wake from another process mapping the same file.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            ptr::null::<u32>(),
            0u32,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EINTR) | Some(libc::ETIMEDOUT) => Ok(()),
        _ => Err(err),
    }
}

/// Wakes every process blocked in [`futex_wait`] on `word`.
pub fn futex_wake_all(word: &AtomicU32) -> io::Result<()> {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE does not access memory through it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        )
    };
    if rc >= 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
