#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "")]
struct Empty {
    version: u32,
}

fn main() {}
