//! Validation: the one-time check of a published copy ([`validate_copy`]) — descriptor,
//! length, checksum, fingerprint and bytecheck — after which reading that generation is a
//! pointer cast.

use std::sync::atomic::Ordering;

use crate::descriptor_check::{DescriptorCheck, DescriptorProblem};
use crate::error::{Error, Result, Schema};
use crate::format::StateMap;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::set::{DataFile, ReaderData};
use crate::value_type::ValueType;

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

/// Validates the copy `active` names (an index the caller checked is in range), which the
/// calling thread has pinned exactly: the descriptor, the file's length, fingerprint, checksum
/// and bytecheck. `data` and `file` are that copy's. Returns where the
/// archive and its root are. `paths` name the channel's files in errors.
#[inline(always)]
pub(crate) fn validate_copy(
    active: u64,
    data: &mut ReaderData,
    file: &DataFile,
    rules: Rules<'_>,
    state: &StateMap,
    paths: &ChannelPaths,
    on_fault: &'static crate::os::FaultWords,
) -> Result<ValidCopy> {
    let generation = protocol::generation(active);
    let descriptor = &state.descriptors()[protocol::copy(active)];
    // Acquire: pairs with the writer's release of the generation; the fields below were written
    // before it. A 0 is a writer's transient mark (see `protocol`), harmless while pinned.
    let held = descriptor.generation.load(Ordering::Acquire);
    DescriptorCheck::published(protocol::copy(active), held, generation)
        .map_err(|problem| Error::corrupt(&paths.state, problem.to_string()))?;
    // Relaxed (all three): written before the generation and `active` that the caller loaded.
    let fingerprint = descriptor.fingerprint.load(Ordering::Relaxed);
    let len = descriptor.length.load(Ordering::Relaxed);
    let checksum = descriptor.checksum.load(Ordering::Relaxed);
    let check = DescriptorCheck {
        fingerprint: rules.fingerprint,
        max_size: state.max_size(),
        root_size: rules.ty.root_size as u64,
    };
    let corrupt = |data: &ReaderData, problem: DescriptorProblem| {
        Error::corrupt(data.path(paths), problem.to_string())
    };
    match check.check(generation, fingerprint, len) {
        Ok(()) => {}
        Err(DescriptorProblem::Fingerprint { .. }) => {
            return Err(Error::SchemaMismatch {
                path: data.path(paths),
                expected: rules.ty.schema(),
                found: Schema { type_name: state.schema().type_name, fingerprint },
                differences: rules.ty.differences(state),
            });
        }
        Err(problem) => return Err(corrupt(data, problem)),
    }
    // Touching a mapped page past the end of the file faults: the file must really hold the
    // bytes the descriptor promises before any is read. The writer never shrinks a data file,
    // so a length seen before is still good; only a longer value needs a new look.
    if data.known_len < len {
        let known = data.fresh_len(file, paths)?;
        DescriptorCheck::holds(len, known).map_err(|problem| corrupt(data, problem))?;
    }
    let base = data.mapping(file, len, paths, on_fault)?.ptr();
    let len = len as usize;
    // SAFETY: `len` bytes are mapped (the mapping is at least `len` long, and the file holds
    // them), and the caller's exact pin keeps the writer away from the copy while it is
    // validated.
    let bytes = unsafe { std::slice::from_raw_parts(base, len) };
    let root = len - rules.ty.root_size;
    if !(base as usize + root).is_multiple_of(rules.ty.root_align) {
        return Err(Error::corrupt(
            data.path(paths),
            format!("archived root at offset {root} is misaligned"),
        ));
    }
    if rules.checksum && crate::checksum::xxh3_64(bytes) != checksum {
        return Err(Error::corrupt(
            data.path(paths),
            format!("checksum mismatch for generation {generation}"),
        ));
    }
    if rules.bytecheck {
        (rules.ty.check)(bytes).map_err(|e| {
            Error::corrupt(
                data.path(paths),
                format!("generation {generation} fails archive validation: {e}"),
            )
        })?;
    }
    // SAFETY: `root < len`, inside the mapping.
    Ok(ValidCopy { root: unsafe { base.add(root) }, start: base })
}

/// Where a validated copy's archive lies in the mapping: its start and its root (at its end,
/// `root_size` bytes before it).
pub(crate) struct ValidCopy {
    pub root: *const u8,
    pub start: *const u8,
}
