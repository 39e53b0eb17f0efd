#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/lonely", readers = 0)]
struct Lonely {
    version: u32,
}

fn main() {}
