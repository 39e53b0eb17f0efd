//! `fork()`: the epoch that tells a handle it now lives in a child, the hooks run in the child,
//! the process and thread ids a fork changes, and [`PerProcess`], state that a child gets fresh
//! instead of inheriting as its parent's threads left it.

use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

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
    // Every reader's open registers its hook again: a look first finds it without a locked
    // instruction. Acquire: as the compare-exchange's failure load below.
    if CHILD_HOOKS.iter().any(|place| place.load(Ordering::Acquire) == address) {
        return;
    }
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

    /// This process image's value, if it has one, through the only reference there is: no
    /// other thread can be using it.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        let current = *self.current.get_mut();
        // SAFETY: entries are leaked boxes, freed only by `drop`; `&mut self` means no other
        // reference into this one is alive.
        let entry = unsafe { current.as_mut() }?;
        (entry.epoch == fork_epoch()).then_some(&mut entry.value)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_mut_reaches_this_process_images_value_and_not_a_parents() {
        let mut empty = PerProcess::<u32>::new();
        assert!(empty.get_mut().is_none(), "nothing was made yet");

        let mut held = PerProcess::with(7u32);
        *held.get_mut().expect("made in this process image") += 1;
        assert_eq!(*held.get(|| 0), 8, "the change is seen through `get`");

        // In a child, the parent's value is not this image's: `get_mut` must not hand it out.
        // The child only loads and exits (async-signal-safe), and reports through its status.
        // SAFETY: the child runs no code that could need a lock another thread holds.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let status = if held.get_mut().is_none() { 0 } else { 1 };
            // SAFETY: leaves the child at once, without running the parent's destructors.
            unsafe { libc::_exit(status) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "the child did not exit: status {status}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "the child was handed its parent's value");
        assert_eq!(held.get_mut().copied(), Some(8), "the parent keeps its value");
    }
}
