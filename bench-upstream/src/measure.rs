//! Timing helpers: batches sized to a fixed duration, pairs run in alternating order, medians.

use std::time::{Duration, Instant};

/// Time one timed batch aims for: long enough to dwarf timer overhead, short enough that a
/// pair's rounds see the same machine state.
pub const BATCH: Duration = Duration::from_millis(20);
/// Rounds per pair; each round times both sides once, in alternating order.
pub const ROUNDS: usize = 9;

/// Nanoseconds per call of `op` over `n` calls.
#[inline(never)]
pub fn batch<F: FnMut()>(n: u64, op: &mut F) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// How many calls of `op` fill one [`BATCH`]; the calls made to find out double as warm-up.
/// The first call runs untimed: it may do one-time work (a reader validating a generation).
pub fn calibrate<F: FnMut()>(op: &mut F) -> u64 {
    op();
    let mut n = 1u64;
    loop {
        let ns = batch(n, op) * n as f64;
        if ns >= 2e6 || n >= 1 << 30 {
            return ((BATCH.as_nanos() as f64 / ns * n as f64).ceil() as u64).max(1);
        }
        n *= 4;
    }
}

/// Median of per-call times of `ours` and `upstream`, timed in [`ROUNDS`] interleaved rounds.
pub fn pair<A: FnMut(), B: FnMut()>(mut ours: A, mut upstream: B) -> (f64, f64) {
    let (na, nb) = (calibrate(&mut ours), calibrate(&mut upstream));
    interleave(|| batch(na, &mut ours), || batch(nb, &mut upstream))
}

/// Runs one measurement of each side per round, alternating which goes first, and returns
/// the medians.
pub fn interleave(mut ours: impl FnMut() -> f64, mut upstream: impl FnMut() -> f64) -> (f64, f64) {
    let mut a = Vec::with_capacity(ROUNDS);
    let mut b = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            a.push(ours());
            b.push(upstream());
        } else {
            b.push(upstream());
            a.push(ours());
        }
    }
    (median(a), median(b))
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The `q`-quantile (0..=1) of `xs`, nearest rank.
pub fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    xs[rank - 1]
}
