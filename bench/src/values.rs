//! Every bench value is defined twice, with the same shape: once archived by rkyv 0.8 for this
//! repository's crate, once by rkyv 0.7 for upstream mmap-sync 2.0.4; the values of the iceoryx2
//! figures once more as the fixed-size `repr(C)` types iceoryx2 sends; and the sizes and
//! settings the figures share.

use std::time::Duration;

/// Entries of the string-heavy value (about 10 MB archived).
pub const STRING_ENTRIES: usize = 100_000;
/// u64s of the large value: 64 MiB.
pub const BIG_LEN: usize = 64 << 17;
/// u64s of the 1 MiB value of the iceoryx2 figures.
pub const MIB_LEN: usize = 1 << 17;
/// Upstream's wait for readers before it resets their count (its sleep step is fixed at 1 s).
pub const UPSTREAM_GRACE: Duration = Duration::from_millis(100);

/// Constructors that build the same content on both sides.
macro_rules! constructors {
    () => {
        /// Upstream's example value.
        pub fn hello() -> HelloWorld {
            HelloWorld {
                version: 7,
                messages: vec!["Hello".to_owned(), "World".to_owned(), "!".to_owned()],
            }
        }

        /// About 100 archived bytes per entry: a name, three tags and eight scores.
        pub fn strings(entries: usize) -> Strings {
            let entries = (0..entries)
                .map(|i| Entry {
                    name: format!("entry-{i:08}-of-the-string-heavy-value"),
                    tags: (0..3).map(|t| format!("tag{}", (i + t) % 97)).collect(),
                    scores: (0..8).map(|s| (i * 8 + s) as u32).collect(),
                })
                .collect();
            Strings { version: 1, entries }
        }

        /// `len` u64s: 8 * `len` bytes.
        pub fn big(len: usize) -> Big {
            Big { version: 1, values: (0..len as u64).collect() }
        }
    };
}

pub mod ours {
    use ::ours::SharedState;
    use ::ours::rkyv;

    constructors!();

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[rkyv(crate = ::ours::rkyv)]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<String>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[rkyv(crate = ::ours::rkyv)]
    pub struct Entry {
        pub name: String,
        pub tags: Vec<String>,
        pub scores: Vec<u32>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[rkyv(crate = ::ours::rkyv)]
    pub struct Strings {
        pub version: u32,
        pub entries: Vec<Entry>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[rkyv(crate = ::ours::rkyv)]
    pub struct Big {
        pub version: u32,
        pub values: Vec<u64>,
    }

    /// A 40-byte value: archived, five little-endian u64s.
    #[derive(rkyv::Archive, rkyv::Serialize, Clone, Copy)]
    #[rkyv(crate = ::ours::rkyv)]
    pub struct Small {
        pub version: u64,
        pub values: [u64; 4],
    }

    pub fn small() -> Small {
        Small { version: 1, values: [2, 3, 5, 7] }
    }

    // Hand-written impls: the fingerprints only need to differ between the types.
    impl SharedState for HelloWorld {
        const PATH: &'static str = "/dev/shm/mmap_sync_bench_hello";
        const TYPE_NAME: &'static str = "HelloWorld";
        const FINGERPRINT: u64 = 0x6865_6c6c_6f00_0001;
    }

    impl SharedState for Strings {
        const PATH: &'static str = "/dev/shm/mmap_sync_bench_strings";
        const TYPE_NAME: &'static str = "Strings";
        const FINGERPRINT: u64 = 0x7374_7269_6e67_0001;
    }

    impl SharedState for Big {
        const PATH: &'static str = "/dev/shm/mmap_sync_bench_big";
        const TYPE_NAME: &'static str = "Big";
        const FINGERPRINT: u64 = 0x6269_6700_0000_0001;
    }

    impl SharedState for Small {
        const PATH: &'static str = "/dev/shm/mmap_sync_bench_small";
        const TYPE_NAME: &'static str = "Small";
        const FINGERPRINT: u64 = 0x736d_616c_6c00_0001;
    }
}

/// The iceoryx2 side: fixed-size `repr(C)` values (iceoryx2 sends types whose bytes are the
/// value; a blackboard entry is `Copy`). A `Vec` of strings has no such form, so HelloWorld's
/// three messages are fixed arrays; the 1 MiB value is a slice of u64 whose first element is
/// the version.
pub mod iceoryx {
    use iceoryx2::prelude::ZeroCopySend;

    /// The 40-byte value: five u64s, as ours archives it.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, ZeroCopySend)]
    #[type_name("mmap_sync_bench::Small")]
    pub struct Small {
        pub version: u64,
        pub values: [u64; 4],
    }

    pub fn small() -> Small {
        Small { version: 1, values: [2, 3, 5, 7] }
    }

    /// A message of at most 12 bytes.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, ZeroCopySend)]
    #[type_name("mmap_sync_bench::Message")]
    pub struct Message {
        pub len: u32,
        pub bytes: [u8; 12],
    }

    /// HelloWorld with its three messages in place: 52 bytes.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, ZeroCopySend)]
    #[type_name("mmap_sync_bench::HelloWorld")]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: [Message; 3],
    }

    /// Upstream's example value, as [`super::ours::hello`] builds it.
    pub fn hello() -> HelloWorld {
        let message = |text: &str| {
            let mut bytes = [0; 12];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Message { len: text.len() as u32, bytes }
        };
        HelloWorld { version: 7, messages: [message("Hello"), message("World"), message("!")] }
    }
}

// rkyv 0.7's derive predates edition 2024 and calls unsafe functions inside `unsafe fn`s.
#[allow(unsafe_op_in_unsafe_fn)]
pub mod upstream {
    use rkyv07 as rkyv;

    constructors!();

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[archive(crate = "rkyv07", check_bytes)]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<String>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[archive(crate = "rkyv07", check_bytes)]
    pub struct Entry {
        pub name: String,
        pub tags: Vec<String>,
        pub scores: Vec<u32>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[archive(crate = "rkyv07", check_bytes)]
    pub struct Strings {
        pub version: u32,
        pub entries: Vec<Entry>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize)]
    #[archive(crate = "rkyv07", check_bytes)]
    pub struct Big {
        pub version: u32,
        pub values: Vec<u64>,
    }
}
