//! A private directory for one test's channels.

use std::path::{Path, PathBuf};

use mmap_sync::ChannelPaths;

/// Where channels live when the host has it: the tests exercise the intended filesystem.
const SHM: &str = "/dev/shm";

/// A directory for one test's channels, removed (with everything in it) when dropped. On
/// `/dev/shm` when it exists, in the system's temporary directory otherwise. Its mode is what
/// the umask leaves of 0777 (0755 under the usual 022): a test for which it matters (readers
/// running as another user) sets the mode itself.
#[derive(Debug)]
pub struct ChannelDir {
    dir: tempfile::TempDir,
}

impl ChannelDir {
    /// A new, empty directory whose name starts with `mmap-sync-test-{name}-`.
    pub fn new(name: &str) -> ChannelDir {
        let mut builder = tempfile::Builder::new();
        let prefix = format!("mmap-sync-test-{name}-");
        builder.prefix(&prefix);
        let dir = if Path::new(SHM).is_dir() { builder.tempdir_in(SHM) } else { builder.tempdir() };
        ChannelDir { dir: dir.expect("create a directory for the test's channels") }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path prefix of a channel called `name` in this directory (what `Writer::open` and
    /// `Reader::open` take).
    pub fn prefix(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The files of the channel called `name` in this directory.
    pub fn paths(&self, name: &str) -> ChannelPaths {
        ChannelPaths::new(self.prefix(name))
    }
}
