#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/sized", max_size = "64 mib")]
struct Sizes {
    version: u32,
}

fn main() {}
