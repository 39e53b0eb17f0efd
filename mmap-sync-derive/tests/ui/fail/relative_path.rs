#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "shm/relative")]
struct Relative {
    version: u32,
}

fn main() {}
