//! The writer: the only process that creates the files and publishes values.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use memmap2::MmapMut;
use rkyv::ser::allocator::Arena;

use crate::channel::{Channel, Shared};
use crate::error::{Error, Result, Schema};
use crate::files::{self, Access, ReadersView, StateView};
use crate::layout::{self, FORMAT_VERSION, READERS_MAGIC, STATE_MAGIC};
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::reader::ArchiveCheck;
use crate::serialize::{Filled, serialize_into};
use crate::shared_state::SharedState;

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

/// Settings of a writer; the defaults come from the channel type's [`SharedState`] constants.
#[derive(Clone, Debug)]
pub(crate) struct WriterOptions {
    pub copies: usize,
    pub reader_slots: usize,
    pub max_size: u64,
    pub file_mode: u32,
    pub readers_mode: u32,
    pub max_wait: Duration,
    pub durable: bool,
    pub allow_foreign_owner: bool,
}

impl WriterOptions {
    pub fn new(copies: usize, reader_slots: usize, max_size: u64) -> Self {
        WriterOptions {
            copies,
            reader_slots,
            max_size,
            file_mode: 0o640,
            readers_mode: 0o660,
            max_wait: Duration::from_secs(1),
            durable: false,
            allow_foreign_owner: false,
        }
    }
}

/// One data copy as the writer holds it.
#[derive(Debug)]
struct DataCopy {
    path: std::path::PathBuf,
    file: std::fs::File,
    map: Option<MmapMut>,
}

impl DataCopy {
    fn capacity(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len())
    }

    /// Grows the file to at least `needed` bytes (doubling, page-rounded, within `max_size`),
    /// allocating the storage first so that writing through the mapping cannot fault.
    fn grow(&mut self, needed: usize, max_size: u64) -> Result<()> {
        const PAGE: usize = 4096;
        let doubled = self.capacity().saturating_mul(2).max(PAGE);
        let target =
            needed.max(doubled).next_multiple_of(PAGE).min((max_size as usize).max(needed));
        self.map = None;
        if let Err(e) = os::allocate(&self.file, target as u64) {
            // Doubling only makes growth rare; on a nearly full filesystem, settle for what
            // this value needs rather than fail a value that fits.
            let exact = needed.next_multiple_of(PAGE).min(target);
            if exact == target {
                return Err(Error::io(&self.path, e));
            }
            os::allocate(&self.file, exact as u64).map_err(|e| Error::io(&self.path, e))?;
        }
        self.map = Some(files::map_read_write(&self.file, &self.path)?);
        Ok(())
    }
}

/// The writer half of the protocol, independent of the value's type.
pub(crate) struct RawWriter {
    channel: Channel,
    copies: Vec<DataCopy>,
    options: WriterOptions,
    fingerprint: u64,
}

impl fmt::Debug for RawWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawWriter")
            .field("prefix", &self.channel.paths.prefix)
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl RawWriter {
    pub fn open(prefix: &Path, options: WriterOptions, schema: Schema) -> Result<Self> {
        let paths = ChannelPaths::new(prefix);
        if !(layout::MIN_COPIES..=layout::MAX_COPIES).contains(&options.copies) {
            return Err(Error::Incompatible {
                path: paths.state.clone(),
                reason: format!("copies must be within 2..=16, not {}", options.copies),
            });
        }
        if options.reader_slots == 0 || options.reader_slots > layout::MAX_READER_SLOTS {
            return Err(Error::Incompatible {
                path: paths.readers.clone(),
                reason: format!(
                    "reader slots must be within 1..={}, not {}",
                    layout::MAX_READER_SLOTS,
                    options.reader_slots
                ),
            });
        }
        let mode = options.file_mode;
        let state_file = files::open(&paths.state, Access::Create { mode })?;
        files::check_owner(&state_file, &paths.state, mode, options.allow_foreign_owner)?;
        // The writer lock: held on the whole state file for the writer's life, dropped by the
        // kernel however the writer dies.
        if !os::try_lock(&state_file, 0, 0).map_err(|e| Error::io(&paths.state, e))? {
            return Err(Error::WriterExists { path: paths.state.clone() });
        }
        // The copy and slot counts of an existing channel; None when the files are new, or their
        // creation never finished (no magic yet), and so are (re)created below.
        let existing = if files::file_len(&state_file, &paths.state)? < 8 {
            None
        } else {
            let map = files::map_shared(&state_file, &paths.state, false)?;
            StateView::parse(&map, &paths.state)?.map(|view| (view.copies(), view.reader_slots()))
        };

        let readers_file =
            files::open(&paths.readers, Access::Create { mode: options.readers_mode })?;
        files::check_owner(
            &readers_file,
            &paths.readers,
            options.readers_mode,
            options.allow_foreign_owner,
        )?;
        let copy_count = existing.map_or(options.copies, |(copies, _)| copies);
        let mut copies = Vec::with_capacity(copy_count);
        for index in 0..copy_count {
            let path = paths.data(index);
            let file = files::open(&path, Access::Create { mode })?;
            files::check_owner(&file, &path, mode, options.allow_foreign_owner)?;
            let map = if files::file_len(&file, &path)? > 0 {
                Some(files::map_read_write(&file, &path)?)
            } else {
                None
            };
            copies.push(DataCopy { path, file, map });
        }

        // A readers file that is missing or damaged is made anew (one in use with a valid header
        // is kept as it is): only the writer creates files, and readers cannot open without it.
        let slots = existing.map_or(options.reader_slots, |(_, slots)| slots);
        create_readers(&readers_file, &paths, slots)?;
        if existing.is_none() {
            create_state(&state_file, &paths, &options, &schema)?;
        }

        let state_map = files::map_shared(&state_file, &paths.state, true)?;
        let state = StateView::parse(&state_map, &paths.state)?.ok_or_else(|| {
            Error::corrupt(&paths.state, "magic vanished while the writer held the lock")
        })?;
        let found = state.schema();
        if found.fingerprint != schema.fingerprint {
            return Err(Error::SchemaMismatch {
                path: paths.state.clone(),
                expected: schema,
                found,
            });
        }
        if state.copies() != options.copies {
            return Err(Error::Incompatible {
                path: paths.state.clone(),
                reason: format!(
                    "the channel has {} copies, the writer asks for {}",
                    state.copies(),
                    options.copies
                ),
            });
        }
        let slots = state.reader_slots();
        let readers_map = files::map_shared(&readers_file, &paths.readers, true)?;
        let readers = ReadersView::parse(&readers_map, &paths.readers, slots)?;
        // SAFETY: both mappings move into the Channel next to `shared` and live as long as it.
        let shared = unsafe { Shared::new(state, readers) };

        // A previous writer may have died between writing a copy's descriptor and publishing it:
        // such a copy was never active, so no reader can hold it; forget its generation.
        let active_generation = protocol::generation(shared.header().active.load(Ordering::SeqCst));
        for descriptor in shared.descriptors() {
            if descriptor.generation.load(Ordering::Relaxed) > active_generation {
                descriptor.generation.store(0, Ordering::Release);
            }
        }

        Ok(RawWriter {
            channel: Channel {
                paths,
                _state_file: state_file,
                readers_file,
                shared,
                _state_map: state_map,
                _readers_map: readers_map,
            },
            copies,
            options,
            fingerprint: schema.fingerprint,
        })
    }

    pub fn paths(&self) -> &ChannelPaths {
        &self.channel.paths
    }

    /// The last published generation (0 if none).
    pub fn generation(&self) -> u64 {
        protocol::generation(self.channel.shared.header().active.load(Ordering::Relaxed))
    }

    /// The schema fingerprint this writer publishes with.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The schema recorded in the channel's header.
    pub fn schema(&self) -> Schema {
        self.channel.shared.schema()
    }

    pub fn set_max_wait(&mut self, limit: Duration) {
        self.options.max_wait = limit;
    }

    /// Publishes bytes archived elsewhere, once `check` has validated them in the copy.
    pub fn publish_bytes(&mut self, bytes: &[u8], check: ArchiveCheck) -> Result<Published> {
        let mut copy_in = |buf: &mut [u8]| {
            if let Some(dst) = buf.get_mut(..bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            Ok(Filled::unhashed(bytes.len()))
        };
        self.publish(&mut copy_in, Some(check))
    }

    /// Publishes the next generation. `fill` writes the value into the buffer it is given and
    /// returns the value's full length, which may exceed the buffer (then the copy grows and
    /// `fill` runs again). `check` validates the written bytes before they are published.
    pub fn publish(
        &mut self,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<Filled, String>,
        check: Option<ArchiveCheck>,
    ) -> Result<Published> {
        let generation = self.generation() + 1;
        // `active` keeps the generation in its top 56 bits: one more would wrap to generation 0
        // ("nothing published"). No real channel gets there; a damaged state file can.
        if protocol::pack(generation, 0) >> 8 != generation {
            return Err(Error::corrupt(
                &self.channel.paths.state,
                format!("generation {} is the last the format can hold", generation - 1),
            ));
        }
        let (index, reclaimed, waited) = self.acquire_copy()?;
        let shared = &self.channel.shared;
        let descriptor = &shared.descriptors()[index];
        // The copy is free: no reader can be reading it. Mark it as holding nothing so that a
        // crash while it is rewritten cannot leave a descriptor that describes other bytes.
        descriptor.generation.store(0, Ordering::Release);

        let max_size = self.options.max_size;
        let copy = &mut self.copies[index];
        let filled = loop {
            let capacity = copy.capacity().min(max_size as usize);
            let buf = match copy.map.as_mut() {
                Some(map) => &mut map[..capacity],
                None => &mut [][..],
            };
            let filled = fill(buf)
                .map_err(|reason| Error::InvalidValue { path: copy.path.clone(), reason })?;
            let needed = filled.len;
            if needed as u64 > max_size {
                return Err(Error::TooLarge {
                    path: copy.path.clone(),
                    size: needed as u64,
                    max_size,
                });
            }
            if needed <= capacity {
                break filled;
            }
            copy.grow(needed, max_size)?;
        };
        let len = filled.len;
        let bytes = match copy.map.as_ref() {
            Some(map) => &map[..len],
            None => &[][..],
        };
        if let Some(check) = check {
            check(bytes)
                .map_err(|reason| Error::InvalidValue { path: copy.path.clone(), reason })?;
        }
        descriptor.length.store(len as u64, Ordering::Relaxed);
        let checksum = filled.checksum.unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(bytes));
        descriptor.checksum.store(checksum, Ordering::Relaxed);
        descriptor.fingerprint.store(self.fingerprint, Ordering::Relaxed);
        // Release: a reader that sees this descriptor (through `active`) sees the bytes above.
        descriptor.generation.store(generation, Ordering::Release);
        if self.options.durable
            && let Some(map) = copy.map.as_ref()
        {
            map.flush_range(0, len).map_err(|e| Error::io(&copy.path, e))?;
        }

        // Step 3: publish. SeqCst: the readers' correctness argument orders this store before
        // this writer's next scan of the pins (protocol.rs).
        let header = shared.header();
        header.active.store(protocol::pack(generation, index), Ordering::SeqCst);
        if self.options.durable {
            self.channel._state_map.flush().map_err(|e| Error::io(&self.channel.paths.state, e))?;
        }
        // SeqCst pairs with the waiter's increment-then-load (reader.rs wait_for_change): either
        // the waiter sees the new futex value, or this load sees the waiter.
        header.publish_futex.fetch_add(1, Ordering::SeqCst);
        if shared.readers_header().waiters.load(Ordering::SeqCst) > 0 {
            os::futex_wake_all(&header.publish_futex);
        }
        Ok(Published { generation, bytes: len, copy: index, reclaimed, waited })
    }

    /// Writer step 1: finds a copy no reader can be reading, clearing dead readers' pins and
    /// then waiting with backoff up to the wait limit when every candidate is pinned. Returns
    /// the copy, the number of dead readers reclaimed and the time spent waiting. The clock is
    /// read only once a scan finds every copy blocked: an unblocked publish makes no syscall.
    fn acquire_copy(&mut self) -> Result<(usize, usize, Duration)> {
        let shared = &self.channel.shared;
        let copies = shared.copies();
        let mut held = [0u64; layout::MAX_COPIES];
        for (h, d) in held.iter_mut().zip(shared.descriptors()) {
            *h = d.generation.load(Ordering::Relaxed);
        }
        let held = &held[..copies];
        let active = shared.header().active.load(Ordering::Relaxed);
        let mut reclaimed = 0;
        let mut attempt = 0u32;
        let mut started: Option<Instant> = None;
        loop {
            let mut blocked = [false; layout::MAX_COPIES];
            for slot in shared.used_slots() {
                protocol::mark_blocked(
                    slot.pin.load(Ordering::SeqCst),
                    held,
                    &mut blocked[..copies],
                );
            }
            if let Some(c) = protocol::choose_copy(active, held, &blocked[..copies]) {
                return Ok((c, reclaimed, started.map_or(Duration::ZERO, |t| t.elapsed())));
            }
            let cleared = self.reclaim_dead_readers(held, protocol::active_copy(active))?;
            reclaimed += cleared;
            if cleared > 0 {
                continue;
            }
            let waited = started.get_or_insert_with(Instant::now).elapsed();
            if waited >= self.options.max_wait {
                return Err(Error::WriterBlocked {
                    path: self.channel.paths.readers.clone(),
                    waited,
                });
            }
            backoff(attempt, self.options.max_wait - waited);
            attempt += 1;
        }
    }

    /// Clears the pins of slots that block a candidate copy and whose owner is gone (nobody
    /// holds the slot's OFD lock). The writer takes the slot's lock while it clears the pin, so a
    /// reader claiming the slot at the same moment cannot have its fresh pin erased.
    fn reclaim_dead_readers(&self, held: &[u64], active_copy: Option<usize>) -> Result<usize> {
        let shared = &self.channel.shared;
        let file = &self.channel.readers_file;
        let path = &self.channel.paths.readers;
        let mut cleared = 0;
        for (index, slot) in shared.used_slots().iter().enumerate() {
            let pin = slot.pin.load(Ordering::SeqCst);
            let blocks_candidate = held
                .iter()
                .enumerate()
                .any(|(c, &h)| Some(c) != active_copy && !protocol::pin_allows(pin, h));
            if !blocks_candidate {
                continue;
            }
            let offset = layout::slot_offset(index) as u64;
            if os::try_lock(file, offset, 1).map_err(|e| Error::io(path, e))? {
                slot.pin.store(0, Ordering::SeqCst);
                os::unlock(file, offset, 1).map_err(|e| Error::io(path, e))?;
                cleared += 1;
            }
        }
        Ok(cleared)
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        // Release the writer lock explicitly: a child forked by another thread of this process
        // shares the open file description until it execs, and would otherwise keep the lock.
        let _ = os::unlock(&self.channel._state_file, 0, 0);
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

fn create_readers(file: &std::fs::File, paths: &ChannelPaths, slots: usize) -> Result<()> {
    let len = layout::readers_file_len(slots) as u64;
    if files::file_len(file, &paths.readers)? < len {
        os::allocate(file, len).map_err(|e| Error::io(&paths.readers, e))?;
    }
    let map = files::map_shared(file, &paths.readers, true)?;
    // SAFETY: the file is at least `len` bytes, the mapping page-aligned; ReadersHeader is
    // atomics and bytes.
    let header = unsafe { &*(map.as_ptr() as *const layout::ReadersHeader) };
    if header.magic.load(Ordering::Acquire) == READERS_MAGIC
        && header.format_version.load(Ordering::Relaxed) == FORMAT_VERSION
        && header.slot_count.load(Ordering::Relaxed) as usize == slots
        && header.slot_size.load(Ordering::Relaxed) as usize == layout::SLOT_SIZE
    {
        return Ok(()); // left by an earlier writer of this channel; slots are still valid
    }
    header.magic.store(0, Ordering::SeqCst);
    header.format_version.store(FORMAT_VERSION, Ordering::Relaxed);
    header.slot_count.store(slots as u32, Ordering::Relaxed);
    header.slot_size.store(layout::SLOT_SIZE as u32, Ordering::Relaxed);
    header.waiters.store(0, Ordering::Relaxed);
    header.slot_high_water.store(0, Ordering::Relaxed);
    for index in 0..slots {
        // SAFETY: slot `index` lies within the `len` bytes mapped.
        let slot = unsafe {
            &*(map.as_ptr().add(layout::slot_offset(index)) as *const layout::ReaderSlot)
        };
        slot.pin.store(0, Ordering::Relaxed);
    }
    header.magic.store(READERS_MAGIC, Ordering::Release);
    Ok(())
}

fn create_state(
    file: &std::fs::File,
    paths: &ChannelPaths,
    options: &WriterOptions,
    schema: &Schema,
) -> Result<()> {
    let len = layout::state_file_len(options.copies) as u64;
    if files::file_len(file, &paths.state)? < len {
        os::allocate(file, len).map_err(|e| Error::io(&paths.state, e))?;
    }
    let map = files::map_shared(file, &paths.state, true)?;
    // SAFETY: the file is at least `len` bytes and nothing else writes it (we hold the writer
    // lock); readers read nothing but the magic until it is set, below, last.
    let header = unsafe { &mut *(map.as_mut_ptr() as *mut layout::StateHeader) };
    header.magic.store(0, Ordering::SeqCst);
    header.format_version.store(FORMAT_VERSION, Ordering::Relaxed);
    header.header_size.store(size_of::<layout::StateHeader>() as u32, Ordering::Relaxed);
    header.fingerprint.store(schema.fingerprint, Ordering::Relaxed);
    header.copies.store(options.copies as u32, Ordering::Relaxed);
    header.reader_slots.store(options.reader_slots as u32, Ordering::Relaxed);
    header.max_size.store(options.max_size, Ordering::Relaxed);
    let name = schema.type_name.as_bytes();
    let name = &name[..name.len().min(layout::TYPE_NAME_CAPACITY)];
    header.type_name = [0; layout::TYPE_NAME_CAPACITY];
    header.type_name[..name.len()].copy_from_slice(name);
    header.type_name_len.store(name.len() as u32, Ordering::Relaxed);
    header.active.store(0, Ordering::Relaxed);
    header.publish_futex.store(0, Ordering::Relaxed);
    // SAFETY: the descriptors follow the header within the `len` bytes mapped.
    let descriptors = unsafe {
        std::slice::from_raw_parts(
            map.as_ptr().add(size_of::<layout::StateHeader>()) as *const layout::CopyDescriptor,
            options.copies,
        )
    };
    for d in descriptors {
        d.generation.store(0, Ordering::Relaxed);
        d.length.store(0, Ordering::Relaxed);
        d.checksum.store(0, Ordering::Relaxed);
        d.fingerprint.store(0, Ordering::Relaxed);
    }
    if options.durable {
        map.flush().map_err(|e| Error::io(&paths.state, e))?;
    }
    header.magic.store(STATE_MAGIC, Ordering::Release);
    Ok(())
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
        f.debug_struct("Writer").field("type", &T::TYPE_NAME).field("raw", &self.raw).finish()
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
        self.raw.publish_bytes(bytes, crate::reader::check_archive::<T::Archived>)
    }

    /// The last published generation (0 before the first publish on a new channel).
    pub fn generation(&self) -> u64 {
        self.raw.generation()
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
    /// Number of data copies (2..=16) for a channel this writer creates; an existing channel
    /// must have the same number.
    pub fn copies(mut self, copies: usize) -> Self {
        self.options.copies = copies;
        self
    }

    /// Number of reader slots for a channel this writer creates.
    pub fn reader_slots(mut self, slots: usize) -> Self {
        self.options.reader_slots = slots;
        self
    }

    /// Largest archived value accepted; larger values fail with [`Error::TooLarge`].
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.options.max_size = bytes;
        self
    }

    /// Permission bits of the state and data files the writer creates (default 0o640).
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.options.file_mode = mode;
        self
    }

    /// Permission bits of the readers file (default 0o660: readers must write their slot).
    pub fn readers_mode(mut self, mode: u32) -> Self {
        self.options.readers_mode = mode;
        self
    }

    /// How long a write may wait for live readers to release a copy before it fails with
    /// [`Error::WriterBlocked`] (default one second).
    pub fn max_wait(mut self, limit: Duration) -> Self {
        self.options.max_wait = limit;
        self
    }

    /// msync every copy and the state file before and after publishing (default off: on
    /// `/dev/shm` there is nothing to sync to, and readers never need it).
    pub fn durable(mut self, durable: bool) -> Self {
        self.options.durable = durable;
        self
    }

    /// Accept channel files owned by another user (default: refuse them as planted).
    pub fn allow_foreign_owner(mut self, allow: bool) -> Self {
        self.options.allow_foreign_owner = allow;
        self
    }

    /// Opens the channel at `path`, creating its files if needed.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Writer<T>> {
        let schema = Schema::of::<T>();
        Ok(Writer {
            raw: RawWriter::open(path.as_ref(), self.options, schema)?,
            arena: Arena::new(),
            _type: PhantomData,
        })
    }
}
