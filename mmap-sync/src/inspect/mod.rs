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
//! * [`verify`](fn@verify) checks the header, every descriptor, the slot table's header and
//!   the checksum of every copy that holds a generation.
//!
//! Nothing here writes to the channel, except that [`verify`](fn@verify) holds a reader slot
//! while it checksums a copy (as a read would: see [`Verification::pinned`]).
//!
//! Everything a process other than the writer can change is read as it is at that moment: a
//! publish between two calls shows in the second only. Values that hostile readers can write
//! (slot pins, pids, the high-water mark) are shown as found.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{Ordering, fence};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::files::{self, Access};
use crate::format::{CopyDescriptor, FileId, ReadersMap, STATE_MAGIC, StateMap};
use crate::os;
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::schema::Structure;
use crate::set;

mod verify;

pub use verify::{CopyCheck, CopyOutcome, Problem, Verification, verify};

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
    /// The file format version ([`FORMAT_VERSION`](crate::format::FORMAT_VERSION): the only one this build reads).
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
    Described(Structure),
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
    /// When the slot was claimed (unix nanoseconds, to the kernel's tick of a few milliseconds).
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

    /// The mapped state file.
    pub(crate) fn state(&self) -> &StateMap {
        &self.state
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
        match Structure::decode(&bytes) {
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
    if magic == STATE_MAGIC {
        crate::format::check_version(version, path)?;
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
