// The upstream example type: every generated constant has the documented value and the
// generated constructors have the documented types.
use mmap_sync::{Reader, SharedState, Writer};

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, SharedState)]
#[shared_state(path = "/dev/shm/hello_world")]
pub struct HelloWorld {
    pub version: u32,
    pub messages: Vec<String>,
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = {
    assert!(same(HelloWorld::PATH, "/dev/shm/hello_world"));
    assert!(same(HelloWorld::STATE_PATH, "/dev/shm/hello_world_state"));
    assert!(same(HelloWorld::READERS_PATH, "/dev/shm/hello_world_readers"));
    assert!(HelloWorld::DATA_PATHS.len() == 2);
    assert!(same(HelloWorld::DATA_PATHS[1], "/dev/shm/hello_world_data_1"));
    assert!(<HelloWorld as SharedState>::COPIES == 2);
    assert!(<HelloWorld as SharedState>::FINGERPRINT == HelloWorld::FINGERPRINT);
    assert!(same(<HelloWorld as SharedState>::TYPE_NAME, "HelloWorld"));
    assert!(<HelloWorld as SharedState>::PATH_ENV.is_none());
};

fn main() {
    let _: fn() -> mmap_sync::Result<Writer<HelloWorld>> = HelloWorld::writer;
    let _: fn() -> mmap_sync::Result<Reader<HelloWorld>> = HelloWorld::reader;
}
