//! The timer's own cost, the floor of every per-operation timing.

use crate::harness::measure::{median, quantile, timer_samples};
use crate::harness::report::{Section, ns};
use crate::harness::{Context, Outcome, Result};

/// What `Instant::now()` costs here: every per-operation timing includes one.
pub fn run(_: &mut Context) -> Result<Outcome> {
    let samples = timer_samples(100_000);
    let mut section = Section::new("Timer");
    section.line(format!(
        "Two consecutive `Instant::now()` calls differ by {} (median; p99 {}): the floor of \
         every per-operation timing above (first reads cross-checked per operation, read \
         latency). Batched figures time thousands of operations between two calls.",
        ns(median(samples.clone())),
        ns(quantile(samples, 0.99))
    ));
    section.line("");
    Ok(section.into())
}
