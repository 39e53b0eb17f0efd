#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/")]
struct Directory {
    version: u32,
}

fn main() {}
