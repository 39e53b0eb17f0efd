//! Helpers shared by the example programs.

use std::path::{Path, PathBuf};

/// Where the examples put the `HelloWorld` channel: `HelloWorld`'s own path (or its environment
/// override) when `/dev/shm` exists, the temp directory otherwise.
pub fn hello_world_path() -> PathBuf {
    use mmap_sync::SharedState;
    let path = <mmap_sync_schemas::HelloWorld as SharedState>::path();
    if path.parent().is_some_and(Path::is_dir) {
        path
    } else {
        std::env::temp_dir().join("hello_world")
    }
}

/// A directory for the demo's channel: `/dev/shm` when it exists (memory, not disk), the temp
/// directory otherwise.
pub fn shm_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() }
}
