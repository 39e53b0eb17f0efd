// All problems of one input are reported in one build, each at its own token.
#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "relative/", copys = 3, readers = 0)]
#[shared_state(readers = 4, max_size = "lots", env = "")]
struct Broken<T> {
    value: T,
}

fn main() {}
