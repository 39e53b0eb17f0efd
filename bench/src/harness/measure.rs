//! Timing: batches sized to a fixed duration, groups of operations timed in rotating
//! order round after round, medians, and a latency histogram for per-operation timing.

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
    calibrate_with(|n| batch(n, op))
}

/// [`calibrate`] for an operation that runs `n` times per call and returns ns per call.
fn calibrate_with(mut run: impl FnMut(u64) -> f64) -> u64 {
    run(1);
    let mut n = 1u64;
    loop {
        let ns = run(n) * n as f64;
        if ns >= 2e6 || n >= 1 << 30 {
            return ((BATCH.as_nanos() as f64 / ns * n as f64).ceil() as u64).max(1);
        }
        n *= 4;
    }
}

/// Median of per-call times of `ours` and `upstream`, timed in [`ROUNDS`] interleaved rounds.
pub fn pair<A: FnMut(), B: FnMut()>(ours: A, upstream: B) -> (f64, f64) {
    let medians = group(vec![timed(ours), timed(upstream)]);
    (medians[0], medians[1])
}

/// An operation ready for [`group`]: called with `n`, it runs the operation `n` times and
/// returns ns per call. The loop is compiled for the operation itself (no indirect call per
/// operation; one per batch).
pub type Timed<'a> = Box<dyn FnMut(u64) -> f64 + 'a>;

/// Wraps `op` for [`group`].
pub fn timed<'a, F: FnMut() + 'a>(mut op: F) -> Timed<'a> {
    Box::new(move |n| batch(n, &mut op))
}

/// Medians of per-call times of each operation (see [`rounds`]).
pub fn group(ops: Vec<Timed<'_>>) -> Vec<f64> {
    rounds(ops).into_iter().map(median).collect()
}

/// Per-call times of each operation, one sample per round for [`ROUNDS`] rounds. Every
/// operation is calibrated to a [`BATCH`] first; each round then times every operation once,
/// starting one further along each round, so that no operation always follows the same one.
/// `result[i][r]` is operation `i` in round `r`: samples of one round were taken within a few
/// batches of each other, so per-round differences and ratios are meaningful.
pub fn rounds(mut ops: Vec<Timed<'_>>) -> Vec<Vec<f64>> {
    let counts: Vec<u64> = ops.iter_mut().map(calibrate_with).collect();
    let k = ops.len();
    let mut samples = vec![Vec::with_capacity(ROUNDS); k];
    for round in 0..ROUNDS {
        for j in 0..k {
            let i = (round + j) % k;
            samples[i].push(ops[i](counts[i]));
        }
    }
    samples
}

/// Runs `ours` and `upstream` once per round for [`ROUNDS`] rounds, alternating which goes
/// first.
pub fn alternate(mut ours: impl FnMut(), mut upstream: impl FnMut()) {
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            ours();
            upstream();
        } else {
            upstream();
            ours();
        }
    }
}

/// Runs one measurement of each side per round (see [`alternate`]) and returns the medians.
pub fn interleave(mut ours: impl FnMut() -> f64, mut upstream: impl FnMut() -> f64) -> (f64, f64) {
    let mut a = Vec::with_capacity(ROUNDS);
    let mut b = Vec::with_capacity(ROUNDS);
    alternate(|| a.push(ours()), || b.push(upstream()));
    (median(a), median(b))
}

/// `n` timings of nothing, in ns: what two consecutive `Instant::now()` calls differ by, the
/// floor of every per-operation timing.
pub fn timer_samples(n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            start.elapsed().as_nanos() as f64
        })
        .collect()
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

/// Median of `a[r] - b[r]` over rounds: the cost of what `a` does beyond `b`, when both were
/// timed in the same rounds (see [`rounds`]).
pub fn median_difference(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| x - y).collect())
}

/// Latencies in ns, in buckets of about 1.6% width (64 per power of two), with the exact
/// maximum: enough for p99.99 over hundreds of millions of samples in 30 KiB.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

impl Histogram {
    pub fn new() -> Self {
        Histogram { counts: vec![0; (64 - SUB_BITS as usize + 1) * SUB as usize], total: 0, max: 0 }
    }

    fn bucket(ns: u64) -> usize {
        if ns < SUB {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros(); // >= SUB_BITS
        let shift = exp - SUB_BITS;
        ((shift as u64 + 1) * SUB + ((ns >> shift) & (SUB - 1))) as usize
    }

    /// Lowest value of bucket `b`.
    fn floor(b: usize) -> u64 {
        let (row, sub) = (b as u64 / SUB, b as u64 % SUB);
        if row == 0 { sub } else { (SUB + sub) << (row - 1) }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q`-quantile, nearest rank, as the lower edge of its bucket; in the bucket that
    /// holds the maximum, the maximum itself (never lower than the truth by more than a
    /// bucket's width, and exact at the top).
    pub fn quantile(&self, q: f64) -> u64 {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let top = Self::bucket(self.max);
        let mut seen = 0;
        for (b, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return if b == top { self.max } else { Self::floor(b) };
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    #[test]
    fn buckets_are_ordered_and_narrow() {
        let mut last = 0;
        for ns in (0..1_000_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = Histogram::bucket(ns);
            assert!(b >= last, "bucket of {ns} went backwards");
            last = b;
            let floor = Histogram::floor(b);
            assert!(floor <= ns, "floor {floor} above {ns}");
            assert!(ns - floor <= ns / 64, "bucket of {ns} starts at {floor}: too wide");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for ns in 1..=10_000 {
            h.record(ns);
        }
        assert_eq!(h.quantile(0.5), 4992); // 5000 is in the bucket starting at 4992
        assert_eq!(h.quantile(1.0), 10_000);
        assert_eq!(h.max(), 10_000);
        assert_eq!(h.total(), 10_000);
    }
}
