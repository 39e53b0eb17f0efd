//! What a program knows about the type of the value it writes or reads ([`ValueType`]), and
//! whether a channel's files hold that type ([`ValueType::accepts`]).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rkyv::bytecheck::CheckBytes;
use rkyv::{Archive, Portable, rancor};

use crate::error::{Error, Result, Schema};
use crate::fingerprint;
use crate::format::StateMap;
use crate::schema::{ArchivedLayout, Difference, Shape, Structure};
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
    pub type_name: Cow<'static, str>,
    /// The fingerprint this program's copies carry when it creates a channel: the derived one if
    /// any, else the layout one.
    pub fingerprint: u64,
    /// Whether `fingerprint` is derived.
    pub derived: bool,
    /// The layout fingerprint ([`fingerprint::layout_fingerprint`]), or how to compute it:
    /// see [`layout_fingerprint`](Self::layout_fingerprint).
    pub layout: Layout,
    /// Size and alignment of the archived root.
    pub root_size: usize,
    pub root_align: usize,
    /// Bytecheck of an archive of this type.
    pub check: ArchiveCheck,
    /// The type's structure, if it has one.
    pub structure: Known,
}

/// A [`ValueType`]'s layout fingerprint, or the probe that computes it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Layout {
    Known(u64),
    Probe(fn() -> u64),
}

/// Where a [`ValueType`]'s structure comes from.
#[derive(Clone, Debug)]
pub(crate) enum Known {
    /// No structure: a hand-written `SharedState`, or the facade. Also the type a channel
    /// records, as a reader of that channel knows it: nothing to compare against this state.
    None,
    /// A derived type's, made from its `const` shape when needed; `true` when its fingerprint
    /// stops at a recursive field ([`has_deferred`](crate::schema::has_deferred)), so that a
    /// reader compares whole structures as well.
    Static(fn() -> Structure, bool),
    /// As a program that knows the type only as its structure gives it (a dynamic writer),
    /// to be recorded and compared with a channel's.
    Recorded(Arc<Structure>),
}

impl Known {
    fn get(&self) -> Option<Structure> {
        match self {
            Known::None => None,
            Known::Static(make, _) => Some(make()),
            Known::Recorded(structure) => Some(Structure::clone(structure)),
        }
    }
}

impl ValueType {
    /// A type that derives (or hand-implements) `SharedState`.
    pub fn of<T: SharedState>() -> Self {
        ValueType {
            type_name: Cow::Borrowed(T::TYPE_NAME),
            fingerprint: T::FINGERPRINT,
            derived: true,
            // Probed only when asked: a derived reader of a derived channel never needs it, and
            // the probe runs bytecheck on a few synthetic roots (about a microsecond).
            layout: Layout::Probe(fingerprint::layout_fingerprint::<T>),
            root_size: size_of::<T::Archived>(),
            root_align: align_of::<T::Archived>(),
            check: check_archive::<T::Archived>,
            structure: match T::SHAPE {
                Some(_) => {
                    let deferred = const {
                        match &T::SHAPE {
                            Some(shape) => crate::schema::has_deferred(shape),
                            None => false,
                        }
                    };
                    Known::Static(structure::<T>, deferred)
                }
                None => Known::None,
            },
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
            type_name: Cow::Owned(fingerprint::short_type_name(std::any::type_name::<T>())),
            fingerprint: layout,
            derived: false,
            layout: Layout::Known(layout),
            root_size: size_of::<T::Archived>(),
            root_align: align_of::<T::Archived>(),
            check: check_archive::<T::Archived>,
            structure: Known::None,
        }
    }

    /// The type the channel whose state is `state` records: its name and fingerprints, and
    /// (returned beside it) its decoded structure, for a program that knows the type only as
    /// that structure. The type carries no structure of its own: compared with `state`, it
    /// would be compared with itself. Its archives are not checked as a whole when a generation
    /// is validated (the checksum still is): the dynamic view checks what it reads as it reads
    /// it.
    ///
    /// [`Error::NoStructure`] when the writer recorded none; [`Error::Corrupt`] when what it
    /// recorded cannot be decoded.
    pub fn recorded(state: &StateMap, path: &Path) -> Result<(ValueType, Structure)> {
        let schema = state.schema();
        let description = state.description();
        if description.is_empty() {
            return Err(Error::NoStructure { path: path.to_owned(), type_name: schema.type_name });
        }
        let structure = Structure::decode(&description).map_err(|e| Error::corrupt(path, e))?;
        let Some(root) = named_root(&structure) else {
            return Err(Error::corrupt(
                path,
                "the recorded structure's root is not a struct or enum",
            ));
        };
        // `decode` checked the layout: a power-of-two alignment, a size it divides.
        let ty = ValueType::structured(
            schema,
            state.derived(),
            state.layout_fingerprint(),
            root,
            Known::None,
        );
        Ok((ty, structure))
    }

    /// A type known as a structure whose root has the layout `root`: its archives are not
    /// checked as a whole when a generation is validated (the checksum still is), the dynamic
    /// view checks them through the structure.
    pub fn structured(
        schema: Schema,
        derived: bool,
        layout_fingerprint: u64,
        root: ArchivedLayout,
        structure: Known,
    ) -> Self {
        ValueType {
            type_name: Cow::Owned(schema.type_name),
            fingerprint: schema.fingerprint,
            derived,
            layout: Layout::Known(layout_fingerprint),
            root_size: root.size as usize,
            root_align: root.align as usize,
            check: |_| Ok(()),
            structure,
        }
    }

    /// The layout fingerprint ([`fingerprint::layout_fingerprint`]).
    pub fn layout_fingerprint(&self) -> u64 {
        match self.layout {
            Layout::Known(fingerprint) => fingerprint,
            Layout::Probe(probe) => probe(),
        }
    }

    /// Type name and fingerprint.
    pub fn schema(&self) -> Schema {
        Schema { type_name: self.type_name.to_string(), fingerprint: self.fingerprint }
    }

    /// The encoded structure (empty when the type has none, or it is too large to store).
    pub fn description(&self) -> Vec<u8> {
        let encoded = self.structure.get().map_or_else(Vec::new, |s| s.encode());
        if encoded.len() > crate::format::MAX_SCHEMA_LEN { Vec::new() } else { encoded }
    }

    /// The structure stored in `state`, when both it and this type have one.
    fn stored(&self, state: &StateMap) -> Option<(Structure, Structure)> {
        let mine = self.structure.get()?;
        let found = Structure::decode(&state.description()).ok()?;
        Some((mine, found))
    }

    /// Which types, variants and fields differ between this type and the structure stored in
    /// `state`, when both have one.
    pub fn differences(&self, state: &StateMap) -> Vec<Difference> {
        self.stored(state).map_or_else(Vec::new, |(mine, found)| crate::schema::diff(&mine, &found))
    }

    /// Whether the channel whose state is `state` holds values of this type; returns the
    /// fingerprint its copy descriptors carry. Two derived fingerprints are compared when both
    /// sides have one; otherwise the layout fingerprints, which every program can compute. When
    /// both sides have a structure, the structures must be equal too: the fingerprint stops
    /// where a type refers to itself (`#[rkyv(omit_bounds)]`), the structure does not.
    pub fn accepts(&self, state: &StateMap, path: &Path) -> Result<u64> {
        // The fingerprint copy descriptors carry (the type's name is read only for an error).
        let carried = state.fingerprint();
        let (mine, theirs) = if self.derived && state.derived() {
            (self.fingerprint, carried)
        } else {
            (self.layout_fingerprint(), state.layout_fingerprint())
        };
        // The fingerprint covers the whole structure unless it stops at a recursive field.
        let whole = matches!(self.structure, Known::Static(_, false) | Known::None);
        if mine == theirs && whole {
            return Ok(carried);
        }
        let differences = if mine == theirs {
            match self.stored(state) {
                Some((mine, found)) if mine != found => crate::schema::diff(&mine, &found),
                _ => return Ok(carried),
            }
        } else {
            self.differences(state)
        };
        let expected = Schema { type_name: self.type_name.to_string(), fingerprint: mine };
        let found = Schema { type_name: state.schema().type_name, fingerprint: theirs };
        let error = Error::SchemaMismatch { path: path.to_owned(), expected, found, differences };
        crate::log::schema_mismatch(&error);
        Err(error)
    }
}

/// The layout of `structure`'s root when it is a named type (a struct or enum), as its
/// definition records it.
pub(crate) fn named_root(structure: &Structure) -> Option<ArchivedLayout> {
    match &structure.root {
        Shape::Named(index) => structure.definition(*index).map(|d| d.layout),
        _ => None,
    }
}

/// The structure of `T` (made once per call: `Structure::of` walks the `const` tree).
fn structure<T: SharedState>() -> Structure {
    T::SHAPE.map(|shape| Structure::of(&shape)).expect("only used for types with a shape")
}
