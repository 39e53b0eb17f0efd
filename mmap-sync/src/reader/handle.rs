//! Opening a reader for the face: the shared state, the background validator or the first
//! validation, and the handle whose drop (with the last clone) stops the validator.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::background;
use super::shared::ReaderShared;
use super::validated::Check;
use crate::error::{Error, Result};
use crate::format::StateMap;
use crate::os;
use crate::value_type::ValueType;

/// Held by every clone of a reader that validates in the background; the last clone's drop
/// stops the background validator and wakes it. (A reader without one needs no handle.)
#[derive(Debug)]
pub(super) struct Handle {
    shared: Arc<ReaderShared>,
    /// The background validator's stop flag.
    stop: Arc<AtomicBool>,
}

impl Handle {
    /// Opens the channel at `prefix` for values of `ty`, starts the background validator (which
    /// validates the current generation before this returns) or validates the current
    /// generation now, so that the first read is already fast. A generation that fails
    /// validation is recorded (and returned by reads) rather than failing the open.
    pub fn open(
        prefix: &Path,
        ty: impl FnOnce(&StateMap, &Path) -> Result<ValueType>,
        checksum: bool,
        background: bool,
    ) -> Result<(Arc<ReaderShared>, Option<Arc<Handle>>)> {
        let shared = ReaderShared::open_as(prefix, ty, checksum, background)?;
        if background {
            let stop = Arc::new(AtomicBool::new(false));
            let handle = Arc::new(Handle { shared: shared.clone(), stop: stop.clone() });
            background::spawn(shared.clone(), stop)?;
            return Ok((shared, Some(handle)));
        }
        if let Err(
            e @ (Error::ReadersFull { .. } | Error::SchemaMismatch { .. } | Error::Io { .. }),
        ) = shared.read(Check::Safe)
        {
            return Err(e);
        }
        Ok((shared, None))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Release: the validator that sees the flag sees everything before it.
        self.stop.store(true, Ordering::Release);
        // Wakes every waiter on the channel (spuriously for all but our validator).
        let _ = os::futex_wake_all(&self.shared.files.state.header().publish_futex);
    }
}

/// Calls `open` until it gives something other than [`Error::NotPublished`], for at most
/// `timeout` (any duration, `Duration::MAX` included; polling every few milliseconds: no file
/// exists yet to wait on).
pub(crate) fn open_wait<R>(open: impl Fn() -> Result<R>, timeout: Duration) -> Result<R> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        match open() {
            Err(Error::NotPublished { .. }) if deadline.is_none_or(|d| Instant::now() < d) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}
