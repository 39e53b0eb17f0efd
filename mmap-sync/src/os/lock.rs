//! Open-file-description locks (`F_OFD_SETLK`, `F_OFD_GETLK`): how slots are owned, and how
//! the writer holds its channel; the kernel drops them when their owner dies.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

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
/// description holds a conflicting lock. A lock this open file description already holds is
/// taken again without conflict. The kernel drops the lock when the last descriptor of this
/// open file description closes, which includes the process dying in any way.
pub fn try_lock(file: &File, start: u64, len: u64) -> io::Result<bool> {
    match ofd_lock_request(file, libc::F_OFD_SETLK, libc::F_WRLCK as libc::c_short, start, len) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether another open file description holds a lock on any of the `len` bytes at `start`
/// (`len` 0: to the end of the file), asked with `F_OFD_GETLK` without taking anything. Locks
/// held through `file`'s own open file description do not count. Works on a read-only
/// descriptor: the kernel checks access only for taking a lock, not for asking about one.
pub fn is_locked(file: &File, start: u64, len: u64) -> io::Result<bool> {
    let answer =
        ofd_lock_request(file, libc::F_OFD_GETLK, libc::F_WRLCK as libc::c_short, start, len)?;
    Ok(answer.l_type != libc::F_UNLCK as libc::c_short)
}

/// Releases a lock taken with [`try_lock`] on the same range.
pub fn unlock(file: &File, start: u64, len: u64) -> io::Result<()> {
    ofd_lock_request(file, libc::F_OFD_SETLK, libc::F_UNLCK as libc::c_short, start, len)
        .map(|_| ())
}
