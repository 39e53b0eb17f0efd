#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/krate", crate = "mmap sync")]
struct Krate {
    version: u32,
}

fn main() {}
