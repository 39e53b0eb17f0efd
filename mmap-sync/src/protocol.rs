//! The reader/writer protocol, and why it is correct.
//!
//! # The shared words
//!
//! * `active` (in `P_state`): `generation << 8 | copy`, the copy that holds the newest published
//!   generation. Written only by the writer.
//! * one `pin` per reader slot (in `P_readers`): 0 when the reader holds nothing; otherwise
//!   either a *range pin* `g` ("I may be reading any generation >= g") or an *exact pin*
//!   `g | EXACT` ("I am reading generation g and nothing else").
//! * per copy, the generation it holds (its descriptor in `P_state`), written only by the writer.
//!
//! # Reader (wait-free: five memory operations, no loop, no syscall)
//!
//! 1. `a1 = active.load(SeqCst)`
//! 2. `pin.store(gen(a1), SeqCst)` — a range pin: the writer must now keep every copy holding a
//!    generation >= gen(a1).
//! 3. `a2 = active.load(SeqCst)`; read copy `copy(a2)`, which holds `gen(a2)`.
//! 4. `pin.store(gen(a2) | EXACT, Release)` — narrows the pin to the one generation being read,
//!    so that a reader holding an old copy for a long time blocks only that copy.
//! 5. when done: `pin.store(0, Release)`.
//!
//! # Writer, publishing generation n+1 while n is active
//!
//! 1. Scan every pin (SeqCst loads). Copy `c` is *free* when it is not the active copy and no pin
//!    covers the generation `h` it holds: every pin is 0, a range pin `> h`, or an exact pin `!= h`
//!    ([`copy_is_free`]). Take the free copy holding the oldest generation ([`choose_copy`]).
//! 2. Mark the copy's descriptor as holding nothing, write the value, then the descriptor.
//! 3. `active.store(pack(n+1, c), SeqCst)`, bump the futex word, wake waiters if any.
//!
//! # Why the writer never writes a copy a reader is reading
//!
//! Suppose a reader reads copy `c` holding generation `h = gen(a2)`, and the writer's scan for a
//! later publish finds `c` free. All SeqCst operations fall in one total order S.
//!
//! * If the scan's load of this reader's pin comes after step 2 in S, it sees the range pin
//!   `gen(a1) <= h` (which covers `c`), or the exact pin `h` (which covers `c`), or 0 only after
//!   step 5 — so it cannot find `c` free while the reader reads it.
//! * If it comes before step 2, then the writer's publish of the generation that replaced `h` as
//!   active (program order: before the scan, since `c` is not active at the scan) precedes step 3
//!   in S, so `a2` is that generation or a newer one, never `h` — contradiction.
//!
//! Step 4's release store is ordered after step 3's load, so a writer that sees the exact pin
//! sees it only once `a2` is fixed. Step 5's release store, paired with the writer's load,
//! orders all of the reader's accesses to the copy before the writer's next write of it.
//!
//! Without step 3 (reading `copy(a1)`, as upstream mmap-sync does) the second case breaks: the
//! writer can scan between the reader's steps 1 and 2 and overwrite `copy(a1)` under it. The
//! model check in this module's tests explores every interleaving of a writer and two readers
//! and finds exactly that bug when the re-load is removed.
//!
//! The functions here are the decisions of the protocol; `reader.rs` and `writer.rs` perform the
//! memory operations in the order above, and the model check drives the same functions.

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

/// Whether `pin` (a slot's value) allows overwriting a copy that holds `held`.
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

/// Whether copy `c` (not the active one) holding generation `held` may be overwritten, given
/// every slot's pin.
pub fn copy_is_free(held: u64, pins: impl IntoIterator<Item = u64>) -> bool {
    pins.into_iter().all(|pin| pin_allows(pin, held))
}

/// The copy the `active` word names, or `None` while nothing is published.
#[inline]
pub const fn active_copy(active: u64) -> Option<usize> {
    if generation(active) == 0 { None } else { Some(copy(active)) }
}

/// Writer step 1: among the copies other than the active one whose `blocked[c]` is false, the
/// one holding the oldest generation (lowest index on ties). `held[c]` is the generation copy `c`
/// holds; `active` is the current `active` word.
pub fn choose_copy(active: u64, held: &[u64], blocked: &[bool]) -> Option<usize> {
    let active = active_copy(active);
    (0..held.len()).filter(|&c| Some(c) != active && !blocked[c]).min_by_key(|&c| held[c])
}

/// Marks in `blocked` every copy whose generation `pin` forbids overwriting.
#[inline]
pub fn mark_blocked(pin: u64, held: &[u64], blocked: &mut [bool]) {
    if pin == 0 {
        return;
    }
    for (c, &h) in held.iter().enumerate() {
        if !pin_allows(pin, h) {
            blocked[c] = true;
        }
    }
}

#[cfg(test)]
mod model {
    //! Exhaustive exploration of every interleaving of one writer and several readers under
    //! sequential consistency (the protocol's shared accesses are all SeqCst or, for the two
    //! release stores, only ever weaken what the writer may conclude).
    use super::*;
    use std::collections::HashSet;

    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    enum ReaderPc {
        Load1,
        Pin { a1: u64 },
        Reload,
        Narrow { a2: u64 },
        Reading { copy: usize, generation: u64 },
        Done,
    }

    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    enum WriterPc {
        Scan { slot: usize },
        Write { copy: usize },
        Publish { copy: usize },
        Done,
    }

    #[derive(Clone, PartialEq, Eq, Hash, Debug)]
    struct State {
        active: u64,
        held: Vec<u64>,
        pins: Vec<u64>,
        blocked: Vec<bool>,
        writing: Option<usize>,
        published: u64,
        writer: WriterPc,
        readers: Vec<(ReaderPc, u32)>,
    }

    struct Config {
        copies: usize,
        readers: usize,
        publishes: u64,
        reads: u32,
        reload: bool,
        narrow: bool,
    }

    /// Returns a description of the first violation found, or the number of states explored.
    fn explore(cfg: &Config) -> Result<usize, String> {
        let mut held = vec![0; cfg.copies];
        held[0] = 1;
        let start = State {
            active: pack(1, 0),
            held,
            pins: vec![0; cfg.readers],
            blocked: vec![false; cfg.copies],
            writing: None,
            published: 1,
            writer: WriterPc::Scan { slot: 0 },
            readers: vec![(ReaderPc::Load1, 0); cfg.readers],
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
                if let Some(next) = reader_step(cfg, &s, r)? {
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
            WriterPc::Scan { slot } if slot < cfg.readers => {
                mark_blocked(s.pins[slot], &s.held, &mut n.blocked);
                n.writer = WriterPc::Scan { slot: slot + 1 };
            }
            WriterPc::Scan { .. } => {
                match choose_copy(s.active, &s.held, &s.blocked) {
                    Some(c) => {
                        // Step 2 begins: nobody may be reading the copy from now on.
                        for (pc, _) in &s.readers {
                            if let ReaderPc::Reading { copy, .. } = pc
                                && *copy == c
                            {
                                return Err(format!(
                                    "writer overwrites copy {c} under a reader: {s:?}"
                                ));
                            }
                        }
                        n.held[c] = 0;
                        n.writing = Some(c);
                        n.writer = WriterPc::Write { copy: c };
                    }
                    // Blocked: start the scan again (the state repeats, so this terminates).
                    None => n.writer = WriterPc::Scan { slot: 0 },
                }
                n.blocked = vec![false; cfg.copies];
            }
            WriterPc::Write { copy } => {
                n.held[copy] = s.published + 1;
                n.writing = None;
                n.writer = WriterPc::Publish { copy };
            }
            WriterPc::Publish { copy } => {
                n.published += 1;
                n.active = pack(n.published, copy);
                n.writer = if n.published > cfg.publishes {
                    WriterPc::Done
                } else {
                    WriterPc::Scan { slot: 0 }
                };
            }
        }
        Ok(Some(n))
    }

    fn reader_step(cfg: &Config, s: &State, r: usize) -> Result<Option<State>, String> {
        let mut n = s.clone();
        let (pc, reads) = s.readers[r];
        let next = match pc {
            ReaderPc::Done => return Ok(None),
            ReaderPc::Load1 => ReaderPc::Pin { a1: s.active },
            ReaderPc::Pin { a1 } => {
                n.pins[r] = range_pin(a1);
                if cfg.reload { ReaderPc::Reload } else { ReaderPc::Narrow { a2: a1 } }
            }
            ReaderPc::Reload => ReaderPc::Narrow { a2: s.active },
            ReaderPc::Narrow { a2 } => {
                if cfg.narrow {
                    n.pins[r] = exact_pin(a2);
                }
                let (c, g) = (copy(a2), generation(a2));
                if s.writing == Some(c) || s.held[c] != g {
                    return Err(format!(
                        "reader {r} starts reading copy {c} (generation {g}) while it is rewritten: {s:?}"
                    ));
                }
                ReaderPc::Reading { copy: c, generation: g }
            }
            ReaderPc::Reading { copy, generation } => {
                if s.held[copy] != generation {
                    return Err(format!("reader {r}'s copy {copy} changed under it: {s:?}"));
                }
                n.pins[r] = 0;
                if reads + 1 == cfg.reads {
                    n.readers[r] = (ReaderPc::Done, reads + 1);
                    return Ok(Some(n));
                }
                n.readers[r].1 = reads + 1;
                ReaderPc::Load1
            }
        };
        n.readers[r].0 = next;
        Ok(Some(n))
    }

    fn cfg(copies: usize, readers: usize, reload: bool) -> Config {
        Config { copies, readers, publishes: 4, reads: 2, reload, narrow: true }
    }

    #[test]
    fn no_interleaving_lets_the_writer_overwrite_a_copy_being_read() {
        for copies in [2, 3] {
            for readers in [1, 2] {
                let states = explore(&cfg(copies, readers, true)).unwrap_or_else(|e| panic!("{e}"));
                assert!(states > 100, "the model explored only {states} states");
            }
        }
    }

    #[test]
    fn the_protocol_is_still_correct_without_the_narrowing_store() {
        let config = Config { narrow: false, ..cfg(3, 2, true) };
        explore(&config).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn removing_the_reload_lets_the_writer_overwrite_a_copy_being_read() {
        for copies in [2, 3] {
            let err =
                explore(&cfg(copies, 1, false)).expect_err("the model must find the torn read");
            assert!(err.contains("reader") || err.contains("overwrites"), "{err}");
        }
    }

    #[test]
    fn with_three_copies_an_exact_pin_blocks_only_its_own_copy() {
        // A reader holding generation 5 exactly: with copies holding 5, 6 (active) and 4,
        // the writer takes copy 2 and, after publishing, copy 2 again rather than waiting.
        let held = [5, 6, 4];
        let mut blocked = [false; 3];
        mark_blocked(exact_pin(pack(5, 0)), &held, &mut blocked);
        assert_eq!(choose_copy(pack(6, 1), &held, &blocked), Some(2));
        // A range pin on 5 blocks every copy holding 5 or newer.
        let mut blocked = [false; 3];
        mark_blocked(range_pin(pack(5, 0)), &held, &mut blocked);
        assert_eq!(blocked, [true, true, false]);
        let held = [5, 6, 7];
        let mut blocked = [false; 3];
        mark_blocked(range_pin(pack(5, 0)), &held, &mut blocked);
        assert_eq!(choose_copy(pack(6, 1), &held, &blocked), None);
    }
}
