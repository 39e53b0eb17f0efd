#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/ring")]
struct Ring<const N: usize> {
    slots: [u64; N],
}

fn main() {}
