#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/big", max_size = 16)]
struct Big {
    block: [u64; 64],
}

fn main() {}
