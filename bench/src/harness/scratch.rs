//! The files of one run: every channel a figure creates lives under /dev/shm in files named
//! after this process, removed when the run ends.

use std::path::{Path, PathBuf};

/// Files of this run: `/dev/shm/mmap_sync_bench_<pid>_<name>...`, all removed on drop.
pub struct Scratch {
    dir: PathBuf,
    stem: String,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: PathBuf::from("/dev/shm"),
            stem: format!("mmap_sync_bench_{}_", std::process::id()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}{name}", self.stem))
    }

    /// Removes the files of the channel at `prefix` (a path made by [`path`](Self::path)), to
    /// give their memory back before the next figure.
    pub fn remove_prefixed(&self, prefix: &Path) {
        let Some(name) = prefix.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return;
        };
        self.remove_where(|file| file.starts_with(&name));
    }

    fn remove_where(&self, keep_out: impl Fn(&str) -> bool) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&self.stem) && keep_out(&file) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove_where(|_| true);
    }
}
