#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/typo", copys = 3)]
struct Typo {
    version: u32,
}

fn main() {}
