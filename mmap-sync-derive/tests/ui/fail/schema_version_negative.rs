#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/negative", schema_version = -1)]
struct Negative {
    version: u32,
}

fn main() {}
