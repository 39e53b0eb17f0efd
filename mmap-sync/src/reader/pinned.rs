//! Pins as values: a copy pinned on a slot word is released when the value drops (reader step
//! 5), so no path, early return or error can forget it. [`PinnedCopy`] is a pin being decided
//! on (steps 1–4 or 4' done, the copy not yet served); [`Pinned`] is a served copy of a thread's
//! slot, which the [`ReadGuard`](super::ReadGuard) holds. These two drops are the only places a
//! reader releases a pin.

use std::sync::atomic::AtomicU64;

use super::thread_slot::{Left, Orphan, ThreadSlot};
use crate::protocol;

/// A copy pinned on `pin` (reader steps 1–4, or step 4'), not yet served: its drop releases the
/// pin (step 5). A read that serves it turns it into a [`Pinned`] of the thread's slot; a
/// validation that only needed the copy to stay put lets it drop.
#[must_use]
pub(crate) struct PinnedCopy<'a> {
    pin: &'a AtomicU64,
    active: u64,
}

impl<'a> PinnedCopy<'a> {
    /// Reader steps 1–4 on `pin`: the copy `active` names now, pinned exactly.
    #[inline]
    pub fn active(pin: &'a AtomicU64, active: &AtomicU64) -> Self {
        let a2 = protocol::pin_active(active, pin);
        // Step 4: the exact pin also protects the copy while it is validated.
        protocol::narrow(pin, a2);
        PinnedCopy { pin, active: a2 }
    }

    /// Reader steps 1–3 on `pin`, for the hot path: the range pin taken and the copy loaded;
    /// the caller narrows it ([`narrow`](Self::narrow)) once it knows it will read it.
    #[inline(always)]
    pub fn ranged(pin: &'a AtomicU64, active: &AtomicU64) -> Self {
        PinnedCopy { pin, active: protocol::pin_active(active, pin) }
    }

    /// A slot word that holds no pin, for step 4' alone ([`validated`](Self::validated)).
    #[inline]
    pub fn unpinned(pin: &'a AtomicU64) -> Self {
        PinnedCopy { pin, active: 0 }
    }

    /// Reader step 4 after [`ranged`](Self::ranged).
    #[inline(always)]
    pub fn narrow(&self) {
        protocol::narrow(self.pin, self.active);
    }

    /// Reader step 4' on `pin`, moving whatever it pinned to the validated generation
    /// `validated` (an `active` word) held by the copy whose descriptor generation is
    /// `copy_generation`. `Err` gives the pin back unread when the copy no longer holds it
    /// (dropping it releases it).
    #[inline]
    pub fn validated(
        self,
        copy_generation: &AtomicU64,
        validated: u64,
    ) -> Result<Self, PinnedCopy<'a>> {
        let pin = self.pin;
        std::mem::forget(self);
        let held = protocol::pin_validated(pin, copy_generation, validated);
        let copy = PinnedCopy { pin, active: validated };
        if held { Ok(copy) } else { Err(copy) }
    }

    /// The `active` word of the pinned copy: its generation and copy index.
    #[inline(always)]
    pub fn active_word(&self) -> u64 {
        self.active
    }

    /// Hands the pin to a guard: `slot` must be the thread slot whose pin word this is, holding
    /// no other guard.
    #[inline(always)]
    pub fn into_pinned(self, slot: &'a ThreadSlot, root: *const u8) -> Pinned<'a> {
        debug_assert!(std::ptr::eq(self.pin, slot.pin()));
        let active = self.active;
        std::mem::forget(self);
        Pinned { slot, active, root }
    }
}

impl Drop for PinnedCopy<'_> {
    #[inline]
    fn drop(&mut self) {
        // Reader step 5: nothing was served from the copy.
        protocol::release(self.pin);
    }
}

/// A copy served to the calling thread through its slot, with its generation, copy index and
/// archived root.
/// Several may share the thread's pin (nested reads of the same generation); the last one's
/// drop releases it (reader step 5), and, if the thread's list of slots is already gone (the
/// guard was kept in a thread-local that outlived it), gives the slot back.
#[must_use]
pub(crate) struct Pinned<'a> {
    slot: &'a ThreadSlot,
    /// The `active` word of the copy served: its generation and copy index, the copy whose
    /// validated root `root` is.
    active: u64,
    root: *const u8,
}

impl<'a> Pinned<'a> {
    /// One more guard on the generation the thread's pin already holds (a nested read), in
    /// the copy `active` names.
    #[inline]
    pub fn nested(slot: &'a ThreadSlot, active: u64, root: *const u8) -> Self {
        slot.enter_nested();
        Pinned { slot, active, root }
    }

    /// The generation served.
    #[inline(always)]
    pub fn generation(&self) -> u64 {
        protocol::generation(self.active)
    }

    /// The copy served: the one whose validated root [`root`](Self::root) is.
    #[inline(always)]
    pub fn copy(&self) -> usize {
        protocol::copy(self.active)
    }

    /// The archived root of the generation served, in the channel's mapping.
    #[inline(always)]
    pub fn root(&self) -> *const u8 {
        self.root
    }
}

impl Drop for Pinned<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Left::Last { orphaned } = self.slot.leave() {
            // Reader step 5: the thread's last guard on this reader.
            protocol::release(self.slot.pin());
            if orphaned {
                // SAFETY: `leave` said this was the last guard of an orphaned thread slot, and
                // its pin was just released; `self.slot` is not used again.
                unsafe { Orphan::give_back(self.slot) };
            }
        }
    }
}
