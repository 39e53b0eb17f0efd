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

use super::pinned::PinnedCopy;
use super::shared::ReaderShared;
use super::validated::Check;
use super::wait;
use crate::error::{Error, Result};
use crate::protocol;

/// How long the validator sleeps between looks when no publish wakes it.
const IDLE: Duration = Duration::from_millis(100);

/// Starts the validator and returns once it has validated the current generation (if any).
pub(super) fn spawn(shared: Arc<ReaderShared>, stop: Arc<AtomicBool>) -> Result<()> {
    let files = &shared.files;
    let (working, working_pin) = shared.claims.claim(files)?;
    let (keeper, keeper_pin) = match shared.claims.claim(files) {
        Ok(slot) => slot,
        Err(e) => {
            shared.claims.release(files, working);
            return Err(e);
        }
    };
    // The pins point into the reader's mapping, which the thread keeps alive through `shared`.
    let pins = Pins { working: working_pin, keeper: keeper_pin };
    // Validate the current generation before `open` returns.
    let mut seen = validate_newest(&shared, pins).unwrap_or(0);
    // The validator always waits for the next publish: its waiter bit stays set for its life.
    wait::set_waiting(files, working, true);
    let thread_shared = shared.clone();
    std::thread::Builder::new()
        .name("mmap-sync-validator".into())
        .spawn(move || {
            let shared = thread_shared;
            // Acquire: pairs with the handle's release when the last reader clone drops.
            while !stop.load(Ordering::Acquire) {
                let published = shared.generation();
                if published != seen && published != 0 {
                    seen = validate_newest(&shared, pins).unwrap_or(seen);
                    continue;
                }
                wait::wait_for_publish(&shared.files, seen, IDLE);
            }
            let files = &shared.files;
            wait::set_waiting(files, working, false);
            shared.claims.release(files, keeper);
            shared.claims.release(files, working);
        })
        .map_err(|e| Error::io(&shared.paths().state, e))?;
    Ok(())
}

/// Pins the active generation on the working slot, validates it, moves the keeper pin to it and
/// lets the working pin go; then wakes the readers waiting for a validation. Returns the
/// generation handled (`None`: the `active` word names nothing readable).
fn validate_newest(shared: &ReaderShared, pins: Pins) -> Option<u64> {
    let copy = PinnedCopy::active(pins.working(), shared.active());
    let a2 = copy.active_word();
    let handled = shared.check_active(a2).is_ok().then(|| {
        let files = &shared.files;
        let memo = shared.validated.lock(files);
        if shared.validated.validate(files, a2, Check::Safe, memo, false).is_ok() {
            // SeqCst: the keeper takes over the pin before the working pin goes (gap-free).
            pins.keeper().store(protocol::exact_pin(a2), Ordering::SeqCst);
        }
        protocol::generation(a2)
    });
    // The working pin goes only now, after the keeper took over.
    drop(copy);
    shared.validated.notify(&shared.files);
    handled
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
