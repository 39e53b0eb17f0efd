//! The reader: claims a slot, pins copies, validates each generation once.

use std::fmt;
use std::fs::File;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::Mmap;
use rkyv::bytecheck::CheckBytes;
use rkyv::{Portable, rancor};

use crate::channel::{Channel, Shared};
use crate::error::{Error, Result, Schema};
use crate::files::{self, Access, ReadersView, StateView};
use crate::guard::ReadGuard;
use crate::layout::{self, CopyDescriptor};
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::shared_state::SharedState;

/// Validates `bytes` as an archived `A` with its root at the end (bytecheck).
pub(crate) fn check_archive<A>(bytes: &[u8]) -> Result<(), String>
where
    A: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
{
    rkyv::api::high::access::<A, rancor::Error>(bytes).map(|_| ()).map_err(|e| e.to_string())
}

/// A validation of a copy's bytes as one archived type (bytecheck); `Err` carries the reason.
pub(crate) type ArchiveCheck = fn(&[u8]) -> Result<(), String>;

/// What a reader checks a copy against, beyond bytecheck.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expect {
    pub type_name: &'static str,
    pub fingerprint: u64,
    pub root_size: usize,
    pub root_align: usize,
}

impl Expect {
    pub fn of<A>(type_name: &'static str, fingerprint: u64) -> Self {
        Expect { type_name, fingerprint, root_size: size_of::<A>(), root_align: align_of::<A>() }
    }
}

/// One data copy as a reader holds it.
#[derive(Debug)]
struct ReaderCopy {
    index: usize,
    path: std::path::PathBuf,
    file: File,
    map: Option<Mmap>,
    /// The generation (and fingerprint) this copy last passed validation for; 0 if none.
    verified: u64,
    verified_fingerprint: u64,
    /// Whether that validation included bytecheck (`read_unchecked` skips it; a later safe read
    /// of the same generation must not inherit the skip).
    bytechecked: bool,
    /// Offset of the archived root within the copy for the verified generation.
    root: usize,
}

impl ReaderCopy {
    /// Whether `generation` was validated for `expect` already, with bytecheck if asked for.
    #[inline]
    fn is_verified(&self, generation: u64, expect: &Expect, check: Option<ArchiveCheck>) -> bool {
        self.verified == generation
            && self.verified_fingerprint == expect.fingerprint
            && (self.bytechecked || check.is_none())
    }

    /// Validates this copy for `generation`, once: descriptor, file length, checksum,
    /// fingerprint and (unless `check` is None, for `read_unchecked`) bytecheck. On success the
    /// mapping holds the archived root at `self.root`.
    #[cold]
    fn verify(
        &mut self,
        descriptor: &CopyDescriptor,
        generation: u64,
        expect: &Expect,
        check: Option<ArchiveCheck>,
        verify_checksum: bool,
        channel: &Channel,
    ) -> Result<()> {
        self.verified = 0;
        let held = descriptor.generation.load(Ordering::Acquire);
        if held != generation {
            return Err(Error::corrupt(
                &channel.paths.state,
                format!(
                    "copy {} holds generation {held}, but generation {generation} is published in it",
                    self.index
                ),
            ));
        }
        let fingerprint = descriptor.fingerprint.load(Ordering::Relaxed);
        if fingerprint != expect.fingerprint {
            return Err(Error::SchemaMismatch {
                path: self.path.clone(),
                expected: Schema {
                    type_name: expect.type_name.to_owned(),
                    fingerprint: expect.fingerprint,
                },
                found: Schema { type_name: channel.shared.schema().type_name, fingerprint },
            });
        }
        let len = descriptor.length.load(Ordering::Relaxed);
        let checksum = descriptor.checksum.load(Ordering::Relaxed);
        if len < expect.root_size as u64 {
            return Err(Error::corrupt(
                &self.path,
                format!(
                    "copy is {len} bytes, smaller than the archived root ({} bytes)",
                    expect.root_size
                ),
            ));
        }
        // Touching a mapped page past the end of the file raises SIGBUS: check the file really
        // holds the bytes the descriptor promises before reading any of them.
        let file_len = files::file_len(&self.file, &self.path)?;
        if file_len < len {
            return Err(Error::corrupt(
                &self.path,
                format!("data file is {file_len} bytes but holds a {len}-byte value: truncated"),
            ));
        }
        let len = len as usize;
        let map = match self.map.take() {
            Some(map) if map.len() >= len => self.map.insert(map),
            _ => self.map.insert(files::map_read_only(&self.file, &self.path)?),
        };
        if map.len() < len {
            return Err(Error::corrupt(
                &self.path,
                format!("data file shrank below {len} bytes while being mapped"),
            ));
        }
        let bytes = &map[..len];
        let root = len - expect.root_size;
        if !(map.as_ptr() as usize + root).is_multiple_of(expect.root_align) {
            return Err(Error::corrupt(
                &self.path,
                format!("archived root at offset {root} is misaligned"),
            ));
        }
        if verify_checksum && xxhash_rust::xxh3::xxh3_64(bytes) != checksum {
            return Err(Error::corrupt(
                &self.path,
                format!("checksum mismatch for generation {generation}"),
            ));
        }
        if let Some(check) = check {
            check(bytes).map_err(|e| {
                Error::corrupt(
                    &self.path,
                    format!("generation {generation} fails archive validation: {e}"),
                )
            })?;
        }
        self.root = root;
        self.verified = generation;
        self.verified_fingerprint = expect.fingerprint;
        self.bytechecked = check.is_some();
        Ok(())
    }
}

/// The reader half of the protocol, independent of the value's type.
pub(crate) struct RawReader {
    channel: Channel,
    copies: Vec<ReaderCopy>,
    slot: usize,
    verify_checksum: bool,
}

impl fmt::Debug for RawReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawReader")
            .field("prefix", &self.channel.paths.prefix)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// Outcome of pinning and validating the active copy.
pub(crate) struct Pinned<'a> {
    pub generation: u64,
    pub root: *const u8,
    pub pin: &'a AtomicU64,
}

impl RawReader {
    /// Opens the channel at `prefix`. `expected` is checked against the header now, and against
    /// every copy's descriptor when it is first read.
    pub fn open(prefix: &Path, expected: Option<&Schema>, verify_checksum: bool) -> Result<Self> {
        let paths = ChannelPaths::new(prefix);
        let state_file = match files::open(&paths.state, Access::ReadOnly) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotPublished { path: paths.state });
            }
            other => other?,
        };
        let state_map = files::map_shared(&state_file, &paths.state, false)?;
        let Some(state) = StateView::parse(&state_map, &paths.state)? else {
            return Err(Error::NotPublished { path: paths.state });
        };
        if let Some(expected) = expected {
            let found = state.schema();
            if found.fingerprint != expected.fingerprint {
                return Err(Error::SchemaMismatch {
                    path: paths.state.clone(),
                    expected: expected.clone(),
                    found,
                });
            }
        }
        let readers_file = files::open(&paths.readers, Access::ReadWrite)?;
        let readers_map = files::map_shared(&readers_file, &paths.readers, true)?;
        let readers = ReadersView::parse(&readers_map, &paths.readers, state.reader_slots())?;
        let mut copies = Vec::with_capacity(state.copies());
        for index in 0..state.copies() {
            let path = paths.data(index);
            let file = files::open(&path, Access::ReadOnly)?;
            copies.push(ReaderCopy {
                index,
                path,
                file,
                map: None,
                verified: 0,
                verified_fingerprint: 0,
                bytechecked: false,
                root: 0,
            });
        }
        let slot = claim_slot(&readers_file, &readers, &paths)?;
        // SAFETY: both mappings move into the Channel next to `shared` and live as long as it.
        let shared = unsafe { Shared::new(state, readers) };
        Ok(RawReader {
            channel: Channel {
                paths,
                _state_file: state_file,
                readers_file,
                shared,
                _state_map: state_map,
                _readers_map: readers_map,
            },
            copies,
            slot,
            verify_checksum,
        })
    }

    pub fn paths(&self) -> &ChannelPaths {
        &self.channel.paths
    }

    pub fn slot_index(&self) -> usize {
        self.slot
    }

    pub fn schema(&self) -> Schema {
        self.channel.shared.schema()
    }

    /// The generation currently published (0 if none): one atomic load.
    #[inline]
    pub fn generation(&self) -> u64 {
        protocol::generation(self.channel.shared.header().active.load(Ordering::Acquire))
    }

    /// Reader steps 1–4 of the protocol, then validation of the copy if this generation has
    /// not been validated before. On error the pin is released.
    #[inline]
    pub fn pin(&mut self, expect: &Expect, check: Option<ArchiveCheck>) -> Result<Pinned<'_>> {
        let RawReader { channel, copies, slot, verify_checksum } = self;
        let shared = &channel.shared;
        let active = &shared.header().active;
        let pin = &shared.slots()[*slot].pin;
        // Step 1.
        let a1 = active.load(Ordering::SeqCst);
        if a1 == 0 {
            return Err(Error::NotPublished { path: channel.paths.state.clone() });
        }
        // Step 2: SeqCst, so that it is ordered before the re-load below (a store followed by a
        // load to another address is the one reordering x86 allows; SeqCst forbids it).
        pin.store(protocol::range_pin(a1), Ordering::SeqCst);
        // Step 3.
        let a2 = active.load(Ordering::SeqCst);
        // Step 4: Release keeps it after the load above.
        pin.store(protocol::exact_pin(a2), Ordering::Release);
        let (generation, index) = (protocol::generation(a2), protocol::copy(a2));
        let checked = match copies.get_mut(index) {
            Some(copy) if copy.is_verified(generation, expect, check) => Ok(copy),
            Some(copy) => {
                let descriptor = &shared.descriptors()[index];
                copy.verify(descriptor, generation, expect, check, *verify_checksum, channel)
                    .map(|()| copy)
            }
            None => Err(Error::corrupt(
                &channel.paths.state,
                format!("active copy index {index} is out of range"),
            )),
        };
        let copy = match checked {
            Ok(copy) => copy,
            Err(e) => {
                pin.store(0, Ordering::Release);
                return Err(e);
            }
        };
        let base = copy.map.as_ref().map_or(std::ptr::null(), |m| m.as_ptr());
        // SAFETY: a verified copy's mapping holds its root (`ReaderCopy::verify`).
        let root = unsafe { base.add(copy.root) };
        Ok(Pinned { generation, root, pin })
    }

    /// Blocks until the published generation differs from `since` (and is not 0), or `timeout`
    /// passes. Returns the new generation, or `None` on timeout.
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Option<u64> {
        let shared = &self.channel.shared;
        let header = shared.header();
        let changed = |g: u64| g != since && g != 0;
        let current = protocol::generation(header.active.load(Ordering::SeqCst));
        if changed(current) {
            return Some(current);
        }
        let deadline = Instant::now() + timeout;
        let waiters = &shared.readers_header().waiters;
        waiters.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            // Load the futex word before checking the generation: a publish after this load
            // changes the word, so the wait below returns at once instead of missing it.
            let word = header.publish_futex.load(Ordering::SeqCst);
            let current = protocol::generation(header.active.load(Ordering::SeqCst));
            if changed(current) {
                break Some(current);
            }
            let now = Instant::now();
            if now >= deadline {
                break None;
            }
            os::futex_wait(&header.publish_futex, word, deadline - now);
        };
        waiters.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

impl Drop for RawReader {
    fn drop(&mut self) {
        // Clear the pin so the writer need not reclaim the slot, then release the slot's lock
        // explicitly: closing the file alone would leave it held while a child forked by another
        // thread of this process still shares the open file description (until it execs).
        self.channel.shared.slots()[self.slot].pin.store(0, Ordering::Release);
        let _ = os::unlock(&self.channel.readers_file, layout::slot_offset(self.slot) as u64, 1);
    }
}

/// Claims the lowest free reader slot by taking the OFD lock on its first byte. Lowest first
/// keeps the slot high-water mark, and so the writer's scan, as short as the number of readers.
fn claim_slot(file: &File, readers: &ReadersView<'_>, paths: &ChannelPaths) -> Result<usize> {
    let count = readers.slots.len();
    for index in 0..count {
        let offset = layout::slot_offset(index) as u64;
        if os::try_lock(file, offset, 1).map_err(|e| Error::io(&paths.readers, e))? {
            // A dead reader may have left a pin; the slot is ours now.
            readers.slots[index].pin.store(0, Ordering::SeqCst);
            readers.header.slot_high_water.fetch_max(index as u32 + 1, Ordering::SeqCst);
            return Ok(index);
        }
    }
    Err(Error::ReadersFull { path: paths.readers.clone(), slots: count as u32 })
}

/// Reads values of type `T` from the channel at a path. Each reader owns one reader slot; use
/// one `Reader` per thread.
pub struct Reader<T: SharedState> {
    raw: RawReader,
    expect: Expect,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").field("type", &T::TYPE_NAME).field("raw", &self.raw).finish()
    }
}

impl<T: SharedState> Reader<T> {
    /// Opens the channel at `path`. Fails with [`Error::NotPublished`] if no writer has created
    /// it yet, and [`Error::SchemaMismatch`] if it holds another type.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().open(path)
    }

    /// A builder to turn off the checksum pass or to wait for the channel to appear.
    pub fn builder() -> ReaderBuilder<T> {
        ReaderBuilder { verify_checksum: true, _type: PhantomData }
    }

    /// The newest published value. Wait-free; the first read of each generation validates it
    /// (bytecheck, checksum, fingerprint), every further read is a pointer cast.
    #[inline]
    pub fn read(&mut self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.raw.pin(&self.expect, Some(check_archive::<T::Archived>))?;
        // SAFETY: `pin` validated these bytes as a `T::Archived` for this generation, and the
        // pin keeps the writer away from the copy until the guard drops.
        Ok(unsafe { ReadGuard::new(pinned) })
    }

    /// Like [`read`](Self::read) but skips bytecheck (checksum and fingerprint are still
    /// checked once per generation).
    ///
    /// # Safety
    /// The writer must be trusted to publish only valid archives of `T`: a malformed archive
    /// read this way is undefined behaviour.
    #[inline]
    pub unsafe fn read_unchecked(&mut self) -> Result<ReadGuard<'_, T>> {
        let pinned = self.raw.pin(&self.expect, None)?;
        // SAFETY: the caller vouches for the bytes; the pin keeps the copy stable.
        Ok(unsafe { ReadGuard::new(pinned) })
    }

    /// The published generation (0 before the first publish): one atomic load, for cheap
    /// change polling.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.raw.generation()
    }

    /// Blocks until a generation other than `since` is published, or `timeout` passes.
    /// Returns `Ok(Some(generation))` on a change and `Ok(None)` on timeout. On Linux the
    /// reader sleeps on a futex; the writer wakes it only when some reader waits.
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        Ok(self.raw.wait_for_change(since, timeout))
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.raw.paths()
    }

    /// The schema recorded by the writer.
    pub fn schema(&self) -> Schema {
        self.raw.schema()
    }

    /// Index of the reader slot this reader owns.
    pub fn slot(&self) -> usize {
        self.raw.slot_index()
    }
}

/// Builds a [`Reader`] with non-default settings.
pub struct ReaderBuilder<T: SharedState> {
    verify_checksum: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T: SharedState> fmt::Debug for ReaderBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderBuilder").field("verify_checksum", &self.verify_checksum).finish()
    }
}

impl<T: SharedState> ReaderBuilder<T> {
    /// Whether to checksum each generation once before reading it (default on). Off saves one
    /// pass over very large values; bytecheck still runs.
    pub fn verify_checksum(mut self, verify: bool) -> Self {
        self.verify_checksum = verify;
        self
    }

    /// Opens the channel at `path`.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Reader<T>> {
        let schema = Schema::of::<T>();
        Ok(Reader {
            raw: RawReader::open(path.as_ref(), Some(&schema), self.verify_checksum)?,
            expect: Expect::of::<T::Archived>(T::TYPE_NAME, T::FINGERPRINT),
            _type: PhantomData,
        })
    }

    /// Opens the channel at `path`, retrying while it is [`Error::NotPublished`] for at most
    /// `timeout` (polling every few milliseconds: no file exists yet to wait on).
    pub fn open_wait(self, path: impl AsRef<Path>, timeout: Duration) -> Result<Reader<T>> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempt =
                ReaderBuilder::<T> { verify_checksum: self.verify_checksum, _type: PhantomData };
            match attempt.open(path.as_ref()) {
                Err(Error::NotPublished { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => return other,
            }
        }
    }
}
