#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/a\0b")]
struct Nul {
    version: u32,
}

fn main() {}
