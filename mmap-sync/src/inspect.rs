//! Looking at a channel from outside, without knowing its type: what the `mmap-sync` command
//! (`inspect`, `watch`, `verify`) shows, as a library.
//!
//! [`Channel::open`] maps `P_state` read-only and claims nothing. From there:
//!
//! * [`Channel::header`], [`Channel::copies`] and [`Channel::description`] read the state
//!   file: format, type name, fingerprints, the published generation, every copy descriptor and
//!   the stored schema description;
//! * [`Channel::writer`] says whether the writer is alive, by asking the kernel whether
//!   anyone holds the lock on `P_writer` (`F_OFD_GETLK`, which takes nothing), or, when this
//!   process may not open that file (mode 0600, another user's), from the recorded pid;
//! * [`Channel::readers`] reads the slot table through a read-only mapping and asks the
//!   kernel, slot by slot, whether the slot's lock is held: a slot with a pin and no lock
//!   belongs to a reader that died (the writer clears it when it needs the copy);
//! * [`Channel::wait_for_publish`] sleeps on the publish word through the read-only mapping,
//!   holding no slot;
//! * [`verify`] checks the header, every descriptor, the slot table's header and the checksum
//!   of every copy that holds a generation.
//!
//! Nothing here writes to the channel, except that [`verify`] holds a reader slot while it
//! checksums a copy (as a read would: see [`Verification::pinned`]).
//!
//! Everything a process other than the writer can change is read as it is at that moment: a
//! publish between two calls shows in the second only. Values that hostile readers can write
//! (slot pins, pids, the high-water mark) are shown as found.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::files::{self, Access};
use crate::format::{CopyDescriptor, FORMAT_VERSION, FileId, ReadersMap, STATE_MAGIC, StateMap};
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::schema::OwnedDescription;
use crate::set;

/// A channel's state file, mapped read-only, for looking at.
#[derive(Debug)]
pub struct Channel {
    paths: ChannelPaths,
    _file: File,
    state: StateMap,
}

/// The state file's header, as read at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The file format version ([`FORMAT_VERSION`]: the only one this build reads).
    pub format_version: u32,
    /// The value's type name as the writer recorded it.
    pub type_name: String,
    /// The schema fingerprint every copy carries.
    pub fingerprint: u64,
    /// Whether `fingerprint` comes from `#[derive(SharedState)]` (else it is the layout
    /// fingerprint of a type without the derive).
    pub derived_fingerprint: bool,
    /// The layout fingerprint of the value's type.
    pub layout_fingerprint: u64,
    /// Number of data copies.
    pub copies: usize,
    /// Number of reader slots.
    pub reader_slots: usize,
    /// Largest archived value the channel takes, in bytes.
    pub max_size: u64,
    /// The published generation and the copy that holds it; `None` before the first publish.
    pub active: Option<Active>,
    /// The publish word: bumped on every publish (wraps around).
    pub publish_count: u32,
    /// Whether a writer has replaced this set of files by a new one.
    pub superseded: bool,
    /// Process id of the writer that last opened the channel (0: none recorded).
    pub writer_pid: u32,
    /// When that writer opened the channel (unix nanoseconds; 0: unknown).
    pub writer_started_at: u64,
    /// When this set of files was created (unix nanoseconds).
    pub created_at: u64,
    /// Bytes of schema description stored after the descriptors (0: none).
    pub schema_len: usize,
}

/// The published generation and where it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Active {
    /// The published generation (1 or more).
    pub generation: u64,
    /// The copy that holds it.
    pub copy: usize,
}

/// One copy descriptor, as read at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyInfo {
    /// The copy's index (`P_data_{index}`).
    pub index: usize,
    /// The generation the copy holds; 0 while it holds none or the writer is rewriting it.
    pub generation: u64,
    /// Length of the archived value in bytes.
    pub length: u64,
    /// xxh3-64 of those bytes, as the writer computed it.
    pub checksum: u64,
    /// The fingerprint the copy carries.
    pub fingerprint: u64,
    /// When its generation was published (unix nanoseconds; 0 if never).
    pub published_at: u64,
    /// Whether this is the copy the published generation lives in.
    pub active: bool,
    /// The identity of `P_data_{index}` the state file records.
    pub data_file: FileId,
}

/// The schema description stored with a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Description {
    /// The channel carries none: its type does not derive `SharedState` (for example, values
    /// published through the [`Synchronizer`](crate::synchronizer::Synchronizer) facade).
    None,
    /// The stored description.
    Described(OwnedDescription),
    /// Bytes are stored but cannot be decoded; the reason.
    Unreadable(String),
}

/// Whether the channel's writer is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterStatus {
    /// A writer holds the channel.
    Alive,
    /// No writer holds it.
    Gone,
    /// This process cannot tell.
    Unknown,
}

/// How [`WriterInfo::status`] was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// By asking the kernel whether anyone holds the lock on `P_writer`: exact.
    Lock,
    /// From the recorded pid and `/proc`, because `P_writer` could not be opened: a pid may
    /// have been reused by another process, and a writer in another pid namespace has a pid
    /// that means nothing here.
    Pid,
    /// Neither was possible.
    Nothing,
}

/// What is known about the channel's writer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterInfo {
    /// Alive, gone or unknown.
    pub status: WriterStatus,
    /// How the status was found.
    pub checked_by: Liveness,
    /// The pid the last writer recorded, if any.
    pub pid: Option<u32>,
    /// When that writer opened the channel (unix nanoseconds; 0: unknown).
    pub started_at: u64,
    /// Why the lock could not be asked, when it could not.
    pub note: Option<String>,
}

/// The slot table, as read at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderTable {
    /// Slots the table has.
    pub slot_count: usize,
    /// One past the highest slot index ever claimed, as readers recorded it.
    pub high_water: u32,
    /// Every slot held by a live reader, and every slot with a pin but no holder (a dead
    /// reader's), by index.
    pub slots: Vec<SlotInfo>,
}

impl ReaderTable {
    /// Slots held by live readers.
    pub fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.status == SlotStatus::Live).count()
    }

    /// Slots left pinned by readers that died.
    pub fn dead(&self) -> usize {
        self.slots.iter().filter(|s| s.status == SlotStatus::Dead).count()
    }
}

/// Whether a slot's holder is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotStatus {
    /// Some process holds the slot's lock: a live reader (it may pin nothing right now).
    Live,
    /// Nobody holds the lock but the slot has a pin: its reader died while reading. The writer
    /// clears such a pin when it needs the copy.
    Dead,
}

/// What a slot pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// "Any generation from this one on": the reader is between loading `active` and
    /// narrowing its pin.
    Range(u64),
    /// "This generation only": the reader is reading it.
    Exact(u64),
}

impl Pin {
    fn from_word(word: u64) -> Option<Pin> {
        match word {
            0 => None,
            w if w & protocol::EXACT != 0 => Some(Pin::Exact(w & !protocol::EXACT)),
            w => Some(Pin::Range(w)),
        }
    }

    /// The generation named by the pin.
    pub fn generation(&self) -> u64 {
        match *self {
            Pin::Range(g) | Pin::Exact(g) => g,
        }
    }
}

/// One reader slot in use or left pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotInfo {
    /// The slot's index.
    pub index: usize,
    /// Live or dead.
    pub status: SlotStatus,
    /// The pid its holder recorded when it claimed the slot.
    pub pid: u32,
    /// The thread id its holder recorded.
    pub tid: u32,
    /// When the slot was claimed (unix nanoseconds).
    pub claimed_at: u64,
    /// What it pins; `None` when its (live) reader reads nothing right now.
    pub pin: Option<Pin>,
}

/// Everything [`Channel`] can say, read at one moment.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inspection {
    /// The channel's paths.
    pub paths: ChannelPaths,
    /// The state file's header.
    pub header: Header,
    /// Every copy descriptor.
    pub copies: Vec<CopyInfo>,
    /// The writer's liveness.
    pub writer: WriterInfo,
    /// The slot table, or why it could not be read.
    pub readers: Result<ReaderTable>,
    /// The schema description.
    pub description: Description,
}

impl Channel {
    /// Maps the state file of the channel at `prefix` read-only. Fails with
    /// [`Error::NotPublished`] when there is no state file or no writer has finished one,
    /// [`Error::Incompatible`] for a state file of another format version (naming the version
    /// found), [`Error::Corrupt`] for a damaged header, and [`Error::Io`] when the file cannot
    /// be opened; every error names the file.
    pub fn open(prefix: impl AsRef<Path>) -> Result<Channel> {
        let paths = ChannelPaths::new(prefix);
        check_version(&paths.state)?;
        let (file, state) = set::open_state(&paths)?;
        Ok(Channel { paths, _file: file, state })
    }

    /// The channel's paths.
    pub fn paths(&self) -> &ChannelPaths {
        &self.paths
    }

    /// The header as it is now.
    pub fn header(&self) -> Header {
        let h = self.state.header();
        let schema = self.state.schema();
        // SeqCst: the same order a reader loads it in; any would do for showing it.
        let active = h.active.load(Ordering::SeqCst);
        // Relaxed (below): informational words, each shown as found.
        Header {
            format_version: h.format_version.load(Ordering::Relaxed),
            type_name: schema.type_name,
            fingerprint: schema.fingerprint,
            derived_fingerprint: self.state.derived(),
            layout_fingerprint: self.state.layout_fingerprint(),
            copies: self.state.copies(),
            reader_slots: self.state.reader_slots(),
            max_size: self.state.max_size(),
            active: protocol::active_copy(active)
                .map(|copy| Active { generation: protocol::generation(active), copy }),
            publish_count: h.publish_futex.load(Ordering::Relaxed),
            superseded: h.superseded.load(Ordering::Relaxed) != 0,
            writer_pid: h.writer_pid.load(Ordering::Relaxed),
            writer_started_at: h.writer_started_at.load(Ordering::Relaxed),
            created_at: h.created_at.load(Ordering::Relaxed),
            schema_len: h.schema_len.load(Ordering::Relaxed) as usize,
        }
    }

    /// Every copy descriptor as it is now. A descriptor that changes while it is read is read
    /// again, so each is consistent unless the writer rewrites it faster than it can be read.
    pub fn copies(&self) -> Vec<CopyInfo> {
        // SeqCst: as in `header`.
        let active = self.state.header().active.load(Ordering::SeqCst);
        self.state
            .descriptors()
            .iter()
            .enumerate()
            .map(|(index, d)| {
                let v = read_descriptor(d);
                CopyInfo {
                    index,
                    generation: v.generation,
                    length: v.length,
                    checksum: v.checksum,
                    fingerprint: v.fingerprint,
                    published_at: v.published_at,
                    active: protocol::active_copy(active) == Some(index),
                    data_file: self.state.data_id(index),
                }
            })
            .collect()
    }

    /// The schema description stored with the channel.
    pub fn description(&self) -> Description {
        let bytes = self.state.description();
        if bytes.is_empty() {
            return Description::None;
        }
        match OwnedDescription::decode(&bytes) {
            Ok(description) => Description::Described(description),
            Err(reason) => Description::Unreadable(reason),
        }
    }

    /// Whether the writer is alive. Asks the kernel about the lock on `P_writer`; when this
    /// process cannot open that file, falls back to the recorded pid and `/proc`, and says so.
    pub fn writer(&self) -> WriterInfo {
        let h = self.state.header();
        // Relaxed: informational words written when a writer opens the channel.
        let pid = Some(h.writer_pid.load(Ordering::Relaxed)).filter(|&p| p != 0);
        let started_at = h.writer_started_at.load(Ordering::Relaxed);
        let path = &self.paths.writer;
        let note = match files::open_existing(path, Access::ReadOnly) {
            Ok(Some(file)) => match os::is_locked(&file, 0, 0) {
                Ok(locked) => {
                    let status = if locked { WriterStatus::Alive } else { WriterStatus::Gone };
                    return WriterInfo {
                        status,
                        checked_by: Liveness::Lock,
                        pid,
                        started_at,
                        note: None,
                    };
                }
                Err(e) => format!("{}: cannot ask about its lock: {e}", path.display()),
            },
            Ok(None) => format!("{}: no such file", path.display()),
            Err(e) => e.to_string(),
        };
        let (status, checked_by) = match pid {
            Some(pid) if Path::new("/proc/self").exists() => {
                let alive = Path::new("/proc").join(pid.to_string()).exists();
                (if alive { WriterStatus::Alive } else { WriterStatus::Gone }, Liveness::Pid)
            }
            _ => (WriterStatus::Unknown, Liveness::Nothing),
        };
        WriterInfo { status, checked_by, pid, started_at, note: Some(note) }
    }

    /// The slot table as it is now: every slot held by a live reader and every slot a dead
    /// reader left pinned, with the pid, thread id and claim time their holders recorded.
    /// Fails when `P_readers` is missing, is not the file the state file records, or is
    /// damaged.
    pub fn readers(&self) -> Result<ReaderTable> {
        let (file, readers) = self.open_readers(Access::ReadOnly)?;
        let faults = readers.mapping().faults();
        // Relaxed (throughout): each word is shown as found; a slot's lock, asked of the
        // kernel, is what decides whether its holder is alive.
        let high_water = readers.header().slot_high_water.load(Ordering::Relaxed);
        let mut slots = Vec::new();
        for (index, slot) in readers.slots().iter().enumerate() {
            let pin = slot.pin.load(Ordering::Relaxed);
            let pid = slot.pid.load(Ordering::Relaxed);
            if pin == 0 && pid == 0 {
                continue; // never claimed
            }
            let locked = os::is_locked(&file, readers.slot_offset(index), 1)
                .map_err(|e| Error::io(&self.paths.readers, e))?;
            let status = match (locked, pin) {
                (true, _) => SlotStatus::Live,
                (false, 0) => continue, // given back
                (false, _) => SlotStatus::Dead,
            };
            slots.push(SlotInfo {
                index,
                status,
                pid,
                tid: slot.tid.load(Ordering::Relaxed),
                claimed_at: slot.claimed_at.load(Ordering::Relaxed),
                // Read again: the reader may have released it while the kernel was asked.
                pin: Pin::from_word(slot.pin.load(Ordering::Relaxed)),
            });
        }
        if readers.mapping().faults() != faults {
            return Err(Error::corrupt(
                &self.paths.readers,
                "readers file was truncated while it was read",
            ));
        }
        Ok(ReaderTable { slot_count: readers.slot_count(), high_water, slots })
    }

    /// The header, descriptors, writer, slot table and description, read one after another.
    pub fn inspect(&self) -> Inspection {
        Inspection {
            paths: self.paths.clone(),
            header: self.header(),
            copies: self.copies(),
            writer: self.writer(),
            readers: self.readers(),
            description: self.description(),
        }
    }

    /// The publish word's current value; pass it to [`wait_for_publish`](Self::wait_for_publish).
    pub fn publish_count(&self) -> u32 {
        // SeqCst: loaded before the caller checks `active`, as a reader's wait does, so that a
        // publish after this load changes the word the wait compares.
        self.state.header().publish_futex.load(Ordering::SeqCst)
    }

    /// Sleeps while the publish word still equals `seen`, for at most `timeout` (any duration),
    /// holding no reader slot. The writer wakes sleepers only when a reader has announced that
    /// it waits, which this does not do: a publish that nobody else waits for is noticed when
    /// `timeout` ends, so callers wait in short steps. Returns early on a publish, a wake, or a
    /// signal; callers compare the word again.
    pub fn wait_for_publish(&self, seen: u32, timeout: Duration) -> Result<()> {
        os::futex_wait(&self.state.header().publish_futex, seen, Some(timeout))
            .map_err(|e| Error::io(&self.paths.state, e))
    }

    /// Opens and maps `P_readers`, checking that it is the file the state file records.
    fn open_readers(&self, access: Access) -> Result<(File, ReadersMap)> {
        let path = &self.paths.readers;
        set::map_readers(&self.paths, &self.state, access, None).map_err(|e| match e {
            set::ReadersNotOpened::Missing => {
                Error::corrupt(path, "missing: the state file records a readers file")
            }
            set::ReadersNotOpened::Replaced => Error::corrupt(
                path,
                "not the readers file the state file records (replaced by hand, or a writer is \
                 replacing the channel's files)",
            ),
            set::ReadersNotOpened::Failed(e) => e,
        })
    }
}

/// Refuses a state file of another format version before it is parsed, naming the version.
fn check_version(path: &Path) -> Result<()> {
    let Some(file) = files::open_existing(path, Access::ReadOnly)? else {
        return Err(Error::NotPublished { path: path.to_owned() });
    };
    let mut start = [0u8; 12];
    let read = file.read_at(&mut start, 0).map_err(|e| Error::io(path, e))?;
    if read < start.len() {
        return Ok(()); // too short: the parser says how
    }
    let magic = u64::from_le_bytes(start[..8].try_into().unwrap_or_default());
    let version = u32::from_le_bytes(start[8..].try_into().unwrap_or_default());
    if magic == STATE_MAGIC && version != FORMAT_VERSION {
        return Err(Error::Incompatible {
            path: path.to_owned(),
            reason: format!(
                "the channel's files are of format version {version}; this build of mmap-sync \
                 reads format version {FORMAT_VERSION} only"
            ),
        });
    }
    Ok(())
}

/// A descriptor's fields, read consistently.
struct DescriptorValues {
    generation: u64,
    length: u64,
    checksum: u64,
    fingerprint: u64,
    published_at: u64,
}

fn read_descriptor(d: &CopyDescriptor) -> DescriptorValues {
    let mut values;
    let mut attempts = 0;
    loop {
        // Acquire: pairs with the writer's release of the generation, so the fields below are
        // at least those written for it.
        let generation = d.generation.load(Ordering::Acquire);
        // Relaxed: checked by the re-load of the generation below.
        values = DescriptorValues {
            generation,
            length: d.length.load(Ordering::Relaxed),
            checksum: d.checksum.load(Ordering::Relaxed),
            fingerprint: d.fingerprint.load(Ordering::Relaxed),
            published_at: d.published_at.load(Ordering::Relaxed),
        };
        // Acquire fence: the field loads above happen before the re-load below, so a writer
        // that changed a field after marking the copy (generation 0) is seen by it.
        fence(Ordering::Acquire);
        attempts += 1;
        if d.generation.load(Ordering::Relaxed) == generation || attempts == 8 {
            return values;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

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

        // SeqCst: as in `header`.
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
        let descriptors = self.copies();
        for d in &descriptors {
            if d.generation > published.saturating_add(1) {
                problems.push(state_problem(format!(
                    "copy {} holds generation {}, beyond the published generation {published}",
                    d.index, d.generation
                )));
            }
            if d.active && d.generation != published {
                problems.push(state_problem(format!(
                    "copy {} is the published copy of generation {published} but holds \
                     generation {}",
                    d.index, d.generation
                )));
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
            if v.fingerprint != header.fingerprint {
                return bad(
                    problems,
                    format!(
                        "generation {} carries fingerprint {:#018x}; the channel's is {:#018x}",
                        v.generation, v.fingerprint, header.fingerprint
                    ),
                );
            }
            if v.length > header.max_size {
                return bad(
                    problems,
                    format!(
                        "descriptor says {} bytes, more than the channel's max_size {}",
                        v.length, header.max_size
                    ),
                );
            }
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
            let len = match file.metadata() {
                Ok(meta) => meta.len(),
                Err(e) => return bad(problems, e.to_string()),
            };
            if v.length > len {
                return bad(
                    problems,
                    format!("descriptor says {} bytes but the file has {len}: truncated", v.length),
                );
            }
            let pinned = match slot {
                Some(slot) => {
                    let pin = slot.pin();
                    if !protocol::pin_validated(
                        pin,
                        &descriptor.generation,
                        protocol::pack(v.generation, index),
                    ) {
                        protocol::release(pin);
                        last = v;
                        continue;
                    }
                    true
                }
                None => false,
            };
            let hashed = hash_file(&file, v.length);
            if let Some(slot) = slot {
                protocol::release(slot.pin());
            }
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
