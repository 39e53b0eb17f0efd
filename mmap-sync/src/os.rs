//! The few system calls std and memmap2 do not offer: open-file-description locks, futexes and
//! fallocate. Nothing outside this module calls `libc`.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// `O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK`, for `OpenOptionsExt::custom_flags`: no path of a
/// channel is ever followed through a symlink (a planted link in a shared directory must not
/// redirect writes), and a FIFO planted at a path cannot block the open (a read-only open of a
/// FIFO waits for a writer forever); the open returns and the regular-file check refuses it.
/// O_NONBLOCK changes nothing for regular files.
pub const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;

fn ofd_lock_request(
    file: &File,
    cmd: libc::c_int,
    kind: libc::c_short,
    start: u64,
    len: u64,
) -> io::Result<libc::flock> {
    // SAFETY: flock is a plain C struct for which all-zero bytes are a valid value.
    let mut request: libc::flock = unsafe { std::mem::zeroed() };
    request.l_type = kind;
    request.l_whence = libc::SEEK_SET as libc::c_short;
    request.l_start = start as libc::off_t;
    request.l_len = len as libc::off_t;
    // l_pid must be 0 for OFD locks (the kernel refuses anything else).
    // SAFETY: fcntl with an OFD lock command reads (and for GETLK writes) the flock struct we
    // pass, which lives for the duration of the call; the fd is open for the life of `file`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut request as *mut libc::flock) };
    if rc == -1 { Err(io::Error::last_os_error()) } else { Ok(request) }
}

/// Tries to take an exclusive open-file-description lock on `len` bytes at `start` (`len` 0
/// means "to the end of the file, however long"). Returns `Ok(false)` when another open file
/// description holds a conflicting lock. The kernel drops the lock when the last descriptor of
/// this open file description closes, which includes the process dying in any way.
pub fn try_lock(file: &File, start: u64, len: u64) -> io::Result<bool> {
    match ofd_lock_request(file, libc::F_OFD_SETLK, libc::F_WRLCK as libc::c_short, start, len) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases a lock taken with [`try_lock`] on the same range.
pub fn unlock(file: &File, start: u64, len: u64) -> io::Result<()> {
    ofd_lock_request(file, libc::F_OFD_SETLK, libc::F_UNLCK as libc::c_short, start, len)
        .map(|_| ())
}

/// Makes sure `file` has at least `len` bytes of allocated storage, so that writing through a
/// mapping can never hit a hole the filesystem cannot fill (which would be a SIGBUS, not an
/// error). Fails with ENOSPC when the space is not there. Never shrinks the file.
pub fn allocate(file: &File, len: u64) -> io::Result<()> {
    // SAFETY: posix_fallocate only reads its integer arguments; the fd is open.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(rc)) }
}

/// Blocks while `*word == expected`, for at most `timeout`, or until woken. Spurious returns are
/// possible; callers re-check their condition. Works on a read-only shared mapping.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; FUTEX_WAIT only reads
    // it. The shared (non-PRIVATE) operation keys the wait on the file page, so it pairs with a
    // wake from another process mapping the same file.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every process blocked in [`futex_wait`] on `word`.
pub fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE does not access memory through it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        );
    }
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
