//! What the tests of every crate of the workspace share: [`ChannelDir`], a private directory
//! for one test's channels.
//!
//! It depends on no crate of the workspace, so that the runtime's own tests can use it too;
//! helpers that need the runtime (a channel's [`ChannelPaths`]) live in the packages that test
//! it, on top of this.
//!
//! ```
//! use mmap_sync_test_support::ChannelDir;
//!
//! let dir = ChannelDir::new("round-trip");
//! let prefix = dir.prefix("hello"); // what `Writer::open` and `Reader::open` take
//! assert!(prefix.starts_with(dir.path()));
//! ```
//!
// The runtime of the workspace's version: docs.rs's unversioned page of `mmap-sync` is
// upstream's 2.x until a stable 3.x exists.
#![doc = concat!("[`ChannelPaths`]: https://docs.rs/mmap-sync/", env!("CARGO_PKG_VERSION"), "/mmap_sync/struct.ChannelPaths.html")]

use std::path::{Path, PathBuf};

/// Where channels live when the host has it: the tests exercise the intended filesystem.
const SHM: &str = "/dev/shm";

/// A directory for one test's channels, removed (with everything in it) when dropped. On
/// `/dev/shm` when it exists, in the system's temporary directory otherwise. Its mode is what
/// the umask leaves of 0777 (0755 under the usual 022): a test for which it matters (readers
/// running as another user) sets the mode itself.
#[derive(Debug)]
pub struct ChannelDir {
    /// `None` only while it is dropped.
    dir: Option<tempfile::TempDir>,
    /// Keep the directory when the test fails, or when this environment variable is set.
    keep_on_failure: Option<&'static str>,
}

impl ChannelDir {
    /// A new, empty directory whose name starts with `mmap-sync-test-{name}-`.
    pub fn new(name: &str) -> ChannelDir {
        let mut builder = tempfile::Builder::new();
        let prefix = format!("mmap-sync-test-{name}-");
        builder.prefix(&prefix);
        let dir = if Path::new(SHM).is_dir() { builder.tempdir_in(SHM) } else { builder.tempdir() };
        let dir = dir.expect("create a directory for the test's channels");
        ChannelDir { dir: Some(dir), keep_on_failure: None }
    }

    /// This directory, kept for a look after the test instead of removed (its path printed on
    /// standard error) when the test fails (the directory is dropped while its thread panics),
    /// or whenever the environment variable `var` is set: for tests whose processes leave logs
    /// in it.
    pub fn kept_on_failure(mut self, var: &'static str) -> ChannelDir {
        self.keep_on_failure = Some(var);
        self
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |dir| dir.path())
    }

    /// The path prefix of a channel called `name` in this directory (what `Writer::open` and
    /// `Reader::open` take).
    pub fn prefix(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
}

impl Drop for ChannelDir {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        let keep = self
            .keep_on_failure
            .is_some_and(|var| std::thread::panicking() || std::env::var_os(var).is_some());
        if keep {
            eprintln!("test files kept for inspection: {}", dir.keep().display());
        }
        // Otherwise `dir` removes the directory as it drops.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_made_for_the_test_and_removed_with_everything_in_it() {
        let dir = ChannelDir::new("support");
        let path = dir.path().to_owned();
        assert!(path.is_dir());
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("mmap-sync-test-support-"), "{name}");
        if Path::new(SHM).is_dir() {
            assert!(path.starts_with(SHM), "{}", path.display());
        }
        std::fs::write(dir.prefix("hello_state"), b"x").unwrap();
        assert_eq!(dir.prefix("hello"), path.join("hello"));
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn a_directory_kept_on_failure_is_kept_only_when_the_test_fails() {
        let passing = ChannelDir::new("kept-passing").kept_on_failure("MMAP_SYNC_UNSET_FOR_TEST");
        let path = passing.path().to_owned();
        drop(passing);
        assert!(!path.exists(), "removed when the test passes");

        let (sender, receiver) = std::sync::mpsc::channel();
        let failing = std::thread::spawn(move || {
            let dir = ChannelDir::new("kept-failing").kept_on_failure("MMAP_SYNC_UNSET_FOR_TEST");
            sender.send(dir.path().to_owned()).unwrap();
            panic!("the test fails");
        });
        assert!(failing.join().is_err());
        let path = receiver.recv().unwrap();
        assert!(path.is_dir(), "kept when the test fails");
        std::fs::remove_dir_all(&path).unwrap();
    }
}
