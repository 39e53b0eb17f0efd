#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state = "/dev/shm/name_value"]
struct NameValue {
    version: u32,
}

fn main() {}
