//! Verifying a channel without knowing its type: [`verify`] checks the header, every
//! descriptor, the slot table's header and the checksum of every copy that holds a
//! generation, holding a reader slot while it hashes a copy so the writer cannot rewrite it
//! meanwhile.
//!
//! What verification finds is a [`Problem`] naming a file; only what prevents looking at all
//! is an error.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering, fence};

use super::{Channel, Description, Header, read_descriptor};
use crate::descriptor_check::DescriptorCheck;
use crate::error::{Error, Result};
use crate::files::{self, Access};
use crate::format::{FileId, ReadersMap};
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::reader::PinnedCopy;
use crate::set;

/// One thing found wrong with a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file it is about.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// What [`verify`] found for one copy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyCheck {
    /// The copy's index.
    pub index: usize,
    /// The generation it holds (0: none).
    pub generation: u64,
    /// The archived value's length.
    pub length: u64,
    /// The checksum its descriptor records.
    pub checksum: u64,
    /// The outcome.
    pub outcome: CopyOutcome,
}

/// The outcome of checking one copy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyOutcome {
    /// The bytes hash to the recorded checksum.
    Ok,
    /// The copy holds no generation: nothing to check.
    Empty,
    /// The writer rewrote the copy every time it was about to be checked: not judged.
    Busy,
    /// Something is wrong (also listed in [`Verification::problems`]).
    Bad(String),
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The channel's paths.
    pub paths: ChannelPaths,
    /// The header, when it could be read.
    pub header: Option<Header>,
    /// One entry per copy (empty when the header could not be read).
    pub copies: Vec<CopyCheck>,
    /// Whether copies were checked under a reader pin (a slot of the channel, held while a
    /// copy is hashed, as a read holds it), so that the writer could not rewrite a copy while
    /// it was hashed. Without one (no write access to `P_readers`, or no free slot), a copy
    /// the writer starts rewriting during the check is detected by its generation changing,
    /// and checked again.
    pub pinned: bool,
    /// Why no pin could be held, when none was.
    pub unpinned_reason: Option<String>,
    /// Everything found wrong; empty when the channel is sound.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether nothing was found wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How often a copy that the writer is rewriting is tried again.
const VERIFY_ATTEMPTS: usize = 5;

/// Checks the channel at `prefix` without knowing its type: the state file's header (magic,
/// format version, sizes, counts, length), the published generation and the copy holding it,
/// each descriptor (generation, length against `max_size` and the data file, fingerprint,
/// the data file's identity), the schema description, the slot table's header, and the xxh3
/// checksum of every copy that holds a generation.
///
/// A damaged state file is a [`Problem`] of the returned verification, not an error. Errors
/// are for what prevents looking at all: no state file or nothing published
/// ([`Error::NotPublished`]), a file that cannot be opened ([`Error::Io`]), and files of
/// another format version ([`Error::Incompatible`]).
pub fn verify(prefix: impl AsRef<Path>) -> Result<Verification> {
    let paths = ChannelPaths::new(prefix);
    let channel = match Channel::open(&paths.prefix) {
        Ok(channel) => channel,
        Err(Error::Corrupt { path, reason }) => {
            return Ok(Verification {
                paths,
                header: None,
                copies: Vec::new(),
                pinned: false,
                unpinned_reason: None,
                problems: vec![Problem { path, reason }],
            });
        }
        Err(e) => return Err(e),
    };
    Ok(channel.verify())
}

impl Channel {
    /// Checks the channel as [`verify`] describes.
    pub fn verify(&self) -> Verification {
        let paths = &self.paths;
        let mut problems = Vec::new();
        let header = self.header();
        let state_problem = |reason: String| Problem { path: paths.state.clone(), reason };

        // SeqCst: as in `Channel::header`.
        let active = self.state.header().active.load(Ordering::SeqCst);
        if protocol::generation(active) != 0 && protocol::copy(active) >= header.copies {
            problems.push(state_problem(format!(
                "the published generation {} names copy index {} of {} copies",
                protocol::generation(active),
                protocol::copy(active),
                header.copies
            )));
        }
        let published = protocol::generation(active);
        // The descriptors against each other and the published word; each descriptor against the
        // channel and its data file is checked in `check_copy`, by the same rules a reader uses
        // (`format::DescriptorCheck`), in the same words.
        let descriptors = self.copies();
        for d in &descriptors {
            if d.generation > published.saturating_add(1) {
                problems.push(state_problem(format!(
                    "copy {} holds generation {}, beyond the published generation {published}",
                    d.index, d.generation
                )));
            }
            if d.active
                && let Err(problem) = DescriptorCheck::published(d.index, d.generation, published)
            {
                problems.push(state_problem(problem.to_string()));
            }
            if d.generation != 0
                && descriptors.iter().any(|o| o.index < d.index && o.generation == d.generation)
            {
                problems.push(state_problem(format!(
                    "copies {} and {} both hold generation {}",
                    descriptors
                        .iter()
                        .find(|o| o.generation == d.generation)
                        .map_or(0, |o| o.index),
                    d.index,
                    d.generation
                )));
            }
        }
        if let Description::Unreadable(reason) = self.description() {
            problems.push(state_problem(reason));
        }

        let (slot, unpinned_reason) = match VerifySlot::claim(self) {
            Ok(slot) => (Some(slot), None),
            Err(reason) => (None, Some(reason)),
        };
        if let Err(e) = self.open_readers(Access::ReadOnly) {
            problems.push(Problem { path: e.path().to_owned(), reason: reason_of(&e) });
        }

        let copies = (0..header.copies)
            .map(|index| self.check_copy(index, &header, slot.as_ref(), &mut problems))
            .collect();
        Verification {
            paths: paths.clone(),
            header: Some(header),
            copies,
            pinned: slot.is_some(),
            unpinned_reason,
            problems,
        }
    }

    fn check_copy(
        &self,
        index: usize,
        header: &Header,
        slot: Option<&VerifySlot>,
        problems: &mut Vec<Problem>,
    ) -> CopyCheck {
        let path = self.paths.data(index);
        let descriptor = &self.state.descriptors()[index];
        let mut last = read_descriptor(descriptor);
        for _ in 0..VERIFY_ATTEMPTS {
            let v = read_descriptor(descriptor);
            let check = |outcome| CopyCheck {
                index,
                generation: v.generation,
                length: v.length,
                checksum: v.checksum,
                outcome,
            };
            if v.generation == 0 {
                return check(CopyOutcome::Empty);
            }
            let bad = |problems: &mut Vec<Problem>, reason: String| {
                problems.push(Problem { path: path.clone(), reason: reason.clone() });
                check(CopyOutcome::Bad(reason))
            };
            // The descriptor against the channel and the data file: the reader's check.
            let file = match files::open_existing(&path, Access::ReadOnly) {
                Ok(Some(file)) => file,
                Ok(None) => return bad(problems, "missing".into()),
                Err(e) => return bad(problems, reason_of(&e)),
            };
            match FileId::of(&file) {
                Ok(id) if id == self.state.data_id(index) => {}
                Ok(_) => {
                    return bad(
                        problems,
                        "not the data file the state file records (replaced by hand, or a \
                         writer is replacing the channel's files)"
                            .into(),
                    );
                }
                Err(e) => return bad(problems, e.to_string()),
            }
            let file_len = match file.metadata() {
                Ok(meta) => meta.len(),
                Err(e) => return bad(problems, e.to_string()),
            };
            let rules = DescriptorCheck {
                fingerprint: header.fingerprint,
                max_size: header.max_size,
                root_size: 0,
            };
            if let Err(problem) = rules
                .check(v.generation, v.fingerprint, v.length)
                .and_then(|()| DescriptorCheck::holds(v.length, file_len))
            {
                return bad(problems, problem.to_string());
            }
            // Reader step 4' on the verifier's slot: the copy stays put while it is hashed.
            let pin = match slot {
                Some(slot) => match PinnedCopy::unpinned(slot.pin())
                    .validated(&descriptor.generation, protocol::pack(v.generation, index))
                {
                    Ok(held) => Some(held),
                    Err(_unheld) => {
                        last = v;
                        continue;
                    }
                },
                None => None,
            };
            let pinned = pin.is_some();
            let hashed = hash_file(&file, v.length);
            drop(pin);
            // Without a pin, the writer may have marked the copy (generation 0) and begun
            // rewriting it while it was hashed: then the hash means nothing.
            fence(Ordering::Acquire);
            // Relaxed: ordered after the hashing by the fence above.
            if !pinned && descriptor.generation.load(Ordering::Relaxed) != v.generation {
                last = v;
                continue;
            }
            return match hashed {
                Ok(Some(hash)) if hash == v.checksum => check(CopyOutcome::Ok),
                Ok(Some(hash)) => bad(
                    problems,
                    format!(
                        "checksum mismatch in generation {}: the descriptor says {:#018x}, the \
                         {} bytes hash to {hash:#018x}",
                        v.generation, v.checksum, v.length
                    ),
                ),
                Ok(None) => bad(
                    problems,
                    format!("file ended before the descriptor's {} bytes: truncated", v.length),
                ),
                Err(e) => bad(problems, e.to_string()),
            };
        }
        CopyCheck {
            index,
            generation: last.generation,
            length: last.length,
            checksum: last.checksum,
            outcome: CopyOutcome::Busy,
        }
    }
}

/// An error's reason without the path it names (the problem names it).
fn reason_of(error: &Error) -> String {
    match error {
        Error::Corrupt { reason, .. } | Error::Incompatible { reason, .. } => reason.clone(),
        Error::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// xxh3-64 of the first `len` bytes of `file`, read with `pread` (no mapping: a file truncated
/// meanwhile is a short read, never a fault). `None` when the file ends first.
fn hash_file(file: &File, len: u64) -> std::io::Result<Option<u64>> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; len.min(1 << 20) as usize];
    let mut offset = 0u64;
    while offset < len {
        let want = (len - offset).min(buf.len() as u64) as usize;
        let n = match file.read_at(&mut buf[..want], offset) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(Some(hasher.digest()))
}

/// A reader slot held by [`Channel::verify`] while it hashes copies: claimed like a reader's
/// (its lock, then `protocol::claim`), given back when dropped.
struct VerifySlot {
    file: File,
    readers: ReadersMap,
    index: usize,
}

impl VerifySlot {
    fn claim(channel: &Channel) -> std::result::Result<VerifySlot, String> {
        let (file, readers) = channel.open_readers(Access::ReadWrite).map_err(|e| e.to_string())?;
        if let Some(index) =
            set::claim_slot(&readers, &file, |_| false).map_err(|e| e.to_string())?
        {
            return Ok(VerifySlot { file, readers, index });
        }
        Err(format!(
            "{}: all {} reader slots are in use",
            channel.paths.readers.display(),
            readers.slot_count()
        ))
    }

    fn pin(&self) -> &AtomicU64 {
        &self.readers.slots()[self.index].pin
    }
}

impl Drop for VerifySlot {
    fn drop(&mut self) {
        let _ = set::give_back_slot(&self.readers, &self.file, self.index);
    }
}

impl std::fmt::Debug for VerifySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifySlot").field("index", &self.index).finish()
    }
}
