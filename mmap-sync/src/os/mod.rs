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
