#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/table")]
struct Table<T> {
    rows: Vec<T>,
}

fn main() {}
