// `crate = ..` routes every generated path through another path to the runtime, as a crate
// that re-exports mmap-sync would need.
mod ipc {
    pub use ::mmap_sync as runtime;
}

#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/renamed", crate = crate::ipc::runtime)]
pub struct Renamed {
    pub value: u64,
    pub inner: Inner,
}

// `Describe` takes the same `crate` key, and only that one.
#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe)]
#[shared_state(crate = crate::ipc::runtime)]
pub struct Inner {
    pub value: u32,
}

fn main() {
    let _: fn() -> mmap_sync::Result<mmap_sync::Writer<Renamed>> = Renamed::writer;
    let shape = <Renamed as mmap_sync::SharedState>::SHAPE.unwrap();
    let structure = mmap_sync::schema::Structure::of(&shape);
    assert!(structure.to_string().contains("Inner (struct"), "{structure}");
}
