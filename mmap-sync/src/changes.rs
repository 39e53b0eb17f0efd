//! Waiting for a new generation from async code (the `tokio` feature).
//!
//! [`Reader::wait_for_change`] blocks its thread, which async code must not do. Here, one
//! thread per process and channel blocks instead: it calls `wait_for_change` in a loop and
//! hands every new generation to a [`tokio::sync::watch`] channel, and any number of tasks
//! await it through [`Changes`]. Ten thousand waiting tasks cost ten thousand small
//! receivers and one thread (which holds one reader slot of the channel while it runs).
//!
//! ```no_run
//! # async fn demo<T: mmap_sync::SharedState + 'static>(reader: mmap_sync::Reader<T>)
//! # -> mmap_sync::Result<()> {
//! let mut changes = reader.changes()?;
//! loop {
//!     let generation = changes.changed().await?;
//!     // A `ReadGuard` is not `Send`: read in a block that ends before the next `.await`.
//!     {
//!         let guard = reader.read()?;
//!         println!("generation {generation}, now serving {}", guard.generation());
//!     }
//! }
//! # }
//! ```
//!
//! # Semantics
//!
//! A [`Changes`] remembers the last generation it returned (at first, the generation published
//! when it was made). [`Changes::changed`] resolves with the newest published generation as
//! soon as it is newer than that; several publishes in quick succession may resolve one call
//! with the newest of them, as `tokio::sync::watch` does. The generation is the *published*
//! one: a read serves it once this process has validated it (at that read, or in the
//! background), or keeps serving the last good one if it fails validation (see
//! [`Reader::last_failure`]).
//!
//! # Cancellation, `select!` and timeouts
//!
//! `changed` is cancel-safe: a future dropped before it resolves has taken nothing, so the
//! next call still sees every generation published since the last one returned. That makes it
//! fit for `tokio::select!` and `tokio::time::timeout`:
//!
//! ```no_run
//! # async fn demo<T: mmap_sync::SharedState + 'static>(
//! #     reader: mmap_sync::Reader<T>,
//! #     mut shutdown: tokio::sync::oneshot::Receiver<()>,
//! # ) -> mmap_sync::Result<()> {
//! use std::time::Duration;
//!
//! let mut changes = reader.changes()?;
//! loop {
//!     tokio::select! {
//!         changed = changes.changed() => {
//!             let generation = changed?;
//!             println!("generation {generation}");
//!         }
//!         _ = &mut shutdown => break,
//!     }
//! }
//! // At most five seconds: `Err(Elapsed)` when nothing was published meanwhile.
//! match tokio::time::timeout(Duration::from_secs(5), changes.changed()).await {
//!     Ok(Ok(generation)) => println!("generation {generation}"),
//!     Ok(Err(error)) => return Err(error),
//!     Err(_elapsed) => println!("nothing new in five seconds"),
//! }
//! # Ok(()) }
//! ```
//!
//! # The waiter thread
//!
//! The first [`Reader::changes`] (or [`Reader::changed`]) for a channel starts the process's
//! waiter thread for it, with a clone of that reader; later calls, from any task, any clone and
//! any other reader of the same path, share it. It stops within [`WAITER_STEP`] after the
//! last [`Changes`] of the channel is dropped, giving its slot back; the next call starts a
//! new one. When the channel's files are replaced by a new set, `changed` returns
//! [`Error::Superseded`] to the subscribers of the old set's reader; open a new reader and
//! subscribe again. [`waiter_threads`] counts the waiter threads running.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::reader::Reader;
use crate::shared_state::SharedState;

/// How long the waiter thread blocks in one `wait_for_change` before it checks whether anyone
/// still listens: the longest a waiter thread outlives its last [`Changes`].
pub const WAITER_STEP: Duration = Duration::from_millis(100);

/// What the waiter thread tells its subscribers.
#[derive(Clone, Debug)]
struct Notice {
    /// The newest published generation it has seen.
    generation: u64,
    /// Why it stopped waiting, if it did.
    end: Option<Arc<Error>>,
}

/// What a waiter thread and its subscribers share.
struct Shared {
    notices: watch::Sender<Notice>,
    /// Set when the last subscriber is gone.
    stop: AtomicBool,
    /// Whether the waiter's reader follows a set of files that was replaced.
    superseded: Box<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("notices", &self.notices).finish_non_exhaustive()
    }
}

/// Held by every [`Changes`] of a channel; the last one dropped stops the waiter thread.
#[derive(Debug)]
struct Subscription {
    shared: Arc<Shared>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Relaxed: the waiter only needs to see it eventually; nothing else is published by it.
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// The waiter of each channel in this process, by state file path.
static WAITERS: Mutex<Option<HashMap<PathBuf, Weak<Subscription>>>> = Mutex::new(None);

/// Waiter threads running in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The number of waiter threads running in this process: one per channel that has a live
/// [`Changes`], plus, for at most [`WAITER_STEP`], those whose last `Changes` was just dropped.
pub fn waiter_threads() -> usize {
    // Relaxed: a count for monitoring and tests.
    RUNNING.load(Ordering::Relaxed)
}

/// A subscription to a channel's new generations, for async code; see the
/// [module documentation](self). Cheap to clone: clones share the waiter thread and each keeps
/// its own last returned generation.
#[derive(Debug, Clone)]
pub struct Changes {
    notices: watch::Receiver<Notice>,
    /// The last generation returned (or current when subscribed).
    seen: u64,
    _subscription: Arc<Subscription>,
}

impl Changes {
    /// Resolves with the newest published generation once it is newer than the last one this
    /// `Changes` returned. Cancel-safe: dropping the future loses no publish.
    ///
    /// Fails with [`Error::Superseded`] once the channel's files are replaced by a new set
    /// (the reader keeps its last value; open a new reader to follow the channel), and with
    /// the error that stopped the waiter thread otherwise (for example
    /// [`Error::ReadersFull`] when it could not claim a reader slot).
    pub async fn changed(&mut self) -> Result<u64> {
        loop {
            {
                let notice = self.notices.borrow_and_update();
                if notice.generation > self.seen {
                    self.seen = notice.generation;
                    return Ok(self.seen);
                }
                if let Some(end) = &notice.end {
                    return Err(end.duplicate());
                }
            }
            if self.notices.changed().await.is_err() {
                // The sender lives in `Shared`, which our subscription keeps: unreachable, but
                // never a hang if it were not.
                return Err(Error::Io {
                    path: PathBuf::new(),
                    source: std::io::Error::other("the waiter thread is gone"),
                });
            }
        }
    }

    /// The last generation [`changed`](Self::changed) returned (at first, the generation
    /// published when this subscription was made).
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The newest generation the waiter thread has seen published.
    pub fn latest(&self) -> u64 {
        self.notices.borrow().generation
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl<T: SharedState + 'static> Reader<T> {
    /// A subscription to this channel's new generations, for async code: see
    /// [`Changes::changed`]. Starts the process's waiter thread for the channel if none runs.
    /// Fails only when that thread cannot be started.
    pub fn changes(&self) -> Result<Changes> {
        let seen = self.generation();
        let subscription = subscribe(self)?;
        let notices = subscription.shared.notices.subscribe();
        Ok(Changes { notices, seen, _subscription: subscription })
    }

    /// Resolves with the newest published generation once it is newer than `since`: the
    /// async form of [`wait_for_change`](Self::wait_for_change) (with `since` the generation
    /// of the last read, it resolves on the next publish; at once if one is newer already).
    /// Cancel-safe. Each call subscribes anew; a task that waits in a loop does better to keep
    /// one [`Changes`].
    pub async fn changed(&self, since: u64) -> Result<u64> {
        let mut changes = self.changes()?;
        changes.seen = since;
        changes.changed().await
    }
}

/// The channel's subscription: the running waiter's, or a new waiter's.
fn subscribe<T: SharedState + 'static>(reader: &Reader<T>) -> Result<Arc<Subscription>> {
    let key = reader.paths().state.clone();
    let mut waiters = WAITERS.lock().unwrap_or_else(|e| e.into_inner());
    let waiters = waiters.get_or_insert_with(HashMap::new);
    waiters.retain(|_, w| w.strong_count() > 0);
    if let Some(existing) = waiters.get(&key).and_then(Weak::upgrade) {
        let shared = &existing.shared;
        let ended = shared.notices.borrow().end.is_some();
        // A waiter whose reader follows a replaced set is no use to a reader of the new one.
        let stale = (shared.superseded)() && !reader.is_superseded();
        if !ended && !stale {
            return Ok(existing);
        }
    }
    let subscription = start_waiter(reader)?;
    waiters.insert(key, Arc::downgrade(&subscription));
    Ok(subscription)
}

fn start_waiter<T: SharedState + 'static>(reader: &Reader<T>) -> Result<Arc<Subscription>> {
    let generation = reader.generation();
    let probe = reader.clone();
    let shared = Arc::new(Shared {
        notices: watch::Sender::new(Notice { generation, end: None }),
        stop: AtomicBool::new(false),
        superseded: Box::new(move || probe.is_superseded()),
    });
    let thread_shared = shared.clone();
    let thread_reader = reader.clone();
    // Relaxed: a count for monitoring; the thread's own decrement comes after this increment.
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("mmap-sync-changes".into())
        .spawn(move || run_waiter(thread_reader, thread_shared, generation));
    if let Err(e) = spawned {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
        return Err(Error::Io { path: reader.paths().state.clone(), source: e });
    }
    Ok(Arc::new(Subscription { shared }))
}

/// The waiter thread: waits for each new generation and tells the subscribers.
fn run_waiter<T: SharedState>(reader: Reader<T>, shared: Arc<Shared>, mut generation: u64) {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            // Relaxed: as at the increment.
            RUNNING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _running = Running;
    // Relaxed: see `Subscription::drop`.
    while !shared.stop.load(Ordering::Relaxed) {
        match reader.wait_for_change(generation, WAITER_STEP) {
            Ok(Some(newer)) => {
                generation = newer;
                shared.notices.send_modify(|n| n.generation = newer);
            }
            Ok(None) => {}
            Err(error) => {
                shared.notices.send_modify(|n| n.end = Some(Arc::new(error)));
                return;
            }
        }
    }
}
