//! A private directory for one test's channels: the workspace's shared [`ChannelDir`], and the
//! files of a channel in it ([`ChannelFiles::paths`]), which needs the runtime the shared helper
//! does not depend on.

use mmap_sync::ChannelPaths;
pub use mmap_sync_test_support::ChannelDir;

/// The files of a channel in a [`ChannelDir`].
pub trait ChannelFiles {
    /// The files of the channel called `name` in this directory.
    fn paths(&self, name: &str) -> ChannelPaths;
}

impl ChannelFiles for ChannelDir {
    fn paths(&self, name: &str) -> ChannelPaths {
        ChannelPaths::new(self.prefix(name))
    }
}
