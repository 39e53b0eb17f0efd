//! The read protocol alone, on a mapping like a channel's: the floor a safe read is held to.
//!
//! One page of a `MAP_SHARED` mapping of a /dev/shm file holds the `active` word (its own cache
//! line), one reader's pin (a private, 64-byte-aligned cache line) and a word per copy that the
//! "read" loads, as a read of `guard.version` does. Each call runs reader steps 1 to 5 of the
//! protocol through the runtime's own functions for them (`ours::protocol`).

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use ours::protocol;

use crate::harness::sys::SharedMap;

const ACTIVE: usize = 0;
/// Two cache lines after `active`, so that neither the line nor its prefetch pair is shared.
const PIN: usize = 128;
const DATA: usize = 256;
const LEN: usize = 4096;

/// `active` = generation 5 in copy 1.
const ACTIVE_WORD: u64 = protocol::pack(5, 1);

pub struct Bare {
    map: SharedMap,
}

impl Bare {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let map = SharedMap::create(path, LEN)?;
        let bare = Bare { map };
        bare.word(ACTIVE).store(ACTIVE_WORD, Ordering::SeqCst);
        for copy in 0..4 {
            bare.word(DATA + 8 * copy).store(7, Ordering::Relaxed);
        }
        Ok(bare)
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is 8-aligned and inside the mapping (page-aligned, LEN bytes), which
        // lives as long as `self`; the words are only ever accessed atomically.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// One protocol read per call. The words are reached through pointers the compiler cannot
    /// see through (`black_box`), so it cannot prove anything about them and emits every
    /// access as written (on x86-64: the two SeqCst loads, an `xchg` for the SeqCst store, two
    /// plain stores for the release stores, and the data load).
    pub fn read_op(&self) -> impl FnMut() + '_ {
        let active: &AtomicU64 = black_box(self.word(ACTIVE));
        let pin: &AtomicU64 = black_box(self.word(PIN));
        let data: &AtomicU64 = black_box(self.word(DATA));
        move || {
            // Steps 1 to 3.
            let a2 = protocol::pin_active(active, pin);
            // Step 4: the exact generation.
            protocol::narrow(pin, a2);
            // The read itself: one word of copy `copy(a2)`.
            // SAFETY: the copy index is masked to the 4 words written in `create`, all inside
            // the mapping; they are atomics.
            let word = unsafe { &*(data as *const AtomicU64).add(protocol::copy(a2) & 3) };
            black_box(word.load(Ordering::Relaxed));
            // Step 5.
            protocol::release(pin);
        }
    }
}
