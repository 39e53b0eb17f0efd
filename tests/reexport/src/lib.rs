//! A channel type in a crate that depends on `mmap-sync` and not on rkyv: rkyv's derives reach
//! rkyv through the runtime's re-export, told so by `#[rkyv(crate = mmap_sync::rkyv)]`. That
//! this crate builds is the proof the documented path works; `tests/ui.rs` shows the error a
//! type that forgets the attribute gets.

use mmap_sync::SharedState;

/// A small value, archived through `mmap_sync::rkyv`.
#[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, SharedState, Debug)]
#[rkyv(crate = mmap_sync::rkyv)]
#[shared_state(path = "/dev/shm/mmap_sync_reexport_greeting")]
pub struct Greeting {
    /// A number.
    pub version: u32,
    /// Some text.
    pub words: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_archived_through_the_reexport_is_published_and_read() {
        let dir = std::env::temp_dir().join(format!("mmap-sync-reexport-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("greeting");
        let mut writer = mmap_sync::Writer::<Greeting>::open(&path).unwrap();
        writer.write(&Greeting { version: 7, words: vec!["hello".into()] }).unwrap();
        let reader = mmap_sync::Reader::<Greeting>::open(&path).unwrap();
        {
            let guard = reader.read().unwrap();
            assert_eq!((guard.version.to_native(), guard.words[0].as_str()), (7, "hello"));
        }
        drop((reader, writer));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
