//! The protocol's real step functions (`mmap_sync::protocol`) run under loom: loom's atomics in
//! place of the mapped files' (through the `Word`/`HighWater` traits the steps are written
//! against), each data copy a loom `UnsafeCell` that the writer writes and readers read. Loom
//! explores the interleavings (and the weak-memory reorderings its model allows) of one writer
//! and two readers, with two and three copies, and panics on any access to a copy that races a
//! write. The same harness finds the torn read when reader step 3 (the re-load) or the check of
//! step 4' is removed: those tests are what shows the harness can fail.
//!
//! Runs with the other tests (`cargo test -p mmap-sync-tests --test loom`); `LOOM_MAX_PREEMPTIONS`
//! widens the search (default 2 here).

use std::sync::atomic::Ordering;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, AtomicU64};
use mmap_sync::protocol::{self, HighWater, Word};

/// loom treats SeqCst *accesses* as AcqRel (it does not model their single total order; see its
/// README), so a store-then-load of two SeqCst accesses on different words, which the proof
/// relies on, would be reported as a race that real SeqCst accesses cannot have. loom does model
/// SeqCst *fences*: a fence after each SeqCst store and before each SeqCst load gives those
/// accesses the total order C11 promises them, and nothing more.
fn fence_if_seq_cst(order: Ordering) {
    if order == Ordering::SeqCst {
        loom::sync::atomic::fence(Ordering::SeqCst);
    }
}

/// loom's 64-bit atomic as a protocol word (see [`fence_if_seq_cst`]).
struct W(AtomicU64);

impl Word for W {
    fn load(&self, order: Ordering) -> u64 {
        fence_if_seq_cst(order);
        self.0.load(order)
    }
    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order);
        fence_if_seq_cst(order);
    }
}

/// loom's 32-bit atomic as the high-water mark (see [`fence_if_seq_cst`]).
struct H(AtomicU32);

impl HighWater for H {
    fn load(&self, order: Ordering) -> u32 {
        fence_if_seq_cst(order);
        self.0.load(order)
    }
    fn fetch_max(&self, value: u32, order: Ordering) -> u32 {
        let old = self.0.fetch_max(value, order);
        fence_if_seq_cst(order);
        old
    }
}

/// The shared memory of a channel with `copies` copies and two reader slots.
struct Channel {
    active: W,
    generation: Vec<W>,
    pins: Vec<W>,
    high_water: H,
    /// What each copy holds: the generation it was written as.
    data: Vec<UnsafeCell<u64>>,
}

impl Channel {
    fn new(copies: usize) -> Arc<Channel> {
        let word = |v| W(AtomicU64::new(v));
        let mut generation: Vec<W> = (0..copies).map(|_| word(0)).collect();
        generation[0] = word(1);
        Arc::new(Channel {
            active: word(protocol::pack(1, 0)),
            generation,
            pins: (0..2).map(|_| word(0)).collect(),
            high_water: H(AtomicU32::new(0)),
            data: (0..copies).map(|c| UnsafeCell::new(if c == 0 { 1 } else { 0 })).collect(),
        })
    }

    /// The writer: `publishes` generations after 1, each into a copy `protocol::acquire` finds
    /// free (giving up on a publish when every candidate stays blocked).
    fn write(&self, publishes: u64) {
        let copies = self.data.len();
        let mut held = vec![0u64; copies];
        held[0] = 1;
        let mut seen = 0;
        let mut generation = 1;
        for _ in 0..publishes {
            let mut chosen = None;
            for _ in 0..2 {
                let active = Word::load(&self.active, Ordering::Relaxed);
                match protocol::acquire(
                    active,
                    &held,
                    |c| &self.generation[c],
                    &self.high_water,
                    &mut seen,
                    2,
                    |i| &self.pins[i],
                ) {
                    Ok(c) => {
                        chosen = Some(c);
                        break;
                    }
                    Err(_) => loom::thread::yield_now(),
                }
            }
            let Some(c) = chosen else { continue };
            generation += 1;
            held[c] = 0;
            // Writer step 3: the bytes, then the descriptor.
            // SAFETY: loom's cell: the pointer is valid; a racing access is what loom reports.
            self.data[c].with_mut(|p| unsafe { *p = generation });
            protocol::commit_copy(&self.generation[c], generation);
            held[c] = generation;
            protocol::publish(&self.active, generation, c);
        }
    }

    /// Reads copy `c` expecting `generation` (a torn read panics in loom, or fails here).
    fn read_copy(&self, c: usize, generation: u64) {
        // SAFETY: loom's cell: the pointer is valid; a racing access is what loom reports.
        let seen = self.data[c].with(|p| unsafe { *p });
        assert_eq!(seen, generation, "copy {c} changed under its reader");
    }

    /// A reader in slot `slot`: claims it, then reads through steps 1–5.
    fn read_newest(&self, slot: usize) {
        protocol::claim(&self.pins[slot], &self.high_water, slot);
        let pin = &self.pins[slot];
        let a2 = protocol::pin_active(&self.active, pin);
        protocol::narrow(pin, a2);
        self.read_copy(protocol::copy(a2), protocol::generation(a2));
        protocol::release(pin);
    }

    /// The same reader without step 3: it reads the copy of its first load (as upstream
    /// mmap-sync does). Built from the same steps, to show the harness finds the torn read.
    fn read_newest_without_reload(&self, slot: usize) {
        protocol::claim(&self.pins[slot], &self.high_water, slot);
        let pin = &self.pins[slot];
        let a1 = Word::load(&self.active, Ordering::SeqCst);
        Word::store(pin, protocol::range_pin(a1), Ordering::SeqCst);
        protocol::narrow(pin, a1);
        self.read_copy(protocol::copy(a1), protocol::generation(a1));
        protocol::release(pin);
    }

    /// A reader in slot `slot` reading generation 1 through step 4' after the writer may have
    /// moved on (as a thread serving an older validated generation does).
    fn read_validated(&self, slot: usize, check: bool) {
        protocol::claim(&self.pins[slot], &self.high_water, slot);
        let pin = &self.pins[slot];
        let v = protocol::pack(1, 0);
        let ok = if check {
            protocol::pin_validated(pin, &self.generation[0], v)
        } else {
            Word::store(pin, protocol::exact_pin(v), Ordering::SeqCst);
            true
        };
        if ok {
            self.read_copy(0, 1);
        }
        protocol::release(pin);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

fn run(copies: usize, reader: fn(&Channel, usize), publishes: u64) {
    model(move || {
        let channel = Channel::new(copies);
        let readers: Vec<_> = (0..2)
            .map(|slot| {
                let channel = channel.clone();
                loom::thread::spawn(move || reader(&channel, slot))
            })
            .collect();
        channel.write(publishes);
        readers.into_iter().for_each(|r| r.join().unwrap());
    });
}

/// Whether running `f` finds a torn read: loom's report of a copy accessed while written, or
/// this harness's own check that a copy changed under its reader.
fn finds_torn_read(f: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    let Err(payload) = std::panic::catch_unwind(f) else { return false };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    message.contains("Causality violation") || message.contains("changed under its reader")
}

#[test]
fn two_readers_and_a_writer_never_race_on_a_copy_with_two_copies() {
    run(2, Channel::read_newest, 2);
}

#[test]
fn two_readers_and_a_writer_never_race_on_a_copy_with_three_copies() {
    run(3, Channel::read_newest, 2);
}

#[test]
fn reading_an_older_validated_generation_never_races_the_writer() {
    for copies in [2, 3] {
        run(copies, |c, slot| c.read_validated(slot, true), 2);
    }
}

#[test]
fn without_the_reload_the_writer_overwrites_a_copy_being_read() {
    assert!(finds_torn_read(|| run(2, Channel::read_newest_without_reload, 2)));
}

#[test]
fn without_the_check_of_step_4_prime_the_writer_overwrites_an_older_copy_being_read() {
    assert!(finds_torn_read(|| run(2, |c, slot| c.read_validated(slot, false), 2)));
}
