// Values the derive accepts but the runtime does not (a runtime with narrower limits, as the
// derive of another version would meet) are refused at compile time, at the value: the
// runtime's constants, not the derive's copy of them, decide.
mod narrow {
    pub mod __private {
        pub use ::mmap_sync::__private::*;
        pub const MAX_COPIES: usize = 8;
        pub const MAX_READER_SLOTS: usize = 64;
    }
}

#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/narrow", copies = 12, readers = 100, crate = crate::narrow)]
struct Narrow {
    value: u32,
}

fn main() {}
