#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(copies = 3)]
struct HelloWorld {
    version: u32,
}

fn main() {}
