// `Instant` cannot be archived: rkyv's derives list trait impls, ours says what to do (line 5).
#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/timing")]
struct Timing {
    started: std::time::Instant,
}

fn main() {}
