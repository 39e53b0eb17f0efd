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
//! when it was made). [`Changes::changed`] resolves with the newest readable generation as
//! soon as it is newer than that; several publishes in quick succession may resolve one call
//! with the newest of them, as `tokio::sync::watch` does. Readable: the waiter thread has
//! validated it for the process (or seen it validated, in the background mode), so a read after
//! `changed` returns serves it or a newer one; a generation that fails validation is skipped
//! (see [`Reader::last_failure`]).
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
//! any other reader of the same path, share it, however many futures are made, cancelled or
//! dropped: a process has at most one waiter thread per channel, holding one reader slot. It
//! waits with [`Reader::wait_for_change`], so a generation it announces is readable: a read
//! after `changed` returns serves it (or a newer one), and a generation that fails validation
//! is never announced. It stops about [`WAITER_STEP`] after the last [`Changes`] of the channel
//! is dropped, giving its slot back; the next call starts a new one. When the channel's files
//! are replaced by a new set (or deleted, and a new channel created at the path), `changed`
//! returns [`Error::Superseded`] to the subscribers of the old set's reader; open a new reader
//! and subscribe again. [`waiter_threads`] counts the waiter threads running.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::os::PerProcess;
use crate::reader::Reader;
use crate::shared_state::SharedState;

/// How long the waiter thread blocks in one `wait_for_change` before it checks whether anyone
/// still listens, and how long it stays after its last [`Changes`] is dropped: the longest a
/// waiter thread outlives its last `Changes` is about twice this.
pub const WAITER_STEP: Duration = Duration::from_millis(100);

/// What the waiter thread tells its subscribers.
#[derive(Clone, Debug)]
struct Notice {
    /// The newest generation it has made readable.
    generation: u64,
    /// Why it stopped waiting, if it did.
    end: Option<Arc<Error>>,
}

/// What a waiter thread and its subscribers share.
struct Shared {
    notices: watch::Sender<Notice>,
    /// Whether the waiter's reader follows a set of files that was replaced.
    superseded: Box<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("notices", &self.notices).finish_non_exhaustive()
    }
}

/// The one waiter thread of a channel in this process, as the registry holds it. Every field is
/// read and written under the registry's lock, which is what makes "one waiter per channel" a
/// fact: a subscription either joins the running waiter or, when there is none, starts one, in
/// one critical section; a waiter decides to stop in one too.
struct Waiter {
    shared: Arc<Shared>,
    /// Live [`Subscription`]s of this waiter (every live [`Changes`] holds one, through an
    /// `Arc` its clones share).
    subscribers: usize,
    /// When `subscribers` last dropped to 0.
    idle_since: Instant,
    /// Set by the thread when it stops (it stopped waiting, for lack of subscribers or on an
    /// error), before it tells its subscribers why; the thread then only returns.
    stopped: bool,
    thread: JoinHandle<()>,
}

/// The waiter of each channel in this process, by state file path. Per process image: a child
/// forked while a thread of its parent held the lock starts with no waiters (the parent's
/// threads did not come along) and never waits for that lock.
static WAITERS: PerProcess<Mutex<HashMap<PathBuf, Waiter>>> = PerProcess::new();

fn waiters() -> MutexGuard<'static, HashMap<PathBuf, Waiter>> {
    WAITERS.get(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|e| e.into_inner())
}

/// Held by every [`Changes`] of a waiter (clones of a `Changes` share one).
#[derive(Debug)]
struct Subscription {
    key: PathBuf,
    shared: Arc<Shared>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut waiters = waiters();
        if let Some(waiter) = waiters.get_mut(&self.key)
            && Arc::ptr_eq(&waiter.shared, &self.shared)
        {
            waiter.subscribers -= 1;
            if waiter.subscribers == 0 {
                waiter.idle_since = Instant::now();
            }
        }
    }
}

/// Waiter threads running in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The number of waiter threads running in this process: at most one per channel, running
/// while the channel has a live [`Changes`] and for about [`WAITER_STEP`] after.
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
    let mut registry = waiters();
    if let Some(waiter) = registry.get_mut(&key) {
        // A registered waiter sets `stopped` before it sends its `end`, both under this lock.
        let ended = waiter.stopped;
        // A waiter whose reader follows a replaced set is no use to a reader of the new one.
        let stale = !ended && (waiter.shared.superseded)() && !reader.is_superseded();
        if !ended && !stale {
            waiter.subscribers += 1;
            return Ok(Arc::new(Subscription { key, shared: waiter.shared.clone() }));
        }
        let old = registry.remove(&key).expect("found above");
        if old.stopped {
            // It decided to stop and only returns: wait for it, so that it has given its reader
            // slot back before the next waiter takes one.
            let _ = old.thread.join();
        }
        // A stale waiter's reader follows a replaced set and its wait ends within
        // `SUPERSEDED_CHECK`; it stops at its next look, as it is no longer registered.
    }
    let (shared, thread) = start_waiter(reader, &key)?;
    registry.insert(
        key.clone(),
        Waiter {
            shared: shared.clone(),
            subscribers: 1,
            idle_since: Instant::now(),
            stopped: false,
            thread,
        },
    );
    Ok(Arc::new(Subscription { key, shared }))
}

fn start_waiter<T: SharedState + 'static>(
    reader: &Reader<T>,
    key: &std::path::Path,
) -> Result<(Arc<Shared>, JoinHandle<()>)> {
    let generation = reader.generation();
    let probe = reader.clone();
    let shared = Arc::new(Shared {
        notices: watch::Sender::new(Notice { generation, end: None }),
        superseded: Box::new(move || probe.is_superseded()),
    });
    let thread_shared = shared.clone();
    let thread_reader = reader.clone();
    let thread_key = key.to_path_buf();
    // Relaxed: a count for monitoring; the thread's own decrement comes after this increment.
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("mmap-sync-changes".into())
        .spawn(move || run_waiter(thread_reader, thread_shared, thread_key, generation));
    match spawned {
        Ok(thread) => Ok((shared, thread)),
        Err(e) => {
            RUNNING.fetch_sub(1, Ordering::Relaxed);
            Err(Error::Io { path: reader.paths().state.clone(), source: e })
        }
    }
}

/// The waiter thread: makes each new generation readable and tells the subscribers; stops when
/// no subscriber is left for a [`WAITER_STEP`], when its wait fails, or when the registry no
/// longer names it (another waiter replaced it).
fn run_waiter<T: SharedState>(
    reader: Reader<T>,
    shared: Arc<Shared>,
    key: PathBuf,
    mut generation: u64,
) {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            // Relaxed: as at the increment.
            RUNNING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _running = Running;
    loop {
        let end = match reader.wait_for_change(generation, WAITER_STEP) {
            Ok(Some(newer)) => {
                generation = newer;
                shared.notices.send_modify(|n| n.generation = newer);
                None
            }
            Ok(None) => None,
            Err(error) => Some(Arc::new(error)),
        };
        let mut waiters = waiters();
        let Some(waiter) = waiters.get_mut(&key).filter(|w| Arc::ptr_eq(&w.shared, &shared)) else {
            // Replaced: its subscribers (if any) follow the new waiter.
            if let Some(end) = end {
                shared.notices.send_modify(|n| n.end = Some(end));
            }
            return;
        };
        if let Some(end) = end {
            waiter.stopped = true;
            shared.notices.send_modify(|n| n.end = Some(end));
            return;
        }
        if waiter.subscribers == 0 && waiter.idle_since.elapsed() >= WAITER_STEP {
            waiter.stopped = true;
            return;
        }
    }
}
