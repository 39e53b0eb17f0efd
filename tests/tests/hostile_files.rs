//! Files damaged in any way — arbitrary bytes at any offset, arbitrary lengths, fields set to
//! edge values, data rewritten with a matching checksum — give an error or a value that passed
//! validation; never a panic, a hang or a SIGBUS. Each batch of damaged channels is opened, read,
//! written and read again in one child process, so a crash fails the test and names the case.
//!
//! CI runs 48 batches of up to 24 channels; `MMAP_SYNC_HOSTILE_BATCHES=500 cargo test -p
//! mmap-sync-tests --test hostile_files` runs more (proptest prints a minimal failing batch).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mmap_sync::format::{
    CopyDescriptor, ReaderSlot, ReadersHeader, StateHeader, slot_offset, waiter_offset,
};
use mmap_sync::{ChannelPaths, SharedState, Writer};
use mmap_sync_tests::args;
use mmap_sync_tests::channel::{ChannelDir, ChannelFiles};
use mmap_sync_tests::files::{self, Span, descriptor_offset};
use mmap_sync_tests::process::Probe;
use mmap_sync_tests::report::Line;
use mmap_sync_tests::scale::env_count;
use mmap_sync_tests::span;
use mmap_sync_tests::types::{Note, Stamp};
use proptest::prelude::*;
use proptest::test_runner::Config;

const CHAOS: &str = env!("CARGO_BIN_EXE_chaos");
const BATCH: usize = 24;
const LONG: Duration = Duration::from_secs(60);
/// Copies of the template channel (a `Note` channel with the default copy count).
const COPIES: usize = Note::COPIES;

/// Outcomes over the whole run, damaged channels only: cases, reads that gave a value,
/// writers that published.
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
    fn path(self, paths: &ChannelPaths) -> PathBuf {
        match self {
            Target::State => paths.state.clone(),
            Target::Readers => paths.readers.clone(),
            Target::Data(copy) => paths.data(copy),
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Arbitrary bytes at an offset (extending the file when past its end).
    Bytes { target: Target, offset: usize, bytes: Vec<u8> },
    /// One field of the format set to an edge value (its first 8 bytes, for wider fields).
    Field { target: Target, span: Span, value: u64 },
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

/// Every field of the state and readers files, from the format's own structs; for a data
/// file, the first words of the value.
fn fields(target: Target) -> Vec<Span> {
    match target {
        Target::State => {
            let type_name = span!(StateHeader, type_name);
            let mut f = vec![
                span!(StateHeader, magic),
                span!(StateHeader, format_version),
                span!(StateHeader, header_size),
                span!(StateHeader, fingerprint),
                span!(StateHeader, copies),
                span!(StateHeader, reader_slots),
                span!(StateHeader, max_size),
                span!(StateHeader, type_name_len),
                span!(StateHeader, flags),
                span!(StateHeader, layout_fingerprint),
                span!(StateHeader, schema_len),
                Span { width: 8, ..type_name },
                span!(StateHeader, active),
                span!(StateHeader, publish_futex),
                span!(StateHeader, superseded),
                span!(StateHeader, writer_pid),
                span!(StateHeader, writer_started_at),
                span!(StateHeader, created_at),
                span!(StateHeader, readers_dev),
                span!(StateHeader, readers_ino),
            ];
            for copy in 0..COPIES {
                let base = descriptor_offset(copy, 0);
                f.extend(
                    [
                        span!(CopyDescriptor, generation),
                        span!(CopyDescriptor, length),
                        span!(CopyDescriptor, checksum),
                        span!(CopyDescriptor, fingerprint),
                        span!(CopyDescriptor, published_at),
                        span!(CopyDescriptor, data_dev),
                        span!(CopyDescriptor, data_ino),
                    ]
                    .map(|field| field.at(base)),
                );
            }
            f
        }
        Target::Readers => {
            let mut f = vec![
                span!(ReadersHeader, magic),
                span!(ReadersHeader, format_version),
                span!(ReadersHeader, slot_count),
                span!(ReadersHeader, slot_size),
                span!(ReadersHeader, waiter_words),
                span!(ReadersHeader, slot_high_water),
                // The first word of the waiter bitmap, right after the header.
                Span { offset: waiter_offset(0), width: 8 },
            ];
            for slot in 0..4 {
                let base = slot_offset(Note::READER_SLOTS, slot);
                f.extend(
                    [
                        span!(ReaderSlot, pin),
                        span!(ReaderSlot, pid),
                        span!(ReaderSlot, tid),
                        span!(ReaderSlot, claimed_at),
                    ]
                    .map(|field| field.at(base)),
                );
            }
            f
        }
        Target::Data(_) => vec![Span { offset: 0, width: 8 }, Span { offset: 8, width: 8 }],
    }
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::State), Just(Target::Readers), (0..COPIES).prop_map(Target::Data)]
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
        (0..5u64, 0..20u64).prop_map(|(g, c)| mmap_sync::protocol::pack(g, c as usize)),
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (target(), prop_oneof![0..512usize, 0..20_000usize], prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(target, offset, bytes)| Mutation::Bytes { target, offset, bytes }),
        4 => (target(), any::<prop::sample::Index>(), edge_value()).prop_map(|(target, i, value)| {
            let span = *i.get(&fields(target));
            Mutation::Field { target, span, value }
        }),
        3 => (0..COPIES, 1..64u64, prop_oneof![any::<u32>(), 0..256u32, Just(u32::MAX - 7)])
            .prop_map(|(copy, back, value)| Mutation::RootWord { copy, back, value }),
        2 => (target(), prop_oneof![0..600u64, 0..40_000u64])
            .prop_map(|(target, len)| Mutation::SetLen { target, len }),
        1 => (target(), prop::collection::vec(any::<u8>(), 0..1024))
            .prop_map(|(target, bytes)| Mutation::Replace { target, bytes }),
        2 => (0..COPIES).prop_map(|copy| Mutation::FixChecksum { copy }),
    ]
}

fn apply(paths: &ChannelPaths, mutation: &Mutation) {
    match mutation {
        Mutation::Bytes { target, offset, bytes } => {
            files::patch(&target.path(paths), *offset, bytes)
        }
        Mutation::Field { target, span, value } => {
            files::patch(
                &target.path(paths),
                span.offset,
                &value.to_le_bytes()[..span.width.min(8)],
            );
        }
        Mutation::RootWord { copy, back, value } => {
            if let Some(len) = files::descriptor_length(paths, *copy)
                && let Some(offset) = len.checked_sub(*back)
                && offset < 1 << 20
            {
                files::patch(&paths.data(*copy), offset as usize, &value.to_le_bytes());
            }
        }
        Mutation::SetLen { target, len } => files::set_len(&target.path(paths), *len),
        Mutation::Replace { target, bytes } => std::fs::write(target.path(paths), bytes).unwrap(),
        Mutation::FixChecksum { copy } => {
            files::rewrite_checksum(paths, *copy);
        }
    }
}

/// A channel with every copy published (generation 1 in copy 0, 2 in copy 1), writer gone.
fn template(dir: &Path) -> ChannelPaths {
    let paths = ChannelPaths::new(dir.join("template"));
    let mut writer = Writer::<Note>::open(&paths.prefix).unwrap();
    for version in 1..=COPIES as u32 {
        let messages = (0..version * 5).map(|i| "m".repeat(i as usize * 7)).collect();
        writer.write(&Note { version, messages }).unwrap();
    }
    paths
}

/// Waits for the child to start `step` of `case`, and returns the outcome line it reports
/// after it: `ok` or `err`, about that case and step. A crash or a hang in between fails here.
fn outcome(child: &mut Probe, case: usize, step: &str) -> Line {
    let start = Line::new("start").with("case", case).with("step", step);
    child.expect_matching(&start.to_string(), |line| *line == start, LONG);
    let line = child.next(LONG);
    let about = (line.get("case"), line.get("step"));
    assert!(
        (line.is("ok") || line.is("err")) && about == (Some(&*case.to_string()), Some(step)),
        "expected the outcome of {start}, got {line}"
    );
    line
}

/// Runs the child over `cases` damaged channels, then one undamaged control channel, and
/// checks what it says about each.
fn run_batch(cases: &[Vec<Mutation>]) -> Result<(), TestCaseError> {
    let dir = ChannelDir::new("hostile");
    let template = template(dir.path());
    let control = cases.len();
    let mut channels = Vec::new();
    for case in 0..=control {
        let case_dir = dir.path().join(format!("case{case}"));
        std::fs::create_dir(&case_dir).unwrap();
        let paths = ChannelPaths::new(case_dir.join("note"));
        for target in
            [Target::State, Target::Readers].into_iter().chain((0..COPIES).map(Target::Data))
        {
            std::fs::copy(target.path(&template), target.path(&paths)).unwrap();
        }
        files::adopt_copied_files(&paths, COPIES);
        for mutation in cases.get(case).into_iter().flatten() {
            apply(&paths, mutation);
        }
        channels.push((case_dir, paths));
    }
    let mut child =
        Probe::spawn(CHAOS, args!["hostile-batch", dir.path(), (control + 1).to_string()]);
    for (case, (case_dir, _)) in channels.iter().enumerate() {
        let mutations = cases.get(case);
        let read = outcome(&mut child, case, "read");
        let write = outcome(&mut child, case, "write");
        let reread = write.is("ok").then(|| outcome(&mut child, case, "reread"));
        for line in [&read, &write].into_iter().chain(&reread) {
            if line.is("err") {
                prop_assert!(
                    line.path("path").starts_with(case_dir),
                    "the error names a file of case {}: {} {:?}",
                    case,
                    line,
                    mutations
                );
            }
        }
        if let Some(reread) = &reread {
            // A writer that accepted the damaged files must have published a value readers get.
            let generation: u64 = write.num("generation");
            let expected = Line::new("ok")
                .with("generation", generation)
                .with("version", 4242)
                .with("bytes", 15)
                .with("case", case)
                .with("step", "reread");
            prop_assert_eq!(reread, &expected, "case {} {:?}", case, mutations);
        }
        if case == control {
            // The undamaged channel shows that the child reads, writes and rereads at all.
            let last = COPIES as u64;
            let bytes: usize = (0..last as usize * 5).map(|i| i * 7).sum();
            let value = Line::new("ok").with("generation", last).with("version", last);
            let value = value.with("bytes", bytes).with("case", case).with("step", "read");
            prop_assert_eq!(&read, &value);
            prop_assert!(write.is("ok") && reread.is_some(), "control: {} {:?}", write, reread);
        } else {
            CASES.fetch_add(1, Ordering::Relaxed);
            READ_OK.fetch_add(read.is("ok").into(), Ordering::Relaxed);
            WROTE.fetch_add(write.is("ok").into(), Ordering::Relaxed);
        }
    }
    child.expect("done", LONG);
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
    let damaged = CASES.load(Ordering::Relaxed);
    eprintln!(
        "hostile_files: {damaged} damaged channels: {} read as a valid value, {} accepted by a \
         writer that then published a readable value; the rest refused with an error",
        READ_OK.load(Ordering::Relaxed),
        WROTE.load(Ordering::Relaxed)
    );
    assert!(damaged > 0, "no damaged channel was tried");
}

#[test]
fn a_writer_at_the_last_generation_refuses_to_publish_instead_of_wrapping_to_nothing() {
    let dir = ChannelDir::new("last-generation");
    let paths = template(dir.path());
    // The state file says the newest generation is the largest `active` can hold, in copy 1.
    let last = u64::MAX >> 8;
    let active = std::mem::offset_of!(StateHeader, active);
    files::patch_u64(&paths.state, active, mmap_sync::protocol::pack(last, 1));
    let generation = std::mem::offset_of!(CopyDescriptor, generation);
    files::patch_u64(&paths.state, descriptor_offset(1, generation), last);

    let mut writer = Writer::<Note>::open(&paths.prefix).unwrap();
    assert_eq!(writer.generation(), last);
    let err = writer.write(&Note { version: 3, messages: vec![] }).unwrap_err();
    assert!(matches!(err, mmap_sync::Error::Corrupt { .. }), "{err:?}");
    assert_eq!(err.path(), paths.state, "{err}");
    // Nothing was published: the channel still says `last`, not "nothing published".
    assert_eq!(writer.generation(), last);
    let reader = mmap_sync::Reader::<Note>::open(&paths.prefix).unwrap();
    assert_eq!(reader.read().unwrap().generation(), last);
}

/// A data file cut short under a reader that already validated the generation it holds: the
/// fault guard turns the SIGBUS of touching the missing pages into zero pages, and the reader's
/// next read reports the truncation.
#[test]
fn a_reader_whose_data_file_is_truncated_survives_and_reports_it() {
    let dir = ChannelDir::new("truncated-open");
    let paths = dir.paths("stamp");
    let mut writer = Writer::<Stamp>::open(&paths.prefix).unwrap();
    writer.write(&Stamp::new(1, 4096)).unwrap();
    let mut reader = Probe::spawn(CHAOS, args!["read-after-truncation", paths.prefix]);
    reader.expect("truncate-now", LONG);
    files::set_len(&paths.data(0), 0);
    let first = reader.next(LONG);
    assert_eq!(first.get("step"), Some("first"), "{first}");
    // The first read is served from the cached verdict; the bytes it then touches are gone
    // (read as zeroes), or the read already reports them gone.
    if first.is("ok") {
        assert_eq!(first.field("intact"), "false", "{first}");
    } else {
        first.assert_error("Corrupt", &paths.data(0));
    }
    let second = reader.next(LONG);
    assert_eq!(second.get("step"), Some("second"), "{second}");
    second.assert_error("Corrupt", &paths.data(0));
    assert!(second.field("reason").contains("truncated"), "{second}");
    reader.wait_success(LONG);
}

/// Data files cut short under a live writer (by its own user or root): the writer survives, the
/// write that found its copy gone fails with `Corrupt` (nothing published), the next one
/// re-allocates the file and publishes, and readers read it intact.
#[test]
fn a_writer_whose_data_files_are_truncated_under_it_survives_and_recovers() {
    let dir = ChannelDir::new("truncated-writer");
    let paths = dir.paths("stamp");
    let mut writer = Probe::spawn(CHAOS, args!["write-stamp-after-truncation", paths.prefix]);
    writer.expect("truncate-now", LONG);
    files::set_len(&paths.data(0), 0);
    files::set_len(&paths.data(1), 0);
    let first = writer.next(LONG);
    let second = writer.next(LONG);
    writer.wait_success(LONG);
    // Generation 3 goes to copy 0, the copy holding the older generation.
    first.assert_error("Corrupt", &paths.data(0));
    assert!(first.field("reason").contains("truncated while being written"), "{first}");
    assert_eq!(second, Line::new("published").with("generation", 3));
    let reader = mmap_sync::Reader::<Stamp>::open(&paths.prefix).unwrap();
    let guard = reader.read().unwrap();
    assert!(
        guard.is_intact(3),
        "generation {} holds {:?}",
        guard.generation(),
        (guard.generation, guard.words.len())
    );
    let mut next = Writer::<Stamp>::open(&paths.prefix).unwrap();
    assert_eq!(next.generation(), 3);
    assert_eq!(next.write(&Stamp::new(4, 4096)).unwrap().generation, 4);
}
