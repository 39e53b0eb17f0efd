//! Criterion benches of the hot paths: reads of a validated generation, writes of small and
//! large values, `write_bytes`, and opening a reader. The side-by-side comparison with upstream
//! mmap-sync and iceoryx2 lives in `bench/` at the repository root.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{HelloWorld, Scratch, hello};
use criterion::{Criterion, criterion_group, criterion_main};
use mmap_sync::{Reader, SharedState, Writer};

#[derive(rkyv::Archive, rkyv::Serialize)]
struct Entry {
    name: String,
    tags: Vec<String>,
    scores: Vec<u32>,
}

/// About 12 MB archived with 100k entries.
#[derive(rkyv::Archive, rkyv::Serialize)]
struct Strings {
    version: u32,
    entries: Vec<Entry>,
}

#[derive(rkyv::Archive, rkyv::Serialize)]
struct Big {
    version: u32,
    values: Vec<u64>,
}

// Hand-written: the benches must not depend on the derive crate.
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

fn strings(entries: usize) -> Strings {
    let entries = (0..entries)
        .map(|i| Entry {
            name: format!("entry-{i:08}-of-the-string-heavy-value"),
            tags: (0..3).map(|t| format!("tag{}", (i + t) % 97)).collect(),
            scores: (0..8).map(|s| (i * 8 + s) as u32).collect(),
        })
        .collect();
    Strings { version: 1, entries }
}

/// Prefix of this bench's scratch files.
const SCRATCH: &str = "mmap_sync_criterion_";

fn reads(c: &mut Criterion) {
    let scratch = Scratch::new(SCRATCH);
    let path = scratch.path("hello");
    let mut writer = Writer::<HelloWorld>::open(&path).unwrap();
    writer.write(&hello()).unwrap();
    let reader = Reader::<HelloWorld>::open(&path).unwrap();
    c.bench_function("read/hello", |b| {
        b.iter(|| black_box(reader.read().unwrap().version));
    });
    c.bench_function("generation/hello", |b| b.iter(|| black_box(reader.generation())));

    // The first read validates the generation (O(size)); every later one is a pointer cast.
    let path = scratch.path("strings");
    let mut writer = Writer::<Strings>::open(&path).unwrap();
    writer.write(&strings(100_000)).unwrap();
    let reader = Reader::<Strings>::open(&path).unwrap();
    reader.read().unwrap();
    c.bench_function("read/strings_12mb_validated", |b| {
        b.iter(|| black_box(reader.read().unwrap().version));
    });
    c.bench_function("reader_open/hello", |b| {
        b.iter(|| black_box(Reader::<HelloWorld>::open(scratch.path("hello")).unwrap()));
    });
}

fn writes(c: &mut Criterion) {
    let scratch = Scratch::new(SCRATCH);
    let mut writer = Writer::<HelloWorld>::open(scratch.path("hello_w")).unwrap();
    let value = hello();
    c.bench_function("write/hello", |b| b.iter(|| black_box(writer.write(&value).unwrap())));
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&value).unwrap();
    c.bench_function("write_bytes/hello", |b| {
        b.iter(|| black_box(writer.write_bytes(&bytes).unwrap()));
    });

    let mut writer = Writer::<Big>::open(scratch.path("big")).unwrap();
    let value = Big { version: 1, values: (0..(64u64 << 17)).collect() };
    let mut group = c.benchmark_group("write");
    group.sample_size(10).measurement_time(Duration::from_secs(4));
    group.bench_function("vec_u64_64mib", |b| b.iter(|| black_box(writer.write(&value).unwrap())));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = reads, writes
}
criterion_main!(benches);
