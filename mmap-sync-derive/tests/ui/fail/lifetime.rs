use std::marker::PhantomData;

#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/borrowed")]
struct Borrowed<'a> {
    marker: PhantomData<&'a ()>,
}

fn main() {}
