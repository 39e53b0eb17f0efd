//! Opening a channel's files safely: no symlink is followed, a FIFO cannot block, nothing but a
//! regular file is accepted, and the writer refuses files planted by another user or reached by
//! a second name. Temporary files for a new set are created here too.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::os::{self, FileStat};

/// How a channel file is opened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    ReadOnly,
    ReadWrite,
    /// Read-write, created with `mode` if missing.
    Create {
        mode: u32,
    },
    /// Read-write, created with `mode`; fails if the path exists.
    CreateNew {
        mode: u32,
    },
}

/// Opens `path` without following a symlink at its last component, and refuses anything but a
/// regular file.
pub(crate) fn open(path: &Path, access: Access) -> Result<File> {
    open_with_metadata(path, access).map(|(file, _)| file)
}

/// [`open`], also returning the file's metadata (one `fstat` for both).
pub(crate) fn open_with_metadata(path: &Path, access: Access) -> Result<(File, FileStat)> {
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(os::OPEN_FLAGS);
    match access {
        Access::ReadOnly => {}
        Access::ReadWrite => {
            options.write(true);
        }
        Access::Create { mode } => {
            options.write(true).create(true).mode(mode);
        }
        Access::CreateNew { mode } => {
            options.write(true).create_new(true).mode(mode);
        }
    }
    let file = options.open(path).map_err(|source| match source.raw_os_error() {
        Some(libc::ELOOP) => Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; refusing to follow it",
            ),
        ),
        _ => Error::io(path, source),
    })?;
    let meta = FileStat::of(&file).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file"),
        ));
    }
    Ok((file, meta))
}

/// [`open_with_metadata`]; `Ok(None)` if the file does not exist.
pub(crate) fn open_existing_with_metadata(
    path: &Path,
    access: Access,
) -> Result<Option<(File, FileStat)>> {
    match open_with_metadata(path, access) {
        Ok(opened) => Ok(Some(opened)),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`open`]; `Ok(None)` if the file does not exist.
pub(crate) fn open_existing(path: &Path, access: Access) -> Result<Option<File>> {
    Ok(open_existing_with_metadata(path, access)?.map(|(file, _)| file))
}

/// For files the writer opens (`meta` is the open file's, from [`open_with_metadata`]): refuses
/// a file owned by another user (a file planted in a shared directory) unless `allow_foreign`,
/// and a file with more than one name.
pub(crate) fn check_owner(meta: &FileStat, path: &Path, allow_foreign: bool) -> Result<()> {
    let me = os::effective_uid();
    if meta.uid() != me && !allow_foreign {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "is owned by uid {} but the writer runs as uid {me}; refusing a file planted \
                     by another user (WriterBuilder::allow_foreign_owner overrides)",
                    meta.uid()
                ),
            ),
        ));
    }
    // A hard link planted at a channel path would make the writer write through another name
    // into a file it may not mean to touch (it passes the owner check when the writer's user owns
    // the target). Channel files have exactly one name.
    if meta.nlink() != 1 {
        return Err(Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("has {} hard links; refusing a file that other names reach", meta.nlink()),
            ),
        ));
    }
    Ok(())
}

/// Gives a file the writer created exactly `mode`, whatever the umask.
pub(crate) fn set_mode(file: &File, path: &Path, mode: u32) -> Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))
}

/// The current length of an open file.
pub(crate) fn file_len(file: &File, path: &Path) -> Result<u64> {
    Ok(file.metadata().map_err(|e| Error::io(path, e))?.len())
}

/// A file being created under a temporary name next to `target`, renamed over it by
/// [`Temp::commit`] or removed when dropped.
#[derive(Debug)]
pub(crate) struct Temp {
    pub file: File,
    pub path: PathBuf,
    pub target: PathBuf,
    committed: bool,
}

/// What marks a temporary name: `.{h}.new-{pid}-{n}` in the target's directory, where `h` is
/// [`temp_stem`] of the target's file name. The name's length does not depend on the target's,
/// so a channel whose longest file name fits the filesystem's limit can always be replaced.
pub(crate) const TEMP_MARK: &str = ".new-";

/// The hex stem of the temporary names for `target_name` (a hash: the target's name may be as
/// long as the filesystem allows, the temporary one must stay short).
fn temp_stem(target_name: &std::ffi::OsStr) -> String {
    format!(".{:016x}", xxhash_rust::xxh3::xxh3_64(target_name.as_encoded_bytes()))
}

impl Temp {
    /// Creates a new, empty file with exactly `mode` next to `target`.
    pub fn create(target: &Path, mode: u32) -> Result<Temp> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        loop {
            // Relaxed: only uniqueness matters.
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let stem = temp_stem(target.file_name().unwrap_or(target.as_os_str()));
            let path =
                target.with_file_name(format!("{stem}{TEMP_MARK}{}-{n}", std::process::id()));
            match open(&path, Access::CreateNew { mode }) {
                Ok(file) => {
                    set_mode(&file, &path, mode)?;
                    return Ok(Temp { file, path, target: target.to_owned(), committed: false });
                }
                // Someone planted a file at this name: take another.
                Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Renames the file over its target (atomically replacing whatever is there) and returns it.
    pub fn commit(mut self) -> Result<File> {
        std::fs::rename(&self.path, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        let file = self.file.try_clone().map_err(|e| Error::io(&self.target, e))?;
        Ok(file)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes temporary files of the channel at `prefix` left by a writer that died while creating
/// a set (the temporary names of every file the channel can have, owned by this user). Called
/// with the writer lock held, so no live writer is creating them.
pub(crate) fn remove_stale_temps(prefix: &Path) {
    let Some(dir) = prefix.parent() else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let paths = crate::paths::ChannelPaths::new(prefix);
    let stems: Vec<String> = paths
        .all(crate::format::MAX_COPIES)
        .iter()
        .filter_map(|p| p.file_name().map(|name| format!("{}{TEMP_MARK}", temp_stem(name))))
        .collect();
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let me = os::effective_uid();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let bytes = name.as_encoded_bytes();
        if stems.iter().any(|stem| bytes.starts_with(stem.as_bytes()))
            && entry.metadata().is_ok_and(|m| m.is_file() && m.uid() == me)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_stay_short_and_a_dead_writers_are_removed_but_no_others() {
        let dir = mmap_sync_test_support::ChannelDir::new("temporary-names");
        let prefix = dir.prefix(&"x".repeat(crate::ChannelPaths::MAX_PREFIX_NAME_LEN));
        let paths = crate::ChannelPaths::new(&prefix);
        // A writer that died while creating a set leaves its temporary files behind.
        let temp = Temp::create(&paths.readers, 0o600).unwrap();
        let left = temp.path.clone();
        std::mem::forget(temp);
        assert!(left.file_name().unwrap().len() < 64, "{}", left.display());
        assert!(left.exists());
        // Another channel's temporary file, and a file of the channel, stay.
        let other = Temp::create(&dir.path().join("other_readers"), 0o600).unwrap();
        std::fs::write(&paths.state, b"").unwrap();

        remove_stale_temps(&prefix);
        assert!(!left.exists(), "the dead writer's temporary file is removed");
        assert!(other.path.exists() && paths.state.exists());
    }
}
