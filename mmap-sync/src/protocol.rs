//! The reader/writer protocol, and why it is correct.
//!
//! Every shared-memory step of the protocol is a function in this module, written against the
//! small [`Word`] trait; `reader.rs`, `guard.rs` and `writer.rs` call these functions on the
//! atomics of the mapped files, and the loom tests (the repository's `tests/tests/loom.rs`, see
//! its doc) call the very same functions on loom's atomics. The decisions (which copy is free,
//! which pin blocks what) exist once, here, and the exhaustive model check at the bottom of this
//! file drives them.
//!
//! # The shared words
//!
//! * `active` (in `P_state`): `generation << 8 | copy`, the copy that holds the newest published
//!   generation. Written only by the writer. 0 while nothing is published.
//! * one `pin` per reader slot (in `P_readers`): 0 when the slot's owner reads nothing; otherwise
//!   either a *range pin* `g` ("I may be reading any generation >= g") or an *exact pin*
//!   `g | EXACT` (bit 63 set: "I am reading generation g and nothing else").
//! * per copy, the generation it holds (`generation` in its descriptor in `P_state`), written only
//!   by the writer: the copy's generation while it holds a published or publishable value, 0
//!   while it holds nothing or the writer is deciding whether it may take it (a *mark*).
//! * `slot_high_water` (in `P_readers`): one past the highest slot index ever claimed.
//!
//! # Reader: the wait-free read (steps 1–5)
//!
//! 1. `a1 = active.load(SeqCst)`
//! 2. `pin.store(gen(a1), SeqCst)` — a range pin: the writer must now keep every copy holding a
//!    generation >= gen(a1).
//! 3. `a2 = active.load(SeqCst)`; the reader reads copy `copy(a2)`, which holds `gen(a2)`.
//! 4. `pin.store(gen(a2) | EXACT, Release)` — narrows the pin to the one generation being read,
//!    so that a reader holding an old copy for a long time blocks only that copy.
//! 5. when done: `pin.store(0, Release)`.
//!
//! These are [`pin_active`] (1–3), [`narrow`] (4) and [`release`] (5): five memory operations,
//! no loop, no system call.
//!
//! # Reader: reading an older, validated generation (steps 4'–5)
//!
//! A process validates each generation once; while a new one is being validated, its other
//! threads read the newest generation already validated, `v`, which may no longer be active.
//! Instead of step 4 such a thread performs [`pin_validated`]:
//!
//! 4'. `pin.store(gen(v) | EXACT, SeqCst)`, then `h = generation(copy(v)).load(SeqCst)`; it reads
//!     copy `copy(v)` only if `h == gen(v)`, else it releases the pin and does not read it.
//!
//! # Writer, publishing generation n+1 while n is active ([`acquire`] and [`publish`])
//!
//! 1. *Mark* every candidate copy (each copy but the active one): `generation(c).store(0,
//!    SeqCst)`.
//! 2. Load the high-water mark, then scan the pins of every slot below it (SeqCst loads). A candidate `c`
//!    holding generation `h` (the writer's own record) is *free* when every pin allows it
//!    ([`pin_allows`]: 0, a range pin `> h`, or an exact pin `!= h`). Take the free candidate
//!    holding the oldest generation ([`choose_copy`]); give every other candidate its generation
//!    back (`generation(c).store(h, SeqCst)`).
//! 3. Write the value into the chosen copy, then its length, checksum and fingerprint, then
//!    `generation(c).store(n+1, Release)`.
//! 4. `active.store(pack(n+1, c), SeqCst)`, bump the futex word, wake waiters if any.
//!
//! # Why the writer never writes a copy a reader is reading
//!
//! All SeqCst operations fall in one total order S. Suppose the writer writes copy `c` (step 3)
//! after a scan (step 2) that found `c` free, while some reader reads `c`.
//!
//! *The reader came through steps 1–4, reading generation `h = gen(a2)`.* If the scan's load of
//! this reader's pin comes after its step 2 in S, it sees the range pin `gen(a1) <= h` or the
//! exact pin `h` (both cover `c`), or 0 only after step 5 — so the scan cannot find `c` free
//! while the reader reads it. If the load comes before step 2, then the publish that replaced `h`
//! as active (program order: before this scan, since `c` is not active at the scan) precedes the
//! reader's step 3 in S, so `a2` names that generation or a newer one, never `h` — contradiction.
//! Without step 3 (reading `copy(a1)`, as upstream mmap-sync does) this second case breaks: the
//! writer can scan between steps 1 and 2 and overwrite `copy(a1)` under the reader.
//!
//! *The reader came through step 4', reading `v`.* Its check loaded `h == gen(v)`. The writer's
//! mark of `c` (step 1) precedes its scan in program order. If the mark came before the check in
//! S, the check would have loaded 0 or a later generation (generations only grow, and a restore
//! writes back `gen(v)` only when that scan found `c` blocked, in which case that attempt does
//! not write `c`); so the check precedes the mark, the reader's exact pin precedes the check, and
//! the scan, after the mark, sees the exact pin `gen(v)`, which blocks `c`. Without the check
//! (trusting that `v` was validated once), a writer whose scan ran just before the pin could
//! overwrite `copy(v)` under the reader; the model check below finds exactly that when the check
//! is removed, as it finds the torn read when step 3 is removed.
//!
//! Step 4's release store is ordered after step 3's load, so a writer that sees the exact pin
//! sees it only once `a2` is fixed. Step 5's release store, paired with the writer's load,
//! orders all of the reader's accesses to the copy before the writer's next write of it.
//!
//! # Slots: claiming, the high-water mark, and dead readers
//!
//! A reader slot is owned by whoever holds the exclusive open-file-description lock on its
//! first byte in `P_readers` (LMDB finds its stale readers the same way, by the kernel's
//! locks rather than by timeouts). Claiming ([`claim`]): take the lock, `pin.store(0, SeqCst)`
//! (a dead owner may have left a pin), then `slot_high_water.fetch_max(index + 1, SeqCst)`. Only
//! after that does the new owner pin anything, so a writer's scan that begins after the first
//! pin of the slot loads a high-water mark that covers it (both are SeqCst; the fetch_max
//! precedes the pin in program order). The writer keeps its own maximum of every high-water mark
//! it has seen ([`high_water`]): a reader lowering the shared word can hide no slot the writer
//! has already seen.
//!
//! A dead reader's lock is gone; its pin may stay. When a scan finds every candidate blocked,
//! the writer tries the lock of each slot whose pin blocks a candidate. If it gets the lock, the
//! owner is dead: it clears the pin *while holding the lock* (so a reader claiming the slot at
//! that moment cannot have its fresh pin erased: it cannot hold the lock yet) and unlocks. A
//! live reader's lock is held, so its pin is never cleared. The writer then scans again.
//!
//! # What the argument assumes
//!
//! That every process that can write `P_readers` follows this protocol. A process with write
//! access to `P_readers` can store 0 into another reader's pin, or lower the high-water mark
//! before the writer has seen a new slot; the writer then may overwrite a copy that reader is
//! reading. No file that every reader may write can prevent this (LMDB states the same of its
//! lock file); the README's trust model says who must be trusted for it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// One 64-bit shared word, as the protocol uses it. Implemented for `std`'s `AtomicU64` (the
/// mapped files) and, in the loom tests, for loom's.
pub trait Word {
    /// An atomic load.
    fn load(&self, order: Ordering) -> u64;
    /// An atomic store.
    fn store(&self, value: u64, order: Ordering);
}

/// The 32-bit high-water mark, as the protocol uses it (see [`Word`]).
pub trait HighWater {
    /// An atomic load.
    fn load(&self, order: Ordering) -> u32;
    /// An atomic maximum.
    fn fetch_max(&self, value: u32, order: Ordering) -> u32;
}

impl HighWater for AtomicU32 {
    #[inline(always)]
    fn load(&self, order: Ordering) -> u32 {
        AtomicU32::load(self, order)
    }

    #[inline(always)]
    fn fetch_max(&self, value: u32, order: Ordering) -> u32 {
        AtomicU32::fetch_max(self, value, order)
    }
}

impl Word for AtomicU64 {
    #[inline(always)]
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }

    #[inline(always)]
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order)
    }
}

/// Set in a pin that names exactly one generation (reader step 4).
pub const EXACT: u64 = 1 << 63;

/// The `active` word for `generation` held by `copy`.
#[inline]
pub const fn pack(generation: u64, copy: usize) -> u64 {
    (generation << 8) | copy as u64
}

/// The generation part of an `active` word (0: nothing published).
#[inline]
pub const fn generation(active: u64) -> u64 {
    active >> 8
}

/// The copy part of an `active` word.
#[inline]
pub const fn copy(active: u64) -> usize {
    (active & 0xff) as usize
}

/// The highest generation an `active` word can carry; publishing past it would wrap to 0.
pub const LAST_GENERATION: u64 = u64::MAX >> 8;

/// Reader step 2: the range pin for the first load of `active`.
#[inline]
pub const fn range_pin(a1: u64) -> u64 {
    generation(a1)
}

/// Reader step 4: the exact pin for the copy actually read.
#[inline]
pub const fn exact_pin(a2: u64) -> u64 {
    generation(a2) | EXACT
}

/// Whether `pin` (a slot's value) allows overwriting a copy that holds `held`. This is the one
/// "is this copy blocked" rule of the crate.
#[inline]
pub const fn pin_allows(pin: u64, held: u64) -> bool {
    if pin == 0 || held == 0 {
        true
    } else if pin & EXACT != 0 {
        pin & !EXACT != held
    } else {
        pin > held
    }
}

/// The copy the `active` word names, or `None` while nothing is published.
#[inline]
pub const fn active_copy(active: u64) -> Option<usize> {
    if generation(active) == 0 { None } else { Some(copy(active)) }
}

/// Whether copy `c` is a candidate for the next publish: every copy but the active one.
#[inline]
pub const fn is_candidate(active: u64, c: usize) -> bool {
    match active_copy(active) {
        Some(a) => a != c,
        None => true,
    }
}

/// Copies blocked by some pin, one bit per copy.
pub type Blocked = u32;

/// Adds to `blocked` every candidate copy whose generation `pin` forbids overwriting.
#[inline]
pub fn mark_blocked(pin: u64, active: u64, held: &[u64], blocked: &mut Blocked) {
    if pin == 0 {
        return;
    }
    for (c, &h) in held.iter().enumerate() {
        if is_candidate(active, c) && !pin_allows(pin, h) {
            *blocked |= 1 << c;
        }
    }
}

/// Among the candidates not in `blocked`, the one holding the oldest generation (lowest index
/// on ties): the copy least likely to be wanted by a reader that loaded `active` a while ago.
pub fn choose_copy(active: u64, held: &[u64], blocked: Blocked) -> Option<usize> {
    (0..held.len())
        .filter(|&c| is_candidate(active, c) && blocked & (1 << c) == 0)
        .min_by_key(|&c| held[c])
}

// ---------------------------------------------------------------------------------------------
// Reader steps
// ---------------------------------------------------------------------------------------------

/// Reader steps 1–3: returns `a2`, the `active` word whose copy the reader may now read (after
/// step 4). The slot's pin is a range pin when this returns.
#[inline(always)]
pub fn pin_active<W: Word>(active: &W, pin: &W) -> u64 {
    // Step 1. SeqCst: the proof orders it with the writer's publish.
    let a1 = active.load(Ordering::SeqCst);
    // Step 2. SeqCst: it must be ordered before the re-load below (a store followed by a load
    // of another address is the one reordering x86 allows; SeqCst forbids it).
    pin.store(range_pin(a1), Ordering::SeqCst);
    // Step 3. SeqCst: in the total order with the writer's scan (see the proof).
    active.load(Ordering::SeqCst)
}

/// Reader step 4: narrows the pin to the generation of `a2`.
#[inline(always)]
pub fn narrow<W: Word>(pin: &W, a2: u64) {
    // Release: keeps the store after the re-load of step 3.
    pin.store(exact_pin(a2), Ordering::Release);
}

/// Reader step 5: releases the pin.
#[inline(always)]
pub fn release<W: Word>(pin: &W) {
    // Release: every read of the copy happens before a writer that loads this 0 writes it.
    pin.store(0, Ordering::Release);
}

/// Reader step 4': pins generation `gen(validated)` of copy `copy(validated)`, which may no
/// longer be active, and returns whether the copy still holds it. On `false` the reader must
/// not read the copy (the pin stays until it stores another or releases).
#[inline]
pub fn pin_validated<W: Word>(pin: &W, copy_generation: &W, validated: u64) -> bool {
    // SeqCst: the pin precedes the check below in S (see the proof).
    pin.store(exact_pin(validated), Ordering::SeqCst);
    // SeqCst: in the total order with the writer's mark.
    copy_generation.load(Ordering::SeqCst) == generation(validated)
}

// ---------------------------------------------------------------------------------------------
// Writer steps
// ---------------------------------------------------------------------------------------------

/// Writer steps 1–2: marks every candidate, loads the high-water mark (the writer's own maximum
/// of it, see [`high_water`]), scans the pins of the slots below it, and returns the chosen
/// copy, or the set of blocked candidates when none is free. Every mark is undone except the
/// chosen copy's, whose generation stays 0 until [`commit_copy`]. `held[c]` is the writer's
/// record of the generation copy `c` holds; `pin(i)` is slot `i`'s pin. The high-water mark is
/// loaded after the marks: a reader whose step 4' check precedes the marks claimed its slot
/// before, so the scan covers it.
#[inline]
pub fn acquire<'a, W: Word + 'a, H: HighWater>(
    active: u64,
    held: &[u64],
    copy_generation: impl Fn(usize) -> &'a W,
    high_water_mark: &H,
    seen_high_water: &mut usize,
    slots: usize,
    pin: impl Fn(usize) -> &'a W,
) -> Result<usize, Blocked> {
    for c in 0..held.len() {
        if is_candidate(active, c) {
            // Step 1. SeqCst: the mark precedes the scan in S (see the proof of step 4').
            copy_generation(c).store(0, Ordering::SeqCst);
        }
    }
    let mut blocked = 0;
    let scan = high_water(seen_high_water, high_water_mark, slots);
    // Eight slots at a time: most pins are 0 (readers between reads), and one test of the
    // eight or-ed together keeps the scan of many readers close to one load per slot, with the
    // loads independent of each other.
    let mut i = 0;
    while i + 8 <= scan {
        // Step 2. SeqCst (all eight): in the total order with the readers' pins.
        let pins: [u64; 8] = std::array::from_fn(|k| pin(i + k).load(Ordering::SeqCst));
        if pins.iter().fold(0, |acc, p| acc | p) != 0 {
            for p in pins {
                mark_blocked(p, active, held, &mut blocked);
            }
        }
        i += 8;
    }
    while i < scan {
        // Step 2, the last few slots.
        mark_blocked(pin(i).load(Ordering::SeqCst), active, held, &mut blocked);
        i += 1;
    }
    let chosen = choose_copy(active, held, blocked);
    for (c, &h) in held.iter().enumerate() {
        if is_candidate(active, c) && Some(c) != chosen && h != 0 {
            // SeqCst: a reader's step 4' check that loads this value again comes after it in S;
            // the proof only needs that the value is the copy's real generation.
            copy_generation(c).store(h, Ordering::SeqCst);
        }
    }
    chosen.ok_or(blocked)
}

/// Writer step 3's last store: the chosen copy now holds `generation` (its bytes and descriptor
/// fields are written).
#[inline]
pub fn commit_copy<W: Word>(copy_generation: &W, generation: u64) {
    // Release: a reader that sees this generation (through `active`) sees the bytes.
    copy_generation.store(generation, Ordering::Release);
}

/// Writer step 4: makes `generation` in `copy` the active one.
#[inline]
pub fn publish<W: Word>(active: &W, generation: u64, copy: usize) {
    // SeqCst: the readers' correctness argument orders this store before this writer's next
    // scan of the pins.
    active.store(pack(generation, copy), Ordering::SeqCst);
}

/// Claiming a slot, after its lock is taken: clears a dead owner's pin and raises the
/// high-water mark so the writer scans the slot.
#[inline]
pub fn claim<W: Word, H: HighWater>(pin: &W, high_water: &H, index: usize) {
    // SeqCst: precedes the high-water raise and every later pin of this slot.
    pin.store(0, Ordering::SeqCst);
    // SeqCst: precedes the new owner's first pin in S (see the slot argument above).
    high_water.fetch_max(index as u32 + 1, Ordering::SeqCst);
}

/// The writer's high-water mark: its own maximum of every value it has loaded, within the
/// table's `slots`. A reader lowering the shared word can hide no slot seen before.
#[inline]
pub fn high_water<H: HighWater>(seen: &mut usize, shared: &H, slots: usize) -> usize {
    // SeqCst: in the total order with the claimers' fetch_max (see the slot argument).
    let now = (shared.load(Ordering::SeqCst) as usize).min(slots);
    *seen = (*seen).max(now);
    *seen
}

#[cfg(test)]
mod model {
    //! Exhaustive exploration of every interleaving of one writer and several readers under
    //! sequential consistency (every shared access of the protocol is SeqCst, except the release
    //! stores of steps 4 and 5, which only ever weaken what the writer may conclude), including
    //! readers that claim a slot, read newest or older validated generations, and die holding a
    //! pin; and a writer that marks, scans below its high-water mark and reclaims dead slots.
    use super::*;
    use std::collections::HashSet;

    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    enum ReaderPc {
        /// Takes the slot lock, clears the pin.
        Claim,
        /// Raises the high-water mark.
        RaiseHighWater,
        Load1,
        Pin {
            a1: u64,
        },
        Reload,
        Narrow {
            a2: u64,
        },
        /// Step 4': pin the older validated generation `v`.
        PinValidated {
            v: u64,
        },
        CheckValidated {
            v: u64,
        },
        Reading {
            copy: usize,
            generation: u64,
        },
        Done,
        Dead,
    }

    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    enum WriterPc {
        Mark { copy: usize },
        LoadHighWater,
        Scan { slot: usize },
        Choose,
        Reclaim { slot: usize },
        Write { copy: usize },
        Publish { copy: usize },
        Done,
    }

    #[derive(Clone, PartialEq, Eq, Hash, Debug)]
    struct State {
        active: u64,
        /// The descriptors' generation words (marks included).
        generation: Vec<u64>,
        /// What each copy really holds (the writer's record).
        held: Vec<u64>,
        pins: Vec<u64>,
        locked: Vec<bool>,
        high_water: usize,
        writer_high_water: usize,
        blocked: Blocked,
        writing: Option<usize>,
        published: u64,
        writer: WriterPc,
        readers: Vec<(ReaderPc, u32)>,
    }

    #[derive(Clone, Copy)]
    struct Config {
        copies: usize,
        readers: usize,
        publishes: u64,
        reads: u32,
        reload: bool,
        narrow: bool,
        /// Readers may read the previous generation through step 4'.
        older: bool,
        /// Step 4' checks the copy's generation after pinning.
        check: bool,
        /// Readers claim their slot (and may die holding a pin) during the run.
        claims: bool,
    }

    fn explore(cfg: &Config) -> Result<usize, String> {
        let mut generation = vec![0; cfg.copies];
        generation[0] = 1;
        let start = State {
            active: pack(1, 0),
            held: generation.clone(),
            generation,
            pins: vec![0; cfg.readers],
            locked: vec![!cfg.claims; cfg.readers],
            high_water: if cfg.claims { 0 } else { cfg.readers },
            writer_high_water: 0,
            blocked: 0,
            writing: None,
            published: 1,
            writer: WriterPc::Mark { copy: 0 },
            readers: vec![
                (if cfg.claims { ReaderPc::Claim } else { ReaderPc::Load1 }, 0);
                cfg.readers
            ],
        };
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(s) = stack.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(next) = writer_step(cfg, &s)? {
                stack.push(next);
            }
            for r in 0..cfg.readers {
                for next in reader_steps(cfg, &s, r)? {
                    stack.push(next);
                }
            }
        }
        Ok(seen.len())
    }

    fn writer_step(cfg: &Config, s: &State) -> Result<Option<State>, String> {
        let mut n = s.clone();
        match s.writer {
            WriterPc::Done => return Ok(None),
            WriterPc::Mark { copy } if copy < cfg.copies => {
                if is_candidate(s.active, copy) {
                    n.generation[copy] = 0;
                }
                n.writer = WriterPc::Mark { copy: copy + 1 };
            }
            WriterPc::Mark { .. } => n.writer = WriterPc::LoadHighWater,
            WriterPc::LoadHighWater => {
                n.writer_high_water = s.writer_high_water.max(s.high_water);
                n.blocked = 0;
                n.writer = WriterPc::Scan { slot: 0 };
            }
            WriterPc::Scan { slot } if slot < s.writer_high_water => {
                mark_blocked(s.pins[slot], s.active, &s.held, &mut n.blocked);
                n.writer = WriterPc::Scan { slot: slot + 1 };
            }
            WriterPc::Scan { .. } => n.writer = WriterPc::Choose,
            WriterPc::Choose => {
                let chosen = choose_copy(s.active, &s.held, s.blocked);
                for c in 0..cfg.copies {
                    if is_candidate(s.active, c) && Some(c) != chosen && s.held[c] != 0 {
                        n.generation[c] = s.held[c];
                    }
                }
                match chosen {
                    Some(c) => {
                        for (r, (pc, _)) in s.readers.iter().enumerate() {
                            if let ReaderPc::Reading { copy, .. } = pc
                                && *copy == c
                            {
                                return Err(format!(
                                    "writer overwrites copy {c} under reader {r}: {s:?}"
                                ));
                            }
                        }
                        n.held[c] = 0;
                        n.writing = Some(c);
                        n.writer = WriterPc::Write { copy: c };
                    }
                    None => n.writer = WriterPc::Reclaim { slot: 0 },
                }
            }
            WriterPc::Reclaim { slot } if slot < s.writer_high_water => {
                // A slot whose lock nobody holds belongs to a dead reader: clear it under the lock.
                if !s.locked[slot] && s.pins[slot] != 0 {
                    n.pins[slot] = 0;
                }
                n.writer = WriterPc::Reclaim { slot: slot + 1 };
            }
            WriterPc::Reclaim { .. } => n.writer = WriterPc::Mark { copy: 0 },
            WriterPc::Write { copy } => {
                n.held[copy] = s.published + 1;
                n.generation[copy] = s.published + 1;
                n.writing = None;
                n.writer = WriterPc::Publish { copy };
            }
            WriterPc::Publish { copy } => {
                n.published += 1;
                n.active = pack(n.published, copy);
                n.writer = if n.published > cfg.publishes {
                    WriterPc::Done
                } else {
                    WriterPc::Mark { copy: 0 }
                };
            }
        }
        Ok(Some(n))
    }

    fn start_reading(s: &State, r: usize, c: usize, g: u64) -> Result<ReaderPc, String> {
        if s.writing == Some(c) || s.held[c] != g {
            return Err(format!(
                "reader {r} starts reading copy {c} (generation {g}) while it is rewritten: {s:?}"
            ));
        }
        Ok(ReaderPc::Reading { copy: c, generation: g })
    }

    /// Every state reader `r` can step to (more than one where the reader chooses a path).
    fn reader_steps(cfg: &Config, s: &State, r: usize) -> Result<Vec<State>, String> {
        let (pc, reads) = s.readers[r];
        let mut out = Vec::new();
        let mut go = |next: ReaderPc, edit: &dyn Fn(&mut State)| {
            let mut n = s.clone();
            edit(&mut n);
            n.readers[r].0 = next;
            out.push(n);
        };
        match pc {
            ReaderPc::Done | ReaderPc::Dead => {}
            ReaderPc::Claim => {
                if !s.locked[r] {
                    go(ReaderPc::RaiseHighWater, &|n| {
                        n.locked[r] = true;
                        n.pins[r] = 0;
                    });
                }
            }
            ReaderPc::RaiseHighWater => {
                go(ReaderPc::Load1, &|n| n.high_water = n.high_water.max(r + 1));
            }
            ReaderPc::Load1 => {
                let a1 = s.active;
                go(ReaderPc::Pin { a1 }, &|_| {});
                // An older validated generation: any generation published before the current
                // one, as a process whose newest generation is still being validated would see.
                if cfg.older && generation(s.active) > 1 {
                    for c in 0..cfg.copies {
                        let g = s.held[c];
                        if g != 0 && g < generation(s.active) {
                            go(ReaderPc::PinValidated { v: pack(g, c) }, &|_| {});
                        }
                    }
                }
            }
            ReaderPc::Pin { a1 } => {
                let next = if cfg.reload { ReaderPc::Reload } else { ReaderPc::Narrow { a2: a1 } };
                go(next, &|n| n.pins[r] = range_pin(a1));
            }
            ReaderPc::Reload => {
                let a2 = s.active;
                go(ReaderPc::Narrow { a2 }, &|_| {});
            }
            ReaderPc::Narrow { a2 } => {
                let next = start_reading(s, r, copy(a2), generation(a2))?;
                let narrow = cfg.narrow;
                go(next, &|n| {
                    if narrow {
                        n.pins[r] = exact_pin(a2);
                    }
                });
            }
            ReaderPc::PinValidated { v } => {
                go(ReaderPc::CheckValidated { v }, &|n| n.pins[r] = exact_pin(v));
            }
            ReaderPc::CheckValidated { v } => {
                if !cfg.check || s.generation[copy(v)] == generation(v) {
                    let next = start_reading(s, r, copy(v), generation(v))?;
                    go(next, &|_| {});
                } else {
                    go(ReaderPc::Load1, &|n| n.pins[r] = 0);
                }
            }
            ReaderPc::Reading { copy: c, generation: g } => {
                if s.held[c] != g {
                    return Err(format!("reader {r}'s copy {c} changed under it: {s:?}"));
                }
                let done = reads + 1 == cfg.reads;
                go(if done { ReaderPc::Done } else { ReaderPc::Load1 }, &|n| {
                    n.pins[r] = 0;
                    n.readers[r].1 = reads + 1;
                });
                // Dying while reading: the pin stays, the lock goes.
                if cfg.claims {
                    go(ReaderPc::Dead, &|n| n.locked[r] = false);
                }
            }
        }
        Ok(out)
    }

    fn cfg(copies: usize, readers: usize) -> Config {
        Config {
            copies,
            readers,
            publishes: 4,
            reads: 2,
            reload: true,
            narrow: true,
            older: false,
            check: true,
            claims: false,
        }
    }

    #[test]
    fn no_interleaving_lets_the_writer_overwrite_a_copy_being_read() {
        for copies in [2, 3] {
            for readers in [1, 2] {
                let states = explore(&cfg(copies, readers)).unwrap_or_else(|e| panic!("{e}"));
                assert!(states > 100, "the model explored only {states} states");
            }
        }
    }

    #[test]
    fn the_protocol_is_still_correct_without_the_narrowing_store() {
        explore(&Config { narrow: false, ..cfg(3, 2) }).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn removing_the_reload_lets_the_writer_overwrite_a_copy_being_read() {
        for copies in [2, 3] {
            let err = explore(&Config { reload: false, ..cfg(copies, 1) })
                .expect_err("the model must find the torn read");
            assert!(err.contains("under reader") || err.contains("rewritten"), "{err}");
        }
    }

    #[test]
    fn reading_an_older_validated_generation_is_safe_with_the_check() {
        for copies in [2, 3] {
            for readers in [1, 2] {
                let config = Config { older: true, ..cfg(copies, readers) };
                explore(&config).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    #[test]
    fn removing_the_check_after_pinning_an_older_generation_lets_the_writer_overwrite_it() {
        for copies in [2, 3] {
            let config = Config { older: true, check: false, ..cfg(copies, 1) };
            let err = explore(&config).expect_err("the model must find the torn read");
            assert!(err.contains("under reader") || err.contains("rewritten"), "{err}");
        }
    }

    #[test]
    fn claiming_slots_dying_readers_and_reclamation_never_expose_a_live_reader() {
        for copies in [2, 3] {
            let config = Config { claims: true, older: true, publishes: 3, ..cfg(copies, 2) };
            let states = explore(&config).unwrap_or_else(|e| panic!("{e}"));
            assert!(states > 1000, "the model explored only {states} states");
        }
    }

    #[test]
    fn with_three_copies_an_exact_pin_blocks_only_its_own_copy() {
        // A reader holding generation 5 exactly: with copies holding 5, 6 (active) and 4,
        // the writer takes copy 2 rather than waiting.
        let held = [5, 6, 4];
        let active = pack(6, 1);
        let mut blocked = 0;
        mark_blocked(exact_pin(pack(5, 0)), active, &held, &mut blocked);
        assert_eq!(blocked, 0b001);
        assert_eq!(choose_copy(active, &held, blocked), Some(2));
        // A range pin on 5 blocks every candidate holding 5 or newer.
        let mut blocked = 0;
        mark_blocked(range_pin(pack(5, 0)), active, &held, &mut blocked);
        assert_eq!(blocked, 0b001);
        let held = [5, 6, 7];
        let mut blocked = 0;
        mark_blocked(range_pin(pack(5, 0)), active, &held, &mut blocked);
        assert_eq!(choose_copy(active, &held, blocked), None);
    }
}
