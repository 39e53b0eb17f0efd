#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/quoted", copies = "3")]
struct Quoted {
    version: u32,
}

fn main() {}
