// Every key, spread over two attributes, with both spellings of `max_size` and of `crate`.
use std::collections::HashMap;

use mmap_sync::SharedState;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/features", copies = 3, readers = 512)]
#[shared_state(max_size = "64 MiB", env = "FEATURES_PATH", schema_version = 7, crate = ::mmap_sync)]
pub struct FeatureTable {
    pub generation: u64,
    pub features: HashMap<u64, Vec<f32>>,
}

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/small", max_size = 4096, crate = "mmap_sync")]
pub struct Small(u64);

const _: () = {
    assert!(FeatureTable::DATA_PATHS.len() == 3);
    assert!(<FeatureTable as SharedState>::COPIES == 3);
    assert!(<FeatureTable as SharedState>::READER_SLOTS == 512);
    assert!(<FeatureTable as SharedState>::MAX_SIZE == 64 << 20);
    assert!(<FeatureTable as SharedState>::PATH_ENV.is_some());
    assert!(<Small as SharedState>::MAX_SIZE == 4096);
};

fn main() {}
