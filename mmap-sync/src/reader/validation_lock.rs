//! The validation lock: one validator per process and reader at a time, elected by the first
//! read of a new generation. Taking it is one compare-exchange; giving it back is a plain
//! store, not the read-modify-write `std::sync::Mutex` pays on every unlock to learn whether
//! someone sleeps. On the first read of a small value those two locked instructions were a
//! quarter of the read's cost beyond the validation itself.
//!
//! Threads that find it taken either go elsewhere (a read serves the newest validated
//! generation instead) or wait in [`lock`](ValidationLock::lock), which spins briefly and then
//! sleeps on the lock word, marked "sleepers". An unlock that sees the mark wakes them. One
//! that loaded the word just before a sleeper marked it and stored its release just after
//! misses that sleeper: every sleep is therefore a nap of at most [`NAP`], after which the
//! sleeper looks again. Holders are validations and a few short bookkeeping sections, so a
//! miss costs at most one nap, and no thread ever sleeps on a free lock for longer than that.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::os;

/// Free.
const FREE: u32 = 0;
/// Held, nobody marked as sleeping.
const HELD: u32 = 1;
/// Held, and a thread may sleep on the word: the unlock wakes.
const SLEEPERS: u32 = 2;

/// The longest a waiting thread sleeps before it looks at the lock again (see the module doc).
const NAP: Duration = Duration::from_millis(1);

/// Checks of a taken lock before a waiting thread sleeps.
const SPINS: u32 = 100;

/// A lock around `T` (the memo of validations) with a plain-store unlock.
pub(super) struct ValidationLock<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and at most one guard exists at a time
// (the state word's compare-exchange and swap hand the lock to one thread); `T: Send` lets it
// be used from whichever thread holds the lock.
unsafe impl<T: Send> Sync for ValidationLock<T> {}
// SAFETY: owning the lock owns the value.
unsafe impl<T: Send> Send for ValidationLock<T> {}

/// The lock held: the value, and the unlock when it drops.
#[must_use]
pub(super) struct ValidationGuard<'a, T> {
    lock: &'a ValidationLock<T>,
}

impl<T> ValidationLock<T> {
    pub fn new(value: T) -> Self {
        ValidationLock { state: AtomicU32::new(FREE), value: UnsafeCell::new(value) }
    }

    /// The lock, unless another thread holds it.
    #[inline]
    pub fn try_lock(&self) -> Option<ValidationGuard<'_, T>> {
        // Acquire: the previous holder's writes to the value (before its Release store of FREE)
        // are seen. Relaxed on failure: nothing is read.
        // (A guard is made only on success: its drop unlocks.)
        match self.state.compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => Some(ValidationGuard { lock: self }),
            Err(_) => None,
        }
    }

    /// The lock, waiting for it.
    pub fn lock(&self) -> ValidationGuard<'_, T> {
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            for _ in 0..SPINS {
                std::hint::spin_loop();
                // Relaxed: a hint; the compare-exchange or swap below decides.
                if self.state.load(Ordering::Relaxed) == FREE {
                    break;
                }
            }
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            // Marks the lock as slept on. Acquire: if it was free, this swap took it, and the
            // previous holder's writes are seen. The guard then unlocks with a wake, harmless.
            if self.state.swap(SLEEPERS, Ordering::Acquire) == FREE {
                return ValidationGuard { lock: self };
            }
            if os::futex_wait(&self.state, SLEEPERS, Some(NAP)).is_err() {
                // No futex: a nap all the same, never a spin.
                std::thread::sleep(NAP);
            }
        }
    }
}

impl<T> ValidationGuard<'_, T> {
    /// Gives the lock back; wakes the threads that marked it.
    #[inline]
    fn unlock(&self) {
        let state = &self.lock.state;
        // Relaxed: only the holder stores HELD or FREE; a sleeper's mark seen late is covered by
        // its nap (module doc).
        let marked = state.load(Ordering::Relaxed) != HELD;
        // Release: the holder's writes to the value happen before the next holder's Acquire.
        state.store(FREE, Ordering::Release);
        if marked {
            let _ = os::futex_wake_all(state);
        }
    }
}

impl<T> Deref for ValidationGuard<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for ValidationGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for ValidationGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.unlock();
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ValidationLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationLock").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn try_lock_refuses_while_held_and_succeeds_after() {
        let lock = ValidationLock::new(0u32);
        let guard = lock.try_lock().expect("free");
        assert!(lock.try_lock().is_none());
        drop(guard);
        assert!(lock.try_lock().is_some());
    }

    /// Threads taking the lock by both ways count without a lost update, and sleepers are woken
    /// (or nap) until every one is done.
    #[test]
    fn counts_exactly_under_contention() {
        const THREADS: usize = 4;
        const ROUNDS: u64 = 20_000;
        let lock = Arc::new(ValidationLock::new(0u64));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..ROUNDS {
                        let mut guard = if (i + t as u64).is_multiple_of(3) {
                            loop {
                                if let Some(g) = lock.try_lock() {
                                    break g;
                                }
                                std::hint::spin_loop();
                            }
                        } else {
                            lock.lock()
                        };
                        // A read and a write apart: a second holder would lose updates.
                        let seen = *guard;
                        if i.is_multiple_of(1000) {
                            std::thread::yield_now();
                        }
                        *guard = seen + 1;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert_eq!(*lock.lock(), THREADS as u64 * ROUNDS);
    }

    /// A thread that sleeps on the lock while it is held for long gets it once it is given back.
    #[test]
    fn a_sleeper_gets_the_lock_after_a_long_hold() {
        let lock = Arc::new(ValidationLock::new(0u32));
        let guard = lock.lock();
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                *lock.lock() += 1;
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "the waiter took a held lock");
        drop(guard);
        waiter.join().expect("waiter");
        assert_eq!(*lock.lock(), 1);
    }
}
