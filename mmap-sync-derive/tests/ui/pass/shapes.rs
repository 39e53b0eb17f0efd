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

// Discriminants given by constants are evaluated by the compiler, as rkyv's tag.
const TWO: u8 = 2;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/level")]
#[repr(u8)]
enum Level {
    Low = TWO,
    High,
    Custom(u32) = TWO * 4,
}

// Raw identifiers as type, field and variant names.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/raw")]
#[allow(non_camel_case_types)]
struct r#type {
    r#match: u8,
    r#enum: r#Kind,
}

#[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe)]
enum r#Kind {
    r#Move(u8),
}

// Distinct definitions get distinct fingerprints.
const _: () = {
    assert!(Pair::FINGERPRINT != Heartbeat::FINGERPRINT);
    assert!(Route::FINGERPRINT != Clock::FINGERPRINT);
    assert!(Heartbeat::DATA_PATHS.len() == 16);
};

fn main() {
    let _ = (Level::Low, Level::High, Level::Custom(0), r#type { r#match: 0, r#enum: r#Kind::r#Move(0) });
    let level = mmap_sync::schema::Structure::of(&Level::SHAPE);
    let mmap_sync::schema::Body::Enum(variants) = &level.types[0].body else { panic!("an enum") };
    let tags: Vec<u8> = variants.iter().map(|variant| variant.tag).collect();
    assert_eq!(tags, [2, 3, 8]);
    assert_eq!(<r#type as SharedState>::TYPE_NAME, "type");
}
