//! Checks that need what a test run may not have (root, a mount, another user) and how a test
//! says it could not make them: never by passing silently.
//!
//! [`skipped`] writes `SKIPPED: <test>: <reason>` straight to the test process's stderr,
//! which the test harness does not capture, so the line shows in `cargo test`'s output next to
//! the test that passed without checking. Count them with `cargo test 2>&1 | grep -c
//! SKIPPED:`. A run that must check everything (CI runs as root) sets `MMAP_SYNC_NO_SKIP=1`,
//! and every skip fails instead.

use std::fmt::Display;
use std::io::Write;

/// Set (to anything but `0` or the empty string) to turn every skip into a failure.
pub const NO_SKIP: &str = "MMAP_SYNC_NO_SKIP";

/// Reports that the calling test could not run its check, for `reason`. Panics instead when
/// [`NO_SKIP`] is set.
pub fn skipped(reason: impl Display) {
    let thread = std::thread::current();
    let test = thread.name().filter(|name| *name != "main").unwrap_or("a test");
    let forbidden = std::env::var(NO_SKIP).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!forbidden, "{test} cannot run its check ({reason}) and {NO_SKIP} forbids skipping");
    // Not eprintln!: the harness captures that and shows it only for failed tests.
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {reason}");
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `true` when this process runs as root; otherwise reports the calling test as skipped,
/// because `what` needs root, and returns `false`.
pub fn needs_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    skipped(format!("{what} needs root"));
    false
}
