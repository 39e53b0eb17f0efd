//! The few system facilities the harness needs beyond std: clocks every process and thread can
//! compare, a shared file mapping, resource limits, free space, and the kernel's memory counters.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used here exist on Linux.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({id})");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The bytes of `words`, 8 per word, in memory order: for hashing a `u64` payload as the
/// runtime hashes a copy's bytes.
pub fn word_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: the view covers exactly the bytes of `words` and borrows them; every byte of a
    // u64 is initialized, and u8 has no alignment or validity requirement.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), size_of_val(words)) }
}

/// CLOCK_MONOTONIC in ns: one clock for every process of the host, so a writer process and a
/// reader process can time one publish between them.
pub fn monotonic_ns() -> u64 {
    clock(libc::CLOCK_MONOTONIC)
}

/// CPU time of the calling thread, in ns (time it was scheduled, not wall time).
pub fn thread_cpu_ns() -> u64 {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of the whole process (every thread, live or exited), in ns.
pub fn process_cpu_ns() -> u64 {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Time the hypervisor ran something else while this machine's CPUs wanted to run (steal
/// time, all CPUs together), in ns; 0 on bare metal. A guest counts stolen time as CPU time of
/// whatever thread was running.
pub fn steal_ns() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(cpu) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else { return 0 };
    // user nice system idle iowait irq softirq steal, in clock ticks.
    let steal: u64 = cpu.split_whitespace().nth(7).and_then(|s| s.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    steal * 1_000_000_000 / hz
}

/// Raises the soft limit on open descriptors to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> io::Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit, soft limit not above the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// Bytes an unprivileged process may still allocate in the file system holding `path`.
pub fn available_bytes(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `st` is writable.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`, `RssAnon`, `RssShmem`, ...).
pub fn status_kib(field: &str) -> Result<u64> {
    proc_kib("/proc/self/status", field)
}

/// A field of `/proc/meminfo` in KiB.
pub fn meminfo_kib(field: &str) -> Result<u64> {
    proc_kib("/proc/meminfo", field)
}

/// Field `field` of a `/proc` file of `Field:   123 kB` lines, in KiB.
fn proc_kib(file: &str, field: &str) -> Result<u64> {
    let text = std::fs::read_to_string(file)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .ok_or_else(|| format!("no {field} in {file}"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

/// Resets the process's peak RSS (`VmHWM`) to its current RSS, so that a later `VmHWM` is the
/// peak of what happened since (Linux 4.0 and later).
pub fn reset_peak_rss() -> io::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
}

/// A `MAP_SHARED` mapping of a whole file, unmapped on drop.
pub struct SharedMap {
    ptr: *mut u8,
    len: usize,
}

impl SharedMap {
    /// Creates (or truncates) `path` at `len` zero bytes and maps it read-write.
    pub fn create(path: &Path, len: usize) -> io::Result<Self> {
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        file.set_len(len as u64)?;
        Self::map(&file, len, true)
    }

    /// Maps the first `len` (> 0) bytes of `file`, every page at once (`MAP_POPULATE`), as the
    /// runtime maps a channel's files.
    pub fn map(file: &File, len: usize, writable: bool) -> io::Result<Self> {
        let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: a fresh mapping chosen by the kernel; the caller's file has `len` bytes.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedMap { ptr: ptr.cast(), len })
    }

    /// The first byte; page-aligned.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `map`, unmapped only here.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Takes and releases an open-file-description write lock on byte `offset` of `file`, as a
/// reader claiming and giving back a slot does.
pub fn ofd_lock_and_unlock(file: &File, offset: u64) -> io::Result<()> {
    for kind in [libc::F_WRLCK, libc::F_UNLCK] {
        // SAFETY: an all-zero flock is a valid value of this plain C struct.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = kind as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        lock.l_start = offset as libc::off_t;
        lock.l_len = 1;
        // SAFETY: F_OFD_SETLK with a valid flock on an open descriptor.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &lock) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
