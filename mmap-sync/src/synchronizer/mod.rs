//! The facade of mmap-sync 2.x: [`Synchronizer`] keeps upstream's type parameters, method names
//! and signatures, error variants and module paths, so that code written against upstream ports
//! by changing imports (and rkyv 0.8's attributes), on top of this crate's safe core.
//!
//! What a porting user should know (`MIGRATING.md` at the repository root has the whole list):
//!
//! * `read` is safe: every published generation is validated once for the process (bytecheck,
//!   checksum, schema fingerprint) and then read by pointer cast. `check_bytes` is accepted and
//!   has no effect any more; [`Synchronizer::read_unchecked`] skips bytecheck for trusted
//!   writers.
//! * `grace_duration` is how long a write may wait for a reader to release a copy. Readers are
//!   never reset under their feet; the returned `bool` says whether dead readers' slots were
//!   reclaimed during the write.
//! * The value type needs no derive beyond rkyv's. The channel's type check compares the
//!   *layout fingerprint* ([`layout_fingerprint`](crate::layout_fingerprint)): the type's name
//!   without module paths and what rkyv's bytecheck accepts of its archived root. The same
//!   definition included by two programs (a `mod common;`) matches; a definition with another
//!   field, another field type or another field order is refused. It cannot see swapped or
//!   renamed fields of one type, integer or float types of one size (`u32`, `i32`, `f32`), or
//!   changes behind a pointer (a `Vec`'s element type, say): derive
//!   [`SharedState`](crate::SharedState) for full checking.
//! * A channel written through the facade is read by [`Reader<T>`](crate::Reader) of the same
//!   type, and a channel written by [`Writer<T>`](crate::Writer) is read through the facade:
//!   every channel records the layout fingerprint, whoever wrote it.
//! * Channels created by the facade have 3 copies, so one slow reader never stalls the writer.
//!
//! The type parameters are upstream's, with upstream's defaults except `H`'s; what each means
//! now:
//!
//! * `H`, the checksum hasher: accepted and ignored. Every copy is checksummed with xxh3-64,
//!   because readers in other programs (and `Reader<T>`) must agree on the checksum; the default
//!   is [`Xxh3`], which names it.
//! * `WL`, the write-lock strategy ([`locks`]): accepted; one writer is always
//!   enforced.
//! * `N`, the serializer's scratch space: the initial size of the scratch arena, which grows
//!   as a value needs.
//! * `SD`, the writer's sleep between checks for readers (upstream slept 1 s): accepted and
//!   ignored. A blocked write spins, yields, then sleeps for at most a millisecond at a time,
//!   up to `grace_duration`.

use std::ffi::OsStr;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rkyv::bytecheck::CheckBytes;
use rkyv::ser::allocator::Arena;
use rkyv::{Archive, Portable, Serialize};

use crate::error::Error;
use crate::format;
use crate::paths::ChannelPaths;
use crate::reader::{Check, ReadGuard, ReaderShared};
use crate::serialize::{CopySerializer, serialize_into};
use crate::value_type::ValueType;
use crate::writer::{RawWriter, WriterOptions};

mod error;
mod hasher;
pub mod instance;
pub mod locks;
mod read_result;

pub use error::SynchronizerError;
pub use hasher::Xxh3;
use instance::InstanceVersion;
use locks::LockDisabled;
pub use read_result::ReadResult;

/// The validator a read checks archived bytes with (`rkyv::api::high::HighValidator` with
/// `rkyv::rancor::Error`): `T::Archived` must implement `for<'a> CheckBytes<Validator<'a>>`,
/// which `#[derive(rkyv::Archive)]` provides.
pub type Validator<'a> = crate::__private::Validator<'a>;

/// The serializer `write` archives a value with, straight into a mapped copy: `T` must implement
/// `for<'a, 'b> rkyv::Serialize<Serializer<'a, 'b>>`, which `#[derive(rkyv::Serialize)]`
/// provides.
pub type Serializer<'a, 'b> = CopySerializer<'a, 'b>;

/// Copies of channels the facade creates.
const FACADE_COPIES: usize = 3;

/// Largest initial scratch arena (`N`): a larger `N` is clamped, the arena grows anyway.
const MAX_INITIAL_SCRATCH: usize = 64 << 20;

/// How often the facade looks for a channel's files that do not exist yet while waiting.
const APPEAR_POLL: Duration = Duration::from_millis(5);

/// The writer side: opened at the first write, for the type of that write.
struct FacadeWriter {
    raw: RawWriter,
    /// `std::any::type_name` of the type the writer was opened for: a write of the same type
    /// checks nothing more (the layout fingerprint is computed once per type).
    type_name: &'static str,
    durable: bool,
}

/// The reader side: opened at the first read, for the type of that read.
struct FacadeReader {
    shared: Arc<ReaderShared>,
    type_name: &'static str,
}

/// Whether `a` and `b` are the same `std::any::type_name` (a pointer comparison almost always).
#[inline]
fn same_type(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The writer side in `slot`, opened for `T` if needed. A synchronizer writes one type: a value
/// of another type is refused, not published under the first type's fingerprint.
fn open_writer<'s, T>(
    slot: &'s mut Option<FacadeWriter>,
    path: &Path,
    durable: bool,
) -> Result<&'s mut RawWriter, SynchronizerError>
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
{
    let name = std::any::type_name::<T>();
    match slot {
        Some(w) if same_type(w.type_name, name) => {}
        Some(w) => {
            let ty = ValueType::of_archive::<T>();
            if w.raw.layout_fingerprint() != ty.layout_fingerprint() {
                return Err(SynchronizerError::new(
                    Error::SchemaMismatch {
                        path: w.raw.paths().state.clone(),
                        expected: ty.schema(),
                        found: w.raw.schema(),
                        differences: Vec::new(),
                    },
                    true,
                ));
            }
            // Another name for the same layout (the same definition reached through
            // another path): remember it, so it is not fingerprinted again.
            w.type_name = name;
        }
        None => {
            let mut options = WriterOptions::new(
                FACADE_COPIES,
                format::DEFAULT_READER_SLOTS,
                format::DEFAULT_MAX_SIZE,
            );
            options.set.durable = durable;
            let raw = RawWriter::open(path, options, ValueType::of_archive::<T>())
                .map_err(|e| SynchronizerError::new(e, true))?;
            *slot = Some(FacadeWriter { raw, type_name: name, durable });
        }
    }
    Ok(&mut slot.as_mut().expect("opened above").raw)
}

/// The reader side in `slot`, opened for `T` if it is not open for `T` already (the type's
/// layout fingerprint is computed then, once). Inlined: on every read after the first, this
/// is one comparison of type names.
#[inline(always)]
fn reader_for<'s, T>(
    slot: &'s mut Option<FacadeReader>,
    path: &Path,
) -> Result<&'s Arc<ReaderShared>, SynchronizerError>
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
{
    let name = std::any::type_name::<T>();
    match slot {
        Some(r) if same_type(r.type_name, name) => {}
        _ => return open_reader::<T>(slot, path),
    }
    Ok(&slot.as_ref().expect("matched above").shared)
}

#[cold]
fn open_reader<'s, T>(
    slot: &'s mut Option<FacadeReader>,
    path: &Path,
) -> Result<&'s Arc<ReaderShared>, SynchronizerError>
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
{
    *slot = None;
    let shared = ReaderShared::open(path, ValueType::of_archive::<T>(), true, false)
        .map_err(|e| SynchronizerError::new(e, false))?;
    Ok(&slot.insert(FacadeReader { shared, type_name: std::any::type_name::<T>() }).shared)
}

/// Reads and writes one value at a path prefix, as upstream's `Synchronizer` did: the writer side
/// opens at the first write, the reader side at the first read. Both may be used through one
/// synchronizer.
///
/// `Send + Sync`, like upstream's; every method takes `&mut self`. For reading from many threads
/// through one handle, use [`Reader<T>`](crate::Reader) (`Clone`, reads through `&self`), which
/// reads the same channels.
///
/// The type parameters are upstream's and keep its defaults (but `H`'s); see the
/// [module](self) for what each means now.
pub struct Synchronizer<
    H = Xxh3,
    WL = LockDisabled,
    const N: usize = 1024,
    const SD: u64 = 1_000_000_000,
> {
    path: PathBuf,
    /// Generation of the last read, for `ReadResult::is_switched`.
    last_read: u64,
    /// msync before and after each publish (set before the writer opens).
    durable: bool,
    writer: Option<FacadeWriter>,
    reader: Option<FacadeReader>,
    /// The serializer's scratch space, made at the first write. In a `Mutex` only so that the
    /// synchronizer is `Sync`: it is reached through `&mut self`, never locked.
    arena: Option<Mutex<Arena>>,
    _params: PhantomData<fn() -> (H, WL)>,
}

impl<H, WL, const N: usize, const SD: u64> fmt::Debug for Synchronizer<H, WL, N, SD> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Synchronizer")
            .field("path", &self.path)
            .field("writer", &self.writer.as_ref().map(|w| w.type_name))
            .field("reader", &self.reader.as_ref().map(|r| r.type_name))
            .finish_non_exhaustive()
    }
}

impl Synchronizer {
    /// A synchronizer with the default type parameters for the files at `path_prefix`
    /// (`{prefix}_state`, `{prefix}_readers`, `{prefix}_data_{i}`, `{prefix}_writer`). Nothing is
    /// opened until the first call.
    pub fn new(path_prefix: &OsStr) -> Self {
        Self::with_params(path_prefix)
    }
}

impl<H, WL, const N: usize, const SD: u64> Synchronizer<H, WL, N, SD> {
    /// A synchronizer with the type parameters named by the caller
    /// (`Synchronizer::<WyHash, SingleWriter, 1024, 500_000>::with_params(path)`). Nothing is
    /// opened until the first call.
    pub fn with_params(path_prefix: &OsStr) -> Self {
        Synchronizer {
            path: PathBuf::from(path_prefix),
            last_read: 0,
            durable: false,
            writer: None,
            reader: None,
            arena: None,
            _params: PhantomData,
        }
    }

    /// Whether writes msync the data copy before publishing it and the state file after (default
    /// off). Upstream flushed every write; on `/dev/shm` there is nothing to flush to, and
    /// readers never need it (they read the same page cache), so it is off unless the files
    /// must survive a machine crash. Applies from the next write: if the writer side is already
    /// open with the other setting, it is closed here (giving up the writer lock) and reopened by
    /// the next write.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
        if self.writer.as_ref().is_some_and(|w| w.durable != durable) {
            self.writer = None;
        }
    }

    /// Serializes `entity` straight into a free copy and publishes it. Returns the archived
    /// size and whether dead readers' slots were reclaimed during the write (upstream: whether
    /// the reader count was reset). Waits at most `grace_duration` for readers to release a
    /// copy, then fails with `FailedDataWrite` (kind `TimedOut`) and publishes nothing; a live
    /// reader's copy is never taken from it.
    pub fn write<T>(
        &mut self,
        entity: &T,
        grace_duration: Duration,
    ) -> Result<(usize, bool), SynchronizerError>
    where
        T: Archive + for<'a, 'b> Serialize<Serializer<'a, 'b>>,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        let writer = open_writer::<T>(&mut self.writer, &self.path, self.durable)?;
        writer.set_max_wait(grace_duration);
        let arena = self
            .arena
            .get_or_insert_with(|| Mutex::new(Arena::with_capacity(N.min(MAX_INITIAL_SCRATCH))))
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        let published = writer
            .publish(&mut |buf| serialize_into(entity, buf, arena), None)
            .map_err(|e| SynchronizerError::new(e, true))?;
        Ok((published.bytes, published.reclaimed > 0))
    }

    /// Publishes bytes archived elsewhere (`rkyv::to_bytes`: root at the end) after validating
    /// them as a `T::Archived`; bytes that are not are refused (`FailedDataWrite`, kind
    /// `InvalidData`) and nothing is published. Returns as [`write`](Self::write).
    pub fn write_raw<T>(
        &mut self,
        data: &[u8],
        grace_duration: Duration,
    ) -> Result<(usize, bool), SynchronizerError>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        let writer = open_writer::<T>(&mut self.writer, &self.path, self.durable)?;
        writer.set_max_wait(grace_duration);
        let published = writer.publish_bytes(data).map_err(|e| SynchronizerError::new(e, true))?;
        Ok((published.bytes, published.reclaimed > 0))
    }

    /// The newest published value, validated once per generation for the process (bytecheck,
    /// checksum and fingerprint), zero-copy. Safe: the returned result pins its copy, which the
    /// writer will not overwrite until it drops.
    ///
    /// `check_bytes` is accepted for compatibility with mmap-sync 2.x and has no effect: a safe
    /// read never skips validation, and after the one-time check a read costs the same either
    /// way. (Code that calls this in an `unsafe` block, as upstream required, still compiles,
    /// with an `unused_unsafe` warning.)
    ///
    /// A channel of another type is refused with `FailedStateRead` (kind `InvalidData`) holding
    /// [`Error::SchemaMismatch`].
    ///
    /// If a writer replaces the channel's files by a new set (it found them damaged), reads keep
    /// serving the last value of the old set, as [`Reader`](crate::Reader)'s do, until
    /// [`version`](Self::version) or [`wait_for_change`](Self::wait_for_change) notices the
    /// replacement; the next read then follows the new set. (Looking on every read would cost
    /// the hot path a call.)
    #[inline(always)]
    pub fn read<T>(&mut self, check_bytes: bool) -> Result<ReadResult<'_, T>, SynchronizerError>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        let _ = check_bytes;
        self.read_with::<T>(Check::Safe)
    }

    /// Like [`read`](Self::read) without bytecheck (the checksum and the fingerprint are still
    /// checked once per generation): what upstream's `read(false)` skipped, kept for writers
    /// that are trusted.
    ///
    /// # Safety
    /// The writer must be trusted to publish only valid archives of `T`: a malformed archive
    /// read this way is undefined behaviour.
    pub unsafe fn read_unchecked<T>(&mut self) -> Result<ReadResult<'_, T>, SynchronizerError>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        self.read_with::<T>(Check::Unchecked)
    }

    /// Pins the newest validated copy and wraps it for `T`. Inlined into the caller, as
    /// `Reader::read` is: a call here costs a read about a third more.
    #[inline(always)]
    fn read_with<T>(&mut self, check: Check) -> Result<ReadResult<'_, T>, SynchronizerError>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        let shared = reader_for::<T>(&mut self.reader, &self.path)?;
        let pinned = shared.read(check).map_err(|e| SynchronizerError::new(e, false))?;
        let generation = pinned.generation();
        let previous = std::mem::replace(&mut self.last_read, generation);
        // SAFETY: the copy was validated as a `T::Archived` for this generation (the reader was
        // opened with `T`'s type; bytecheck ran unless the caller of `read_unchecked` vouched
        // for the bytes), and the pin keeps the writer away from it until the guard drops.
        let guard = unsafe { ReadGuard::new(pinned) };
        Ok(ReadResult { guard, previous })
    }

    /// Blocks until a generation other than `since` is published (`None`: any generation), or
    /// `timeout` passes (any duration, `Duration::MAX` included). Returns the new version, or
    /// `None` on timeout. The thread sleeps on a futex that the writer wakes at each publish;
    /// while the channel's files do not exist yet, it looks for them every few milliseconds.
    ///
    /// Opens the reader side for `T` as a read does, so a channel of another type is refused
    /// here too.
    pub fn wait_for_change<T>(
        &mut self,
        since: Option<InstanceVersion>,
        timeout: Duration,
    ) -> Result<Option<InstanceVersion>, SynchronizerError>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<Validator<'a>>,
    {
        let since = since.map_or(0, InstanceVersion::generation);
        let deadline = Instant::now().checked_add(timeout);
        let remaining = || match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::MAX,
        };
        loop {
            let shared = match reader_for::<T>(&mut self.reader, &self.path) {
                Ok(shared) => shared,
                // No files yet, or a state file without a header yet.
                Err(e)
                    if matches!(e, SynchronizerError::UninitializedState)
                        || e.error().is_some_and(|e| matches!(e, Error::NotPublished { .. })) =>
                {
                    if remaining().is_zero() {
                        return Ok(None);
                    }
                    std::thread::sleep(APPEAR_POLL.min(remaining()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match crate::reader::wait_for_change(shared, since, remaining()) {
                Ok(generation) => return Ok(generation.and_then(InstanceVersion::from_generation)),
                // The files were replaced by a new set: follow it.
                Err(Error::Superseded { .. }) => self.reader = None,
                Err(e) => return Err(SynchronizerError::new(e, false)),
            }
        }
    }

    /// The version (generation) of the newest published value: a couple of atomic loads once
    /// this synchronizer has written or read (before that, the state file is mapped for the
    /// call). Fails with `FailedStateRead` (kind `NotFound`) while
    /// the channel's files do not exist, and `UninitializedState` while nothing is published.
    /// If the channel's files were replaced by a new set, the next read follows it.
    pub fn version(&mut self) -> Result<InstanceVersion, SynchronizerError> {
        if self.reader.as_ref().is_some_and(|r| r.shared.is_superseded()) {
            // The files were replaced by a new set: the next read opens it.
            self.reader = None;
        }
        let generation = if let Some(writer) = &self.writer {
            writer.raw.generation()
        } else if let Some(reader) = &self.reader {
            reader.shared.generation()
        } else {
            let paths = ChannelPaths::new(&self.path);
            let (_file, state) =
                crate::set::open_state(&paths).map_err(|e| SynchronizerError::new(e, false))?;
            // Acquire: as `Reader::generation`.
            crate::protocol::generation(
                state.header().active.load(std::sync::atomic::Ordering::Acquire),
            )
        };
        InstanceVersion::try_from(generation)
    }
}

// Here rather than in `instance`, so that `instance` does not depend on this module.
impl TryFrom<u64> for InstanceVersion {
    type Error = SynchronizerError;

    /// The version of a generation. 0 means "nothing published yet" and is
    /// [`SynchronizerError::UninitializedState`], as upstream's conversion of 0 was.
    fn try_from(generation: u64) -> Result<Self, SynchronizerError> {
        Self::from_generation(generation).ok_or(SynchronizerError::UninitializedState)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;
    use std::io;

    #[test]
    fn the_facade_is_send_and_sync_and_its_default_hasher_is_xxh3() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Synchronizer>();
        send_sync::<Synchronizer<std::hash::DefaultHasher, crate::locks::SingleWriter, 4096, 1>>();
        let mut hasher = Xxh3::default();
        hasher.write(b"hello");
        assert_eq!(hasher.finish(), xxhash_rust::xxh3::xxh3_64(b"hello"));
    }

    #[test]
    fn every_crate_error_keeps_its_file_and_reason_through_the_facade() {
        let state = PathBuf::from("/nonexistent/dir/x_state");
        let e = SynchronizerError::new(Error::NotPublished { path: state.clone() }, false);
        match &e {
            SynchronizerError::FailedStateRead(io) => {
                assert_eq!(io.kind(), io::ErrorKind::NotFound)
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("/nonexistent/dir/x_state"), "{e}");
        let data = PathBuf::from("/dev/shm/x_data_1");
        let e = SynchronizerError::new(Error::corrupt(&data, "checksum mismatch"), false);
        assert!(matches!(e, SynchronizerError::FailedDataRead(_)), "{e:?}");
        assert!(matches!(e.error(), Some(Error::Corrupt { path, .. }) if *path == data));
        let e = SynchronizerError::from(Error::WriterBlocked {
            path: state.clone(),
            waited: Duration::from_millis(5),
        });
        assert!(
            matches!(&e, SynchronizerError::FailedDataWrite(io) if io.kind() == io::ErrorKind::TimedOut),
            "{e:?}"
        );
        let e = SynchronizerError::from(Error::WriterExists { path: state });
        assert!(matches!(e, SynchronizerError::WriteLockConflict));
    }
}
