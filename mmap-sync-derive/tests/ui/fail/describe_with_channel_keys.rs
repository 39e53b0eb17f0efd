// `#[derive(Describe)]` describes a type that is nested in a channel; keys that configure a
// channel are refused at the key, every one of them.
#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe)]
#[shared_state(path = "/dev/shm/part", copies = 3, crate = ::mmap_sync)]
pub struct Part {
    pub weight: u32,
}

fn main() {}
