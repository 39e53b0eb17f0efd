//! The writer: the only process that creates a channel's files and publishes values.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rkyv::ser::allocator::Arena;

use crate::error::{Error, Result, Schema};
use crate::format::MAX_COPIES;
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::serialize::{Filled, copy_hashed, serialize_into};
use crate::set::{self, Carry, SetOptions, WriterFiles};
use crate::shared_state::SharedState;
use crate::value_type::ValueType;

/// What one publish did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The generation now active.
    pub generation: u64,
    /// Size of the archived value in bytes.
    pub bytes: usize,
    /// The data copy it was written to.
    pub copy: usize,
    /// Reader slots found pinned by dead readers and cleared during this publish.
    pub reclaimed: usize,
    /// Time spent waiting for live readers to release a copy.
    pub waited: Duration,
}

/// Settings of a writer.
#[derive(Clone, Debug)]
pub(crate) struct WriterOptions {
    pub set: SetOptions,
    pub max_wait: Duration,
}

impl WriterOptions {
    pub fn new(copies: usize, reader_slots: usize, max_size: u64) -> Self {
        WriterOptions {
            set: SetOptions {
                copies,
                reader_slots,
                max_size,
                file_mode: 0o640,
                readers_mode: 0o660,
                durable: false,
                allow_foreign_owner: false,
            },
            max_wait: Duration::from_secs(1),
        }
    }
}

/// A validation of an archive's bytes before they are published; `Err` carries the reason.
pub(crate) type Check<'c> = &'c dyn Fn(&[u8]) -> std::result::Result<(), String>;

/// The writer half of the protocol, independent of the value's type.
pub(crate) struct RawWriter {
    paths: ChannelPaths,
    /// Holds the writer lock for the writer's life (released when dropped).
    _lock: set::WriterLock,
    files: WriterFiles,
    options: WriterOptions,
    ty: ValueType,
    /// The last published generation.
    generation: u64,
    /// The generation each copy holds (the writer's own record; the descriptors may carry a
    /// transient mark instead, see `protocol`).
    held: [u64; MAX_COPIES],
    /// The writer's maximum of every slot high-water mark it has seen.
    high_water: usize,
    /// Fault count of the slot table already accounted for.
    readers_faults: u64,
    /// The fork epoch the writer was opened in.
    epoch: u64,
}

impl fmt::Debug for RawWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("prefix", &self.paths.prefix)
            .field("type", &self.ty.type_name)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A copy reserved for a value: fill [`bytes_mut`](Staged::bytes_mut), then
/// [`publish`](Staged::publish). Dropping it publishes nothing.
pub struct Staged<'w, T: SharedState> {
    raw: RawStaged<'w>,
    _type: PhantomData<fn(&T)>,
}

impl<T: SharedState> fmt::Debug for Staged<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.debug_as("Staged", f)
    }
}

impl<T: SharedState> Staged<'_, T> {
    /// The `len` bytes of the reserved copy, in the mapped data file: write the archive here.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.raw.bytes_mut()
    }

    /// Validates the bytes as a `T::Archived` (root at the end, as `rkyv::to_bytes` lays it
    /// out), checksums them and publishes them. Fails with [`Error::InvalidValue`] (nothing
    /// published) if they are not a valid archive.
    pub fn publish(self) -> Result<Published> {
        let check = self.raw.writer.ty.check;
        self.raw.publish(&check)
    }
}

/// A copy reserved by [`RawWriter::stage`] for `len` bytes, written in place and then published
/// once checked: what [`Staged`] and the dynamic view's `DynStaged` wrap. Dropping it publishes
/// nothing.
pub(crate) struct RawStaged<'w> {
    writer: &'w mut RawWriter,
    copy: usize,
    len: usize,
    /// What reserving the copy reclaimed and waited, reported by the publish.
    reclaimed: usize,
    waited: Duration,
}

impl RawStaged<'_> {
    /// The `len` bytes of the reserved copy, in the mapped data file.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.writer.copy_bytes_mut(self.copy, self.len)
    }

    /// Publishes the `len` bytes written into the copy, once `check` has validated them there.
    pub fn publish(self, check: Check<'_>) -> Result<Published> {
        let published = self.writer.commit(self.copy, Filled::unhashed(self.len), Some(check))?;
        Ok(Published { reclaimed: self.reclaimed, waited: self.waited, ..published })
    }

    /// The wrapper's `Debug`: its name, the copy and the length.
    pub fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name).field("copy", &self.copy).field("len", &self.len).finish()
    }
}

impl RawWriter {
    pub fn open(prefix: &Path, options: WriterOptions, ty: ValueType) -> Result<Self> {
        let paths = ChannelPaths::new(prefix);
        paths.check_name_length()?;
        let lock = set::lock_writer(&paths, options.set.allow_foreign_owner)?;
        let files = set::open_for_writing(&paths, &options.set, &ty)?;
        let mut writer = RawWriter {
            paths,
            _lock: lock,
            files,
            options,
            ty,
            generation: 0,
            held: [0; MAX_COPIES],
            high_water: 0,
            readers_faults: 0,
            epoch: os::fork_epoch(),
        };
        writer.take_over();
        Ok(writer)
    }

    /// Makes the writer's records match its (new or adopted) set: the published generation,
    /// what each copy holds, and the writer's identity in the header.
    fn take_over(&mut self) {
        let state = &self.files.state;
        let header = state.header();
        // SeqCst: nothing else writes it (we hold the writer lock); any order would do.
        let active = header.active.load(Ordering::SeqCst);
        self.generation = protocol::generation(active);
        self.high_water = 0;
        self.readers_faults = self.files.readers.mapping().faults();
        for (c, descriptor) in state.descriptors().iter().enumerate() {
            // A previous writer may have died between writing a copy's descriptor and publishing
            // it, or while a copy was marked: such a copy was never active or is not pinned as
            // its generation; forget what it holds unless it is the active copy.
            // SeqCst: nothing else writes it (we hold the writer lock); any order would do.
            let g = descriptor.generation.load(Ordering::SeqCst);
            let g = if protocol::active_copy(active) == Some(c) {
                self.generation
            } else if g > self.generation {
                0
            } else {
                g
            };
            // SeqCst: restores the word readers' step 4' compares with.
            descriptor.generation.store(g, Ordering::SeqCst);
            self.held[c] = g;
        }
        // Relaxed: informational fields for operators.
        header.writer_pid.store(std::process::id(), Ordering::Relaxed);
        header.writer_started_at.store(os::unix_nanos(), Ordering::Relaxed);
    }

    pub fn paths(&self) -> &ChannelPaths {
        &self.paths
    }

    /// The last published generation (0 if none).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The layout fingerprint of the writer's type.
    pub fn layout_fingerprint(&self) -> u64 {
        self.ty.layout_fingerprint()
    }

    /// The schema recorded in the channel's header.
    pub fn schema(&self) -> Schema {
        self.files.state.schema()
    }

    /// Largest archived value this writer publishes.
    pub fn max_size(&self) -> u64 {
        self.options.set.max_size
    }

    pub fn set_max_wait(&mut self, limit: Duration) {
        self.options.max_wait = limit;
    }

    fn check_fork(&self) -> Result<()> {
        if self.epoch != os::fork_epoch() {
            return Err(Error::Forked { path: self.paths.writer.clone() });
        }
        Ok(())
    }

    /// Publishes bytes archived elsewhere, once they are validated as the writer's type.
    pub fn publish_bytes(&mut self, bytes: &[u8]) -> Result<Published> {
        let check = self.ty.check;
        self.publish_bytes_checked(bytes, &check)
    }

    /// Publishes bytes archived elsewhere, once `check` has validated them in the copy.
    pub fn publish_bytes_checked(&mut self, bytes: &[u8], check: Check<'_>) -> Result<Published> {
        let mut copy_in = |buf: &mut [u8]| {
            if buf.len() < bytes.len() {
                return Ok(Filled::unhashed(bytes.len()));
            }
            let checksum = copy_hashed(buf, bytes);
            Ok(Filled { len: bytes.len(), checksum: Some(checksum) })
        };
        self.publish(&mut copy_in, Some(check))
    }

    /// Publishes the next generation. `fill` writes the value into the buffer it is given and
    /// returns the value's full length, which may exceed the buffer (then the copy grows and
    /// `fill` runs again). `check` validates the written bytes before they are published.
    pub fn publish(
        &mut self,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<Filled, String>,
        check: Option<Check<'_>>,
    ) -> Result<Published> {
        let (copy, reclaimed, waited) = self.acquire()?;
        let max_size = self.options.set.max_size;
        let filled = loop {
            let capacity = (self.files.data[copy].allocated as usize).min(max_size as usize);
            let buf = self.copy_bytes_mut(copy, capacity);
            let filled = fill(buf).map_err(|reason| Error::InvalidValue {
                path: self.files.data[copy].path.clone(),
                reason,
            })?;
            if filled.len as u64 > max_size {
                return Err(Error::TooLarge {
                    path: self.files.data[copy].path.clone(),
                    size: filled.len as u64,
                    max_size,
                });
            }
            if filled.len <= capacity {
                break filled;
            }
            self.grow(copy, filled.len)?;
        };
        let published = self.commit(copy, filled, check)?;
        Ok(Published { reclaimed, waited, ..published })
    }

    /// Reserves a free copy with room for `len` bytes (see [`Staged`]).
    pub fn stage(&mut self, len: usize) -> Result<RawStaged<'_>> {
        let max_size = self.options.set.max_size;
        if len as u64 > max_size {
            return Err(Error::TooLarge { path: self.paths.data(0), size: len as u64, max_size });
        }
        let (copy, reclaimed, waited) = self.acquire()?;
        if (self.files.data[copy].allocated as usize) < len {
            self.grow(copy, len)?;
        }
        Ok(RawStaged { writer: self, copy, len, reclaimed, waited })
    }

    /// The first `len` bytes of data copy `copy` (allocated, not pinned by any reader).
    fn copy_bytes_mut(&mut self, copy: usize, len: usize) -> &mut [u8] {
        let data = &mut self.files.data[copy];
        let len = len.min(data.allocated as usize).min(data.map.len());
        // SAFETY: `len` bytes of the file are allocated and mapped read-write; only this writer
        // writes data files, and the protocol guarantees no reader reads this copy (it was
        // chosen free by `acquire` and is not active).
        unsafe { std::slice::from_raw_parts_mut(data.map.ptr(), len) }
    }

    /// Grows copy `copy`'s file to at least `needed` bytes (doubling, page-rounded, within
    /// `max_size`), allocating the storage first so that writing through the mapping cannot
    /// fault. The mapping already spans `max_size`: nothing moves.
    fn grow(&mut self, copy: usize, needed: usize) -> Result<()> {
        let page = os::page_size();
        let max_size = self.options.set.max_size as usize;
        let data = &mut self.files.data[copy];
        let limit = data.map.len().max(needed);
        let doubled = (data.allocated as usize).saturating_mul(2).max(page);
        let target =
            needed.max(doubled).next_multiple_of(page).min(max_size.max(needed)).min(limit);
        if let Err(e) = os::allocate(&data.file, target as u64) {
            // Doubling only makes growth rare; on a nearly full filesystem, settle for what
            // this value needs rather than fail a value that fits.
            let exact = needed.next_multiple_of(page).min(target);
            if exact == target {
                return Err(Error::io(&data.path, e));
            }
            os::allocate(&data.file, exact as u64).map_err(|e| Error::io(&data.path, e))?;
            data.allocated = exact as u64;
        } else {
            data.allocated = target as u64;
        }
        // The value is about to be written over these pages: map them in one call rather than
        // one page fault each.
        data.map.prefault_write(0, needed);
        Ok(())
    }

    /// Writer steps 1–2: a copy no reader can be reading, clearing dead readers' pins and then
    /// waiting with backoff up to the wait limit when every candidate is pinned. Returns the
    /// copy, the number of dead readers reclaimed and the time spent waiting. The clock is read
    /// only once a scan finds every copy blocked: an unblocked publish makes no system call.
    fn acquire(&mut self) -> Result<(usize, usize, Duration)> {
        self.check_fork()?;
        if self.generation >= protocol::LAST_GENERATION {
            return Err(Error::corrupt(
                &self.paths.state,
                format!("generation {} is the last the format can hold", self.generation),
            ));
        }
        let mut reclaimed = 0;
        let mut attempt = 0u32;
        let mut started: Option<Instant> = None;
        loop {
            let files = &self.files;
            let copies = files.data.len();
            // Relaxed: only this writer stores `active`; it reads back its own store.
            let active = files.state.header().active.load(Ordering::Relaxed);
            let readers = &files.readers;
            let descriptors = files.state.descriptors();
            let slots = readers.slots();
            let result = protocol::acquire(
                active,
                &self.held[..copies],
                |c| &descriptors[c].generation,
                &readers.header().slot_high_water,
                &mut self.high_water,
                slots.len(),
                |i| &slots[i].pin,
            );
            let high_water = self.high_water;
            if readers.mapping().faults() != self.readers_faults {
                // The slot table was cut short under the writer: the pins it read may be zeros
                // standing in for pins it can no longer see. No copy of this set is safe to
                // write; continue in a new set.
                if let Ok(c) = result {
                    protocol::commit_copy(&descriptors[c].generation, self.held[c]);
                }
                self.replace_set("the readers file was truncated under the writer")?;
                continue;
            }
            match result {
                Ok(c) => {
                    self.held[c] = 0;
                    let waited = started.map_or(Duration::ZERO, |t| t.elapsed());
                    if reclaimed > 0 {
                        crate::log::readers_reclaimed(&self.paths.prefix, reclaimed);
                    }
                    if !waited.is_zero() {
                        crate::log::write_waited(&self.paths.prefix, self.generation + 1, waited);
                    }
                    return Ok((c, reclaimed, waited));
                }
                Err(blocked) => {
                    let cleared = self.reclaim_dead_readers(active, blocked, high_water)?;
                    reclaimed += cleared;
                    if cleared > 0 {
                        continue;
                    }
                }
            }
            let waited = started.get_or_insert_with(Instant::now).elapsed();
            if waited >= self.options.max_wait {
                return Err(Error::WriterBlocked { path: self.paths.readers.clone(), waited });
            }
            backoff(attempt, self.options.max_wait.saturating_sub(waited));
            attempt = attempt.saturating_add(1);
        }
    }

    /// Clears the pins of slots that block a candidate copy and whose owner is gone (nobody
    /// holds the slot's lock). The writer holds the slot's lock while it clears the pin, so a
    /// reader claiming the slot at that moment cannot have its fresh pin erased.
    fn reclaim_dead_readers(
        &self,
        active: u64,
        blocked: protocol::Blocked,
        high_water: usize,
    ) -> Result<usize> {
        let readers = &self.files.readers;
        let file = &self.files.readers_file;
        let path = &self.paths.readers;
        let copies = self.files.data.len();
        let mut cleared = 0;
        for (index, slot) in readers.slots()[..high_water].iter().enumerate() {
            // SeqCst: as the scan's loads.
            let pin = slot.pin.load(Ordering::SeqCst);
            let mut blocks = 0;
            protocol::mark_blocked(pin, active, &self.held[..copies], &mut blocks);
            if blocks & blocked == 0 {
                continue;
            }
            let offset = readers.slot_offset(index);
            if os::try_lock(file, offset, 1).map_err(|e| Error::io(path, e))? {
                protocol::release(&slot.pin);
                os::unlock(file, offset, 1).map_err(|e| Error::io(path, e))?;
                cleared += 1;
            }
        }
        Ok(cleared)
    }

    /// Writer steps 3–4 for copy `copy` holding `filled` bytes: validate, checksum, describe,
    /// publish, wake.
    fn commit(
        &mut self,
        copy: usize,
        filled: Filled,
        check: Option<Check<'_>>,
    ) -> Result<Published> {
        let generation = self.generation + 1;
        let len = filled.len;
        let data = &mut self.files.data[copy];
        if data.map.faults() != data.seen_faults {
            // The data file was cut short while being written: the bytes went to stand-in pages.
            data.seen_faults = data.map.faults();
            data.map.remap_in_place(&data.file).map_err(|e| Error::io(&data.path, e))?;
            data.allocated = 0;
            return Err(Error::corrupt(
                &data.path,
                "data file was truncated while being written; nothing was published",
            ));
        }
        // SAFETY: as in `copy_bytes_mut`; `len <= allocated` (checked by the callers).
        let bytes =
            unsafe { std::slice::from_raw_parts(data.map.ptr(), len.min(data.allocated as usize)) };
        if bytes.len() < len {
            return Err(Error::corrupt(&data.path, "value longer than the copy's storage"));
        }
        if let Some(check) = check {
            check(bytes)
                .map_err(|reason| Error::InvalidValue { path: data.path.clone(), reason })?;
        }
        let checksum = filled.checksum.unwrap_or_else(|| crate::checksum::xxh3_64(bytes));
        if self.options.set.durable {
            data.map.flush(0, len).map_err(|e| Error::io(&data.path, e))?;
        }
        let state = &self.files.state;
        let descriptor = &state.descriptors()[copy];
        // Relaxed: published by the Release store of the generation below.
        descriptor.length.store(len as u64, Ordering::Relaxed);
        descriptor.checksum.store(checksum, Ordering::Relaxed);
        descriptor.fingerprint.store(self.files.fingerprint, Ordering::Relaxed);
        descriptor.published_at.store(os::unix_nanos(), Ordering::Relaxed);
        protocol::commit_copy(&descriptor.generation, generation);
        protocol::publish(&state.header().active, generation, copy);
        self.held[copy] = generation;
        self.generation = generation;
        if self.options.set.durable {
            let map = state.mapping();
            map.flush(0, map.len()).map_err(|e| Error::io(&self.paths.state, e))?;
        }
        self.wake_waiters();
        Ok(Published { generation, bytes: len, copy, reclaimed: 0, waited: Duration::ZERO })
    }

    /// Bumps the futex word and wakes the readers blocked on it, if the waiter bitmap says
    /// any are. Readers cannot make the writer skip a wake: each waiter sets its own bit.
    fn wake_waiters(&self) {
        let header = self.files.state.header();
        // SeqCst: pairs with a waiter's set-bit-then-load (see the reader's wait): either the
        // waiter sees the new futex value, or the loads below see its bit.
        header.publish_futex.fetch_add(1, Ordering::SeqCst);
        let words = self.high_water.div_ceil(64);
        // SeqCst: after the futex bump in the total order (see above).
        let waiting =
            self.files.readers.waiters()[..words].iter().any(|w| w.load(Ordering::SeqCst) != 0);
        if waiting {
            let _ = os::futex_wake_all(&header.publish_futex);
        }
    }

    /// Continues in a new set of files, carrying over the last published value, because the
    /// slot table of the current one can no longer be trusted.
    fn replace_set(&mut self, reason: &str) -> Result<()> {
        crate::log::set_replaced(&self.paths.prefix, reason);
        let header = self.files.state.header();
        // SeqCst/Relaxed (here and below): this writer wrote every one of these words itself.
        let active = header.active.load(Ordering::SeqCst);
        let carry = protocol::active_copy(active).and_then(|c| {
            let data = &self.files.data[c];
            let d = &self.files.state.descriptors()[c];
            let len = d.length.load(Ordering::Relaxed) as usize;
            (len <= data.allocated as usize && data.map.faults() == data.seen_faults).then(|| {
                // SAFETY: the active copy's `len` bytes are allocated and mapped; nobody writes
                // them (only this writer writes, and it does not write the active copy).
                let bytes = unsafe { std::slice::from_raw_parts(data.map.ptr(), len) };
                Carry {
                    generation: protocol::generation(active),
                    bytes,
                    checksum: d.checksum.load(Ordering::Relaxed),
                    published_at: d.published_at.load(Ordering::Relaxed),
                }
            })
        });
        let files = set::create_set(&self.paths, &self.options.set, &self.ty, carry)?;
        let old = std::mem::replace(&mut self.files, files);
        set::supersede(&old.state);
        self.take_over();
        Ok(())
    }
}

/// Waits between two scans of a blocked writer: spin briefly, then yield, then sleep with
/// exponential growth capped at a millisecond (readers usually hold a copy for nanoseconds to
/// microseconds; a long holder is better served by sleeping than by burning a core).
fn backoff(attempt: u32, remaining: Duration) {
    if attempt < 16 {
        std::hint::spin_loop();
    } else if attempt < 32 {
        std::thread::yield_now();
    } else {
        let micros = 1u64 << (attempt - 32).min(10);
        std::thread::sleep(Duration::from_micros(micros).min(remaining));
    }
}

/// Publishes values of type `T` to the channel at a path. There is at most one live writer per
/// channel (see [`Error::WriterExists`]).
pub struct Writer<T: SharedState> {
    raw: RawWriter,
    arena: Arena,
    _type: PhantomData<fn(&T)>,
}

impl<T: SharedState> fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl<T: SharedState> Writer<T> {
    /// Opens (creating if needed) the channel at `path` with `T`'s default settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().open(path)
    }

    /// A builder to change copies, reader slots, file modes, the wait limit and durability.
    pub fn builder() -> WriterBuilder<T> {
        WriterBuilder {
            options: WriterOptions::new(T::COPIES, T::READER_SLOTS, T::MAX_SIZE),
            _type: PhantomData,
        }
    }

    /// Serializes `value` straight into a free data copy and publishes it.
    pub fn write(&mut self, value: &T) -> Result<Published> {
        let arena = &mut self.arena;
        self.raw.publish(&mut |buf| serialize_into(value, buf, arena), None)
    }

    /// Publishes bytes archived elsewhere, after validating them as a `T::Archived` (root at the
    /// end, as `rkyv::to_bytes` produces).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<Published> {
        self.raw.publish_bytes(bytes)
    }

    /// Reserves a free data copy for an archived value of exactly `len` bytes, to be written in
    /// place (for example while it is downloaded) and then published with
    /// [`Staged::publish`], which validates it. Saves the extra full copy of
    /// [`write_bytes`](Self::write_bytes) for large values. Fails with [`Error::TooLarge`]
    /// when `len` exceeds `max_size`.
    pub fn stage(&mut self, len: usize) -> Result<Staged<'_, T>> {
        Ok(Staged { raw: self.raw.stage(len)?, _type: PhantomData })
    }

    /// The last published generation (0 before the first publish on a new channel).
    pub fn generation(&self) -> u64 {
        self.raw.generation()
    }

    /// Largest archived value this writer publishes.
    pub fn max_size(&self) -> u64 {
        self.raw.max_size()
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.raw.paths()
    }

    /// Changes how long a write may wait for readers to release a copy.
    pub fn set_max_wait(&mut self, limit: Duration) {
        self.raw.set_max_wait(limit);
    }
}

/// The settings of a writer builder (one with an `options: WriterOptions` field): the same for
/// [`WriterBuilder`] and the dynamic view's `DynWriterBuilder`.
macro_rules! writer_settings {
    () => {
        /// Number of data copies (2..=16) for a channel this writer creates; an existing channel
        /// must have the same number ([`Error::Incompatible`] otherwise).
        pub fn copies(mut self, copies: usize) -> Self {
            self.options.set.copies = copies;
            self
        }

        /// Number of reader slots for a channel this writer creates; an existing channel must have
        /// the same number ([`Error::Incompatible`] otherwise).
        pub fn reader_slots(mut self, slots: usize) -> Self {
            self.options.set.reader_slots = slots;
            self
        }

        /// Largest archived value accepted; larger values fail with [`Error::TooLarge`]. An
        /// existing channel keeps the size it was created with: asking for more is
        /// [`Error::Incompatible`].
        pub fn max_size(mut self, bytes: u64) -> Self {
            self.options.set.max_size = bytes;
            self
        }

        /// Permission bits of the state and data files the writer creates (default 0o640).
        pub fn file_mode(mut self, mode: u32) -> Self {
            self.options.set.file_mode = mode;
            self
        }

        /// Permission bits of the readers file (default 0o660: readers must write their slot).
        pub fn readers_mode(mut self, mode: u32) -> Self {
            self.options.set.readers_mode = mode;
            self
        }

        /// How long a write may wait for live readers to release a copy before it fails with
        /// [`Error::WriterBlocked`] (default one second; any duration, `Duration::MAX` included).
        pub fn max_wait(mut self, limit: Duration) -> Self {
            self.options.max_wait = limit;
            self
        }

        /// msync every copy and the state file before and after publishing (default off: on
        /// `/dev/shm` there is nothing to sync to, and readers never need it).
        pub fn durable(mut self, durable: bool) -> Self {
            self.options.set.durable = durable;
            self
        }

        /// Accept channel files owned by another user (default: refuse them as planted).
        pub fn allow_foreign_owner(mut self, allow: bool) -> Self {
            self.options.set.allow_foreign_owner = allow;
            self
        }
    };
}
pub(crate) use writer_settings;

/// Builds a [`Writer`] with settings other than the type's defaults.
pub struct WriterBuilder<T: SharedState> {
    options: WriterOptions,
    _type: PhantomData<fn(&T)>,
}

impl<T: SharedState> fmt::Debug for WriterBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterBuilder").field("options", &self.options).finish()
    }
}

impl<T: SharedState> WriterBuilder<T> {
    writer_settings!();

    /// Opens the channel at `path`, creating its files if needed.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Writer<T>> {
        Ok(Writer {
            raw: RawWriter::open(path.as_ref(), self.options, ValueType::of::<T>())?,
            arena: Arena::new(),
            _type: PhantomData,
        })
    }
}
