//! What a reader's process knows about the generations it validated: the per-copy memo of
//! verdicts, the archived root validated in each copy, the fast word the hot path compares
//! against, the newest failure, and the counters of validation work.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::check_copy::{self, Rules};
use super::validation_lock::{ValidationGuard, ValidationLock};
use crate::error::{Error, Result};
use crate::format::MAX_COPIES;
use crate::os::{self, FAULT_CLEARED, FaultWords, PerProcess};
use crate::protocol;
use crate::set::{DataFile, ReaderData, ReaderFiles};
use crate::value_type::ValueType;

/// "No validated generation": the value of the fast word before the first validation, and the
/// value the fault guard stores into it.
pub(super) const NONE: u64 = FAULT_CLEARED;

/// A generation that failed validation: it is never served.
#[derive(Clone, Debug)]
pub struct ValidationFailure {
    /// The generation that failed.
    pub generation: u64,
    /// Why.
    pub error: Arc<Error>,
}

/// What a reader's process has done so far: for watching validation work and freshness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderStats {
    /// Generations validated (bytecheck, checksum, fingerprint), successfully or not.
    pub validations: u64,
    /// Of those, the ones a `read` call ran (the rest ran in waits, such as
    /// [`Reader::wait_for_change`](crate::Reader::wait_for_change), or on the background
    /// validator).
    pub validations_in_reads: u64,
    /// Reads that served an older validated generation while a newer one was being validated.
    pub served_older: u64,
    /// Reads that had to wait for a validation because no validated generation was left.
    pub waited: u64,
}

#[derive(Debug, Default)]
struct Counters {
    validations: AtomicU64,
    validations_in_reads: AtomicU64,
    served_older: AtomicU64,
    waited: AtomicU64,
}

/// How a read treats validation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// bytecheck, checksum (unless turned off) and fingerprint.
    Safe,
    /// checksum and fingerprint only (`read_unchecked`).
    Unchecked,
}

/// The validation lock held: the memo.
pub(super) type MemoGuard<'a> = ValidationGuard<'a, Memo>;

/// The per-copy verdicts, held under the validation lock (one validation at a time).
#[derive(Debug)]
pub(super) struct Memo {
    /// Per copy: the generation validated there with and without bytecheck (0: none).
    checked: [u64; MAX_COPIES],
    unchecked: [u64; MAX_COPIES],
    /// Per copy: a generation that failed validation there, whether that validation ran
    /// bytecheck, and why; not validated again by a validation of the same kind.
    failed: [Option<(u64, bool, Arc<Error>)>; MAX_COPIES],
    /// Fault counts already accounted for: state, readers.
    seen_faults: [u64; 2],
    /// The reader's total fault count already accounted for (see `FastWord::faults`).
    seen_all_faults: u64,
    /// The data files, mapped at their first use.
    data: Vec<ReaderData>,
}

/// The lockable part, per process image (see [`PerProcess`]): a child forked while a thread of
/// its parent validated gets a fresh one and never waits for that thread.
struct Local {
    /// Held while a thread validates a copy.
    memo: ValidationLock<Memo>,
    /// A futex word bumped after a validation (success or failure) when someone waits for one
    /// ([`Validated::wait_validated`]).
    validations_done: AtomicU32,
    /// Threads waiting on `validations_done`. Counted up and read under the validation lock,
    /// so a validation either sees a waiter or finished before the waiter looked.
    waiters: AtomicUsize,
    /// The newest generation that failed validation, if newer than the newest served.
    failure: Mutex<Option<ValidationFailure>>,
    /// Whether `failure` holds one (spares a successful validation the lock).
    has_failure: AtomicBool,
}

/// The validation state of one reader, shared by all its clones and threads.
pub(super) struct Validated {
    ty: ValueType,
    /// The fingerprint the channel's copies carry.
    fingerprint: u64,
    checksum: bool,
    local: PerProcess<Local>,
    /// The data files, as opened: a forked child maps them anew from these. Declared after
    /// `local`, whose memo holds their mappings: unmapped before closed (see `Mapping`).
    data_files: Box<[DataFile]>,
    counters: Counters,
    /// Per copy, the archived root of the generation last validated in it. A forked child
    /// keeps them, with the fast word: each pairs a copy with the root validated in it, and a
    /// pinned copy keeps both.
    roots: [AtomicPtr<u8>; MAX_COPIES],
    /// Per copy, the start of the archive whose root is in `roots` (stored and read with it).
    starts: [AtomicPtr<u8>; MAX_COPIES],
    /// The `active` word of the newest generation validated with bytecheck (or [`NONE`]): the
    /// hot path serves a generation without further checks when `active` equals it. The fault
    /// guard stores [`NONE`] into it when a mapping of the channel faults. Last field: returned
    /// to its pool after the data mappings (which name it to the guard) are gone; the owner of
    /// this value drops the other mappings before it.
    fast: FastWord,
}

/// The fault counts of the state and readers mappings of `files`, as a [`Memo`] starts with
/// them.
fn seen_faults(files: &ReaderFiles) -> [u64; 2] {
    [files.state.mapping().faults(), files.readers.mapping().faults()]
}

/// Maps `map` (of `file`, at `path`) again in place after the file was cut short under the
/// reader: the error that says so (`reason`), or the remap's own when it fails.
fn remapped_truncated(map: &os::Mapping, file: &File, path: &Path, reason: &str) -> Error {
    match map.remap_in_place(file) {
        Ok(()) => Error::corrupt(path, reason),
        Err(e) => Error::io(path, e),
    }
}

impl Validated {
    /// Nothing validated yet, for the data files of `files` (taken out of it).
    pub fn new(
        ty: ValueType,
        fingerprint: u64,
        checksum: bool,
        fast: FastWord,
        files: &mut ReaderFiles,
    ) -> Validated {
        let data = std::mem::take(&mut files.data);
        let data_files = std::mem::take(&mut files.data_files);
        let local = Local::new(Memo::new(seen_faults(files), fast.faults(), data));
        Validated {
            ty,
            fingerprint,
            checksum,
            data_files,
            local: PerProcess::with(local),
            counters: Counters::default(),
            roots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            starts: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            fast,
        }
    }

    /// The type the reader validates as.
    pub fn ty(&self) -> &ValueType {
        &self.ty
    }

    /// This process image's lockable state.
    #[inline]
    fn local(&self, files: &ReaderFiles) -> &Local {
        self.local.get(|| self.fresh_local(files))
    }

    /// The state of a child forked after `open`: nothing validated in this process yet, every
    /// data file to be mapped anew. The parent's state stays as its threads left it.
    #[cold]
    fn fresh_local(&self, files: &ReaderFiles) -> Local {
        let data = ReaderData::every(self.data_files.len());
        Local::new(Memo::new(seen_faults(files), self.fast.faults(), data))
    }

    /// The fast word (see the field).
    #[inline(always)]
    pub fn fast_word(&self) -> &AtomicU64 {
        self.fast.word()
    }

    /// The archived root validated in copy `copy` (masked into range). Relaxed: the caller
    /// ordered it by an Acquire load of the fast word, or holds the validation lock.
    #[inline(always)]
    pub fn root(&self, copy: usize) -> *const u8 {
        // Relaxed: see the doc.
        self.roots[copy & (MAX_COPIES - 1)].load(Ordering::Relaxed)
    }

    /// The start of the archive whose root [`root`](Self::root) gives for copy `copy`.
    /// Relaxed, as `root`: the caller holds a pin on the copy that it read `root` under.
    pub fn start(&self, copy: usize) -> *const u8 {
        // Relaxed: see the doc.
        self.starts[copy & (MAX_COPIES - 1)].load(Ordering::Relaxed)
    }

    /// The newest generation this process validated (0 if none).
    pub fn validated_generation(&self, files: &ReaderFiles) -> u64 {
        // Acquire: pairs with the validator's release.
        match self.fast.word().load(Ordering::Acquire) {
            NONE => {
                let memo = self.lock(files);
                memo.checked.iter().copied().max().unwrap_or(0)
            }
            active => protocol::generation(active),
        }
    }

    /// The validation lock, waiting for it.
    pub fn lock(&self, files: &ReaderFiles) -> MemoGuard<'_> {
        self.local(files).memo.lock()
    }

    /// The validation lock, unless another thread holds it (it validates).
    #[inline]
    pub fn try_lock(&self, files: &ReaderFiles) -> Option<MemoGuard<'_>> {
        self.local(files).memo.try_lock()
    }

    /// The copy that holds `generation`, pinned by the calling thread, and its validated root:
    /// validated now (with the lock the caller took) if this process's memo does not know it
    /// as `check` asks (a `read_unchecked` guard read again safely, or a child forked after its
    /// parent validated it, whose memo starts empty).
    pub fn root_of_pinned(
        &self,
        files: &ReaderFiles,
        generation: u64,
        check: Check,
        memo: MemoGuard<'_>,
    ) -> Result<(usize, *const u8)> {
        let in_memo = (0..files.state.copies())
            .find(|&c| memo.checked[c] == generation || memo.unchecked[c] == generation);
        let copy = in_memo
            .or_else(|| {
                files
                    .state
                    .descriptors()
                    .iter()
                    // Acquire: as every load of a descriptor's generation.
                    .position(|d| d.generation.load(Ordering::Acquire) == generation)
            })
            .ok_or_else(|| {
                Error::corrupt(
                    &files.paths.state,
                    format!("generation {generation}, held by this thread, is in no copy"),
                )
            })?;
        let known = match check {
            Check::Safe => memo.checked[copy] == generation,
            Check::Unchecked => memo.unchecked[copy] == generation,
        };
        let root = if known {
            drop(memo);
            self.root(copy)
        } else {
            self.validate(files, protocol::pack(generation, copy), check, memo, true)?
        };
        Ok((copy, root))
    }

    /// Validates the copy `a2` names (pinned exactly by the caller's thread), unless it already
    /// is, and publishes the result to the other threads. `in_read`: counted as a read's.
    pub fn validate(
        &self,
        files: &ReaderFiles,
        a2: u64,
        check: Check,
        mut memo: MemoGuard<'_>,
        in_read: bool,
    ) -> Result<*const u8> {
        self.account_faults(files, &mut memo)?;
        let c = protocol::copy(a2);
        let generation = protocol::generation(a2);
        let done = match check {
            Check::Safe => memo.checked[c] == generation,
            Check::Unchecked => memo.checked[c] == generation || memo.unchecked[c] == generation,
        };
        if done {
            // Relaxed (inside `root`): written under the lock we hold.
            return Ok(self.root(c));
        }
        if let Some((failed, bytechecked, error)) = &memo.failed[c]
            && *failed == generation
            && (check == Check::Safe || !bytechecked)
        {
            return Err(error.duplicate());
        }
        // Relaxed (counters): statistics only; written under the validation lock we hold, so a
        // load and a store count exactly (cheaper than a read-modify-write).
        let counters = &self.counters;
        counters
            .validations
            .store(counters.validations.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        if in_read {
            let n = counters.validations_in_reads.load(Ordering::Relaxed) + 1;
            counters.validations_in_reads.store(n, Ordering::Relaxed);
        }
        let rules = Rules {
            ty: &self.ty,
            fingerprint: self.fingerprint,
            bytecheck: check == Check::Safe,
            checksum: self.checksum,
        };
        let result = check_copy::validate_copy(
            a2,
            &mut memo.data[c],
            &self.data_files[c],
            rules,
            &files.state,
            &files.paths,
            self.fast.0,
        );
        let result = result.and_then(|copy| {
            // A fault while validating (the file was cut short under us) means the bytes seen
            // were not the file's.
            self.account_faults(files, &mut memo).map(|()| copy)
        });
        let local = self.local(files);
        match result {
            Ok(check_copy::ValidCopy { root, start }) => {
                // The copy is now validated for `generation`; a previous validation of another
                // generation in it is void.
                memo.checked[c] = if check == Check::Safe { generation } else { 0 };
                memo.unchecked[c] = generation;
                // Relaxed: published by the Release store of `fast` below.
                self.roots[c].store(root as *mut u8, Ordering::Relaxed);
                // Relaxed: as the root.
                self.starts[c].store(start as *mut u8, Ordering::Relaxed);
                if check == Check::Safe {
                    let current = self.fast.word().load(Ordering::Relaxed);
                    if current == NONE || protocol::generation(current) <= generation {
                        // Release: a thread that acquires this word sees the root above.
                        self.fast.word().store(a2, Ordering::Release);
                    }
                    // Relaxed: set under the validation lock we hold.
                    if local.has_failure.load(Ordering::Relaxed) {
                        let mut failure = local.failure.lock().unwrap_or_else(|e| e.into_inner());
                        if failure.as_ref().is_some_and(|f| f.generation <= generation) {
                            *failure = None;
                            local.has_failure.store(false, Ordering::Relaxed);
                        }
                    }
                }
                Self::notify_validated(local, memo);
                Ok(root)
            }
            Err(e) => {
                memo.checked[c] = 0;
                memo.unchecked[c] = 0;
                let error = Arc::new(e);
                memo.failed[c] = Some((generation, check == Check::Safe, error.clone()));
                crate::log::validation_failed(&files.paths.prefix, generation, &error);
                *local.failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(ValidationFailure { generation, error: error.clone() });
                // Relaxed: read and written under the validation lock.
                local.has_failure.store(true, Ordering::Relaxed);
                Self::notify_validated(local, memo);
                Err(error.duplicate())
            }
        }
    }

    /// Maps again, in place, every mapping the fault guard repaired since last seen, and
    /// forgets what was validated in it.
    fn account_faults(&self, f: &ReaderFiles, memo: &mut Memo) -> Result<()> {
        // One load says whether any of this reader's mappings faulted since the last look.
        let faults = self.fast.faults();
        if faults == memo.seen_all_faults {
            return Ok(());
        }
        memo.seen_all_faults = faults;
        if f.state.mapping().faults() != memo.seen_faults[0] {
            memo.seen_faults[0] = f.state.mapping().faults();
            return Err(remapped_truncated(
                f.state.mapping(),
                &f.state_file,
                &f.paths.state,
                "state file was truncated under the reader",
            ));
        }
        if f.readers.mapping().faults() != memo.seen_faults[1] {
            memo.seen_faults[1] = f.readers.mapping().faults();
            // Relaxed: an informational flag.
            if f.state.header().superseded.load(Ordering::Relaxed) != 0 {
                // The writer has moved to a new set and will never write these files again: the
                // last value is frozen and safe to read without a visible pin. Keep the stand-in
                // pages (pins land there without faulting) and serve what was validated.
                let newest = (0..f.state.copies()).max_by_key(|&c| memo.checked[c]);
                if let Some(c) = newest.filter(|&c| memo.checked[c] != 0) {
                    // Release: as in `validate`.
                    self.fast.word().store(protocol::pack(memo.checked[c], c), Ordering::Release);
                }
                return Ok(());
            }
            return Err(remapped_truncated(
                f.readers.mapping(),
                &f.readers_file,
                &f.paths.readers,
                "readers file was truncated under the reader; its pins may have been lost",
            ));
        }
        let Memo { data, checked, unchecked, failed, .. } = memo;
        for (i, data) in data.iter_mut().enumerate() {
            let file = &self.data_files[i];
            if data.remap_faulted(file, &f.paths)? {
                checked[i] = 0;
                unchecked[i] = 0;
                failed[i] = None;
                data.fresh_len(file, &f.paths)?;
            }
        }
        Ok(())
    }

    /// Waits (at most `timeout`) for the next validation to finish, unless one finished since
    /// the fast word was last loaded by the caller's loop.
    pub fn wait_validated(&self, files: &ReaderFiles, timeout: Duration) {
        let local = self.local(files);
        // Acquire: as every load of the fast word.
        let before = self.fast.word().load(Ordering::Acquire);
        // Taking the lock waits for a validation under way.
        let memo = local.memo.lock();
        if self.fast.word().load(Ordering::Acquire) != before {
            return;
        }
        // Relaxed (both): under the validation lock, which orders them with a validation's
        // look at the count and its bump of the word (`notify_validated`).
        local.waiters.fetch_add(1, Ordering::Relaxed);
        let done = local.validations_done.load(Ordering::Relaxed);
        drop(memo);
        if os::futex_wait(&local.validations_done, done, Some(timeout)).is_err() {
            // No futex: a nap all the same, never a spin.
            std::thread::sleep(timeout.min(Duration::from_millis(1)));
        }
        // Relaxed: a count seen late by a validation costs it one needless wake.
        local.waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Wakes the threads waiting for a validation, if any: after the background validator
    /// handled a publish, whatever the verdict.
    pub fn notify(&self, files: &ReaderFiles) {
        let local = self.local(files);
        Self::notify_validated(local, local.memo.lock());
    }

    /// Gives the validation lock `memo` back and wakes the threads waiting for a validation, if
    /// any (a wake is a system call; a validation with nobody waiting, the common case, makes
    /// none).
    #[inline]
    fn notify_validated(local: &Local, memo: MemoGuard<'_>) {
        // Relaxed: read under the lock that waiters count themselves under.
        let wake = local.waiters.load(Ordering::Relaxed) > 0;
        if wake {
            // Relaxed: under the lock, as the waiters' loads of it; the futex compares it.
            local.validations_done.fetch_add(1, Ordering::Relaxed);
        }
        drop(memo);
        if wake {
            let _ = os::futex_wake_all(&local.validations_done);
        }
    }

    /// The newest generation that failed validation, unless a newer one has been served.
    pub fn last_failure(&self, files: &ReaderFiles) -> Option<ValidationFailure> {
        self.local(files).failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the newest recorded validation failure is of `generation` or a newer one.
    pub fn failed_at_or_after(&self, files: &ReaderFiles, generation: u64) -> bool {
        // Relaxed: a hint; the lock below is what is trusted.
        self.local(files).has_failure.load(Ordering::Relaxed)
            && self.last_failure(files).is_some_and(|f| f.generation >= generation)
    }

    /// What this reader's process has done so far.
    pub fn stats(&self) -> ReaderStats {
        let c = &self.counters;
        // Relaxed: statistics only.
        ReaderStats {
            validations: c.validations.load(Ordering::Relaxed),
            validations_in_reads: c.validations_in_reads.load(Ordering::Relaxed),
            served_older: c.served_older.load(Ordering::Relaxed),
            waited: c.waited.load(Ordering::Relaxed), // Relaxed: as above
        }
    }

    /// Counts a read that served an older validated generation.
    pub fn count_served_older(&self) {
        // Relaxed: statistics only.
        self.counters.served_older.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a read that had to wait for a validation.
    pub fn count_waited(&self) {
        // Relaxed: statistics only.
        self.counters.waited.fetch_add(1, Ordering::Relaxed);
    }
}

impl Local {
    fn new(memo: Memo) -> Local {
        Local {
            memo: ValidationLock::new(memo),
            validations_done: AtomicU32::new(0),
            waiters: AtomicUsize::new(0),
            failure: Mutex::new(None),
            has_failure: AtomicBool::new(false),
        }
    }
}

impl Memo {
    /// Nothing validated yet; `seen_faults` and `seen_all_faults` as the mappings stand.
    fn new(seen_faults: [u64; 2], seen_all_faults: u64, data: Vec<ReaderData>) -> Memo {
        Memo {
            checked: [0; MAX_COPIES],
            unchecked: [0; MAX_COPIES],
            failed: std::array::from_fn(|_| None),
            seen_faults,
            seen_all_faults,
            data,
        }
    }
}

/// `'static` words the fault guard may write to at any time: taken from a pool of words that
/// are never freed, and given back when their reader is gone. `cleared` is the reader's fast
/// word; `faults` counts faults in any of the reader's mappings.
pub(super) struct FastWord(&'static FaultWords);

/// Words of readers that are gone, for the next reader. Per process image: a child forked
/// while another thread held the pool's lock never waits for it.
static FAST_POOL: PerProcess<Mutex<Vec<&'static FaultWords>>> = PerProcess::new();

fn fast_pool() -> MutexGuard<'static, Vec<&'static FaultWords>> {
    FAST_POOL.get(|| Mutex::new(Vec::new())).lock().unwrap_or_else(|e| e.into_inner())
}

impl FastWord {
    /// A word for a new reader, set to [`NONE`].
    pub fn take() -> FastWord {
        let words =
            fast_pool().pop().unwrap_or_else(|| Box::leak(Box::new(os::FaultWords::default())));
        // Relaxed: the words are not shared yet.
        words.cleared.store(NONE, Ordering::Relaxed);
        FastWord(words)
    }

    /// The words, for the mappings that name them to the fault guard.
    pub fn words(&self) -> &'static FaultWords {
        self.0
    }

    /// The fast word: the `active` word of the newest validated generation, or [`NONE`].
    #[inline(always)]
    fn word(&self) -> &AtomicU64 {
        &self.0.cleared
    }

    /// Faults in the reader's mappings so far.
    #[inline]
    fn faults(&self) -> u64 {
        // Acquire: pairs with the handler's release; a fault counted here has its page replaced.
        self.0.faults.load(Ordering::Acquire)
    }
}

impl Drop for FastWord {
    fn drop(&mut self) {
        fast_pool().push(self.0);
    }
}
