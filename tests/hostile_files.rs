//! Files damaged in any way — arbitrary bytes at any offset, arbitrary lengths, fields set to
//! edge values, data rewritten with a matching checksum — give an error or a value that passed
//! validation; never a panic, a hang or a SIGBUS. Each batch of damaged channels is opened, read,
//! written and read again in one child process, so a crash fails the test and names the case.
//!
//! CI runs 48 batches of up to 24 channels; `MMAP_SYNC_HOSTILE_BATCHES=500 cargo test -p
//! mmap-sync-tests --test hostile_files` runs more (proptest prints a minimal failing batch).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mmap_sync::format::{CopyDescriptor, StateHeader};
use std::sync::atomic::{AtomicU64, Ordering};

use mmap_sync::Writer;
use mmap_sync_tests::{Note, Probe, Stamp, TempDir, env_count};
use proptest::prelude::*;
use proptest::test_runner::Config;

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
const BATCH: usize = 24;
const LONG: Duration = Duration::from_secs(60);

/// Outcomes over the whole run: cases, reads that gave a value, writers that published.
static CASES: AtomicU64 = AtomicU64::new(0);
static READ_OK: AtomicU64 = AtomicU64::new(0);
static WROTE: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, Debug)]
enum Target {
    State,
    Readers,
    Data(usize),
}

impl Target {
    fn path(self, prefix: &Path) -> PathBuf {
        let suffix = match self {
            Target::State => String::from("_state"),
            Target::Readers => String::from("_readers"),
            Target::Data(copy) => format!("_data_{copy}"),
        };
        let mut name = prefix.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Arbitrary bytes at an offset (extending the file when past its end).
    Bytes { target: Target, offset: u64, bytes: Vec<u8> },
    /// One field of the format set to an edge value: `(offset, width)` from the layout.
    Field { target: Target, offset: u64, width: usize, value: u64 },
    /// A word near the end of a copy's value, where rkyv puts the root and its relative pointers.
    RootWord { copy: usize, back: u64, value: u32 },
    /// The file cut or extended to an arbitrary length.
    SetLen { target: Target, len: u64 },
    /// The whole file replaced by arbitrary bytes.
    Replace { target: Target, bytes: Vec<u8> },
    /// The copy's descriptor checksum recomputed over its current bytes, so that archive
    /// validation rather than the checksum has to catch the damage.
    FixChecksum { copy: usize },
}

fn descriptor(copy: usize) -> u64 {
    (size_of::<StateHeader>() + copy * size_of::<CopyDescriptor>()) as u64
}

/// `(offset, width)` of every field of the state and readers files (see layout.rs).
fn fields(target: Target) -> Vec<(u64, usize)> {
    match target {
        Target::State => {
            let mut f = vec![
                (0, 8),
                (8, 4),
                (12, 4),
                (16, 8),
                (24, 4),
                (28, 4),
                (32, 8),
                (40, 4),
                (64, 8),
                (192, 8),
                (256, 4),
            ];
            for copy in 0..2 {
                f.extend([0, 8, 16, 24].map(|o| (descriptor(copy) + o, 8)));
            }
            f
        }
        Target::Readers => {
            let mut f = vec![(0, 8), (8, 4), (12, 4), (16, 4), (64, 4), (68, 4)];
            f.extend((0..4).map(|slot| (128 + 128 * slot, 8)));
            f
        }
        Target::Data(_) => vec![(0, 8), (8, 8)],
    }
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::State), Just(Target::Readers), (0..2usize).prop_map(Target::Data)]
}

fn edge_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX >> 8),
        Just(1 << 63),
        Just(u32::MAX as u64),
        0..70_000u64,
        // An `active` word: generation << 8 | copy.
        (0..5u64, 0..20u64).prop_map(|(g, c)| g << 8 | c),
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (target(), prop_oneof![0..512u64, 0..20_000u64], prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(target, offset, bytes)| Mutation::Bytes { target, offset, bytes }),
        4 => (target(), any::<prop::sample::Index>(), edge_value()).prop_map(|(target, i, value)| {
            let (offset, width) = *i.get(&fields(target));
            Mutation::Field { target, offset, width, value }
        }),
        3 => (0..2usize, 1..64u64, prop_oneof![any::<u32>(), 0..256u32, Just(u32::MAX - 7)])
            .prop_map(|(copy, back, value)| Mutation::RootWord { copy, back, value }),
        2 => (target(), prop_oneof![0..600u64, 0..40_000u64])
            .prop_map(|(target, len)| Mutation::SetLen { target, len }),
        1 => (target(), prop::collection::vec(any::<u8>(), 0..1024))
            .prop_map(|(target, bytes)| Mutation::Replace { target, bytes }),
        2 => (0..2usize).prop_map(|copy| Mutation::FixChecksum { copy }),
    ]
}

fn read_u64(path: &Path, offset: u64) -> Option<u64> {
    let mut word = [0u8; 8];
    let file = std::fs::File::open(path).ok()?;
    file.read_exact_at(&mut word, offset).ok()?;
    Some(u64::from_le_bytes(word))
}

fn apply(prefix: &Path, mutation: &Mutation) {
    let open = |target: Target| OpenOptions::new().write(true).open(target.path(prefix)).unwrap();
    match mutation {
        Mutation::Bytes { target, offset, bytes } => {
            open(*target).write_all_at(bytes, *offset).unwrap();
        }
        Mutation::Field { target, offset, width, value } => {
            open(*target).write_all_at(&value.to_le_bytes()[..*width], *offset).unwrap();
        }
        Mutation::RootWord { copy, back, value } => {
            let state = Target::State.path(prefix);
            if let Some(len) = read_u64(&state, descriptor(*copy) + 8)
                && let Some(offset) = len.checked_sub(*back)
                && offset < 1 << 20
            {
                open(Target::Data(*copy)).write_all_at(&value.to_le_bytes(), offset).unwrap();
            }
        }
        Mutation::SetLen { target, len } => open(*target).set_len(*len).unwrap(),
        Mutation::Replace { target, bytes } => std::fs::write(target.path(prefix), bytes).unwrap(),
        Mutation::FixChecksum { copy } => {
            let state = Target::State.path(prefix);
            let data = std::fs::read(Target::Data(*copy).path(prefix)).unwrap();
            if let Some(len) = read_u64(&state, descriptor(*copy) + 8)
                && let Some(bytes) = data.get(..len as usize)
            {
                let checksum = xxhash_rust::xxh3::xxh3_64(bytes);
                OpenOptions::new()
                    .write(true)
                    .open(&state)
                    .unwrap()
                    .write_all_at(&checksum.to_le_bytes(), descriptor(*copy) + 16)
                    .ok();
            }
        }
    }
}

/// A channel with both copies published (generation 1 in copy 0, 2 in copy 1), writer gone.
fn template(dir: &Path) -> PathBuf {
    let prefix = dir.join("template");
    let mut writer = Writer::<Note>::open(&prefix).unwrap();
    for version in 1..=2 {
        let messages = (0..version * 5).map(|i| "m".repeat(i as usize * 7)).collect();
        writer.write(&Note { version, messages }).unwrap();
    }
    prefix
}

/// Runs the child over `cases` damaged channels and checks what it says about each.
fn run_batch(cases: &[Vec<Mutation>]) -> Result<(), TestCaseError> {
    let dir = TempDir::new("hostile");
    let template = template(dir.path());
    for (i, mutations) in cases.iter().enumerate() {
        let case_dir = dir.path().join(format!("case{i}"));
        std::fs::create_dir(&case_dir).unwrap();
        let prefix = case_dir.join("note");
        for target in [Target::State, Target::Readers, Target::Data(0), Target::Data(1)] {
            std::fs::copy(target.path(&template), target.path(&prefix)).unwrap();
        }
        for mutation in mutations {
            apply(&prefix, mutation);
        }
    }
    let mut child = Probe::spawn(
        CHAOS,
        &["hostile-batch", dir.path().to_str().unwrap(), &cases.len().to_string()],
    );
    for (i, case) in cases.iter().enumerate() {
        let read = child.expect_line(&format!("case {i} read:"), LONG);
        prop_assert!(read.contains(": ok generation") || read.contains(": err "), "{read}");
        CASES.fetch_add(1, Ordering::Relaxed);
        if read.contains(": ok generation") {
            READ_OK.fetch_add(1, Ordering::Relaxed);
        }
        let write = child.expect_line(&format!("case {i} w"), LONG);
        if let Some(generation) = write.strip_prefix(&format!("case {i} wrote ")) {
            WROTE.fetch_add(1, Ordering::Relaxed);
            // A writer that accepted the damaged files must have published a value readers get.
            let reread = child.expect_line(&format!("case {i} reread:"), LONG);
            prop_assert_eq!(
                reread,
                format!("case {i} reread: ok generation {generation} version 4242 bytes 15"),
                "case {} {:?}",
                i,
                case
            );
        }
    }
    child.expect_line("done", LONG);
    child.wait_success(LONG);
    Ok(())
}

#[test]
fn damaged_files_give_an_error_or_a_validated_value_never_a_crash_or_hang() {
    let batches = env_count("MMAP_SYNC_HOSTILE_BATCHES", 48) as u32;
    let config = Config { cases: batches, failure_persistence: None, ..Config::default() };
    let cases = prop::collection::vec(prop::collection::vec(mutation(), 1..5), 1..=BATCH);
    proptest::test_runner::TestRunner::new(config)
        .run(&cases, |cases| run_batch(&cases))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "hostile_files: {} damaged channels: {} read as a valid value, {} accepted by a writer \
         that then published a readable value; the rest refused with an error",
        CASES.load(Ordering::Relaxed),
        READ_OK.load(Ordering::Relaxed),
        WROTE.load(Ordering::Relaxed)
    );
}

#[test]
fn a_writer_at_the_last_generation_refuses_to_publish_instead_of_wrapping_to_nothing() {
    let dir = TempDir::new("last-generation");
    let prefix = template(dir.path());
    // The state file says the newest generation is the largest `active` can hold.
    let last = u64::MAX >> 8;
    let state = Target::State.path(&prefix);
    let file = OpenOptions::new().write(true).open(&state).unwrap();
    let active = std::mem::offset_of!(StateHeader, active) as u64;
    file.write_all_at(&mmap_sync::protocol::pack(last, 1).to_le_bytes(), active).unwrap();
    file.write_all_at(&last.to_le_bytes(), descriptor(1)).unwrap();

    let mut writer = Writer::<Note>::open(&prefix).unwrap();
    assert_eq!(writer.generation(), last);
    let err = writer.write(&Note { version: 3, messages: vec![] }).unwrap_err();
    assert!(matches!(err, mmap_sync::Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("_state"), "{err}");
    // Nothing was published: the channel still says `last`, not "nothing published".
    assert_eq!(writer.generation(), last);
    let reader = mmap_sync::Reader::<Note>::open(&prefix).unwrap();
    assert_eq!(reader.read().unwrap().generation(), last);
}

fn truncate(path: &Path) {
    OpenOptions::new().write(true).open(path).unwrap().set_len(0).unwrap();
}

/// A data file cut short under a reader that already validated the generation it holds: the
/// fault guard turns the SIGBUS of touching the missing pages into zero pages, and the reader's
/// next read reports the truncation.
#[test]
fn a_reader_whose_data_file_is_truncated_survives_and_reports_it() {
    let dir = TempDir::new("truncated-open");
    let prefix = dir.channel("stamp");
    let mut writer = Writer::<Stamp>::open(&prefix).unwrap();
    writer.write(&Stamp::new(1, 4096)).unwrap();
    let mut reader = Probe::spawn(CHAOS, &["read-after-truncation", prefix.to_str().unwrap()]);
    reader.expect_line("truncate now", LONG);
    truncate(&writer.paths().data(0));
    let first = reader.expect_line("first", LONG);
    // The first read is served from the cached verdict; the bytes it then touches are gone.
    assert!(first.contains("intact false") || first.starts_with("first err"), "{first}");
    let second = reader.expect_line("second", LONG);
    assert!(second.starts_with("second err Corrupt") && second.contains("_data_0"), "{second}");
    assert!(second.contains("truncated"), "{second}");
    reader.wait_success(LONG);
}

/// Data files cut short under a live writer (by its own user or root): the writer survives, the
/// write that found its copy gone fails with `Corrupt` (nothing published), the next one
/// re-allocates the file and publishes, and readers read it intact.
#[test]
fn a_writer_whose_data_files_are_truncated_under_it_survives_and_recovers() {
    let dir = TempDir::new("truncated-writer");
    let prefix = dir.channel("stamp");
    let mut writer =
        Probe::spawn(CHAOS, &["write-stamp-after-truncation", prefix.to_str().unwrap()]);
    writer.expect_line("truncate now", LONG);
    let paths = mmap_sync::ChannelPaths::new(&prefix);
    truncate(&paths.data(0));
    truncate(&paths.data(1));
    let first = writer.expect_line("", LONG);
    let second = writer.expect_line("", LONG);
    writer.wait_success(LONG);
    assert!(first.starts_with("err") && first.contains("truncated while being written"), "{first}");
    assert_eq!(second, "published 3");
    let reader = mmap_sync::Reader::<Stamp>::open(&prefix).unwrap();
    let guard = reader.read().unwrap();
    assert!(
        guard.is_intact(3),
        "generation {} holds {:?}",
        guard.generation(),
        (guard.generation, guard.words.len())
    );
    let mut next = Writer::<Stamp>::open(&prefix).unwrap();
    assert_eq!(next.generation(), 3);
    assert_eq!(next.write(&Stamp::new(4, 4096)).unwrap().generation, 4);
}
