//! [`DynReader`]: a channel read through the structure it records, with the protocol, slots,
//! pins and once-per-generation checksum of [`Reader`](crate::Reader).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Result, Schema};
use crate::paths::ChannelPaths;
use crate::reader::{BytesGuard, ReaderCore, ReaderStats, ValidationFailure};
use crate::schema::{ArchivedLayout, Structure};
use crate::value_type::ValueType;

use super::archive::DynArchive;
use super::error::DynError;
use super::value::Value;

/// Reads the channel at a path without its Rust type: through the
/// [`Structure`] its writer recorded.
///
/// Like [`Reader`](crate::Reader), one `DynReader` serves a whole process (`Clone + Send +
/// Sync`; each reading thread holds a slot of its own), every generation is checksummed once
/// per process before it is served, and a read pins its generation until the guard drops. What
/// the typed reader's bytecheck does once per generation, the dynamic view does as it reads:
/// every value it reads is checked ([`Value`]), and [`Value::check`] checks the whole value.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let reader = mmap_sync::dynamic::DynReader::open("/dev/shm/routing_table")?;
/// let guard = reader.read()?;
/// let value = guard.value()?;
/// println!("{}", value.at("routes[0].prefix")?.as_str()?);
/// println!("{}", value.to_json()?);
/// # Ok(()) }
/// ```
///
/// The reader follows the channel while it holds the type it recorded at open; a writer that
/// replaces the channel by one of another type makes reads fail with
/// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) or
/// [`Error::Superseded`](crate::Error::Superseded): open a new reader.
#[derive(Clone)]
pub struct DynReader {
    core: ReaderCore,
    structure: Arc<Structure>,
    /// The root's archived layout, computed once at open so that a read does not walk the
    /// structure.
    root: ArchivedLayout,
}

impl fmt::Debug for DynReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynReader")
            .field("prefix", &self.core.paths().prefix)
            .field("type", &self.structure.root_name())
            .finish_non_exhaustive()
    }
}

impl DynReader {
    /// Opens the channel at `path` and checks its current generation (checksum), so that the
    /// first read is already fast. Fails as [`Reader::open`](crate::Reader::open) does, with
    /// [`Error::NoStructure`](crate::Error::NoStructure) when the writer recorded no structure
    /// (a hand-written `SharedState` or the upstream-style facade), and with
    /// [`Error::Incompatible`](crate::Error::Incompatible) when the structure is one this
    /// build cannot read (another archive encoding, or layouts that disagree with rkyv's),
    /// naming the field.
    pub fn open(path: impl AsRef<Path>) -> Result<DynReader> {
        DynReader::builder().open(path)
    }

    /// A builder to turn off the checksum pass, check in the background, or wait for the
    /// channel to appear.
    pub fn builder() -> DynReaderBuilder {
        DynReaderBuilder { checksum: true, background: false }
    }

    /// The structure the channel records: the type the values are read as.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// Pins the newest checked generation, as [`Reader::read`](crate::Reader::read) does.
    /// Wait-free when the generation was checked before; the first read of a new generation
    /// checksums it.
    #[inline]
    pub fn read(&self) -> Result<DynGuard<'_>> {
        Ok(DynGuard { bytes: self.core.read_bytes()?, structure: &self.structure, root: self.root })
    }

    /// The published generation (0 before the first publish): one atomic load.
    pub fn generation(&self) -> u64 {
        self.core.generation()
    }

    /// The newest generation checked by this process (0 if none).
    pub fn validated_generation(&self) -> u64 {
        self.core.validated_generation()
    }

    /// The newest generation that failed its check (never served), unless a newer one has
    /// been checked since.
    pub fn last_failure(&self) -> Option<ValidationFailure> {
        self.core.last_failure()
    }

    /// What this reader has done so far (see [`Reader::stats`](crate::Reader::stats)).
    pub fn stats(&self) -> ReaderStats {
        self.core.stats()
    }

    /// Whether the files this reader maps are no longer the channel at its path (see
    /// [`Reader::is_superseded`](crate::Reader::is_superseded)).
    pub fn is_superseded(&self) -> bool {
        self.core.is_superseded()
    }

    /// Blocks until a generation other than `since` is published and readable, or `timeout`
    /// passes (any duration, `Duration::MAX` included), as
    /// [`Reader::wait_for_change`](crate::Reader::wait_for_change) does.
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.core.wait_for_change(since, timeout)
    }

    /// Blocks until a read serves a generation newer than `since`, or `timeout` passes (see
    /// [`Reader::wait_for_validated`](crate::Reader::wait_for_validated)).
    pub fn wait_for_validated(&self, since: u64, timeout: Duration) -> Result<Option<u64>> {
        self.core.wait_for_validated(since, timeout)
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.core.paths()
    }

    /// The type name and fingerprint the writer recorded.
    pub fn schema(&self) -> Schema {
        self.core.schema()
    }

    /// Index of the reader slot the calling thread holds through this reader, if any.
    pub fn slot(&self) -> Option<usize> {
        self.core.slot()
    }
}

/// Builds a [`DynReader`] with non-default settings.
#[derive(Clone, Debug)]
pub struct DynReaderBuilder {
    checksum: bool,
    background: bool,
}

impl DynReaderBuilder {
    /// Whether to checksum each generation once before reading it (default on).
    pub fn verify_checksum(mut self, verify: bool) -> Self {
        self.checksum = verify;
        self
    }

    /// Checksum every new generation on a background thread (see
    /// [`ReaderBuilder::validate_in_background`](crate::ReaderBuilder::validate_in_background)).
    pub fn validate_in_background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Opens the channel at `path` (see [`DynReader::open`]).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<DynReader> {
        let mut recorded = None;
        let core = ReaderCore::open(
            path.as_ref(),
            |state, path| {
                let (ty, structure) = ValueType::recorded(state, path)?;
                DynArchive::check_structure(&structure).map_err(|e| {
                    crate::Error::Incompatible {
                        path: path.to_owned(),
                        reason: format!("the recorded structure cannot be read: {e}"),
                    }
                })?;
                // The root's layout, as `recorded` found it in the structure.
                let root =
                    ArchivedLayout { size: ty.root_size as u64, align: ty.root_align as u64 };
                recorded = Some((Arc::new(structure), root));
                Ok(ty)
            },
            self.checksum,
            self.background,
        )?;
        let (structure, root) = recorded.expect("the type was recorded before the reader opened");
        Ok(DynReader { core, structure, root })
    }

    /// Opens the channel at `path`, retrying while nothing is published, for at most
    /// `timeout` (see [`ReaderBuilder::open_wait`](crate::ReaderBuilder::open_wait)).
    pub fn open_wait(&self, path: impl AsRef<Path>, timeout: Duration) -> Result<DynReader> {
        crate::reader::open_wait(|| self.open(path.as_ref()), timeout)
    }
}

/// A pinned generation of the channel, read through its structure. While it lives the writer
/// does not overwrite the copy it reads; like [`ReadGuard`](crate::ReadGuard) it is not `Send`.
pub struct DynGuard<'r> {
    bytes: BytesGuard<'r>,
    structure: &'r Structure,
    root: ArchivedLayout,
}

impl DynGuard<'_> {
    /// The value: its root, from which every part is read and checked. Fails when the
    /// generation's bytes cannot hold the root.
    #[inline]
    pub fn value(&self) -> std::result::Result<Value<'_>, DynError> {
        Ok(self.archive()?.root())
    }

    /// The structure and the generation's bytes, paired.
    #[inline]
    pub fn archive(&self) -> std::result::Result<DynArchive<'_>, DynError> {
        DynArchive::with_root_layout(self.structure, self.bytes.bytes(), self.root)
    }

    /// The generation's whole archive (its root at the end).
    pub fn bytes(&self) -> &[u8] {
        self.bytes.bytes()
    }

    /// The generation this guard reads.
    pub fn generation(&self) -> u64 {
        self.bytes.generation()
    }
}

impl fmt::Debug for DynGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynGuard")
            .field("type", &self.structure.root_name())
            .field("generation", &self.generation())
            .field("bytes", &self.bytes().len())
            .finish()
    }
}
