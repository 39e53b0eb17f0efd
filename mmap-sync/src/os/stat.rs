//! `fstat`: what the crate reads of an open file's metadata, in one call that fills one
//! structure (`File::metadata` asks `statx` for every field and copies the answer twice; a
//! reader's open asks three times).

use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

/// An open file's identity, type, length, owner, link count and permission bits.
#[derive(Clone, Copy, Debug)]
pub struct FileStat {
    dev: u64,
    ino: u64,
    len: u64,
    uid: u32,
    nlink: u64,
    mode: u32,
}

impl FileStat {
    /// The metadata of `file` (one `fstat`).
    pub fn of(file: &File) -> io::Result<FileStat> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is valid for writes of a `stat`, and the descriptor stays open for the call
        // (`file` is borrowed).
        if unsafe { libc::fstat(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fstat` succeeded, so it filled the whole structure.
        let st = unsafe { st.assume_init() };
        Ok(FileStat {
            dev: st.st_dev,
            ino: st.st_ino,
            len: st.st_size.max(0) as u64,
            uid: st.st_uid,
            nlink: st.st_nlink,
            mode: st.st_mode,
        })
    }

    /// The device the file is on (`st_dev`).
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// The file's inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The owner's uid.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// How many names the file has.
    pub fn nlink(&self) -> u64 {
        self.nlink
    }

    /// Type and permission bits (`st_mode`).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn agrees_with_the_standard_library() {
        let file = File::open("/proc/self/exe").unwrap();
        let mine = FileStat::of(&file).unwrap();
        let std = file.metadata().unwrap();
        assert_eq!(
            (mine.dev(), mine.ino(), mine.len(), mine.uid(), mine.nlink(), mine.mode()),
            (std.dev(), std.ino(), std.len(), std.uid(), std.nlink(), std.mode())
        );
        assert!(mine.is_file());
        let dir = File::open("/").unwrap();
        assert!(!FileStat::of(&dir).unwrap().is_file());
    }
}
