//! Every system call the crate makes beyond `std::fs`: shared mappings, open-file-description
//! locks, futexes, `posix_fallocate`, the fault guard that turns a SIGBUS on a truncated channel
//! file into an error, and the fork hook. Nothing outside this module calls `libc`.
//!
//! Each function is a safe wrapper whose doc says what the caller may rely on; the `unsafe`
//! blocks below are the only ones in the crate that talk to the kernel.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// `O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK`, for `OpenOptionsExt::custom_flags`: no path of a
/// channel is ever followed through a symlink (a planted link in a shared directory must not
/// redirect writes), and a FIFO planted at a path cannot block the open (a read-only open of a
/// FIFO waits for a writer forever); the open returns and the regular-file check refuses it.
/// O_NONBLOCK changes nothing for regular files.
pub const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;

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

// ---------------------------------------------------------------------------------------------
// Mappings
// ---------------------------------------------------------------------------------------------

/// A shared mapping of a file. It may be longer than the file: the bytes past the end of the
/// file are address space reserved for the file to grow into, so a mapping never has to move
/// (readers on other threads keep pointers into it). Touching a page past the end of the file
/// raises SIGBUS, which the [fault guard](FaultGuard) turns into a recorded fault.
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

// ---------------------------------------------------------------------------------------------
// The fault guard
// ---------------------------------------------------------------------------------------------

/// Where a touched page of a shared file mapping lies past the end of the file (someone
/// truncated it), the kernel raises SIGBUS, which kills the process. The fault guard installs a
/// SIGBUS handler once per process; for a fault inside a registered mapping it maps a private
/// zero page over the faulting page, counts the fault, stores "nothing validated" into the
/// mapping's `on_fault` word, and returns, so the faulting load or store completes. The owner of
/// the mapping compares fault counts before it trusts what it read (the writer after scanning the
/// slot table and after writing a copy; a reader before serving a generation, which the cleared
/// word forces it to re-check), and maps the file again in place to see it once more.
///
/// A fault outside every registered mapping goes to the handler that was installed before (the
/// standard library's stack-overflow handler, or the default action).
pub struct FaultGuard {
    entry: &'static Region,
}

impl std::fmt::Debug for FaultGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultGuard").field("faults", &self.faults()).finish()
    }
}

/// One registered mapping. Entries live in chunks that are never freed, so the signal handler
/// never touches freed memory whatever it races with.
struct Region {
    /// Start address; 0 while the entry is free.
    start: AtomicUsize,
    len: AtomicUsize,
    /// 1 for a writable mapping (the replacement page must be writable too).
    writable: AtomicU32,
    /// Faults handled in this mapping since it was registered.
    faults: AtomicU64,
    /// Words the handler updates on a fault. Points at `'static` words.
    on_fault: AtomicPtr<FaultWords>,
}

/// The value the fault guard stores into a mapping's `FaultWords::cleared`.
pub const FAULT_CLEARED: u64 = u64::MAX;

/// What the fault guard tells the owner of a mapping when one of its pages faults: it stores
/// [`FAULT_CLEARED`] into `cleared` and increments `faults`. One pair may serve several
/// mappings (a reader's), so one load of `faults` says whether any of them faulted.
#[derive(Debug, Default)]
pub struct FaultWords {
    /// Set to [`FAULT_CLEARED`] on a fault.
    pub cleared: AtomicU64,
    /// Faults in any mapping registered with these words.
    pub faults: AtomicU64,
}

const REGIONS_PER_CHUNK: usize = 128;

struct Chunk {
    regions: [Region; REGIONS_PER_CHUNK],
    next: AtomicPtr<Chunk>,
}

static CHUNKS: AtomicPtr<Chunk> = AtomicPtr::new(ptr::null_mut());
static INSTALL: Once = Once::new();
/// The SIGBUS disposition found when the guard was installed, to forward foreign faults to.
static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());

impl FaultGuard {
    fn register(
        start: usize,
        len: usize,
        writable: bool,
        on_fault: Option<&'static FaultWords>,
    ) -> FaultGuard {
        INSTALL.call_once(install_handler);
        let entry = claim_region();
        entry.len.store(len, Ordering::Relaxed);
        entry.writable.store(writable as u32, Ordering::Relaxed);
        entry.faults.store(0, Ordering::Relaxed);
        entry.on_fault.store(
            on_fault.map_or(ptr::null_mut(), |w| w as *const FaultWords as *mut FaultWords),
            Ordering::Relaxed,
        );
        // Release: the handler that sees this start sees the fields above.
        entry.start.store(start, Ordering::Release);
        FaultGuard { entry }
    }

    fn faults(&self) -> u64 {
        // Acquire: pairs with the handler's increment, which happens before the faulting access
        // completes; a reader of the count after its own access sees its own fault.
        self.entry.faults.load(Ordering::Acquire)
    }

    fn unregister(&self) {
        // Release: the entry may be claimed again only after our last use of it.
        self.entry.start.store(0, Ordering::Release);
    }
}

/// Takes a free entry (start 0 and not being claimed), adding a chunk when all are taken.
fn claim_region() -> &'static Region {
    // A claimed-but-not-yet-started entry holds this placeholder start.
    const CLAIMING: usize = 1;
    loop {
        let mut chunk = CHUNKS.load(Ordering::Acquire);
        while let Some(c) = NonNull::new(chunk) {
            // SAFETY: chunks are leaked and never freed.
            let c = unsafe { c.as_ref() };
            for region in &c.regions {
                // AcqRel: taking the entry orders after its previous owner's release.
                if region
                    .start
                    .compare_exchange(0, CLAIMING, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return region;
                }
            }
            chunk = c.next.load(Ordering::Acquire);
        }
        let fresh = Box::leak(Box::new(Chunk {
            regions: std::array::from_fn(|_| Region {
                start: AtomicUsize::new(0),
                len: AtomicUsize::new(0),
                writable: AtomicU32::new(0),
                faults: AtomicU64::new(0),
                on_fault: AtomicPtr::new(ptr::null_mut()),
            }),
            next: AtomicPtr::new(ptr::null_mut()),
        }));
        // Push the chunk at the head; AcqRel so the handler walking the list sees it whole.
        let mut head = CHUNKS.load(Ordering::Acquire);
        loop {
            fresh.next.store(head, Ordering::Relaxed);
            match CHUNKS.compare_exchange(head, fresh, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
}

fn install_handler() {
    // SAFETY: sigaction with a zeroed struct filled with a valid SA_SIGINFO handler; the
    // previous disposition is written into a leaked struct that lives forever.
    unsafe {
        let previous: &'static mut libc::sigaction = Box::leak(Box::new(std::mem::zeroed()));
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGBUS, &action, previous) == 0 {
            PREVIOUS.store(previous, Ordering::Release);
        }
    }
}

/// The SIGBUS handler. Async-signal-safe: atomics, `mmap` and `sigaction` only.
extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let mut chunk = CHUNKS.load(Ordering::Acquire);
    while let Some(c) = NonNull::new(chunk) {
        // SAFETY: chunks are never freed.
        let c = unsafe { c.as_ref() };
        for region in &c.regions {
            let start = region.start.load(Ordering::Acquire);
            if start <= 1 || addr < start || addr - start >= region.len.load(Ordering::Relaxed) {
                continue;
            }
            let page = addr & !(page_size() - 1);
            let prot = if region.writable.load(Ordering::Relaxed) == 1 {
                libc::PROT_READ | libc::PROT_WRITE
            } else {
                libc::PROT_READ
            };
            // SAFETY: the page lies inside a mapping this crate owns; replacing it with a private
            // zero page only changes what that mapping shows, which its owner is told below.
            let mapped = unsafe {
                libc::mmap(
                    page as *mut libc::c_void,
                    page_size(),
                    prot,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if mapped == libc::MAP_FAILED {
                break; // cannot repair: let the previous disposition handle it
            }
            // Release: the owner that acquires the count sees the cleared word too.
            let word = region.on_fault.load(Ordering::Relaxed);
            if !word.is_null() {
                // SAFETY: `on_fault` words are 'static.
                unsafe {
                    (*word).cleared.store(FAULT_CLEARED, Ordering::Release);
                    (*word).faults.fetch_add(1, Ordering::Release);
                }
            }
            region.faults.fetch_add(1, Ordering::Release);
            return;
        }
        chunk = c.next.load(Ordering::Acquire);
    }
    forward(signal, info, context);
}

/// Hands a fault that is not ours to the disposition found at installation.
fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = PREVIOUS.load(Ordering::Acquire);
    // SAFETY: `previous` is the leaked struct filled by sigaction at installation.
    unsafe {
        if !previous.is_null() {
            let handler = (*previous).sa_sigaction;
            if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
                if (*previous).sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(handler);
                    f(signal, info, context);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                    f(signal);
                }
                return;
            }
        }
        // Default action: restore it and return; the faulting instruction runs again and the
        // kernel applies the default (the process dies with SIGBUS, as without the guard).
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

// ---------------------------------------------------------------------------------------------
// Locks, allocation, identity
// ---------------------------------------------------------------------------------------------

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

/// Makes sure `file` has at least `len` bytes of allocated storage, so that writing through a
/// mapping can never hit a hole the filesystem cannot fill (which would be a SIGBUS, not an
/// error). Fails with ENOSPC when the space is not there. Never shrinks the file.
pub fn allocate(file: &File, len: u64) -> io::Result<()> {
    // SAFETY: posix_fallocate only reads its integer arguments; the fd is open.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(rc)) }
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

thread_local! {
    /// The calling thread's kernel id, asked once per thread (0: not asked yet).
    static THREAD_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The process id, asked of the kernel once (and again in a child after `fork()`).
static PROCESS_ID: AtomicU32 = AtomicU32::new(0);

/// The id of this process (what a reader slot records), without a system call after the first.
pub fn process_id() -> u32 {
    // The fork hook, which forgets the cached value in a child, must be in place first.
    fork_epoch();
    // Relaxed: any thread that computes it computes the same value.
    match PROCESS_ID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PROCESS_ID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// The kernel's id of the calling thread (shown next to the pid in a reader slot), asked once
/// per thread.
pub fn thread_id() -> u32 {
    fork_epoch();
    THREAD_ID.with(|id| match id.get() {
        0 => {
            // SAFETY: gettid has no preconditions and cannot fail.
            let tid = unsafe { libc::gettid() as u32 };
            id.set(tid);
            tid
        }
        tid => tid,
    })
}

/// Wall-clock time in nanoseconds since the Unix epoch (0 if the clock is before it). Read
/// through the vDSO: no system call.
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

// ---------------------------------------------------------------------------------------------
// Futexes
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// fork()
// ---------------------------------------------------------------------------------------------

/// Incremented in every child process right after `fork()`. Handles compare the value they were
/// opened with to learn that they now live in a child, which shares their open file
/// descriptions (and so their locks) and their slot pins with the parent.
static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

/// Hooks run in the child after `fork()`, as function addresses (0: free). Registered without a
/// lock, so that a child forked while another thread registers one never waits for it.
static CHILD_HOOKS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

/// The current fork epoch (see [`FORK_EPOCH`]). Registers the fork hook on first use, so a
/// handle that records the epoch is told about every later fork.
pub fn fork_epoch() -> u64 {
    ATFORK.call_once(|| {
        // SAFETY: registers a plain function with no preconditions as the child hook.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
    // Relaxed: only the forking thread exists in the child when the epoch changes, and it
    // changes before any code of the child runs.
    FORK_EPOCH.load(Ordering::Relaxed)
}

/// Adds `hook` to what runs in the child after a fork (in the forking thread, before `fork`
/// returns). Hooks must be async-signal-safe: no allocation, no locks. The crate registers
/// fewer hooks than there are places for; one more is ignored (in debug builds, a panic).
pub fn on_fork_in_child(hook: fn()) {
    let address = hook as usize;
    for place in &CHILD_HOOKS {
        // AcqRel: a hook is stored once; the child handler's Acquire load sees it whole.
        match place.compare_exchange(0, address, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(existing) if existing == address => return,
            Err(_) => continue,
        }
    }
    debug_assert!(false, "more fork hooks than places for them");
}

extern "C" fn after_fork_in_child() {
    FORK_EPOCH.fetch_add(1, Ordering::Relaxed);
    // The child has another pid, and its one thread another tid: forget the cached ones.
    PROCESS_ID.store(0, Ordering::Relaxed);
    let _ = THREAD_ID.try_with(|id| id.set(0));
    for place in &CHILD_HOOKS {
        // Acquire: pairs with the registration's compare-exchange.
        let address = place.load(Ordering::Acquire);
        if address != 0 {
            // SAFETY: only `fn()` addresses are stored in CHILD_HOOKS (by `on_fork_in_child`).
            let hook: fn() = unsafe { std::mem::transmute::<usize, fn()>(address) };
            hook();
        }
    }
}

/// State that belongs to one process image: after `fork()`, a child gets a fresh value (made by
/// the `init` given to [`get`](Self::get)) instead of the one its parent's threads were using.
/// Whatever those threads held at the fork (a lock, a half-updated table) stays behind with
/// them: the parent's value is never used, dropped or unlocked in the child, only forgotten.
/// This is how a child never blocks on a lock that a thread of its parent held when it forked.
pub struct PerProcess<T> {
    current: AtomicPtr<Epoched<T>>,
}

struct Epoched<T> {
    epoch: u64,
    value: T,
}

impl<T> std::fmt::Debug for PerProcess<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerProcess").finish_non_exhaustive()
    }
}

impl<T> PerProcess<T> {
    /// Empty: the first [`get`](Self::get) makes the value.
    pub const fn new() -> Self {
        PerProcess { current: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Holding `value` for this process image.
    pub fn with(value: T) -> Self {
        let entry = Box::into_raw(Box::new(Epoched { epoch: fork_epoch(), value }));
        PerProcess { current: AtomicPtr::new(entry) }
    }

    /// This process image's value, made with `init` on the first call in it.
    #[inline]
    pub fn get(&self, init: impl FnOnce() -> T) -> &T {
        let epoch = fork_epoch();
        // Acquire: pairs with the compare-exchange that published the entry.
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: entries are leaked boxes, freed only by `drop` (which has `&mut self`).
        if let Some(entry) = unsafe { current.as_ref() }
            && entry.epoch == epoch
        {
            return &entry.value;
        }
        self.renew(current, epoch, init)
    }

    #[cold]
    fn renew(&self, seen: *mut Epoched<T>, epoch: u64, init: impl FnOnce() -> T) -> &T {
        let fresh = Box::into_raw(Box::new(Epoched { epoch, value: init() }));
        // AcqRel: publishes the fresh entry whole; sees the entry of a thread that won.
        match self.current.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The parent's entry (if any) is forgotten, never dropped: see the type's doc.
            // SAFETY: `fresh` was just leaked and is now the current entry.
            Ok(_) => unsafe { &(*fresh).value },
            Err(winner) => {
                // SAFETY: `fresh` was never shared; the winner's entry is a leaked box of this
                // epoch (a child's threads all run in its epoch).
                unsafe {
                    drop(Box::from_raw(fresh));
                    &(*winner).value
                }
            }
        }
    }
}

impl<T> Drop for PerProcess<T> {
    fn drop(&mut self) {
        let current = *self.current.get_mut();
        if current.is_null() {
            return;
        }
        // SAFETY: a leaked box; `&mut self` means no reference into it is alive.
        let entry = unsafe { Box::from_raw(current) };
        if entry.epoch != fork_epoch() {
            // The parent's, as its threads left it at the fork: forget it.
            std::mem::forget(entry);
        }
    }
}

// SAFETY: a `PerProcess<T>` hands out `&T` to any thread, as a `&T` in an `Arc` would.
unsafe impl<T: Send + Sync> Sync for PerProcess<T> {}
// SAFETY: it owns its `T` (through a pointer), like a `Box<T>`.
unsafe impl<T: Send> Send for PerProcess<T> {}
