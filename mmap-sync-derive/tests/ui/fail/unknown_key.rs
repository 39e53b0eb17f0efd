#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/colour", colour = "blue")]
struct Colour {
    version: u32,
}

fn main() {}
