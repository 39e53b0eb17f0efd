//! Threads reading the string table through one shared `Reader` or each through its own: the
//! setups of the latency and validation-work figures of the process-wide reader.

use std::path::Path;
use std::sync::Barrier;
use std::thread::ScopedJoinHandle;

use crate::values::{STRING_ENTRIES, ours as o};

/// Entries of the string table (about 10 MB archived).
pub const TABLE_ENTRIES: usize = STRING_ENTRIES;
/// Data copies of the table channels: with `validate_in_background`, the validator pins the
/// newest validated copy, so a third copy lets the writer publish without waiting for it.
pub const TABLE_COPIES: usize = 3;

/// How a run's readers are set up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// One `Reader` with `validate_in_background(true)`, cloned into every thread.
    Background,
    /// One `Reader` (default: the first thread that reads a generation validates it), cloned.
    Shared,
    /// Each thread opens a `Reader` of its own, as before the process-wide reader.
    PerThread,
}

impl Mode {
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Background => "shared `Reader`, `validate_in_background(true)`",
            Mode::Shared => "shared `Reader`, default mode",
            Mode::PerThread => "one `Reader` per thread",
        }
    }

    pub fn open(self, path: &Path) -> ours::Result<ours::Reader<o::Strings>> {
        ours::Reader::<o::Strings>::builder()
            .validate_in_background(self == Mode::Background)
            .open(path)
    }
}

/// Spawns `count` reading threads in `s`, each with its reader for `mode` (its clone of `shared`,
/// or one it opens), meeting each other and the caller at `barrier`, then running `body` on the
/// reader. Each returns what `body` returned and its reader's statistics over the body.
pub fn spawn_readers<'scope, 'env, T, B>(
    s: &'scope std::thread::Scope<'scope, 'env>,
    count: usize,
    mode: Mode,
    path: &'env Path,
    shared: &Option<ours::Reader<o::Strings>>,
    barrier: &'env Barrier,
    body: B,
) -> Vec<ScopedJoinHandle<'scope, Result<(T, ours::ReaderStats), String>>>
where
    T: Send + 'scope,
    B: Fn(&ours::Reader<o::Strings>) -> Result<T, String> + Copy + Send + 'scope,
{
    (0..count)
        .map(|_| {
            let shared = shared.clone();
            s.spawn(move || {
                let reader = match shared {
                    Some(reader) => Ok(reader),
                    None => mode.open(path).map_err(|e| e.to_string()),
                };
                // Even a thread that failed to open meets the others at the start.
                barrier.wait();
                let reader = reader?;
                let before = reader.stats();
                let out = body(&reader)?;
                Ok((out, delta(before, reader.stats())))
            })
        })
        .collect()
}

pub fn delta(before: ours::ReaderStats, after: ours::ReaderStats) -> ours::ReaderStats {
    let mut d = ours::ReaderStats::default();
    d.validations = after.validations - before.validations;
    d.validations_in_reads = after.validations_in_reads - before.validations_in_reads;
    d.served_older = after.served_older - before.served_older;
    d.waited = after.waited - before.waited;
    d
}

pub fn sum(a: ours::ReaderStats, b: ours::ReaderStats) -> ours::ReaderStats {
    let mut d = ours::ReaderStats::default();
    d.validations = a.validations + b.validations;
    d.validations_in_reads = a.validations_in_reads + b.validations_in_reads;
    d.served_older = a.served_older + b.served_older;
    d.waited = a.waited + b.waited;
    d
}
