//! Times this repository's mmap-sync against upstream mmap-sync 2.0.4 and iceoryx2 0.10 (and
//! against the machine's own floors: the bare read protocol, a plain memory copy), figure by
//! figure, every comparison measured in one run with its sides interleaved. Prints one line per
//! figure; `--markdown FILE` writes the table of figures with targets (the README's), `--report
//! FILE` the full report (every figure, the curves, the methods) for RESULTS.md.
//!
//! `--quick` shortens the long figures (for trying the harness out; its numbers are not the
//! report's); `--only NAME,NAME` runs some figures only (names: see [`FIGURES`]); `--runs N`
//! runs each figure N times instead of its own count.
//!
//! Everything lives under /dev/shm in files named after this process id, removed on exit.
//! The [`CHILDREN`] are modes of this binary used to measure fresh processes.

mod figures;
mod harness;
mod values;

use figures::*;
use harness::{Child, Figure};

/// The figures, in the order they run; `--only` takes these names.
const FIGURES: &[Figure] = &[
    Figure { name: "reads", run: reads::reads, runs: 1 },
    Figure { name: "first_read", run: first_read::run, runs: 1 },
    Figure { name: "two_threads", run: reads::two_threads, runs: 1 },
    Figure { name: "strings", run: reads::strings, runs: 1 },
    Figure { name: "write", run: writes::write, runs: 1 },
    Figure { name: "write_bytes", run: writes::write_bytes, runs: 1 },
    Figure { name: "big_write", run: big_write::run, runs: 1 },
    Figure { name: "pinned", run: writes::pinned, runs: 1 },
    Figure { name: "rss", run: memory::run, runs: 1 },
    Figure { name: "open", run: reads::open_and_first_read, runs: 1 },
    Figure { name: "many", run: many::run, runs: 1 },
    Figure { name: "hot_read", run: hot_read::run, runs: 1 },
    Figure { name: "visible", run: visible::run, runs: 1 },
    Figure { name: "validation_cpu", run: validation_cpu::run, runs: 1 },
    Figure { name: "latency", run: latency::run, runs: 1 },
    Figure { name: "large", run: large::run, runs: 1 },
    Figure { name: "iceoryx_read", run: iceoryx::read::run, runs: 3 },
    Figure { name: "iceoryx_publish", run: iceoryx::publish::run, runs: 3 },
    Figure { name: "iceoryx_visible", run: iceoryx::visible::run, runs: 3 },
    Figure { name: "iceoryx_open", run: iceoryx::open::run, runs: 3 },
    Figure { name: "iceoryx_aggregate", run: iceoryx::aggregate::run, runs: 3 },
    Figure { name: "timer", run: timer::run, runs: 1 },
];

/// Child modes: `rss` reads one field and reports its memory; `large-writer` and
/// `large-reader` publish and read a large value in fresh processes; `iceoryx-visible` waits
/// for publishes and reads them, `iceoryx-reads` reads as fast as it can, each for one side.
const CHILDREN: &[Child] = &[
    Child { name: "rss", run: memory::child },
    Child { name: "large-writer", run: large::writer_child },
    Child { name: "large-reader", run: large::reader_child },
    Child { name: "iceoryx-visible", run: iceoryx::visible::child },
    Child { name: "iceoryx-reads", run: iceoryx::aggregate::child },
];

fn main() -> harness::Result<()> {
    harness::main(FIGURES, CHILDREN)
}
