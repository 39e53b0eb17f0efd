//! The state of one reader shared by all its clones and threads, and the read: opening the
//! channel's files, the wait-free hot path, and the slower paths that validate a new generation
//! or serve the newest validated one while another thread validates.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::claims::Claims;
use super::pinned::{Pinned, PinnedCopy};
use super::thread_slot::{self, NO_SLOT, SlotOwner, ThreadSlot};
use super::validated::{Check, FastWord, MemoGuard, NONE, Validated};
use crate::error::{Error, Result};
use crate::format::{FileId, StateMap};
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::set::{self, ReaderFiles};
use crate::value_type::ValueType;

/// The state of one reader shared by all its clones and threads.
pub(crate) struct ReaderShared {
    /// Unique for the process's life: threads find their slot of this reader by it.
    id: u64,
    /// The state file's `active` word, cached for the hot path (one load fewer than going
    /// through the state mapping).
    active_word: ActiveWord,
    /// The channel's files. Declared before `validated`: their mappings are registered with
    /// the fault words that `validated` gives back to their pool when it drops.
    pub(super) files: ReaderFiles,
    /// Latched when the path was found to name another state file.
    replaced: AtomicBool,
    /// Whether a background validator validates every new generation.
    pub(super) background: bool,
    /// The fork epoch `open` ran in (a background validator runs only in that process).
    opened_in_epoch: u64,
    /// The slots this process holds through this reader.
    pub(super) claims: Claims,
    /// What this process validated.
    pub(super) validated: Validated,
}

impl fmt::Debug for ReaderShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("prefix", &self.files.paths.prefix)
            .field("type", &self.validated.ty().type_name)
            .field("background", &self.background)
            .finish_non_exhaustive()
    }
}

impl ReaderShared {
    /// Opens the set of files at `prefix` for values of `ty`.
    pub fn open(
        prefix: &Path,
        ty: ValueType,
        checksum: bool,
        background: bool,
    ) -> Result<Arc<ReaderShared>> {
        Self::open_as(prefix, |_, _| Ok(ty), checksum, background)
    }

    /// Opens the set of files at `prefix` for values of the type `ty` gives, once it sees the
    /// state file (and its path): the type a program knows, or the one the channel records.
    pub fn open_as(
        prefix: &Path,
        ty: impl FnOnce(&StateMap, &Path) -> Result<ValueType>,
        checksum: bool,
        background: bool,
    ) -> Result<Arc<ReaderShared>> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let fast = FastWord::take();
        let mut files = set::open_for_reading(prefix, fast.words())?;
        let ty = ty(&files.state, &files.paths.state)?;
        let fingerprint = ty.accepts(&files.state, &files.paths.state)?;
        let slots = files.readers.slot_count();
        os::on_fork_in_child(thread_slot::after_fork_in_child);
        let active_word = ActiveWord(std::ptr::NonNull::from(&files.state.header().active));
        let validated = Validated::new(ty, fingerprint, checksum, fast, &mut files);
        Ok(Arc::new(ReaderShared {
            // Relaxed: only uniqueness matters.
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            active_word,
            files,
            replaced: AtomicBool::new(false),
            background,
            opened_in_epoch: os::fork_epoch(),
            claims: Claims::new(slots),
            validated,
        }))
    }

    /// This reader's id, by which threads find their slot of it.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn paths(&self) -> &ChannelPaths {
        &self.files.paths
    }

    /// The state file's `active` word, through the cached pointer.
    #[inline(always)]
    pub(super) fn active(&self) -> &AtomicU64 {
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
        self.validated.validated_generation(&self.files)
    }

    /// Whether a background validator of this process validates new generations (not in a
    /// child forked after `open`: the validator thread stayed in the parent).
    pub(super) fn validator_runs(&self) -> bool {
        self.background && self.opened_in_epoch == os::fork_epoch()
    }

    /// The hot path: the calling thread's slot, reader steps 1–4, served when the generation is
    /// the validated one. Everything else goes to [`read_slow`](Self::read_slow).
    #[inline]
    pub fn read(self: &Arc<Self>, check: Check) -> Result<Pinned<'_>> {
        if let Some(slot) = thread_slot::current(self.id)
            && !slot.holding()
        {
            let copy = PinnedCopy::ranged(slot.pin(), self.active());
            let a2 = copy.active_word();
            // Acquire: pairs with the validator's release; the root below is the one validated.
            if a2 == self.validated.fast_word().load(Ordering::Acquire)
                && a2 != NONE
                && check == Check::Safe
            {
                copy.narrow();
                // Relaxed (inside `root`): ordered by the Acquire load of the fast word. `a2`
                // equals a validated word, whose copy index is below the copy count.
                let root = self.validated.root(protocol::copy(a2));
                return Ok(copy.into_pinned(slot, root));
            }
            return self.read_pinned(slot, copy, check);
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
        let copy = PinnedCopy::ranged(slot.pin(), self.active());
        self.read_pinned(slot, copy, check)
    }

    /// The calling thread's slot of this reader, claimed if needed.
    pub(super) fn thread_slot(self: &Arc<Self>) -> Result<&ThreadSlot> {
        let owner = || Arc::downgrade(self) as Weak<dyn SlotOwner>;
        let slot = thread_slot::find_or_insert(self.id, owner).ok_or_else(|| {
            Error::io(
                &self.paths().readers,
                std::io::Error::other("this thread is exiting; it cannot take a reader slot"),
            )
        })?;
        // SAFETY: the thread slot lives in this thread's list for the thread's life.
        let slot = unsafe { &*slot };
        if slot.index() == NO_SLOT {
            let (index, pin) = self.claims.claim(&self.files)?;
            slot.set_claimed(index, pin);
        }
        thread_slot::set_current(self.id, slot);
        Ok(slot)
    }

    /// A read on a thread that already holds a guard of this reader: the same generation.
    fn read_nested<'s>(&'s self, slot: &'s ThreadSlot, check: Check) -> Result<Pinned<'s>> {
        // The thread's exact pin names the generation its guards hold.
        // Relaxed: the thread's own pin.
        let generation = slot.pin().load(Ordering::Relaxed) & !protocol::EXACT;
        let memo = self.validated.lock(&self.files);
        let (copy, root) = self.validated.root_of_pinned(&self.files, generation, check, memo)?;
        Ok(Pinned::nested(slot, protocol::pack(generation, copy), root))
    }

    /// After steps 1–3 pinned `copy`, which is not the fast word: validate it, or serve the
    /// newest validated generation while another thread validates.
    #[cold]
    fn read_pinned<'s>(
        &'s self,
        slot: &'s ThreadSlot,
        copy: PinnedCopy<'s>,
        check: Check,
    ) -> Result<Pinned<'s>> {
        // Step 4: the exact pin also protects the copy while it is validated.
        copy.narrow();
        let a2 = copy.active_word();
        self.check_active(a2)?;
        let may_validate = !self.validator_runs() || check == Check::Unchecked;
        let mut failed = None;
        if may_validate && let Some(memo) = self.validated.try_lock(&self.files) {
            match self.validated.validate(&self.files, a2, check, memo, true) {
                Ok(root) => return Ok(copy.into_pinned(slot, root)),
                Err(e) => failed = Some(e),
            }
        }
        // Another thread validates (or the generation failed): serve what is validated.
        let copy = if check == Check::Safe {
            match self.serve_validated(slot, copy) {
                Ok(pinned) => return Ok(pinned),
                Err(copy) => copy,
            }
        } else {
            copy
        };
        // Released before any wait below, so the writer is not held up meanwhile.
        drop(copy);
        if let Some(e) = failed {
            return Err(e);
        }
        // Nothing validated is left to serve (the writer replaced every validated copy since this
        // process last read), and a validation is under way: wait for it.
        self.validated.count_waited();
        if may_validate {
            let memo = self.validated.lock(&self.files);
            let copy = PinnedCopy::active(slot.pin(), self.active());
            let a2 = copy.active_word();
            self.check_active(a2)?;
            let root = self.validated.validate(&self.files, a2, check, memo, true)?;
            return Ok(copy.into_pinned(slot, root));
        }
        // Background mode: the validator thread is validating the newest generation.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.validated.wait_validated(&self.files, Duration::from_millis(20));
            match self.serve_validated(slot, PinnedCopy::unpinned(slot.pin())) {
                Ok(pinned) => return Ok(pinned),
                Err(copy) => drop(copy),
            }
            if let Some(f) = self.validated.last_failure(&self.files)
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
    pub(super) fn check_active(&self, a2: u64) -> Result<()> {
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

    /// Reader step 4': moves the pin of `copy` to the newest validated generation, if its copy
    /// still holds it; else gives the pin back, to be released.
    fn serve_validated<'s>(
        &'s self,
        slot: &'s ThreadSlot,
        mut copy: PinnedCopy<'s>,
    ) -> Result<Pinned<'s>, PinnedCopy<'s>> {
        for _ in 0..4 {
            // Acquire: pairs with the validator's release of the fast word and its root.
            let v = self.validated.fast_word().load(Ordering::Acquire);
            if v == NONE {
                return Err(copy);
            }
            let c = protocol::copy(v);
            let Some(descriptor) = self.files.state.descriptors().get(c) else {
                return Err(copy);
            };
            match copy.validated(&descriptor.generation, v) {
                Ok(held) => {
                    self.validated.count_served_older();
                    // Relaxed (inside `root`): ordered by the Acquire load of the fast word.
                    let root = self.validated.root(c);
                    return Ok(held.into_pinned(slot, root));
                }
                Err(unheld) => copy = unheld,
            }
            std::hint::spin_loop();
        }
        Err(copy)
    }

    /// Pins the active copy on `pin` (a slot word no guard holds), validates it with the lock
    /// the caller took (not counted as a read's validation), and returns it still pinned (its
    /// drop releases the pin).
    pub(super) fn validate_active<'p>(
        &self,
        pin: &'p AtomicU64,
        memo: MemoGuard<'_>,
    ) -> Result<PinnedCopy<'p>> {
        let copy = PinnedCopy::active(pin, self.active());
        let a2 = copy.active_word();
        self.check_active(a2)?;
        self.validated.validate(&self.files, a2, Check::Safe, memo, false)?;
        Ok(copy)
    }

    /// Whether a writer marked this set as replaced by a new one: one load, for paths that ask
    /// often.
    fn marked_superseded(&self) -> bool {
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
            .is_ok_and(|meta| FileId::from(&meta) != self.files.state_id);
        if replaced {
            self.replaced.store(true, Ordering::Relaxed);
        }
        replaced
    }
}

impl SlotOwner for ReaderShared {
    fn release_slot(&self, index: usize) {
        self.claims.release(&self.files, index);
    }
}

impl Drop for ReaderShared {
    fn drop(&mut self) {
        thread_slot::forget_current(self.id);
        self.claims.release_all(&self.files);
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
