#[derive(mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/bits")]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
