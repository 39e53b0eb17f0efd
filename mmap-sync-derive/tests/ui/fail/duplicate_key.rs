#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/twice", copies = 3)]
#[shared_state(copies = 4)]
struct Twice {
    version: u32,
}

fn main() {}
