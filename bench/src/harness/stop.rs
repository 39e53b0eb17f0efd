//! A stop flag that a scope of threads cannot outlive.

use std::sync::atomic::{AtomicBool, Ordering};

/// Sets a stop flag when dropped: threads of a scope that ends early (on an error) stop too,
/// instead of keeping the scope from ending.
pub struct StopOnDrop<'a>(pub &'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        // Relaxed: a stop flag; the scope's joins order everything else.
        self.0.store(true, Ordering::Relaxed);
    }
}
