//! The reader slots a process holds through one reader, and the descriptor their locks are held
//! through: claimed for each reading thread (and the background validator), given back when a
//! thread exits or the reader drops, and taken anew, through a descriptor of its own, in a child
//! after `fork()`.

use std::fs::File;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::files::{self, Access};
use crate::format::FileId;
use crate::os::{self, PerProcess};
use crate::set::{self, ReaderFiles};

/// `Held::epoch` of a child's fresh claims: no slot was claimed in this process yet, and the
/// readers file must be opened anew before one is (the inherited descriptor shares the
/// parent's locks).
const NO_EPOCH: u64 = u64::MAX;

/// The slots one reader holds, per process image (see [`PerProcess`]): a child forked while a
/// thread of its parent claimed a slot gets fresh claims and never waits for that thread.
#[derive(Debug)]
pub(super) struct Claims {
    local: PerProcess<Mutex<Held>>,
    slots: usize,
}

#[derive(Debug)]
struct Held {
    /// The descriptor the slot locks are taken through in a forked child (in the process that
    /// opened the reader, the readers file's own).
    forked: Option<File>,
    /// The fork epoch the locks belong to.
    epoch: u64,
    /// Which slots this process holds: bit `i % 64` of word `i / 64`.
    held: Vec<u64>,
    /// How many (`release_all` stops after the last).
    count: usize,
}

impl Claims {
    /// No slot held yet, in the process that opens the reader.
    pub fn new(slots: usize) -> Claims {
        let held = Held { forked: None, epoch: os::fork_epoch(), held: bits(slots), count: 0 };
        Claims { local: PerProcess::with(Mutex::new(held)), slots }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        let fresh =
            || Mutex::new(Held { forked: None, epoch: NO_EPOCH, held: bits(self.slots), count: 0 });
        self.local.get(fresh).lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims the lowest free slot (see [`set::claim_slot`]); its pin word.
    pub fn claim(&self, files: &ReaderFiles) -> Result<(usize, *const AtomicU64)> {
        let mut claims = self.held();
        let epoch = os::fork_epoch();
        if claims.epoch != epoch {
            // A forked child: the inherited descriptor shares the parent's locks. Take our own.
            claims.forked = Some(reopen_readers(files)?);
            claims.held.iter_mut().for_each(|word| *word = 0);
            claims.count = 0;
            claims.epoch = epoch;
        }
        let readers = &files.readers;
        let file = claims.forked.as_ref().unwrap_or(&files.readers_file);
        // Slots held already are skipped: a lock we hold would be granted to us again.
        let claimed = set::claim_slot(readers, file, |index| claims.holds(index))
            .map_err(|e| Error::io(&files.paths.readers, e))?;
        let Some(index) = claimed else {
            return Err(Error::ReadersFull {
                path: files.paths.readers.clone(),
                slots: readers.slot_count() as u32,
            });
        };
        claims.held[index / 64] |= 1 << (index % 64);
        claims.count += 1;
        Ok((index, &readers.slots()[index].pin))
    }

    /// Gives slot `index` back, if this process holds it (not a parent's slot seen from a
    /// forked child).
    pub fn release(&self, files: &ReaderFiles, index: usize) {
        let mut claims = self.held();
        if claims.epoch != os::fork_epoch() || !claims.holds(index) {
            return;
        }
        let file = claims.forked.as_ref().unwrap_or(&files.readers_file);
        let _ = set::give_back_slot(&files.readers, file, index);
        claims.held[index / 64] &= !(1 << (index % 64));
        claims.count -= 1;
    }

    /// Gives every slot this process holds back: the reader is closing. Explicitly, because
    /// closing the descriptor alone would leave the locks held while a child forked by another
    /// thread still shares it (until it execs). No lock is taken: nothing else refers to the
    /// claims any more.
    pub fn release_all(&mut self, files: &ReaderFiles) {
        let Some(claims) = self.local.get_mut() else { return };
        let claims = claims.get_mut().unwrap_or_else(|e| e.into_inner());
        if claims.epoch != os::fork_epoch() {
            return;
        }
        let file = claims.forked.as_ref().unwrap_or(&files.readers_file);
        let held = (0..claims.held.len() * 64).filter(|&index| claims.holds(index));
        for index in held.take(claims.count) {
            let _ = set::give_back_slot(&files.readers, file, index);
        }
    }
}

/// No slot of `slots` held.
fn bits(slots: usize) -> Vec<u64> {
    vec![0; slots.div_ceil(64)]
}

impl Held {
    /// Whether this process holds slot `index`.
    fn holds(&self, index: usize) -> bool {
        self.held.get(index / 64).is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// A new open file description of the set's readers file (the same inode, even if the path now
/// names another file).
fn reopen_readers(files: &ReaderFiles) -> Result<File> {
    use std::os::fd::AsRawFd;
    let path = &files.paths.readers;
    let via_proc = format!("/proc/self/fd/{}", files.readers_file.as_raw_fd());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&via_proc)
        .or_else(|_| {
            files::open(path, Access::ReadWrite).map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| Error::io(path, e))?;
    if FileId::of(&file).map_err(|e| Error::io(path, e))? != files.state.readers_id() {
        return Err(Error::Superseded { path: path.clone() });
    }
    Ok(file)
}
