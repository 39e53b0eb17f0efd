//! Validation: what a program knows about its value's type ([`ValueType`]), whether a channel's
//! files hold that type ([`ValueType::accepts`]), and the one-time check of a published copy
//! ([`validate_copy`]) — descriptor, length, checksum, fingerprint and bytecheck — after which
//! reading that generation is a pointer cast.

use std::path::Path;
use std::sync::atomic::Ordering;

use rkyv::bytecheck::CheckBytes;
use rkyv::{Archive, Portable, rancor};

use crate::error::{Error, Result, Schema};
use crate::fingerprint;
use crate::format::{CopyDescriptor, StateMap};
use crate::protocol;
use crate::schema::{Difference, OwnedDescription};
use crate::set::ReaderData;
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

/// What a program knows about the type of the value it writes or reads.
#[derive(Clone, Debug)]
pub(crate) struct ValueType {
    /// The type's name as recorded in the header.
    pub type_name: String,
    /// The fingerprint this program's copies carry when it creates a channel: the derived one if
    /// any, else the layout one.
    pub fingerprint: u64,
    /// Whether `fingerprint` is derived.
    pub derived: bool,
    /// The layout fingerprint ([`fingerprint::layout_fingerprint`]).
    pub layout_fingerprint: u64,
    /// Size and alignment of the archived root.
    pub root_size: usize,
    pub root_align: usize,
    /// Bytecheck of an archive of this type.
    pub check: ArchiveCheck,
    /// The type's schema description, if it has one (types with the derive).
    pub describe: Option<fn() -> OwnedDescription>,
}

impl ValueType {
    /// A type that derives (or hand-implements) `SharedState`.
    pub fn of<T: SharedState>() -> Self {
        ValueType {
            type_name: T::TYPE_NAME.to_owned(),
            fingerprint: T::FINGERPRINT,
            derived: true,
            layout_fingerprint: fingerprint::layout_fingerprint::<T>(),
            root_size: size_of::<T::Archived>(),
            root_align: align_of::<T::Archived>(),
            check: check_archive::<T::Archived>,
            describe: T::DESCRIPTION.map(|_| describe::<T> as fn() -> OwnedDescription),
        }
    }

    /// Any archivable type, without the derive (the upstream-style facade).
    pub fn of_archive<T>() -> Self
    where
        T: Archive,
        T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
    {
        let layout = fingerprint::layout_fingerprint::<T>();
        ValueType {
            type_name: fingerprint::short_type_name(std::any::type_name::<T>()),
            fingerprint: layout,
            derived: false,
            layout_fingerprint: layout,
            root_size: size_of::<T::Archived>(),
            root_align: align_of::<T::Archived>(),
            check: check_archive::<T::Archived>,
            describe: None,
        }
    }

    /// Type name and fingerprint.
    pub fn schema(&self) -> Schema {
        Schema { type_name: self.type_name.clone(), fingerprint: self.fingerprint }
    }

    /// The encoded description (empty when the type has none, or it is too large to store).
    pub fn description(&self) -> Vec<u8> {
        let encoded = self.describe.map_or_else(Vec::new, |f| f().encode());
        if encoded.len() > crate::format::MAX_SCHEMA_LEN { Vec::new() } else { encoded }
    }

    /// Which fields differ between this type and the description stored in `state`, when both
    /// have one.
    pub fn differences(&self, state: &StateMap) -> Vec<Difference> {
        let Some(describe) = self.describe else { return Vec::new() };
        match OwnedDescription::decode(&state.description()) {
            Ok(found) => crate::schema::diff(&describe(), &found),
            Err(_) => Vec::new(),
        }
    }

    /// Whether the channel whose state is `state` holds values of this type; returns the
    /// fingerprint its copy descriptors carry. Two derived fingerprints are compared when both
    /// sides have one; otherwise the layout fingerprints, which every program can compute.
    pub fn accepts(&self, state: &StateMap, path: &Path) -> Result<u64> {
        let found = state.schema();
        let matches = if self.derived && state.derived() {
            found.fingerprint == self.fingerprint
        } else {
            state.layout_fingerprint() == self.layout_fingerprint
        };
        if matches {
            Ok(found.fingerprint)
        } else {
            let (expected, found) = if self.derived && state.derived() {
                (self.schema(), found)
            } else {
                (
                    Schema {
                        type_name: self.type_name.clone(),
                        fingerprint: self.layout_fingerprint,
                    },
                    Schema { type_name: found.type_name, fingerprint: state.layout_fingerprint() },
                )
            };
            let differences = self.differences(state);
            Err(Error::SchemaMismatch { path: path.to_owned(), expected, found, differences })
        }
    }
}

fn describe<T: SharedState>() -> OwnedDescription {
    T::DESCRIPTION
        .map(|d| d.to_owned_description())
        .expect("only used for types with a description")
}

/// How a copy is validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules<'a> {
    pub ty: &'a ValueType,
    /// The fingerprint descriptors must carry ([`ValueType::accepts`]).
    pub fingerprint: u64,
    /// Run bytecheck (`false` for `read_unchecked`).
    pub bytecheck: bool,
    /// Hash the bytes and compare with the descriptor's checksum.
    pub checksum: bool,
}

/// Validates the copy `active` names, which the calling thread has pinned exactly: the
/// descriptor, the file's length, fingerprint, checksum and bytecheck. Returns the address of
/// the archived root. `state_path` names the state file in errors about descriptors.
pub(crate) fn validate_copy(
    active: u64,
    descriptor: &CopyDescriptor,
    data: &mut ReaderData,
    rules: Rules<'_>,
    state: &StateMap,
    state_path: &Path,
    on_fault: &'static std::sync::atomic::AtomicU64,
) -> Result<*const u8> {
    let generation = protocol::generation(active);
    // Acquire: pairs with the writer's release of the generation; the fields below were written
    // before it. A 0 is a writer's transient mark (see `protocol`), harmless while pinned.
    let held = descriptor.generation.load(Ordering::Acquire);
    if held != generation && held != 0 {
        return Err(Error::corrupt(
            state_path,
            format!(
                "copy {} holds generation {held}, but generation {generation} is published in it",
                protocol::copy(active)
            ),
        ));
    }
    // Relaxed (all three): written before the generation and `active` that the caller loaded.
    let fingerprint = descriptor.fingerprint.load(Ordering::Relaxed);
    if fingerprint != rules.fingerprint {
        return Err(Error::SchemaMismatch {
            path: data.path.clone(),
            expected: rules.ty.schema(),
            found: Schema { type_name: state.schema().type_name, fingerprint },
            differences: rules.ty.differences(state),
        });
    }
    let len = descriptor.length.load(Ordering::Relaxed);
    let checksum = descriptor.checksum.load(Ordering::Relaxed);
    let root_size = rules.ty.root_size as u64;
    if len < root_size {
        return Err(Error::corrupt(
            &data.path,
            format!("copy is {len} bytes, smaller than the archived root ({root_size} bytes)"),
        ));
    }
    if len > state.max_size() {
        return Err(Error::corrupt(
            &data.path,
            format!(
                "copy claims {len} bytes, more than the channel's max_size {}",
                state.max_size()
            ),
        ));
    }
    // Touching a mapped page past the end of the file faults: check the file really holds the
    // bytes the descriptor promises before reading any. The writer never shrinks a data file,
    // so a length seen before is still good; only a longer value needs a new look.
    if data.known_len < len {
        let file_len = crate::files::file_len(&data.file, &data.path)?;
        data.known_len = file_len;
        if file_len < len {
            return Err(Error::corrupt(
                &data.path,
                format!("data file is {file_len} bytes but holds a {len}-byte value: truncated"),
            ));
        }
    }
    let base = data.mapping(len, on_fault)?.ptr();
    let len = len as usize;
    // SAFETY: `len` bytes are mapped (the mapping is at least `len` long, and the file holds
    // them), and the caller's exact pin keeps the writer away from the copy while it is
    // validated.
    let bytes = unsafe { std::slice::from_raw_parts(base, len) };
    let root = len - rules.ty.root_size;
    if !(base as usize + root).is_multiple_of(rules.ty.root_align) {
        return Err(Error::corrupt(
            &data.path,
            format!("archived root at offset {root} is misaligned"),
        ));
    }
    if rules.checksum && xxhash_rust::xxh3::xxh3_64(bytes) != checksum {
        return Err(Error::corrupt(
            &data.path,
            format!("checksum mismatch for generation {generation}"),
        ));
    }
    if rules.bytecheck {
        (rules.ty.check)(bytes).map_err(|e| {
            Error::corrupt(
                &data.path,
                format!("generation {generation} fails archive validation: {e}"),
            )
        })?;
    }
    // SAFETY: `root < len`, inside the mapping.
    Ok(unsafe { base.add(root) })
}
