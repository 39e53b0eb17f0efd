// Tuple structs, unit structs, enums with data and discriminants, nested derived types,
// containers and a `with` wrapper are all accepted.
use std::time::SystemTime;

use mmap_sync::SharedState;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/pair")]
struct Pair(u32, [u8; 16]);

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/heartbeat", copies = 16)]
struct Heartbeat;

#[derive(rkyv::Archive, rkyv::Serialize)]
struct Upstream {
    host: String,
    port: u16,
}

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/route")]
#[repr(u8)]
enum Route {
    Drop = 0,
    Forward { upstream: Upstream, weights: Option<Box<[(u32, Upstream)]>> } = 1,
    Mirror(Vec<Upstream>, u16) = 2,
}

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/clock")]
struct Clock {
    #[rkyv(with = rkyv::with::AsUnixTime)]
    now: SystemTime,
    ticks: Vec<u64>,
}

// Distinct definitions get distinct fingerprints.
const _: () = {
    assert!(Pair::FINGERPRINT != Heartbeat::FINGERPRINT);
    assert!(Route::FINGERPRINT != Clock::FINGERPRINT);
    assert!(Heartbeat::DATA_PATHS.len() == 16);
};

fn main() {}
