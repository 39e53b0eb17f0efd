//! Every system call the crate makes beyond `std::fs`, each family in a file of its own:
//! shared mappings ([`mapping`]), the fault guard that turns a SIGBUS on a truncated channel file
//! into an error ([`fault`]), open-file-description locks ([`lock`]), futexes ([`futex`]), `fork()` ([`fork`])
//! and `fstat` ([`stat`]). Nothing outside this module calls `libc`.
//!
//! Each function is a safe wrapper whose doc says what the caller may rely on; the `unsafe`
//! blocks of these files are the only ones in the crate that talk to the kernel.

pub mod fault;
pub mod fork;
pub mod futex;
pub mod lock;
pub mod mapping;
pub mod page;
pub mod stat;

pub use fault::{FAULT_CLEARED, FaultWords};
pub use fork::{PerProcess, fork_epoch, on_fork_in_child, process_id, thread_id};
pub use futex::{futex_wait, futex_wake_all};
pub use lock::{is_locked, try_lock, unlock};
pub use mapping::{Mapping, allocate};
pub use page::page_size;
pub use stat::FileStat;

/// `O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK`, for `OpenOptionsExt::custom_flags`: no path of a
/// channel is ever followed through a symlink (a planted link in a shared directory must not
/// redirect writes), and a FIFO planted at a path cannot block the open (a read-only open of a
/// FIFO waits for a writer forever); the open returns and the regular-file check refuses it.
/// O_NONBLOCK changes nothing for regular files.
pub const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Wall-clock time in nanoseconds since the Unix epoch (0 if the clock is before it). Read
/// through the vDSO: no system call.
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

/// [`unix_nanos`] to the kernel's last tick (a few milliseconds; `CLOCK_REALTIME_COARSE`), for
/// informational times on paths where reading the clock itself would show: a reader's open
/// records when it claimed its slot, and the fine clock took about 1% of the open. Falls back
/// to [`unix_nanos`] where the coarse clock is missing.
pub fn unix_nanos_coarse() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the kernel (or the vDSO) to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } != 0 {
        return unix_nanos();
    }
    let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec), u64::try_from(now.tv_nsec)) else {
        return 0;
    };
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}
