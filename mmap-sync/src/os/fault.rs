//! The fault guard: a process-wide SIGBUS handler that turns a touched page past the end of a
//! truncated channel file into a recorded fault instead of a crash.

use std::ptr::{self, NonNull};
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::page::page_size;

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
    pub(super) fn register(
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

    pub(super) fn faults(&self) -> u64 {
        // Acquire: pairs with the handler's increment, which happens before the faulting access
        // completes; a reader of the count after its own access sees its own fault.
        self.entry.faults.load(Ordering::Acquire)
    }

    pub(super) fn unregister(&self) {
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
                // Relaxed: a look before the compare-exchange (a locked instruction each) below,
                // which decides; entries in use are passed over without one.
                if region.start.load(Ordering::Relaxed) != 0 {
                    continue;
                }
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
///
/// `page_size()` is called here as a plain atomic load: a fault is handled only inside a
/// registered region, and every region was registered by `Mapping::map_with`, which asked for
/// the page size (and so cached it) before registering. The handler never reaches `sysconf`.
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
