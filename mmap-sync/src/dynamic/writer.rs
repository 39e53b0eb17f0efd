//! [`DynWriter`]: publishes archives of a type known only as a [`Structure`] (a relay that
//! carries a channel to another host), each checked whole through the structure before it is
//! published.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result, Schema};
use crate::paths::ChannelPaths;
use crate::schema::Structure;
use crate::shared_state::SharedState;
use crate::value_type::{Known, ValueType, named_root};
use crate::writer::{Published, RawStaged, RawWriter, WriterOptions, writer_settings};

use super::archive::DynArchive;

/// The type of a channel as a program without the Rust type knows it: the name and
/// fingerprints its writer records, and its structure. A channel written with it is one a
/// program with the Rust type reads (and the other way round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelType {
    /// The type's name (`SharedState::TYPE_NAME`).
    pub type_name: String,
    /// The schema fingerprint (`SharedState::FINGERPRINT`).
    pub fingerprint: u64,
    /// The layout fingerprint every program can compute from the archived root's size and
    /// alignment and the type name (recorded in the state file beside the fingerprint).
    pub layout_fingerprint: u64,
    /// The type's structure.
    pub structure: Structure,
}

impl ChannelType {
    /// The type's name and fingerprint, as errors and the state file show them.
    pub fn schema(&self) -> Schema {
        Schema { type_name: self.type_name.clone(), fingerprint: self.fingerprint }
    }

    /// The type of channels of `T`, when `T` has a structure (it derives `SharedState`).
    pub fn of<T: SharedState>() -> Option<ChannelType> {
        let ty = ValueType::of::<T>();
        let structure = T::SHAPE.map(|shape| Structure::of(&shape))?;
        Some(ChannelType {
            layout_fingerprint: ty.layout_fingerprint(),
            type_name: ty.type_name.into_owned(),
            fingerprint: ty.fingerprint,
            structure,
        })
    }

    /// The type the channel at `path` records (its state file is read, nothing is pinned).
    /// Fails as [`DynReader::open`](super::DynReader::open) does.
    pub fn recorded(path: impl AsRef<Path>) -> Result<ChannelType> {
        let channel = crate::inspect::Channel::open(path.as_ref())?;
        let state = channel.state();
        let (ty, structure) = ValueType::recorded(state, &channel.paths().state)?;
        Ok(ChannelType {
            layout_fingerprint: ty.layout_fingerprint(),
            type_name: ty.type_name.into_owned(),
            fingerprint: ty.fingerprint,
            structure,
        })
    }

    /// The writer's view of the type: every archive checked through the structure.
    fn value_type(&self, path: &Path) -> Result<(ValueType, Arc<Structure>)> {
        DynArchive::check_structure(&self.structure).map_err(|e| Error::Incompatible {
            path: path.to_owned(),
            reason: format!("the structure of {} cannot be written: {e}", self.type_name),
        })?;
        let Some(root) = named_root(&self.structure) else {
            return Err(Error::Incompatible {
                path: path.to_owned(),
                reason: "the structure's root is not a struct or enum".to_owned(),
            });
        };
        let structure = Arc::new(self.structure.clone());
        // Checked by the dynamic writer itself, through the structure.
        let ty = ValueType::structured(
            self.schema(),
            true,
            self.layout_fingerprint,
            root,
            Known::Recorded(structure.clone()),
        );
        Ok((ty, structure))
    }
}

/// Checks `bytes` as a whole archive of `structure`: what a typed writer's bytecheck does.
fn check(structure: &Structure, bytes: &[u8]) -> std::result::Result<(), String> {
    let archive =
        DynArchive::with_checked_structure(structure, bytes).map_err(|e| e.to_string())?;
    archive.root().check().map_err(|e| e.to_string())
}

/// Writes the channel at a path with values archived elsewhere, of a type known only as a
/// [`ChannelType`]. Each archive is checked whole through the structure ([`Value::check`](super::Value::check))
/// before it is published, and a failing one is [`Error::InvalidValue`] naming the field, with
/// nothing published.
pub struct DynWriter {
    raw: RawWriter,
    structure: Arc<Structure>,
}

impl fmt::Debug for DynWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl DynWriter {
    /// Opens (creating if needed) the channel at `path` for values of `ty`, with 3 copies, 128
    /// reader slots and a 64 MiB `max_size` (see [`builder`](Self::builder)). An existing
    /// channel of another type is [`Error::SchemaMismatch`].
    pub fn open(path: impl AsRef<Path>, ty: &ChannelType) -> Result<DynWriter> {
        DynWriter::builder().open(path, ty)
    }

    /// A builder to change copies, reader slots, sizes, file modes, the wait limit and
    /// durability.
    pub fn builder() -> DynWriterBuilder {
        DynWriterBuilder { options: WriterOptions::new(3, 128, 64 << 20) }
    }

    /// Checks `bytes` (a whole archive, root at the end) through the structure and publishes
    /// them.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<Published> {
        let structure = &self.structure;
        self.raw.publish_bytes_checked(bytes, &|bytes| check(structure, bytes))
    }

    /// Reserves a free copy for an archive of exactly `len` bytes, to be written in place and
    /// then published with [`DynStaged::publish`], which checks it.
    pub fn stage(&mut self, len: usize) -> Result<DynStaged<'_>> {
        Ok(DynStaged { raw: self.raw.stage(len)?, structure: &self.structure })
    }

    /// The last published generation (0 if none).
    pub fn generation(&self) -> u64 {
        self.raw.generation()
    }

    /// The largest archive accepted.
    pub fn max_size(&self) -> u64 {
        self.raw.max_size()
    }

    /// The channel's file paths.
    pub fn paths(&self) -> &ChannelPaths {
        self.raw.paths()
    }

    /// The structure every archive is checked through.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// Changes how long a write may wait for live readers to release a copy.
    pub fn set_max_wait(&mut self, limit: Duration) {
        self.raw.set_max_wait(limit);
    }
}

/// A copy reserved by [`DynWriter::stage`]: fill [`bytes_mut`](Self::bytes_mut), then
/// [`publish`](Self::publish). Dropping it publishes nothing.
pub struct DynStaged<'w> {
    raw: RawStaged<'w>,
    /// The writer's structure, which the bytes are checked through.
    structure: &'w Structure,
}

impl fmt::Debug for DynStaged<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.debug_as("DynStaged", f)
    }
}

impl DynStaged<'_> {
    /// The `len` bytes of the reserved copy: write the archive here.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.raw.bytes_mut()
    }

    /// Checks the bytes through the structure, checksums and publishes them; fails with
    /// [`Error::InvalidValue`] naming the field (nothing published) if they are not a valid
    /// archive of it.
    pub fn publish(self) -> Result<Published> {
        let structure = self.structure;
        self.raw.publish(&|bytes| check(structure, bytes))
    }
}

/// Builds a [`DynWriter`] with other settings.
#[derive(Debug)]
pub struct DynWriterBuilder {
    options: WriterOptions,
}

impl DynWriterBuilder {
    writer_settings!();

    /// Opens the channel at `path` for values of `ty`, creating its files if needed.
    pub fn open(self, path: impl AsRef<Path>, ty: &ChannelType) -> Result<DynWriter> {
        let (value_type, structure) = ty.value_type(path.as_ref())?;
        Ok(DynWriter { raw: RawWriter::open(path.as_ref(), self.options, value_type)?, structure })
    }
}
