//! A channel's files as one set: opening them for reading (never mixing files of two sets), and,
//! for the writer, adopting an existing set or creating a new one.
//!
//! `P_state` records the identity (device, inode) of `P_readers` and of every `P_data_i`. A
//! reader checks every file it opens against that record, so a set being replaced under it is
//! retried, never combined. A writer adopts an existing set only when every file is the one
//! recorded, the slot table is intact, and the counts match; otherwise it creates a new set
//! under temporary names and renames it into place (state last), carrying over the last
//! published value. Files of the old set are never written again: a reader that still has them
//! mapped keeps reading the last value it had, and is told the set was superseded.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::files::{self, Access, Temp};
use crate::format::{self, FileId, NewState, ReadersMap, ReadersProblem, StateMap};
use crate::os::{self, Mapping};
use crate::paths::ChannelPaths;
use crate::protocol;
use crate::value_type::ValueType;

/// How often, and how long apart, a reader retries a set that is being replaced under it.
const OPEN_RETRIES: u32 = 20;
const OPEN_RETRY_PAUSE: Duration = Duration::from_millis(2);

/// The smallest room a reader maps for the values of a data file (when the file is that long).
const MIN_DATA_MAP: u64 = 64 << 10;

/// The longest slot table a reader maps populated (every page at once, in the `mmap`). A longer
/// one is faulted in as it is touched: a reader touches the header and its own slot.
/// 64 KiB is what the kernel maps around one read fault of a file by default
/// (`fault_around_bytes`), so populating a table this short costs about what its first fault
/// would, without the fault. The default table (128 slots) is 17 KiB.
const POPULATED_SLOT_TABLE: usize = 64 << 10;

/// One data file of the set (`P_data_i`), as the readers of one reader handle know it: the
/// identity the state file records for it, and the file once opened. The copy that holds the
/// published value when the reader opens is opened then (an unusable one is an error of `open`);
/// every other copy at the first validation of a generation in it, with the same checks, its
/// failure that generation's. Shared by the memo of each process image (a child forked later
/// reuses what its parent opened). Its path is made when needed, from the channel's
/// ([`ChannelPaths::data`]).
#[derive(Debug)]
pub(crate) struct DataFile {
    /// The identity `P_state` records for the file, as it was when the reader opened.
    id: FileId,
    /// The file, once opened: set at most once.
    file: OnceFile,
}

impl DataFile {
    /// The file, opened now (it is `path`) if no thread did yet, with its length then. An error
    /// names the file: missing, another file than the one recorded, or one that cannot be
    /// opened.
    pub fn open(&self, path: impl FnOnce() -> PathBuf) -> Result<(&File, Option<u64>)> {
        if let Some(file) = self.file.get() {
            return Ok((file, None));
        }
        let (file, len) = self.open_checked(&path()).map_err(|(e, _)| e)?;
        Ok((self.file.set(file), Some(len)))
    }

    /// Opens the file at `path` and checks that it is the one recorded; the error says
    /// whether it is because the file is missing or another (a set being replaced: `true`).
    fn open_checked(&self, path: &Path) -> std::result::Result<(File, u64), (Error, bool)> {
        let opened =
            files::open_existing_with_metadata(path, Access::ReadOnly).map_err(|e| (e, false))?;
        match opened {
            None => Err((not_recorded(path, "missing"), true)),
            Some((_, meta)) if FileId::from(&meta) != self.id => {
                Err((not_recorded(path, "another file"), true))
            }
            Some((file, meta)) => Ok((file, meta.len())),
        }
    }
}

/// A file set at most once and then shared without a lock (a set racing with `fork` in another
/// thread leaves the child either the file or nothing, never a lock held by a thread it lacks).
#[derive(Debug, Default)]
struct OnceFile(AtomicPtr<File>);

impl OnceFile {
    fn get(&self) -> Option<&File> {
        // Acquire: pairs with the Release of `set`; the boxed file is seen whole.
        let file = self.0.load(Ordering::Acquire);
        // SAFETY: non-null only once `set` stored a leaked box, freed only by `drop`.
        unsafe { file.as_ref() }
    }

    /// Stores `file` unless a file is already set (that one is kept, `file` closed); returns the
    /// one set.
    fn set(&self, file: File) -> &File {
        let fresh = Box::into_raw(Box::new(file));
        // AcqRel: publishes the box (Release); sees a box set by another thread (Acquire).
        match self.0.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `fresh` is now the set box, freed only by `drop`.
            Ok(_) => unsafe { &*fresh },
            Err(set) => {
                // SAFETY: `fresh` was never shared; `set` is the box another thread stored.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*set
                }
            }
        }
    }
}

impl Drop for OnceFile {
    fn drop(&mut self) {
        let file = *self.0.get_mut();
        if !file.is_null() {
            // SAFETY: a box leaked by `set`, not shared any more (`&mut self`).
            drop(unsafe { Box::from_raw(file) });
        }
    }
}

/// One data file as the memo of a reader's process holds it: mapped at the first validation of a
/// generation in it, and at least as long as the longest value read from it. A longer value maps
/// the file again, larger; earlier mappings stay until the reader is dropped, because other
/// threads may still be reading through them.
#[derive(Debug)]
pub(crate) struct ReaderData {
    /// Which of the set's data files this is (its methods are given that [`DataFile`]).
    index: usize,
    /// Every mapping made of the file, the current (largest) last; each with the fault count
    /// already accounted for.
    pub maps: Vec<(Mapping, u64)>,
    /// The file's length when last asked; the writer never shrinks a data file, so a value no
    /// longer than this needs no new `fstat`.
    pub known_len: u64,
}

impl ReaderData {
    /// One per data file of a set of `copies`, nothing mapped yet.
    pub fn every(copies: usize) -> Vec<ReaderData> {
        (0..copies).map(|index| ReaderData { index, maps: Vec::new(), known_len: 0 }).collect()
    }

    /// The file's path in the channel at `paths`, for errors.
    pub fn path(&self, paths: &ChannelPaths) -> PathBuf {
        paths.data(self.index)
    }

    /// Maps again, in place, every mapping of the file the fault guard repaired since last seen
    /// (see [`Mapping::remap_in_place`]); whether there was one.
    /// `file`: this one.
    pub fn remap_faulted(&mut self, file: &DataFile, paths: &ChannelPaths) -> Result<bool> {
        // A mapping exists only of an opened file.
        let Some(file) = file.file.get() else { return Ok(false) };
        let mut faulted = false;
        for (map, seen) in &mut self.maps {
            if map.faults() != *seen {
                *seen = map.faults();
                faulted = true;
                map.remap_in_place(file).map_err(|e| Error::io(paths.data(self.index), e))?;
            }
        }
        Ok(faulted)
    }

    /// The file's length now, from the file (an `fstat`, or the open's when this opens it),
    /// remembered as known. `file`: this one; `paths`: the channel's.
    pub fn fresh_len(&mut self, file: &DataFile, paths: &ChannelPaths) -> Result<u64> {
        let index = self.index;
        let len = match file.open(|| paths.data(index))? {
            (_, Some(len)) => len,
            (file, None) => files::file_len(file, &paths.data(index))?,
        };
        self.known_len = len;
        Ok(len)
    }

    /// The current mapping, at least `len` bytes long (mapping the file again if needed).
    /// `on_fault` is the word the fault guard clears when a page of the mapping faults.
    pub fn mapping(
        &mut self,
        file: &DataFile,
        len: u64,
        paths: &ChannelPaths,
        on_fault: &'static crate::os::FaultWords,
    ) -> Result<&Mapping> {
        let current = self.maps.last().map_or(0, |(m, _)| m.len() as u64);
        if current < len || self.maps.is_empty() {
            // Room for values a little longer than this one, but no page past the file's end
            // (populating the mapping would try to fault it in) and, in a file longer than
            // the value, no more than the room (every page mapped here is populated).
            let room = len.max(MIN_DATA_MAP).next_power_of_two();
            let file_end = self.known_len.next_multiple_of(os::page_size() as u64);
            let size = room.min(file_end).max(len).max(1);
            let index = self.index;
            let (file, opened_len) = file.open(|| paths.data(index))?;
            if let Some(opened_len) = opened_len {
                self.known_len = self.known_len.max(opened_len);
            }
            let map = Mapping::map_populated(file, size as usize, false, Some(on_fault))
                .map_err(|e| Error::io(paths.data(index), e))?;
            let faults = map.faults();
            self.maps.push((map, faults));
        }
        Ok(&self.maps.last().expect("mapped above").0)
    }
}

/// The files a reader opened, all of one set (data files are opened and mapped at first use:
/// see [`DataFile`] and [`ReaderData`]).
#[derive(Debug)]
pub(crate) struct ReaderFiles {
    pub paths: ChannelPaths,
    // Each mapping is declared (so dropped) before its file: see [`Mapping`].
    pub state: StateMap,
    pub state_file: File,
    /// The state file's identity, as opened (one `fstat` fewer for the reader).
    pub state_id: FileId,
    pub readers: ReadersMap,
    pub readers_file: File,
    pub data: Vec<ReaderData>,
    /// The set's data files, as opened (see [`DataFile`]).
    pub data_files: Box<[DataFile]>,
}

/// Why one attempt to open a set for reading did not finish.
enum Attempt {
    /// A file is not the one the state file records: a set is being replaced; try again.
    Mismatch(Error),
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

/// Opens the set at `prefix` for reading. `NotPublished` when no writer has created it.
/// `on_fault` words are cleared by the fault guard when a mapped page of the set faults.
pub(crate) fn open_for_reading(
    prefix: &Path,
    on_fault: &'static crate::os::FaultWords,
) -> Result<ReaderFiles> {
    let paths = ChannelPaths::new(prefix);
    paths.check_name_length()?;
    let mut last = None;
    for _ in 0..OPEN_RETRIES {
        match open_set_files(&paths, on_fault) {
            Ok(set) => {
                return Ok(ReaderFiles {
                    paths,
                    state_file: set.state_file,
                    state_id: set.state_id,
                    state: set.state,
                    readers_file: set.readers_file,
                    readers: set.readers,
                    data_files: set.data_files,
                    data: set.data,
                });
            }
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Mismatch(e)) => last = Some(e),
        }
        std::thread::sleep(OPEN_RETRY_PAUSE);
    }
    Err(last.unwrap_or_else(|| Error::corrupt(&paths.state, "the channel's files keep changing")))
}

fn mismatch(path: &Path, what: &str) -> Attempt {
    Attempt::Mismatch(not_recorded(path, what))
}

/// The file at `path` is `what` ("missing", "another file") rather than the one `P_state`
/// records.
fn not_recorded(path: &Path, what: &str) -> Error {
    Error::corrupt(
        path,
        format!(
            "{what}: not the file the state file records (a writer is replacing the channel's \
             files, or they were replaced by hand)"
        ),
    )
}

/// The files one attempt of [`open_for_reading`] opened: a [`ReaderFiles`] but for its paths.
struct SetFiles {
    state_file: File,
    state_id: FileId,
    state: StateMap,
    readers_file: File,
    readers: ReadersMap,
    data_files: Box<[DataFile]>,
    data: Vec<ReaderData>,
}

/// One attempt of [`open_for_reading`].
fn open_set_files(
    paths: &ChannelPaths,
    on_fault: &'static crate::os::FaultWords,
) -> std::result::Result<SetFiles, Attempt> {
    let (state_file, state, state_id) = map_state(paths, Some(on_fault))?;

    let (readers_file, readers) =
        match map_readers(paths, &state, Access::ReadWrite, Some(on_fault)) {
            Ok(opened) => opened,
            Err(ReadersNotOpened::Missing) => return Err(mismatch(&paths.readers, "missing")),
            Err(ReadersNotOpened::Replaced) => {
                return Err(mismatch(&paths.readers, "another file"));
            }
            Err(ReadersNotOpened::Failed(e)) => return Err(Attempt::Failed(e)),
        };
    let files: Box<[DataFile]> = (0..state.copies())
        .map(|index| DataFile { id: state.data_id(index), file: OnceFile::default() })
        .collect();
    // The copy that holds the published value, which the first read validates: opened now, so
    // that a set being replaced is retried as a whole.
    // Acquire: as every load of `active`; only its copy index is used.
    let active = state.header().active.load(Ordering::Acquire);
    let mut data = ReaderData::every(files.len());
    if protocol::generation(active) != 0
        && let Some(copy) = data.get_mut(protocol::copy(active))
    {
        match files[copy.index].open_checked(&paths.data(copy.index)) {
            Ok((file, len)) => {
                files[copy.index].file.set(file);
                copy.known_len = len;
            }
            Err((e, true)) => return Err(Attempt::Mismatch(e)),
            Err((e, false)) => return Err(Attempt::Failed(e)),
        }
    }
    Ok(SetFiles { state_file, state_id, state, readers_file, readers, data_files: files, data })
}

/// Why [`map_readers`] did not return the set's readers file.
pub(crate) enum ReadersNotOpened {
    /// No file at `P_readers`.
    Missing,
    /// Another file than the one the state file records.
    Replaced,
    /// It could not be opened or mapped, or it is damaged.
    Failed(Error),
}

/// Opens `P_readers` with `access`, checks that it is the file `state` records, and maps and
/// parses its slot table: populated, unless a reader (`on_fault` given) maps a table longer than
/// [`POPULATED_SLOT_TABLE`], of which it touches the header and its own slot. `on_fault`: see
/// [`Mapping::map`].
pub(crate) fn map_readers(
    paths: &ChannelPaths,
    state: &StateMap,
    access: Access,
    on_fault: Option<&'static crate::os::FaultWords>,
) -> std::result::Result<(File, ReadersMap), ReadersNotOpened> {
    let path = &paths.readers;
    let (file, meta) = files::open_existing_with_metadata(path, access)
        .map_err(ReadersNotOpened::Failed)?
        .ok_or(ReadersNotOpened::Missing)?;
    if FileId::from(&meta) != state.readers_id() {
        return Err(ReadersNotOpened::Replaced);
    }
    let slots = state.reader_slots();
    let writable = !matches!(access, Access::ReadOnly);
    let len = format::readers_file_len(slots);
    let map = if on_fault.is_some() && len > POPULATED_SLOT_TABLE {
        Mapping::map(&file, len, writable, on_fault)
    } else {
        Mapping::map_populated(&file, len, writable, on_fault)
    }
    .map_err(|e| ReadersNotOpened::Failed(Error::io(path, e)))?;
    let readers = ReadersMap::parse(map, meta.len(), slots).map_err(|(_, problem)| {
        ReadersNotOpened::Failed(Error::corrupt(path, problem.to_string()))
    })?;
    Ok((file, readers))
}

/// Opens and parses just the state file of the channel at `paths`, read-only (no slot is
/// claimed, no data file is opened): for looking at the header.
pub(crate) fn open_state(paths: &ChannelPaths) -> Result<(File, StateMap)> {
    paths.check_name_length()?;
    map_state(paths, None).map(|(file, state, _)| (file, state))
}

/// Opens the state file read-only and maps and parses it whole. `NotPublished` when it does not
/// exist or no writer has finished it. `on_fault`: see [`Mapping::map`].
fn map_state(
    paths: &ChannelPaths,
    on_fault: Option<&'static crate::os::FaultWords>,
) -> Result<(File, StateMap, FileId)> {
    let not_published = || Error::NotPublished { path: paths.state.clone() };
    let (file, meta) = files::open_existing_with_metadata(&paths.state, Access::ReadOnly)?
        .ok_or_else(not_published)?;
    let len = meta.len();
    // Populated: every page of the state file is read at once (header, descriptors, schema).
    let map = Mapping::map_populated(&file, (len as usize).max(1), false, on_fault)
        .map_err(|e| Error::io(&paths.state, e))?;
    let state = StateMap::parse(map, len, &paths.state)?.ok_or_else(not_published)?;
    Ok((file, state, FileId::from(&meta)))
}

// ---------------------------------------------------------------------------------------------
// Slot claims: the one way a process takes and gives back a reader slot
// ---------------------------------------------------------------------------------------------

/// Claims the lowest slot of `readers` that `skip` does not exclude and no one holds, through
/// `file` (the descriptor whose OFD locks mark this process's claims): the slot's lock first,
/// then `protocol::claim`, then who holds it and since when, for operators. Lowest first keeps
/// the high-water mark, and so the writer's scan, short. `Ok(None)`: every slot is taken.
pub(crate) fn claim_slot(
    readers: &ReadersMap,
    file: &File,
    skip: impl Fn(usize) -> bool,
) -> io::Result<Option<usize>> {
    for (index, slot) in readers.slots().iter().enumerate() {
        if skip(index) {
            continue;
        }
        if os::try_lock(file, readers.slot_offset(index), 1)? {
            protocol::claim(&slot.pin, &readers.header().slot_high_water, index);
            // Relaxed: informational fields for operators.
            slot.pid.store(os::process_id(), Ordering::Relaxed);
            slot.tid.store(os::thread_id(), Ordering::Relaxed);
            slot.claimed_at.store(os::unix_nanos_coarse(), Ordering::Relaxed);
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Gives slot `index`, claimed through `file`, back: clears its pin, then drops its lock.
pub(crate) fn give_back_slot(readers: &ReadersMap, file: &File, index: usize) -> io::Result<()> {
    protocol::release(&readers.slots()[index].pin);
    os::unlock(file, readers.slot_offset(index), 1)
}

fn id_of(file: &File, path: &Path) -> Result<FileId> {
    FileId::of(file).map_err(|e| Error::io(path, e))
}

// ---------------------------------------------------------------------------------------------
// The writer's side
// ---------------------------------------------------------------------------------------------

/// Settings of a writer that shape its files.
#[derive(Clone, Debug)]
pub(crate) struct SetOptions {
    pub copies: usize,
    pub reader_slots: usize,
    pub max_size: u64,
    pub file_mode: u32,
    pub readers_mode: u32,
    pub durable: bool,
    pub allow_foreign_owner: bool,
}

/// One data file as the writer holds it.
#[derive(Debug)]
pub(crate) struct WriterData {
    pub path: PathBuf,
    /// Reserved for `max_size` (or the file's length if larger): it never moves. Declared
    /// before the file: unmapped, then closed (see [`Mapping`]).
    pub map: Mapping,
    pub file: File,
    /// Bytes of storage allocated for the file (`posix_fallocate`d, or found at open).
    pub allocated: u64,
    /// The fault count of `map` the writer last accounted for.
    pub seen_faults: u64,
}

/// The writer's set of files.
#[derive(Debug)]
pub(crate) struct WriterFiles {
    // Each mapping is declared (so dropped) before its file: see [`Mapping`].
    pub state: StateMap,
    /// Kept open with the mapping (the descriptor itself is not used again).
    pub _state_file: File,
    pub readers: ReadersMap,
    pub readers_file: File,
    pub data: Vec<WriterData>,
    /// The fingerprint this set's descriptors carry.
    pub fingerprint: u64,
}

/// The last published value of a set, carried into a new one.
pub(crate) struct Carry<'a> {
    pub generation: u64,
    pub bytes: &'a [u8],
    pub checksum: u64,
    pub published_at: u64,
}

/// The writer lock: an exclusive lock on the whole of `P_writer`, released explicitly when
/// dropped. Closing the descriptor alone would leave it held for as long as a child forked
/// meanwhile by another thread of this process shares the open file description (until it
/// execs), and a writer reopened at once would find its own lock.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
    epoch: u64,
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // In a forked child the lock is the parent's: leave it.
        if self.epoch == os::fork_epoch() {
            let _ = os::unlock(&self.file, 0, 0);
        }
    }
}

/// Takes the writer lock of the channel at `paths`: an exclusive lock on `P_writer`, a file
/// of mode 0600 that no other user can open (and so none can lock to keep the writer out).
pub(crate) fn lock_writer(paths: &ChannelPaths, allow_foreign: bool) -> Result<WriterLock> {
    let path = &paths.writer;
    let (file, meta) = files::open_with_metadata(path, Access::Create { mode: 0o600 })?;
    files::check_owner(&meta, path, allow_foreign)?;
    if meta.mode() & 0o077 != 0 && meta.uid() == os::effective_uid() {
        files::set_mode(&file, path, 0o600)?;
    }
    let epoch = os::fork_epoch();
    if !os::try_lock(&file, 0, 0).map_err(|e| Error::io(path, e))? {
        return Err(Error::WriterExists { path: paths.state.clone() });
    }
    Ok(WriterLock { file, epoch })
}

/// Opens the set at `paths` for writing (the writer lock is held): adopts it when it is whole
/// and matches `ty` and `options`, else creates a new one carrying the last published value.
/// Refuses a state file it cannot parse, one of another type, or other counts.
pub(crate) fn open_for_writing(
    paths: &ChannelPaths,
    options: &SetOptions,
    ty: &ValueType,
) -> Result<WriterFiles> {
    format::check_copies(options.copies)
        .map_err(|reason| Error::Incompatible { path: paths.state.clone(), reason })?;
    format::check_reader_slots(options.reader_slots)
        .map_err(|reason| Error::Incompatible { path: paths.readers.clone(), reason })?;
    files::remove_stale_temps(&paths.prefix);

    let Some((state_file, meta)) =
        files::open_existing_with_metadata(&paths.state, Access::ReadWrite)?
    else {
        return create_set(paths, options, ty, None);
    };
    files::check_owner(&meta, &paths.state, options.allow_foreign_owner)?;
    let state_len = meta.len();
    let map = Mapping::map(&state_file, (state_len as usize).max(1), true, None)
        .map_err(|e| Error::io(&paths.state, e))?;
    let Some(state) = StateMap::parse(map, state_len, &paths.state)? else {
        // A state file without a magic was never completed (sets are renamed into place
        // finished, so this one was truncated or zeroed by hand): nothing in it to continue.
        return create_set(paths, options, ty, None);
    };
    let fingerprint = ty.accepts(&state, &paths.state)?;
    if state.copies() != options.copies {
        return Err(incompatible(paths, "copies", state.copies(), options.copies));
    }
    if state.reader_slots() != options.reader_slots {
        return Err(incompatible(
            paths,
            "reader slots",
            state.reader_slots(),
            options.reader_slots,
        ));
    }
    if options.max_size > state.max_size() {
        return Err(Error::Incompatible {
            path: paths.state.clone(),
            reason: format!(
                "the channel was created with max_size {} and the writer asks for {}: readers \
                 reserved room for the smaller; move the channel or remove its files to grow it",
                state.max_size(),
                options.max_size
            ),
        });
    }

    match adopt(paths, options, state_file, state, fingerprint)? {
        Adopted::Whole(files) => Ok(*files),
        Adopted::Broken { state_file, state, data, reason } => {
            crate::log::set_replaced(&paths.prefix, &reason);
            let carried = carry_from(&state, &data);
            let set = create_set(paths, options, ty, carried.as_ref().map(|c| c.carry()))?;
            supersede(&state);
            drop(state_file);
            Ok(set)
        }
    }
}

fn incompatible(paths: &ChannelPaths, what: &str, has: usize, asked: usize) -> Error {
    Error::Incompatible {
        path: paths.state.clone(),
        reason: format!("the channel has {has} {what}, the writer asks for {asked}"),
    }
}

enum Adopted {
    Whole(Box<WriterFiles>),
    /// The set is not whole: the data files that could be opened as recorded, for carrying the
    /// last value over.
    Broken {
        state_file: File,
        state: StateMap,
        data: Vec<Option<(File, Mapping)>>,
        reason: String,
    },
}

fn adopt(
    paths: &ChannelPaths,
    options: &SetOptions,
    state_file: File,
    state: StateMap,
    fingerprint: u64,
) -> Result<Adopted> {
    let mut broken: Option<String> = None;
    // Data files: open each that is the recorded one.
    let mut data_files = Vec::with_capacity(state.copies());
    for index in 0..state.copies() {
        let path = paths.data(index);
        let file = match files::open_existing_with_metadata(&path, Access::ReadWrite)? {
            Some((file, meta)) => {
                files::check_owner(&meta, &path, options.allow_foreign_owner)?;
                if FileId::from(&meta) == state.data_id(index) {
                    Some((file, meta.len()))
                } else {
                    broken.get_or_insert_with(|| format!("{} was replaced", path.display()));
                    None
                }
            }
            None => {
                broken.get_or_insert_with(|| format!("{} is missing", path.display()));
                None
            }
        };
        data_files.push((path, file));
    }
    let reserve = options.max_size;
    let mut mapped = Vec::with_capacity(data_files.len());
    for (path, file) in data_files {
        match file {
            Some((file, len)) => {
                let map = Mapping::map(&file, reserve.max(len) as usize, true, None)
                    .map_err(|e| Error::io(&path, e))?;
                mapped.push((path, Some((file, map, len))));
            }
            None => mapped.push((path, None)),
        }
    }

    // The slot table: it must be the recorded file and long enough, or the live readers' pins
    // are out of the writer's sight.
    let slots = state.reader_slots();
    let readers = match files::open_existing_with_metadata(&paths.readers, Access::ReadWrite)? {
        None => {
            broken.get_or_insert_with(|| format!("{} is missing", paths.readers.display()));
            None
        }
        Some((file, meta)) => {
            files::check_owner(&meta, &paths.readers, options.allow_foreign_owner)?;
            if FileId::from(&meta) != state.readers_id() {
                broken.get_or_insert_with(|| format!("{} was replaced", paths.readers.display()));
                None
            } else {
                let len = meta.len();
                let map = Mapping::map(&file, format::readers_file_len(slots), true, None)
                    .map_err(|e| Error::io(&paths.readers, e))?;
                match ReadersMap::parse(map, len, slots) {
                    Ok(readers) => Some((file, readers)),
                    // A damaged header over intact slots: the pins are still there; repair it.
                    Err((map, ReadersProblem::Header(_))) => {
                        Some((file, ReadersMap::write_header(map, slots)))
                    }
                    Err((_, ReadersProblem::TooShort(len))) => {
                        broken.get_or_insert_with(|| {
                            format!("{} was truncated to {len} bytes", paths.readers.display())
                        });
                        None
                    }
                }
            }
        }
    };

    if let Some(reason) = broken {
        let data = mapped.into_iter().map(|(_, m)| m.map(|(file, map, _)| (file, map))).collect();
        return Ok(Adopted::Broken { state_file, state, data, reason });
    }
    let (readers_file, readers) = readers.expect("checked above");
    let data = mapped
        .into_iter()
        .map(|(path, m)| {
            let (file, map, allocated) = m.expect("checked above");
            let seen_faults = map.faults();
            WriterData { path, file, map, allocated, seen_faults }
        })
        .collect();
    Ok(Adopted::Whole(Box::new(WriterFiles {
        _state_file: state_file,
        state,
        readers_file,
        readers,
        data,
        fingerprint,
    })))
}

/// A copy of the last published value of a broken set, if its data file is intact.
pub(crate) struct Carried {
    generation: u64,
    bytes: Vec<u8>,
    checksum: u64,
    published_at: u64,
}

impl Carried {
    fn carry(&self) -> Carry<'_> {
        Carry {
            generation: self.generation,
            bytes: &self.bytes,
            checksum: self.checksum,
            published_at: self.published_at,
        }
    }
}

fn carry_from(state: &StateMap, data: &[Option<(File, Mapping)>]) -> Option<Carried> {
    // SeqCst/Relaxed: the writer that stored these is gone (we hold the writer lock).
    let active = state.header().active.load(Ordering::SeqCst);
    let index = protocol::active_copy(active)?;
    let descriptor = state.descriptors().get(index)?;
    let (file, map) = data.get(index)?.as_ref()?;
    // Relaxed: written before `active` named this copy; the SeqCst load above orders them.
    let len = descriptor.length.load(Ordering::Relaxed);
    let file_len = file.metadata().ok()?.len();
    if len > file_len || len as usize > map.len() {
        return None;
    }
    // SAFETY: `len` bytes of the file are mapped and nobody writes them (we hold the writer lock
    // and the copy is the active one).
    let bytes = unsafe { std::slice::from_raw_parts(map.ptr(), len as usize) }.to_vec();
    let checksum = descriptor.checksum.load(Ordering::Relaxed);
    if crate::checksum::xxh3_64(&bytes) != checksum {
        return None;
    }
    Some(Carried {
        generation: protocol::generation(active),
        bytes,
        checksum,
        published_at: descriptor.published_at.load(Ordering::Relaxed),
    })
}

/// Tells readers of an old set that a new one replaced it: they keep their last value and stop
/// waiting for new ones.
pub(crate) fn supersede(state: &StateMap) {
    let header = state.header();
    // SeqCst: a waiter loads it after its futex word (see the reader's wait).
    header.superseded.store(1, Ordering::SeqCst);
    header.publish_futex.fetch_add(1, Ordering::SeqCst);
    let _ = os::futex_wake_all(&header.publish_futex);
}

/// Refuses to replace what is at `path` unless it is a regular file this writer may own: no
/// symlink, FIFO or directory, nothing another user planted, nothing with a second name.
fn check_replaceable(path: &Path, allow_foreign: bool) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to follow it",
            ),
        ));
    }
    if !meta.file_type().is_file() {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file"),
        ));
    }
    // The same checks as for a file the writer opens.
    let (_, meta) = files::open_with_metadata(path, Access::ReadOnly)?;
    files::check_owner(&meta, path, allow_foreign)
}

/// Creates a new set for `paths` under temporary names and renames it into place (state last).
/// With `carry`, the new set starts with that value published in copy 0, and the generation
/// count continues from it.
pub(crate) fn create_set(
    paths: &ChannelPaths,
    options: &SetOptions,
    ty: &ValueType,
    carry: Option<Carry<'_>>,
) -> Result<WriterFiles> {
    for path in paths.all(options.copies).iter().take(options.copies + 2) {
        check_replaceable(path, options.allow_foreign_owner)?;
    }
    let mode = options.file_mode;
    let slots = options.reader_slots;

    let readers_temp = Temp::create(&paths.readers, options.readers_mode)?;
    let readers_len = format::readers_file_len(slots);
    os::allocate(&readers_temp.file, readers_len as u64)
        .map_err(|e| Error::io(&paths.readers, e))?;
    let map = Mapping::map(&readers_temp.file, readers_len, true, None)
        .map_err(|e| Error::io(&paths.readers, e))?;
    let readers = ReadersMap::write_header(map, slots);

    let mut data_temps = Vec::with_capacity(options.copies);
    let mut data_ids = Vec::with_capacity(options.copies);
    for index in 0..options.copies {
        let path = paths.data(index);
        let temp = Temp::create(&path, mode)?;
        data_ids.push(id_of(&temp.file, &path)?);
        data_temps.push((path, temp));
    }
    let mut data = Vec::with_capacity(options.copies);
    for (index, (path, temp)) in data_temps.iter().enumerate() {
        let mut allocated = 0;
        if index == 0
            && let Some(carry) = &carry
        {
            allocated = (carry.bytes.len() as u64).next_multiple_of(os::page_size() as u64);
            os::allocate(&temp.file, allocated.max(1)).map_err(|e| Error::io(path, e))?;
        }
        let reserve = options.max_size.max(allocated);
        let map = Mapping::map(&temp.file, reserve as usize, true, None)
            .map_err(|e| Error::io(path, e))?;
        if index == 0
            && let Some(carry) = &carry
        {
            // SAFETY: `allocated >= carry.bytes.len()` bytes of the private, new file are mapped.
            unsafe {
                std::ptr::copy_nonoverlapping(carry.bytes.as_ptr(), map.ptr(), carry.bytes.len())
            };
        }
        let seen_faults = map.faults();
        data.push(WriterData {
            path: path.clone(),
            file: temp.file.try_clone().map_err(|e| Error::io(path, e))?,
            map,
            allocated,
            seen_faults,
        });
    }

    let state_temp = Temp::create(&paths.state, mode)?;
    let description = ty.description();
    let new = NewState {
        schema: &ty.schema(),
        derived: ty.derived,
        layout_fingerprint: ty.layout_fingerprint(),
        description: &description,
        copies: options.copies,
        reader_slots: slots,
        max_size: options.max_size,
        readers: id_of(&readers_temp.file, &paths.readers)?,
        data: &data_ids,
    };
    let state_len = new.file_len();
    os::allocate(&state_temp.file, state_len as u64).map_err(|e| Error::io(&paths.state, e))?;
    let map = Mapping::map(&state_temp.file, state_len, true, None)
        .map_err(|e| Error::io(&paths.state, e))?;
    let state = StateMap::init(map, &new);
    if let Some(carry) = &carry {
        let descriptor = &state.descriptors()[0];
        // Relaxed: the file is still private; the rename below publishes it.
        descriptor.length.store(carry.bytes.len() as u64, Ordering::Relaxed);
        descriptor.checksum.store(carry.checksum, Ordering::Relaxed);
        descriptor.fingerprint.store(ty.fingerprint, Ordering::Relaxed);
        descriptor.published_at.store(carry.published_at, Ordering::Relaxed);
        descriptor.generation.store(carry.generation, Ordering::Relaxed); // Relaxed: as above
        state.header().active.store(protocol::pack(carry.generation, 0), Ordering::Relaxed);
    }
    if options.durable {
        for d in &data {
            if d.allocated > 0 {
                d.map.flush(0, d.allocated as usize).map_err(|e| Error::io(&d.path, e))?;
            }
        }
        readers.mapping().flush(0, readers_len).map_err(|e| Error::io(&paths.readers, e))?;
        state.mapping().flush(0, state_len).map_err(|e| Error::io(&paths.state, e))?;
    }

    // Data files and the slot table first, the state file last: a reader that opens the new
    // state finds every file it records in place.
    for (_, temp) in data_temps {
        temp.commit()?;
    }
    let readers_file = readers_temp.commit()?;
    let state_file = state_temp.commit()?;
    Ok(WriterFiles {
        _state_file: state_file,
        state,
        readers_file,
        readers,
        data,
        fingerprint: ty.fingerprint,
    })
}
