// Derived through the re-export in a crate without rkyv, without `#[rkyv(crate = ..)]`: the
// derive names the fix before rkyv's own errors.
use mmap_sync::SharedState;

#[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/forgotten")]
pub struct Forgotten {
    pub version: u32,
}

fn main() {}
