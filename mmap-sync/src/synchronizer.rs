//! An upstream-shaped facade: `Synchronizer` keeps the method names and signatures of
//! mmap-sync 2.x so existing code ports by changing imports, on top of the same safe core.
//!
//! Differences a porting user should know:
//! * `read` is safe. `check_bytes` is accepted for source compatibility, but every generation
//!   is validated once anyway (bytecheck, checksum, fingerprint); after that a read costs the
//!   same either way. [`Synchronizer::read_unchecked`] skips bytecheck for trusted writers.
//! * `grace_duration` is how long a write may wait for a reader to release a copy; readers are
//!   never reset under their feet. The returned `bool` reports whether dead readers' slots were
//!   reclaimed during the write.
//! * The value type needs no `SharedState` derive: the schema fingerprint is computed from the
//!   type's name and archived size and alignment (see [`layout_fingerprint`](crate::layout_fingerprint)).
//! * Channels created by the facade have 3 copies, so one slow reader never stalls the writer.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rkyv::bytecheck::CheckBytes;
use rkyv::ser::allocator::Arena;
use rkyv::{Archive, Portable, Serialize};

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format;
use crate::guard::ReadGuard;
use crate::reader::{Check, ReaderShared};
use crate::serialize::{CopySerializer, serialize_into};
use crate::validation::ValueType;
use crate::writer::{RawWriter, WriterOptions};

/// The result of a read: derefs to the archived value and, like upstream's, says whether this
/// read saw a newer generation than the synchronizer's previous read.
pub struct ReadResult<'a, T: Archive> {
    guard: ReadGuard<'a, T>,
    switched: bool,
}

impl<T: Archive> ReadResult<'_, T> {
    /// Whether this read returned another generation than the previous read through the same
    /// synchronizer (true for the first read).
    pub fn is_switched(&self) -> bool {
        self.switched
    }

    /// The generation read.
    pub fn generation(&self) -> u64 {
        self.guard.generation()
    }
}

impl<T: Archive> std::ops::Deref for ReadResult<'_, T> {
    type Target = T::Archived;

    fn deref(&self) -> &T::Archived {
        &self.guard
    }
}

impl<T: Archive> fmt::Debug for ReadResult<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadResult")
            .field("generation", &self.generation())
            .field("switched", &self.switched)
            .finish()
    }
}

/// Error type of the facade (upstream calls it `SynchronizerError`).
pub type SynchronizerError = Error;

/// Copies of channels the facade creates.
const FACADE_COPIES: usize = 3;

/// Reads and writes one value at a path prefix, opening the writer or reader side on first use.
pub struct Synchronizer {
    path: PathBuf,
    /// Generation of the last read, for `ReadResult::is_switched`.
    last_read: u64,
    writer: Option<RawWriter>,
    /// The reader side and the type (by name) it was opened for.
    reader: Option<(&'static str, Arc<ReaderShared>)>,
    arena: Arena,
}

impl fmt::Debug for Synchronizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Synchronizer").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The writer side in `slot`, opened on first use for `T`.
fn open_writer<'s, T>(slot: &'s mut Option<RawWriter>, path: &Path) -> Result<&'s mut RawWriter>
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
{
    let writer = match slot.take() {
        Some(writer) => {
            // The files carry one schema: a value of another type is refused, not published
            // under the first type's fingerprint.
            let ty = ValueType::of_archive::<T>();
            if writer.layout_fingerprint() != ty.layout_fingerprint {
                let found = writer.schema();
                let state = writer.paths().state.clone();
                *slot = Some(writer);
                return Err(Error::SchemaMismatch {
                    path: state,
                    expected: ty.schema(),
                    found,
                    differences: Vec::new(),
                });
            }
            writer
        }
        None => {
            let options = WriterOptions::new(
                FACADE_COPIES,
                format::DEFAULT_READER_SLOTS,
                format::DEFAULT_MAX_SIZE,
            );
            RawWriter::open(path, options, ValueType::of_archive::<T>())?
        }
    };
    Ok(slot.insert(writer))
}

impl Synchronizer {
    /// A synchronizer for the files at `path_prefix` (`{prefix}_state`, `{prefix}_readers`,
    /// `{prefix}_data_{i}`). Nothing is opened until the first call.
    pub fn new(path_prefix: &OsStr) -> Self {
        Synchronizer {
            last_read: 0,
            path: PathBuf::from(path_prefix),
            writer: None,
            reader: None,
            arena: Arena::new(),
        }
    }

    /// Serializes `entity` into a free copy and publishes it. Returns the archived size and
    /// whether dead readers were reclaimed. Waits at most `grace_duration` for a free copy.
    pub fn write<T>(&mut self, entity: &T, grace_duration: Duration) -> Result<(usize, bool)>
    where
        T: Archive + for<'a, 'b> Serialize<CopySerializer<'a, 'b>>,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        let arena = &mut self.arena;
        let writer = open_writer::<T>(&mut self.writer, &self.path)?;
        writer.set_max_wait(grace_duration);
        let published = writer.publish(&mut |buf| serialize_into(entity, buf, arena), None)?;
        Ok((published.bytes, published.reclaimed > 0))
    }

    /// Publishes bytes archived elsewhere after validating them as a `T::Archived`.
    pub fn write_raw<T>(&mut self, data: &[u8], grace_duration: Duration) -> Result<(usize, bool)>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        let writer = open_writer::<T>(&mut self.writer, &self.path)?;
        writer.set_max_wait(grace_duration);
        let published = writer.publish_bytes(data)?;
        Ok((published.bytes, published.reclaimed > 0))
    }

    /// The newest published value, validated once per generation. `check_bytes` is accepted
    /// for compatibility with mmap-sync 2.x; validation is never skipped by a safe call.
    pub fn read<T>(&mut self, check_bytes: bool) -> Result<ReadResult<'_, T>>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        let _ = check_bytes;
        self.read_with::<T>(Check::Safe)
    }

    /// Like [`read`](Self::read) without bytecheck (checksum and fingerprint still checked).
    ///
    /// # Safety
    /// The writer must be trusted to publish only valid archives of `T`.
    pub unsafe fn read_unchecked<T>(&mut self) -> Result<ReadResult<'_, T>>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        self.read_with::<T>(Check::Unchecked)
    }

    fn reader<T>(&mut self) -> Result<&Arc<ReaderShared>>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        let name = std::any::type_name::<T>();
        let reopen = !matches!(&self.reader, Some((n, _)) if std::ptr::eq(*n, name) || *n == name);
        if reopen {
            let shared = ReaderShared::open(&self.path, ValueType::of_archive::<T>(), true, false)?;
            self.reader = Some((name, shared));
        }
        Ok(&self.reader.as_ref().expect("opened above").1)
    }

    /// Pins the newest validated copy and wraps it for `T`.
    fn read_with<T>(&mut self, check: Check) -> Result<ReadResult<'_, T>>
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        self.reader::<T>()?;
        let last_read = self.last_read;
        let shared = &self.reader.as_ref().expect("opened above").1;
        let pinned = shared.read(check)?;
        let switched = pinned.generation != last_read;
        let generation = pinned.generation;
        // SAFETY: the copy was validated as a `T::Archived` for this generation (bytecheck
        // unless the caller of `read_unchecked` vouched for it), and the pin keeps the writer
        // away until the guard drops.
        let guard = unsafe { ReadGuard::new(pinned.root, pinned.slot, generation) };
        self.last_read = generation;
        Ok(ReadResult { guard, switched })
    }

    /// The published generation (upstream: the instance version).
    pub fn version(&mut self) -> Result<u64> {
        if let Some(writer) = &self.writer {
            return Ok(writer.generation());
        }
        let paths = crate::paths::ChannelPaths::new(&self.path);
        let generation = match &self.reader {
            Some((_, shared)) => shared.generation(),
            None => {
                let (_file, state) = crate::set::open_state(&paths)?;
                // Acquire: as `Reader::generation`.
                crate::protocol::generation(
                    state.header().active.load(std::sync::atomic::Ordering::Acquire),
                )
            }
        };
        match generation {
            0 => Err(Error::NotPublished { path: paths.state }),
            generation => Ok(generation),
        }
    }
}
