//! The values the tests publish. Each derives `SharedState`, as a user's type would, so the
//! fingerprints, type names and schema descriptions in the channels are the derive's own.
//! Tests open channels at explicit paths; each type's `env` variable only matters to code that
//! uses the derived `writer()` and `reader()`.

use mmap_sync::SharedState;

use crate::rng::Rng;

/// A self-checking value: every word equals the generation it was published as, so a reader
/// can tell a torn or overwritten copy from a good one.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/mmap_sync_test_stamp", env = "MMAP_SYNC_TEST_STAMP_PATH")]
pub struct Stamp {
    /// The generation the value is published as.
    pub generation: u64,
    /// `generation`, repeated.
    pub words: Vec<u64>,
}

impl Stamp {
    /// A stamp for `generation` with `len` words.
    pub fn new(generation: u64, len: usize) -> Self {
        Stamp { generation, words: vec![generation; len] }
    }
}

impl ArchivedStamp {
    /// Whether the stamp says `expected` and every word agrees.
    pub fn is_intact(&self, expected: u64) -> bool {
        self.generation == expected && self.words.iter().all(|w| *w == expected)
    }
}

/// A small value shaped like upstream's `HelloWorld`.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/mmap_sync_test_note", env = "MMAP_SYNC_TEST_NOTE_PATH")]
pub struct Note {
    /// A number the test chooses, to tell values apart.
    pub version: u32,
    /// Any text.
    pub messages: Vec<String>,
}

/// Another type, whose readers and writers a `Note` channel must refuse.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/mmap_sync_test_other", env = "MMAP_SYNC_TEST_OTHER_PATH")]
pub struct Other {
    /// Anything.
    pub id: u64,
}

/// The number of words of the stamp published as `generation` on a chaos channel with `seed`:
/// mostly small, sometimes hundreds of KiB, so that writes take long enough to be interrupted
/// and data files must grow. Writer and checker derive it independently, so a reader can tell
/// a value of the right length from a stale or half-written one.
pub fn chaos_len(seed: u64, generation: u64) -> usize {
    let mut rng = Rng::new(seed ^ generation.wrapping_mul(0x1000_0000_01b3));
    match rng.below(10) {
        0..=4 => rng.below(64) as usize,
        5..=7 => rng.below(16 << 10) as usize,
        _ => (16 << 10) + rng.below(112 << 10) as usize,
    }
}
