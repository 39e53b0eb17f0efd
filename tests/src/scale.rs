//! How long and how much the stress and chaos tests run: short by default, longer when asked
//! through the environment.

use std::time::Duration;

/// Duration of the stress tests: `MMAP_SYNC_STRESS_SECS` seconds when set, `default_secs`
/// otherwise.
pub fn stress_duration(default_secs: u64) -> Duration {
    Duration::from_secs(env_count("MMAP_SYNC_STRESS_SECS", default_secs))
}

/// A count for the chaos tests: the environment variable `var` when set (e.g.
/// `MMAP_SYNC_WRITER_KILLS=1000`), `default` otherwise.
pub fn env_count(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
