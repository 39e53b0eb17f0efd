//! The reader: one handle for the whole process. Every thread that reads holds a slot of its
//! own (see `slots`); every generation is validated once for the process, by the first thread
//! that reads it or by a background thread; reads never wait for a validation another thread
//! runs, while a validated generation is there to serve.

use std::fmt;
use std::fs::File;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Schema};
use crate::files::{self, Access};
use crate::format::{FileId, MAX_COPIES};
use crate::guard::ReadGuard;
use crate::os::{self, FAULT_CLEARED};
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::set::{self, ReaderData, ReaderFiles};
use crate::shared_state::SharedState;
use crate::slots::{self, NO_SLOT, SlotOwner, ThreadSlot};
use crate::validation::{self, Rules};
use crate::value_type::ValueType;

/// "No validated generation": the value of the fast word before the first validation, and the
/// value the fault guard stores into it.
const NONE: u64 = FAULT_CLEARED;

/// How often a waiting reader asks whether its path still names its set: the longest a waiter
/// takes to learn that its files were deleted and a new channel created at the path.
pub const SUPERSEDED_CHECK: Duration = Duration::from_millis(500);

/// How long a waiter sleeps at a time while another thread validates what it waits for.
const VALIDATION_POLL: Duration = Duration::from_millis(20);

/// What [`ReaderShared::make_readable`] achieved.
enum Readable {
    /// A read on the thread serves this generation.
    Served(u64),
    /// The generation (or a newer one published meanwhile) failed validation.
    Failed,
    /// The deadline passed first.
    TimedOut,
}

/// The time left until `deadline` (`None` has none: wait forever), or `None` once it passed.
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        Some(deadline) => deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()),
        None => Some(Duration::MAX),
    }
}

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
    /// [`Reader::wait_for_change`], or on the background validator).
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

/// The state of one reader shared by all its clones and threads.
pub(crate) struct ReaderShared {
    /// Unique for the process's life: threads find their slot of this reader by it.
    id: u64,
    /// The state file's `active` word, cached for the hot path (one load fewer than going
    /// through the state mapping).
    active_word: ActiveWord,
    files: ReaderFiles,
    ty: ValueType,
    /// The fingerprint the channel's copies carry.
    fingerprint: u64,
    /// The identity of the state file this reader maps.
    state_id: FileId,
    /// Latched when the path was found to name another state file.
    replaced: AtomicBool,
    checksum: bool,
    background: bool,
    /// The fork epoch `open` ran in (a background validator runs only in that process).
    opened_in_epoch: u64,
    /// The data files, as opened (their mappings are per process: see [`Local`]).
    data_files: Vec<(std::path::PathBuf, Arc<File>)>,
    /// What the threads of this process image share: a child forked while a thread of its
    /// parent held one of these locks gets fresh ones and never waits for that thread.
    local: os::PerProcess<Local>,
    counters: Counters,
    /// Per copy, the archived root of the generation last validated in it.
    roots: [AtomicPtr<u8>; MAX_COPIES],
    /// The `active` word of the newest generation validated with bytecheck (or [`NONE`]): the
    /// hot path serves a generation without further checks when `active` equals it. The fault
    /// guard stores [`NONE`] into it when a mapping of the channel faults. Last field: returned
    /// to its pool after the mappings (which name it to the guard) are gone.
    fast: FastWord,
}

/// The lockable state of a reader in one process image (see [`os::PerProcess`]).
struct Local {
    /// Slots claimed by this process, and the descriptor their locks are held through.
    claims: Mutex<Claims>,
    /// Held while a thread validates a copy.
    validation: Mutex<Validation>,
    /// Notified after every validation (success or failure), when someone waits.
    validated: Condvar,
    /// Threads waiting on `validated`.
    validation_waiters: std::sync::atomic::AtomicUsize,
    /// The newest generation that failed validation, if newer than the newest served.
    failure: Mutex<Option<ValidationFailure>>,
    /// Whether `failure` holds one (spares a successful validation the lock).
    has_failure: AtomicBool,
}

/// `Claims::epoch` of a child's fresh claims: no slot was claimed in this process yet, and the
/// readers file must be opened anew before one is (the inherited descriptor shares the
/// parent's locks).
const NO_EPOCH: u64 = u64::MAX;

#[derive(Debug)]
struct Claims {
    /// The descriptor the slot locks are taken through in a forked child (in the parent, the
    /// readers file's own).
    forked: Option<File>,
    /// The fork epoch `file` belongs to.
    epoch: u64,
    /// Which slots this process holds.
    held: Vec<bool>,
}

#[derive(Debug)]
struct Validation {
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
    /// The data files (mapped at their first use).
    data: Vec<ReaderData>,
}

impl Local {
    fn new(epoch: u64, slots: usize, validation: Validation) -> Local {
        Local {
            claims: Mutex::new(Claims { forked: None, epoch, held: vec![false; slots] }),
            validation: Mutex::new(validation),
            validated: Condvar::new(),
            validation_waiters: std::sync::atomic::AtomicUsize::new(0),
            failure: Mutex::new(None),
            has_failure: AtomicBool::new(false),
        }
    }
}

impl Validation {
    /// Nothing validated yet; `seen_faults` and `seen_all_faults` as the mappings stand.
    fn new(seen_faults: [u64; 2], seen_all_faults: u64, data: Vec<ReaderData>) -> Validation {
        Validation {
            checked: [0; MAX_COPIES],
            unchecked: [0; MAX_COPIES],
            failed: std::array::from_fn(|_| None),
            seen_faults,
            seen_all_faults,
            data,
        }
    }
}

impl fmt::Debug for ReaderShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("prefix", &self.files.paths.prefix)
            .field("type", &self.ty.type_name)
            .field("background", &self.background)
            .finish_non_exhaustive()
    }
}

/// What a read pinned: the slot, the generation and its root.
pub(crate) struct Pinned<'a> {
    pub slot: &'a ThreadSlot,
    pub generation: u64,
    pub root: *const u8,
}

/// How a read treats validation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// bytecheck, checksum (unless turned off) and fingerprint.
    Safe,
    /// checksum and fingerprint only (`read_unchecked`).
    Unchecked,
}

impl ReaderShared {
    pub fn open(
        prefix: &Path,
        ty: ValueType,
        checksum: bool,
        background: bool,
    ) -> Result<Arc<ReaderShared>> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let fast = FastWord::take();
        let mut files = set::open_for_reading(prefix, fast.0)?;
        let fingerprint = ty.accepts(&files.state, &files.paths.state)?;
        let slots = files.readers.slot_count();
        let seen_faults = [files.state.mapping().faults(), files.readers.mapping().faults()];
        os::on_fork_in_child(slots::after_fork_in_child);
        let data = std::mem::take(&mut files.data);
        let data_files = data.iter().map(|d| (d.path.clone(), d.file.clone())).collect();
        let state_id =
            FileId::of(&files.state_file).map_err(|e| Error::io(&files.paths.state, e))?;
        let active_word = ActiveWord(std::ptr::NonNull::from(&files.state.header().active));
        Ok(Arc::new(ReaderShared {
            // Relaxed: only uniqueness matters.
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            active_word,
            files,
            ty,
            fingerprint,
            state_id,
            replaced: AtomicBool::new(false),
            checksum,
            background,
            opened_in_epoch: os::fork_epoch(),
            data_files,
            local: os::PerProcess::with(Local::new(
                os::fork_epoch(),
                slots,
                Validation::new(seen_faults, fast.faults(), data),
            )),
            counters: Counters::default(),
            roots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            fast,
        }))
    }

    pub(crate) fn paths(&self) -> &ChannelPaths {
        &self.files.paths
    }

    /// This process image's lockable state.
    #[inline]
    fn local(&self) -> &Local {
        self.local.get(|| self.fresh_local())
    }

    /// The state of a child forked after `open`: nothing claimed, nothing validated in this
    /// process yet (the fast word and roots its parent published stay valid: each pairs a copy
    /// with the root validated in it, and a pinned copy keeps both), every data file to be
    /// mapped anew. The parent's state is left as its threads left it.
    #[cold]
    fn fresh_local(&self) -> Local {
        let f = &self.files;
        let seen_faults = [f.state.mapping().faults(), f.readers.mapping().faults()];
        let data = self
            .data_files
            .iter()
            .map(|(path, file)| ReaderData {
                path: path.clone(),
                file: file.clone(),
                maps: Vec::new(),
                known_len: 0,
            })
            .collect();
        let slots = f.readers.slot_count();
        Local::new(NO_EPOCH, slots, Validation::new(seen_faults, self.fast.faults(), data))
    }

    /// The state file's `active` word, through the cached pointer.
    #[inline(always)]
    fn active(&self) -> &AtomicU64 {
        self.active_word.get()
    }

    /// The published generation: one atomic load.
    #[inline]
    pub fn generation(&self) -> u64 {
        // Acquire: a caller that then reads sees at least this generation's descriptor.
        protocol::generation(self.active().load(Ordering::Acquire))
    }

    /// The newest generation this process validated (0 if none).
    pub fn validated_generation(&self) -> u64 {
        // Acquire: pairs with the validator's release.
        match self.fast.word().load(Ordering::Acquire) {
            NONE => {
                let v = self.lock_validation();
                v.checked.iter().copied().max().unwrap_or(0)
            }
            active => protocol::generation(active),
        }
    }

    fn lock_validation(&self) -> MutexGuard<'_, Validation> {
        self.local().validation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hot path: the calling thread's slot, reader steps 1–4, served when the generation is
    /// the validated one. Everything else goes to [`read_slow`](Self::read_slow).
    #[inline]
    pub fn read(self: &Arc<Self>, check: Check) -> Result<Pinned<'_>> {
        if let Some(slot) = slots::current(self.id)
            && !slot.holding()
        {
            let pin = slot.pin();
            let a2 = protocol::pin_active(self.active(), pin);
            // Acquire: pairs with the validator's release; the root below is the one validated.
            if a2 == self.fast.word().load(Ordering::Acquire) && a2 != NONE && check == Check::Safe
            {
                protocol::narrow(pin, a2);
                // Relaxed: ordered by the Acquire load of `fast`. Masked: `a2` equals a
                // validated word, whose copy index is below the copy count.
                let root =
                    self.roots[protocol::copy(a2) & (MAX_COPIES - 1)].load(Ordering::Relaxed);
                return Ok(Pinned { slot, generation: protocol::generation(a2), root });
            }
            return self.read_pinned(slot, a2, check);
        }
        self.read_slow(check)
    }

    /// Claims a slot for the calling thread if it has none, handles nested reads, then reads.
    #[cold]
    fn read_slow(self: &Arc<Self>, check: Check) -> Result<Pinned<'_>> {
        let slot = self.thread_slot()?;
        if slot.holding() {
            return self.read_nested(slot, check);
        }
        let a2 = protocol::pin_active(self.active(), slot.pin());
        self.read_pinned(slot, a2, check)
    }

    /// The calling thread's slot of this reader, claimed if needed.
    fn thread_slot(self: &Arc<Self>) -> Result<&ThreadSlot> {
        let owner: Weak<dyn SlotOwner> = Arc::downgrade(self) as Weak<dyn SlotOwner>;
        let slot = slots::find_or_insert(self.id, &owner).ok_or_else(|| {
            Error::io(
                &self.paths().readers,
                std::io::Error::other("this thread is exiting; it cannot take a reader slot"),
            )
        })?;
        // SAFETY: the thread slot lives in this thread's list for the thread's life.
        let slot = unsafe { &*slot };
        if slot.index() == NO_SLOT {
            let (index, pin) = self.claim_slot()?;
            slot.set_claimed(index, pin);
        }
        slots::set_current(self.id, slot);
        Ok(slot)
    }

    /// A read on a thread that already holds a guard of this reader: the same generation.
    fn read_nested<'s>(&'s self, slot: &'s ThreadSlot, check: Check) -> Result<Pinned<'s>> {
        // The thread's exact pin names the generation its guards hold; the copy holding it is
        // the one validated for it (the pin keeps it there).
        // Relaxed: the thread's own pin.
        let generation = slot.pin().load(Ordering::Relaxed) & !protocol::EXACT;
        let v = self.lock_validation();
        let memo = (0..self.files.state.copies())
            .find(|&c| v.checked[c] == generation || v.unchecked[c] == generation);
        // Not in this process's memo (a child forked after its parent validated it, whose memo
        // starts empty): the copy whose descriptor holds the generation, validated now.
        let copy = memo
            .or_else(|| {
                self.files
                    .state
                    .descriptors()
                    .iter()
                    // Acquire: as every load of a descriptor's generation.
                    .position(|d| d.generation.load(Ordering::Acquire) == generation)
            })
            .ok_or_else(|| {
                Error::corrupt(
                    &self.paths().state,
                    format!("generation {generation}, held by this thread, is in no copy"),
                )
            })?;
        let active = protocol::pack(generation, copy);
        let validated = match check {
            Check::Safe => v.checked[copy] == generation,
            Check::Unchecked => v.unchecked[copy] == generation,
        };
        if !validated {
            // The outer guard came from `read_unchecked`, or was validated before a fork: check
            // the generation now (it is pinned by this thread).
            self.validate(active, check, v, true)?;
        } else {
            drop(v);
        }
        // Relaxed: the root of a generation this thread pins; written before it was validated.
        let root = self.roots[copy].load(Ordering::Relaxed);
        slot.enter_nested();
        Ok(Pinned { slot, generation, root })
    }

    /// After steps 1–3 gave `a2`, which is not the fast word: validate it, or serve the newest
    /// validated generation while another thread validates.
    #[cold]
    fn read_pinned<'s>(
        &'s self,
        slot: &'s ThreadSlot,
        a2: u64,
        check: Check,
    ) -> Result<Pinned<'s>> {
        let pin = slot.pin();
        // Step 4: the exact pin also protects the copy while it is validated.
        protocol::narrow(pin, a2);
        if let Err(e) = self.check_active(a2) {
            protocol::release(pin);
            return Err(e);
        }
        // In a child forked after `open`, the background validator did not come along: reads
        // validate, as in the default mode.
        let may_validate = !self.background
            || check == Check::Unchecked
            || self.opened_in_epoch != os::fork_epoch();
        let mut failed = None;
        if may_validate {
            let validation = match self.local().validation.try_lock() {
                Ok(v) => Some(v),
                Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
                // Another thread validates: serve what is validated, without waiting.
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(v) = validation {
                match self.validate(a2, check, v, true) {
                    Ok(root) => return Ok(self.enter(slot, a2, root)),
                    Err(e) => failed = Some(e),
                }
            }
        }
        if check == Check::Safe
            && let Some(pinned) = self.serve_validated(slot)
        {
            return Ok(pinned);
        }
        protocol::release(pin);
        if let Some(e) = failed {
            return Err(e);
        }
        // Nothing validated is left to serve (the writer replaced every validated copy since this
        // process last read), and a validation is under way: wait for it. Never while a pin is
        // held, so the writer is not held up meanwhile.
        // Relaxed: statistics only.
        self.counters.waited.fetch_add(1, Ordering::Relaxed);
        if may_validate {
            let v = self.lock_validation();
            let a2 = protocol::pin_active(self.active(), pin);
            protocol::narrow(pin, a2);
            return match self.check_active(a2).and_then(|()| self.validate(a2, check, v, true)) {
                Ok(root) => Ok(self.enter(slot, a2, root)),
                Err(e) => {
                    protocol::release(pin);
                    Err(e)
                }
            };
        }
        // Background mode: the validator thread is validating the newest generation.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.wait_validated(Duration::from_millis(20));
            if let Some(pinned) = self.serve_validated(slot) {
                return Ok(pinned);
            }
            protocol::release(pin);
            if let Some(f) = self.last_failure()
                && f.generation >= protocol::generation(a2)
            {
                return Err(f.error.duplicate());
            }
            if Instant::now() >= deadline {
                return Err(Error::io(
                    &self.paths().state,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no generation was validated by the background validator within 10 s",
                    ),
                ));
            }
        }
    }

    /// Refuses an `active` word that names nothing readable.
    fn check_active(&self, a2: u64) -> Result<()> {
        if protocol::generation(a2) == 0 {
            return Err(Error::NotPublished { path: self.paths().state.clone() });
        }
        if protocol::copy(a2) >= self.files.state.copies() {
            return Err(Error::corrupt(
                &self.paths().state,
                format!("active copy index {} is out of range", protocol::copy(a2)),
            ));
        }
        Ok(())
    }

    #[inline]
    fn enter<'s>(&self, slot: &'s ThreadSlot, active: u64, root: *const u8) -> Pinned<'s> {
        Pinned { slot, generation: protocol::generation(active), root }
    }

    /// Reader step 4': pins the newest validated generation, if its copy still holds it.
    fn serve_validated<'s>(&'s self, slot: &'s ThreadSlot) -> Option<Pinned<'s>> {
        let pin = slot.pin();
        for _ in 0..4 {
            // Acquire: pairs with the validator's release of the fast word and its root.
            let v = self.fast.word().load(Ordering::Acquire);
            if v == NONE {
                return None;
            }
            let c = protocol::copy(v) & (MAX_COPIES - 1);
            let descriptor = self.files.state.descriptors().get(c)?;
            if protocol::pin_validated(pin, &descriptor.generation, v) {
                // Relaxed: statistics only.
                self.counters.served_older.fetch_add(1, Ordering::Relaxed);
                // Relaxed: ordered by the Acquire load of `fast` above.
                let root = self.roots[c].load(Ordering::Relaxed);
                return Some(Pinned { slot, generation: protocol::generation(v), root });
            }
            std::hint::spin_loop();
        }
        None
    }

    /// Validates the copy `a2` names (pinned exactly by the caller's thread), unless it already
    /// is, and publishes the result to the other threads.
    fn validate(
        &self,
        a2: u64,
        check: Check,
        mut v: MutexGuard<'_, Validation>,
        in_read: bool,
    ) -> Result<*const u8> {
        self.account_faults(&mut v)?;
        let c = protocol::copy(a2);
        let generation = protocol::generation(a2);
        let done = match check {
            Check::Safe => v.checked[c] == generation,
            Check::Unchecked => v.checked[c] == generation || v.unchecked[c] == generation,
        };
        if done {
            // Relaxed: written under the lock we hold.
            return Ok(self.roots[c].load(Ordering::Relaxed));
        }
        if let Some((failed, bytechecked, error)) = &v.failed[c]
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
        let result = validation::validate_copy(
            a2,
            &self.files.state.descriptors()[c],
            &mut v.data[c],
            rules,
            &self.files.state,
            &self.paths().state,
            self.fast.0,
        );
        let result = result.and_then(|root| {
            // A fault while validating (the file was cut short under us) means the bytes seen
            // were not the file's.
            self.account_faults(&mut v).map(|()| root)
        });
        match result {
            Ok(root) => {
                // The copy is now validated for `generation`; a previous validation of another
                // generation in it is void.
                v.checked[c] = if check == Check::Safe { generation } else { 0 };
                v.unchecked[c] = generation;
                // Relaxed: published by the Release store of `fast` below.
                self.roots[c].store(root as *mut u8, Ordering::Relaxed);
                if check == Check::Safe {
                    let current = self.fast.word().load(Ordering::Relaxed);
                    if current == NONE || protocol::generation(current) <= generation {
                        // Release: a thread that acquires this word sees the root above.
                        self.fast.word().store(a2, Ordering::Release);
                    }
                    // Relaxed: set under the validation lock we hold.
                    if self.local().has_failure.load(Ordering::Relaxed) {
                        let mut failure =
                            self.local().failure.lock().unwrap_or_else(|e| e.into_inner());
                        if failure.as_ref().is_some_and(|f| f.generation <= generation) {
                            *failure = None;
                            self.local().has_failure.store(false, Ordering::Relaxed);
                        }
                    }
                }
                drop(v);
                self.notify_validated();
                Ok(root)
            }
            Err(e) => {
                v.checked[c] = 0;
                v.unchecked[c] = 0;
                let error = Arc::new(e);
                v.failed[c] = Some((generation, check == Check::Safe, error.clone()));
                crate::log::validation_failed(&self.paths().prefix, generation, &error);
                *self.local().failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(ValidationFailure { generation, error: error.clone() });
                // Relaxed: read and written under the validation lock.
                self.local().has_failure.store(true, Ordering::Relaxed);
                drop(v);
                self.notify_validated();
                Err(error.duplicate())
            }
        }
    }

    /// Maps again, in place, every mapping the fault guard repaired since last seen, and
    /// forgets what was validated in it.
    fn account_faults(&self, v: &mut Validation) -> Result<()> {
        // One load says whether any of this reader's mappings faulted since the last look.
        let faults = self.fast.faults();
        if faults == v.seen_all_faults {
            return Ok(());
        }
        v.seen_all_faults = faults;
        let f = &self.files;
        if f.state.mapping().faults() != v.seen_faults[0] {
            v.seen_faults[0] = f.state.mapping().faults();
            f.state
                .mapping()
                .remap_in_place(&f.state_file)
                .map_err(|e| Error::io(&f.paths.state, e))?;
            return Err(Error::corrupt(
                &f.paths.state,
                "state file was truncated under the reader",
            ));
        }
        if f.readers.mapping().faults() != v.seen_faults[1] {
            v.seen_faults[1] = f.readers.mapping().faults();
            if self.marked_superseded() {
                // The writer has moved to a new set and will never write these files again: the
                // last value is frozen and safe to read without a visible pin. Keep the stand-in
                // pages (pins land there without faulting) and serve what was validated.
                let newest = (0..f.state.copies()).max_by_key(|&c| v.checked[c]);
                if let Some(c) = newest.filter(|&c| v.checked[c] != 0) {
                    // Release: as in `validate`.
                    self.fast.word().store(protocol::pack(v.checked[c], c), Ordering::Release);
                }
                return Ok(());
            }
            f.readers
                .mapping()
                .remap_in_place(&f.readers_file)
                .map_err(|e| Error::io(&f.paths.readers, e))?;
            return Err(Error::corrupt(
                &f.paths.readers,
                "readers file was truncated under the reader; its pins may have been lost",
            ));
        }
        let Validation { data, checked, unchecked, failed, .. } = v;
        for (i, data) in data.iter_mut().enumerate() {
            let mut faulted = false;
            for (map, seen) in &mut data.maps {
                if map.faults() != *seen {
                    *seen = map.faults();
                    faulted = true;
                    map.remap_in_place(&data.file).map_err(|e| Error::io(&data.path, e))?;
                }
            }
            if faulted {
                checked[i] = 0;
                unchecked[i] = 0;
                failed[i] = None;
                data.known_len = files::file_len(&data.file, &data.path)?;
            }
        }
        Ok(())
    }

    /// Waits (at most `timeout`) for the next validation to finish, unless one finished since
    /// the fast word was last loaded by the caller's loop.
    fn wait_validated(&self, timeout: Duration) {
        // Acquire: as every load of the fast word.
        let before = self.fast.word().load(Ordering::Acquire);
        let v = self.lock_validation();
        // Relaxed: the count is only read by validators after they release the lock this
        // increment happens under; the mutex orders the two.
        self.local().validation_waiters.fetch_add(1, Ordering::Relaxed);
        if self.fast.word().load(Ordering::Acquire) == before {
            let _ = self.local().validated.wait_timeout(v, timeout);
        }
        self.local().validation_waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Wakes the threads waiting for a validation, if any (a condition variable's wake is a
    /// system call; a validation with nobody waiting, the common case, makes none).
    fn notify_validated(&self) {
        // Relaxed: see `wait_validated`; the caller released the validation lock before.
        if self.local().validation_waiters.load(Ordering::Relaxed) > 0 {
            self.local().validated.notify_all();
        }
    }

    /// The newest generation that failed validation, unless a newer one has been served.
    pub fn last_failure(&self) -> Option<ValidationFailure> {
        self.local().failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
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

    /// Whether a writer marked this set as replaced by a new one: one load, for paths that ask
    /// often.
    pub fn marked_superseded(&self) -> bool {
        // Relaxed: an informational flag.
        self.files.state.header().superseded.load(Ordering::Relaxed) != 0
    }

    /// Whether this set is no longer the channel at its path: a writer marked it replaced, or
    /// the path's state file is now another file (this set's files were deleted and a new
    /// channel created there, which no writer could mark). Asks the filesystem (one `stat`)
    /// until the answer is yes, which is then kept.
    pub fn is_superseded(&self) -> bool {
        // Relaxed: a latch; once seen replaced, the set never becomes the channel again.
        if self.marked_superseded() || self.replaced.load(Ordering::Relaxed) {
            return true;
        }
        // A missing file is not another set: a writer may still publish into deleted files.
        let replaced = std::fs::symlink_metadata(&self.paths().state)
            .is_ok_and(|meta| FileId::from(&meta) != self.state_id);
        if replaced {
            self.replaced.store(true, Ordering::Relaxed);
        }
        replaced
    }

    /// Claims the lowest free slot for the calling thread (see [`set::claim_slot`]).
    fn claim_slot(&self) -> Result<(usize, *const AtomicU64)> {
        let mut claims = self.local().claims.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = os::fork_epoch();
        if claims.epoch != epoch {
            // A forked child: the inherited descriptor shares the parent's locks. Take our own.
            claims.forked = Some(self.reopen_readers()?);
            claims.held.iter_mut().for_each(|h| *h = false);
            claims.epoch = epoch;
        }
        let readers = &self.files.readers;
        let file = claims.forked.as_ref().unwrap_or(&self.files.readers_file);
        // Slots held already are skipped: a lock we hold would be granted to us again.
        let claimed = set::claim_slot(readers, file, |index| claims.held[index])
            .map_err(|e| Error::io(&self.paths().readers, e))?;
        let Some(index) = claimed else {
            return Err(Error::ReadersFull {
                path: self.paths().readers.clone(),
                slots: readers.slot_count() as u32,
            });
        };
        claims.held[index] = true;
        Ok((index, &readers.slots()[index].pin))
    }

    /// A new open file description of this set's readers file (the same inode, even if the path
    /// now names another file).
    fn reopen_readers(&self) -> Result<File> {
        use std::os::fd::AsRawFd;
        let path = &self.paths().readers;
        let via_proc = format!("/proc/self/fd/{}", self.files.readers_file.as_raw_fd());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&via_proc)
            .or_else(|_| {
                files::open(path, Access::ReadWrite)
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .map_err(|e| Error::io(path, e))?;
        if FileId::of(&file).map_err(|e| Error::io(path, e))? != self.files.state.readers_id() {
            return Err(Error::Superseded { path: path.clone() });
        }
        Ok(file)
    }

    /// Blocks until a read on this thread serves a generation other than `since` (and not 0),
    /// or `timeout` passes (`None`). See [`Reader::wait_for_change`].
    pub fn wait_for_change(self: &Arc<Self>, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.wait_readable(timeout, |g| g != since && g != 0)
    }

    /// Blocks until a read on this thread serves a generation newer than `since`, or `timeout`
    /// passes (`None`). See [`Reader::wait_for_validated`].
    pub fn wait_for_validated(
        self: &Arc<Self>,
        since: u64,
        timeout: Duration,
    ) -> Result<Option<u64>> {
        self.wait_readable(timeout, |g| g > since)
    }

    /// The one wait: sleeps on the publish futex until a published generation is `wanted`,
    /// makes it readable (validates it, or waits for the thread that does), and returns the
    /// generation a read now serves. A generation that fails validation is not a change: the
    /// wait goes on for the next publish, so a wait-then-read loop never spins on it. Every
    /// [`SUPERSEDED_CHECK`] it asks whether the path still names this set.
    fn wait_readable(
        self: &Arc<Self>,
        timeout: Duration,
        wanted: impl Fn(u64) -> bool,
    ) -> Result<Option<u64>> {
        let header = self.files.state.header();
        let deadline = Instant::now().checked_add(timeout);
        // The slot whose waiter bit this wait set, once it has set it.
        let mut waiting = None;
        let result = loop {
            // Load the futex word before checking the generation: a publish after this load
            // changes the word, so the wait below returns at once instead of missing it.
            // SeqCst (these two): after the waiter bit is set in the total order (on the
            // iterations that sleep), so that a publish either changed what they load or sees the
            // bit.
            let futex = header.publish_futex.load(Ordering::SeqCst);
            let published = protocol::generation(header.active.load(Ordering::SeqCst));
            if wanted(published) && !self.failed_at_or_after(published) {
                match self.make_readable(published, deadline) {
                    Ok(Readable::Served(generation)) if wanted(generation) => {
                        break Ok(Some(generation));
                    }
                    // Failed validation (recorded), or served something not wanted: look again.
                    Ok(Readable::Served(_) | Readable::Failed) => continue,
                    Ok(Readable::TimedOut) => break Ok(None),
                    Err(e) => break Err(e),
                }
            }
            if self.is_superseded() {
                break Err(Error::Superseded { path: self.paths().state.clone() });
            }
            let Some(remaining) = remaining(deadline) else { break Ok(None) };
            if waiting.is_none() {
                let index = match self.thread_slot() {
                    Ok(slot) => slot.index(),
                    Err(e) => break Err(e),
                };
                self.set_waiting(index, true);
                waiting = Some(index);
                // Look again with the bit set before sleeping.
                continue;
            }
            if let Err(e) =
                os::futex_wait(&header.publish_futex, futex, Some(remaining.min(SUPERSEDED_CHECK)))
            {
                break Err(Error::io(&self.paths().state, e));
            }
        };
        if let Some(index) = waiting {
            self.set_waiting(index, false);
        }
        result
    }

    /// Makes `published` (or a newer generation) what a read on this thread serves: returns at
    /// once if it is validated, else validates the active copy on this thread (default mode), or
    /// waits for the thread that validates it (another reading thread, or the background
    /// validator) until `deadline`.
    fn make_readable(
        self: &Arc<Self>,
        published: u64,
        deadline: Option<Instant>,
    ) -> Result<Readable> {
        loop {
            let validated = self.validated_generation();
            if validated >= published {
                return Ok(Readable::Served(validated));
            }
            if self.failed_at_or_after(published) {
                return Ok(Readable::Failed);
            }
            let Some(remaining) = remaining(deadline) else { return Ok(Readable::TimedOut) };
            // In a child forked after `open`, the background validator did not come along.
            let validator_runs = self.background && self.opened_in_epoch == os::fork_epoch();
            if validator_runs {
                self.wait_validated(remaining.min(VALIDATION_POLL));
                continue;
            }
            let slot = self.thread_slot()?;
            if slot.holding() {
                // The thread holds a guard: its reads serve that guard's generation until it
                // drops, and its pin cannot be moved to validate another.
                return Ok(Readable::Served(published));
            }
            let v = match self.local().validation.try_lock() {
                Ok(v) => v,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    // Another thread validates: wait for it rather than block on the lock.
                    self.wait_validated(remaining.min(VALIDATION_POLL));
                    continue;
                }
            };
            let pin = slot.pin();
            let a2 = protocol::pin_active(self.active(), pin);
            protocol::narrow(pin, a2);
            let result =
                self.check_active(a2).and_then(|()| self.validate(a2, Check::Safe, v, false));
            protocol::release(pin);
            if let Err(e) = result
                && !self.failed_at_or_after(published)
            {
                // Not a verdict on the generation (a remap failed, say): the caller's error.
                return Err(e);
            }
        }
    }

    /// Whether the newest recorded validation failure is of `generation` or a newer one.
    fn failed_at_or_after(&self, generation: u64) -> bool {
        // Relaxed: a hint; the lock below is what is trusted.
        self.local().has_failure.load(Ordering::Relaxed)
            && self.last_failure().is_some_and(|f| f.generation >= generation)
    }

    /// Sets (or clears) the waiter bit of slot `index`: while some bit is set, every publish
    /// wakes the futex waiters (the writer skips the wake otherwise).
    fn set_waiting(&self, index: usize, waiting: bool) {
        let word = &self.files.readers.waiters()[index / 64];
        let bit = 1u64 << (index % 64);
        // SeqCst: the writer bumps the futex word, then loads the bitmap; a waiter sets its bit,
        // then loads the futex word. One of the two sees the other. (Clearing: no weaker
        // ordering is worth reasoning about on this cold path.)
        if waiting {
            word.fetch_or(bit, Ordering::SeqCst);
        } else {
            word.fetch_and(!bit, Ordering::SeqCst);
        }
    }
}

impl SlotOwner for ReaderShared {
    fn release_slot(&self, index: usize) {
        let mut claims = self.local().claims.lock().unwrap_or_else(|e| e.into_inner());
        if claims.epoch != os::fork_epoch() || !claims.held.get(index).copied().unwrap_or(false) {
            return; // not ours (a parent's slot seen from a forked child)
        }
        let file = claims.forked.as_ref().unwrap_or(&self.files.readers_file);
        let _ = set::give_back_slot(&self.files.readers, file, index);
        claims.held[index] = false;
    }
}

impl Drop for ReaderShared {
    fn drop(&mut self) {
        slots::forget_current(self.id);
        // Clear the pins and release the locks explicitly: closing the descriptor alone would
        // leave them held while a child forked by another thread still shares it (until it execs).
        let claims = self.local().claims.lock().unwrap_or_else(|e| e.into_inner());
        if claims.epoch != os::fork_epoch() {
            return;
        }
        let file = claims.forked.as_ref().unwrap_or(&self.files.readers_file);
        for (index, held) in claims.held.iter().enumerate() {
            if *held {
                let _ = set::give_back_slot(&self.files.readers, file, index);
            }
        }
    }
}

/// A pointer to the `active` word of the reader's state mapping.
struct ActiveWord(std::ptr::NonNull<AtomicU64>);

// SAFETY: it points at an atomic in the state mapping, which the same `ReaderShared` owns and
// never unmaps or moves while it lives; atomics may be used from any thread.
unsafe impl Send for ActiveWord {}
// SAFETY: as above.
unsafe impl Sync for ActiveWord {}

impl ActiveWord {
    #[inline(always)]
    fn get(&self) -> &AtomicU64 {
        // SAFETY: see the Send impl; the borrow of `self` bounds the reference.
        unsafe { self.0.as_ref() }
    }
}

/// `'static` words the fault guard may write to at any time: taken from a pool of words that
/// are never freed, and given back when their reader is gone. `cleared` is the reader's fast
/// word; `faults` counts faults in any of the reader's mappings.
struct FastWord(&'static os::FaultWords);

/// Words of readers that are gone, for the next reader. Per process image: a child forked
/// while another thread held the pool's lock never waits for it.
static FAST_POOL: os::PerProcess<Mutex<Vec<&'static os::FaultWords>>> = os::PerProcess::new();

fn fast_pool() -> MutexGuard<'static, Vec<&'static os::FaultWords>> {
    FAST_POOL.get(|| Mutex::new(Vec::new())).lock().unwrap_or_else(|e| e.into_inner())
}

impl FastWord {
    fn take() -> FastWord {
        let words =
            fast_pool().pop().unwrap_or_else(|| Box::leak(Box::new(os::FaultWords::default())));
        // Relaxed: the words are not shared yet.
        words.cleared.store(NONE, Ordering::Relaxed);
        FastWord(words)
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

// ---------------------------------------------------------------------------------------------
// The typed handle
// ---------------------------------------------------------------------------------------------

/// Reads values of type `T` from the channel at a path.
///
/// One `Reader` serves a whole process: it is `Clone + Send + Sync`, and clones share one set of
/// mappings and one validation state. Each thread that reads holds a reader slot of its own,
/// claimed at its first read through this reader and given back when the thread exits or the
/// last clone drops. Each published generation is validated once for the process (bytecheck,
/// checksum, schema fingerprint); every other read of it is a pointer cast.
pub struct Reader<T: SharedState> {
    shared: Arc<ReaderShared>,
    /// Dropped with the last clone: stops the background validator, if any.
    _handle: Arc<Handle>,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> Clone for Reader<T> {
    fn clone(&self) -> Self {
        Reader { shared: self.shared.clone(), _handle: self._handle.clone(), _type: PhantomData }
    }
}

impl<T: SharedState> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.shared, f)
    }
}

/// The last clone's drop: stops the background validator and wakes it.
#[derive(Debug)]
struct Handle {
    shared: Arc<ReaderShared>,
    stop: Arc<AtomicBool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Release: the validator that sees the flag sees everything before it.
        self.stop.store(true, Ordering::Release);
        if self.shared.background {
            // Wakes every waiter on the channel (spuriously for all but our validator).
            let _ = os::futex_wake_all(&self.shared.files.state.header().publish_futex);
        }
    }
}

impl<T: SharedState> Reader<T> {
    /// Opens the channel at `path` and validates its current generation, so that the first
    /// read is already fast. Fails with [`Error::NotPublished`] if no writer has created it yet,
    /// and [`Error::SchemaMismatch`] if it holds another type.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().open(path)
    }

    /// A builder to turn off the checksum pass, validate in the background, or wait for the
    /// channel to appear.
    pub fn builder() -> ReaderBuilder<T> {
        ReaderBuilder { checksum: true, background: false, _type: PhantomData }
    }

    /// The newest validated value. Wait-free on the hot path: one thread-local lookup, the pin,
    /// the re-load. When a new generation is published, the first thread to read it validates
    /// it (or, with [`ReaderBuilder::validate_in_background`], a background thread does) while
    /// other threads keep reading the newest validated generation. A generation that fails
    /// validation is never served; see [`last_failure`](Self::last_failure).
    ///
    /// A thread that holds a guard of this reader and reads again gets a guard on the same
    /// generation.
    #[inline]
    pub fn read(&self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.shared.read(Check::Safe)?;
        // SAFETY: `pinned.root` is the root of a generation validated as `T::Archived` for this
        // process, and the thread's pin keeps the writer away from it until the guard drops.
        Ok(unsafe { ReadGuard::new(pinned.root, pinned.slot, pinned.generation) })
    }

    /// Like [`read`](Self::read) but skips bytecheck (checksum and fingerprint are still
    /// checked once per generation).
    ///
    /// # Safety
    /// The writer must be trusted to publish only valid archives of `T`: a malformed archive
    /// read this way is undefined behaviour.
    #[inline]
    pub unsafe fn read_unchecked(&self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.shared.read(Check::Unchecked)?;
        // SAFETY: the caller vouches for the bytes; the pin keeps the copy stable.
        Ok(unsafe { ReadGuard::new(pinned.root, pinned.slot, pinned.generation) })
    }

    /// The published generation (0 before the first publish): one atomic load, for cheap
    /// change polling. It may be newer than what [`read`](Self::read) serves while that
    /// generation is being validated.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.shared.generation()
    }

    /// The newest generation validated by this process (0 if none): what a read serves when
    /// nothing newer is validated.
    pub fn validated_generation(&self) -> u64 {
        self.shared.validated_generation()
    }

    /// The newest generation that failed validation (it is never served), unless a newer
    /// generation has been validated since.
    pub fn last_failure(&self) -> Option<ValidationFailure> {
        self.shared.last_failure()
    }

    /// What this reader (all its clones, in this process) has done so far: validations, and
    /// reads that served an older validated generation or waited for one.
    pub fn stats(&self) -> ReaderStats {
        self.shared.stats()
    }

    /// Whether the files this reader maps are no longer the channel at its path: a writer
    /// replaced them by a new set, or they were deleted and a new channel was created at the
    /// path. The reader keeps its last value; open a new reader to follow the channel. Asks the
    /// filesystem (one `stat`) until the answer is yes.
    pub fn is_superseded(&self) -> bool {
        self.shared.is_superseded()
    }

    /// Blocks until a generation other than `since` (and not 0) is published and readable, or
    /// `timeout` passes (any duration, `Duration::MAX` included). Returns `Ok(Some(generation))`
    /// with the generation a [`read`](Self::read) on this thread now serves (the new one, or a
    /// newer one), and `Ok(None)` on timeout. So a loop of `wait_for_change(seen)`, `read()`,
    /// `seen = guard.generation()` sleeps between publishes, on any number of threads.
    ///
    /// The thread sleeps on a futex; the writer wakes it only when some reader waits. A wait
    /// that finds a new generation makes it readable before it returns: it validates it, or
    /// waits for the thread that does (another thread, or the background validator). The
    /// deadline bounds the waiting, not a validation this thread runs itself. A generation that
    /// fails validation is not a change: the wait goes on for the next publish (see
    /// [`last_failure`](Self::last_failure)). A thread that holds a guard of this reader keeps
    /// reading that guard's generation; for it the wait returns on the publish alone.
    ///
    /// Fails with [`Error::Superseded`] when the files this reader maps are no longer the
    /// channel at its path: a writer replaced them by a new set, or they were deleted and a new
    /// channel was created at the path, which a waiting reader learns within
    /// [`SUPERSEDED_CHECK`](crate::SUPERSEDED_CHECK).
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.shared.wait_for_change(since, timeout)
    }

    /// Blocks until a read serves a generation newer than `since`, or `timeout` passes.
    /// Returns that generation, or `None` on timeout. Generations that fail validation are
    /// skipped (see [`last_failure`](Self::last_failure)). Like
    /// [`wait_for_change`](Self::wait_for_change), with "newer than" for "other than".
    pub fn wait_for_validated(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.shared.wait_for_validated(since, timeout)
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.shared.paths()
    }

    /// The schema recorded by the writer.
    pub fn schema(&self) -> Schema {
        self.shared.files.state.schema()
    }

    /// Index of the reader slot the calling thread holds through this reader, if any.
    pub fn slot(&self) -> Option<usize> {
        slots::index_of(self.shared.id)
    }
}

/// Builds a [`Reader`] with non-default settings.
pub struct ReaderBuilder<T: SharedState> {
    checksum: bool,
    background: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> fmt::Debug for ReaderBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderBuilder")
            .field("verify_checksum", &self.checksum)
            .field("validate_in_background", &self.background)
            .finish()
    }
}

impl<T: SharedState> ReaderBuilder<T> {
    /// Whether to checksum each generation once before reading it (default on). Off saves one
    /// pass over very large values; bytecheck still runs.
    pub fn verify_checksum(mut self, verify: bool) -> Self {
        self.checksum = verify;
        self
    }

    /// Validate every new generation on a background thread (one per reader and process) as
    /// soon as it is published, so that no read ever runs a validation; reads serve the newest
    /// validated generation (default off: the first thread that reads a generation validates
    /// it). The mode for large values read on latency-sensitive paths. The background thread
    /// holds two reader slots, one of them pinning the newest validated generation: with 2
    /// copies, the writer then waits for each validation before it can publish twice.
    pub fn validate_in_background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Opens the channel at `path` (see [`Reader::open`]).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Reader<T>> {
        let shared = ReaderShared::open(
            path.as_ref(),
            ValueType::of::<T>(),
            self.checksum,
            self.background,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(Handle { shared: shared.clone(), stop: stop.clone() });
        let reader = Reader { shared, _handle: handle, _type: PhantomData };
        if self.background {
            crate::background::spawn(reader.shared.clone(), stop)?;
        } else {
            // Validate the current generation now, so the first read is fast. A generation that
            // fails is recorded (and returned by reads) rather than failing the open.
            match reader.read() {
                Ok(_) | Err(Error::NotPublished { .. }) => {}
                Err(
                    e @ (Error::ReadersFull { .. }
                    | Error::SchemaMismatch { .. }
                    | Error::Io { .. }),
                ) => {
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        Ok(reader)
    }

    /// Opens the channel at `path`, retrying while it is [`Error::NotPublished`] for at most
    /// `timeout` (any duration, `Duration::MAX` included; polling every few milliseconds: no
    /// file exists yet to wait on).
    pub fn open_wait(&self, path: impl AsRef<Path>, timeout: Duration) -> Result<Reader<T>> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            match self.open(path.as_ref()) {
                Err(Error::NotPublished { .. }) if deadline.is_none_or(|d| Instant::now() < d) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => return other,
            }
        }
    }
}

impl crate::background::Validated for ReaderShared {
    fn generation(&self) -> u64 {
        ReaderShared::generation(self)
    }

    fn validate_newest(&self, working: &AtomicU64, keeper: &AtomicU64) -> Option<u64> {
        let a2 = protocol::pin_active(self.active(), working);
        protocol::narrow(working, a2);
        let generation = protocol::generation(a2);
        if generation == 0 || protocol::copy(a2) >= self.files.state.copies() {
            protocol::release(working);
            return None;
        }
        let v = self.lock_validation();
        let ok = self.validate(a2, Check::Safe, v, false).is_ok();
        if ok {
            // SeqCst: the keeper takes over the pin before the working pin goes (gap-free).
            keeper.store(protocol::exact_pin(a2), Ordering::SeqCst);
        }
        protocol::release(working);
        Some(generation)
    }

    fn claim_slot(&self) -> Result<(usize, *const AtomicU64)> {
        ReaderShared::claim_slot(self)
    }

    fn release_slot(&self, index: usize) {
        SlotOwner::release_slot(self, index)
    }

    fn wait(&self, since: u64, timeout: Duration) {
        let header = self.files.state.header();
        // SeqCst: the futex word before the generation, as in `wait_for_change` (the
        // validator's waiter bit is set for its whole life, see `set_waiting`).
        let futex = header.publish_futex.load(Ordering::SeqCst);
        if protocol::generation(header.active.load(Ordering::SeqCst)) != since {
            return;
        }
        let _ = os::futex_wait(&header.publish_futex, futex, Some(timeout));
    }

    fn notify(&self) {
        self.notify_validated();
    }

    fn set_waiting(&self, index: usize, waiting: bool) {
        ReaderShared::set_waiting(self, index, waiting)
    }

    fn state_path(&self) -> &Path {
        &self.paths().state
    }
}
