//! The background validator of a reader opened with `validate_in_background(true)`: one thread
//! per reader and process that waits for publishes and validates each new generation as soon as
//! it appears, so that no read ever runs a validation.
//!
//! It holds two reader slots: a *working* slot that pins the generation it validates, and a
//! *keeper* slot that pins the newest validated generation exactly. The keeper takes over each
//! new generation before the working pin is released, so the newest validated copy is pinned
//! without a gap and reads can always serve it (reader step 4' never finds it reclaimed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::path::Path;

use crate::error::{Error, Result};

/// What the validator needs of a reader (implemented by the reader's shared state).
pub(crate) trait Validated: Send + Sync + 'static {
    /// The published generation.
    fn generation(&self) -> u64;
    /// Pins the active generation in `working` (exactly), validates it, moves the keeper pin to
    /// it and publishes it as validated. Returns the generation handled.
    fn validate_newest(&self, working: &AtomicU64, keeper: &AtomicU64) -> Option<u64>;
    /// Claims a reader slot of the channel.
    fn claim_slot(&self) -> Result<(usize, *const AtomicU64)>;
    /// Gives a slot back.
    fn release_slot(&self, index: usize);
    /// Waits for a publish other than `since`, for at most `timeout`.
    fn wait(&self, since: u64, timeout: Duration);
    /// Sets (or clears) the waiter bit of slot `index`, so that every publish wakes the waits
    /// above (the writer wakes only when some waiter bit is set).
    fn set_waiting(&self, index: usize, waiting: bool);
    /// Wakes readers waiting for a validation.
    fn notify(&self);
    /// The channel's state file, for errors.
    fn state_path(&self) -> &Path;
}

/// How long the validator sleeps between looks when no publish wakes it.
const IDLE: Duration = Duration::from_millis(100);

/// Starts the validator and returns once it has validated the current generation (if any).
pub(crate) fn spawn<V: Validated>(shared: Arc<V>, stop: Arc<AtomicBool>) -> Result<()> {
    let access = &*shared;
    let (working, working_pin) = access.claim_slot()?;
    let (keeper, keeper_pin) = match access.claim_slot() {
        Ok(slot) => slot,
        Err(e) => {
            access.release_slot(working);
            return Err(e);
        }
    };
    // The pins point into the reader's mapping, which the thread keeps alive through `shared`.
    let pins = Pins { working: working_pin, keeper: keeper_pin };
    // Validate the current generation before `open` returns.
    let mut seen = shared.validate_newest(pins.working(), pins.keeper()).unwrap_or(0);
    // The validator always waits for the next publish: its waiter bit stays set for its life.
    shared.set_waiting(working, true);
    let thread_shared = shared.clone();
    std::thread::Builder::new()
        .name("mmap-sync-validator".into())
        .spawn(move || {
            let access = &*thread_shared;
            // Acquire: pairs with the handle's release when the last reader clone drops.
            while !stop.load(Ordering::Acquire) {
                let published = access.generation();
                if published != seen && published != 0 {
                    seen = access.validate_newest(pins.working(), pins.keeper()).unwrap_or(seen);
                    access.notify();
                    continue;
                }
                access.wait(seen, IDLE);
            }
            access.set_waiting(working, false);
            access.release_slot(keeper);
            access.release_slot(working);
        })
        .map_err(|e| Error::io(shared.state_path(), e))?;
    Ok(())
}

/// The validator's two pin words.
#[derive(Clone, Copy)]
struct Pins {
    working: *const AtomicU64,
    keeper: *const AtomicU64,
}

// SAFETY: the pointers name slots of a mapping that the validator thread keeps alive (it holds
// the reader's shared state); the words are atomics.
unsafe impl Send for Pins {}

impl Pins {
    fn working(&self) -> &AtomicU64 {
        // SAFETY: see the Send impl.
        unsafe { &*self.working }
    }

    fn keeper(&self) -> &AtomicU64 {
        // SAFETY: see the Send impl.
        unsafe { &*self.keeper }
    }
}
