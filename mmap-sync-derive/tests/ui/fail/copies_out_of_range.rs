#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/many", copies = 17)]
struct Many {
    version: u32,
}

fn main() {}
