#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/env", env = "PATH=/tmp")]
struct Env {
    version: u32,
}

fn main() {}
