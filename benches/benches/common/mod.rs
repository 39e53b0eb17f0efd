//! What the benches share: upstream's example value, and the scratch files of a bench process.

use std::path::PathBuf;

use mmap_sync::SharedState;

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(crate) struct HelloWorld {
    pub(crate) version: u32,
    pub(crate) messages: Vec<String>,
}

// Hand-written: the benches must not depend on the derive crate.
impl SharedState for HelloWorld {
    const PATH: &'static str = "/dev/shm/mmap_sync_bench_hello";
    const TYPE_NAME: &'static str = "HelloWorld";
    const FINGERPRINT: u64 = 0x6865_6c6c_6f00_0001;
}

pub(crate) fn hello() -> HelloWorld {
    HelloWorld {
        version: 7,
        messages: vec!["Hello".to_owned(), "World".to_owned(), "!".to_owned()],
    }
}

/// Channel files of this bench process under /dev/shm, named `{prefix}{pid}_{name}...`, removed
/// on drop.
pub(crate) struct Scratch {
    stem: String,
}

impl Scratch {
    pub(crate) fn new(prefix: &str) -> Self {
        Scratch { stem: format!("{prefix}{}_", std::process::id()) }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        PathBuf::from("/dev/shm").join(format!("{}{name}", self.stem))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir("/dev/shm") else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&self.stem) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
