//! The upstream-style facade against the native API on the same channel: a facade read
//! (`Synchronizer::read`) must cost no more than a native read (`Reader::read`) of the same value,
//! with and without deserializing it. Writes are timed beside them for reference.
//!
//! `cargo bench -p mmap-sync-benches --bench facade`
//!
//! After criterion's runs it prints an interleaved comparison (batches of native and facade
//! reads taking turns, median per read): on a shared machine, load that drifts between two
//! criterion runs can show a difference that an interleaved run does not.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{HelloWorld, Scratch, hello};
use criterion::{Criterion, criterion_group};
use mmap_sync::synchronizer::Synchronizer;
use mmap_sync::{Reader, Writer};
use rkyv::rancor;

/// Prefix of this bench's scratch files.
const SCRATCH: &str = "mmap_sync_facade_bench_";

/// A HelloWorld channel written once through the facade, with a reader of each API on it, and
/// the four reads compared. Each read is inlined into the timed loop and returns what the loop
/// keeps of it.
struct Readers {
    _writer: Synchronizer,
    native: Reader<HelloWorld>,
    facade: Synchronizer,
}

impl Readers {
    fn open(path: &Path) -> Self {
        // Written through the facade; read by both APIs from the same files.
        let mut writer = Synchronizer::new(path.as_os_str());
        writer.write(&hello(), Duration::from_secs(1)).unwrap();
        let native = Reader::<HelloWorld>::open(path).unwrap();
        let facade = Synchronizer::new(path.as_os_str());
        Readers { _writer: writer, native, facade }
    }

    #[inline(always)]
    fn native_read(&self) -> rkyv::Archived<u32> {
        self.native.read().unwrap().version
    }

    #[inline(always)]
    fn facade_read(&mut self) -> rkyv::Archived<u32> {
        self.facade.read::<HelloWorld>(true).unwrap().version
    }

    #[inline(always)]
    fn native_read_deserialize(&self) -> HelloWorld {
        let guard = self.native.read().unwrap();
        rkyv::deserialize::<HelloWorld, rancor::Error>(&*guard).unwrap()
    }

    #[inline(always)]
    fn facade_read_deserialize(&mut self) -> HelloWorld {
        let read = self.facade.read::<HelloWorld>(true).unwrap();
        rkyv::deserialize::<HelloWorld, rancor::Error>(&*read).unwrap()
    }
}

fn reads(c: &mut Criterion) {
    let scratch = Scratch::new(SCRATCH);
    let mut readers = Readers::open(&scratch.path("hello"));
    let mut group = c.benchmark_group("hello");
    group.bench_function("native_read", |b| b.iter(|| black_box(readers.native_read())));
    group.bench_function("facade_read", |b| b.iter(|| black_box(readers.facade_read())));
    group.bench_function("native_read_deserialize", |b| {
        b.iter(|| black_box(readers.native_read_deserialize()));
    });
    group.bench_function("facade_read_deserialize", |b| {
        b.iter(|| black_box(readers.facade_read_deserialize()));
    });
    group.finish();
}

fn writes(c: &mut Criterion) {
    let scratch = Scratch::new(SCRATCH);
    let value = hello();
    let mut group = c.benchmark_group("hello");
    let mut native = Writer::<HelloWorld>::open(scratch.path("native")).unwrap();
    group.bench_function("native_write", |b| b.iter(|| black_box(native.write(&value).unwrap())));
    let path = scratch.path("facade");
    let mut facade = Synchronizer::new(path.as_os_str());
    group.bench_function("facade_write", |b| {
        b.iter(|| black_box(facade.write(&value, Duration::from_secs(1)).unwrap()));
    });
    group.finish();
}

/// Median nanoseconds per call of native and facade reads (and reads plus deserialize), timed in
/// alternating batches.
fn interleaved() {
    const BATCH: u32 = 200_000;
    const ROUNDS: usize = 41;
    let scratch = Scratch::new(SCRATCH);
    let mut readers = Readers::open(&scratch.path("interleaved"));
    let per_call = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
    };
    let mut times = [(); 4].map(|()| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        times[0].push(per_call(&mut || {
            black_box(readers.native_read());
        }));
        times[1].push(per_call(&mut || {
            black_box(readers.facade_read());
        }));
        times[2].push(per_call(&mut || {
            black_box(readers.native_read_deserialize());
        }));
        times[3].push(per_call(&mut || {
            black_box(readers.facade_read_deserialize());
        }));
    }
    let [native_read, facade_read, native_de, facade_de] = times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[ROUNDS / 2]
    });
    println!("interleaved, median ns per call over {ROUNDS} rounds of {BATCH}:");
    println!("  read:              native {native_read:.2}  facade {facade_read:.2}");
    println!("  read+deserialize:  native {native_de:.2}  facade {facade_de:.2}");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = reads, writes
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only when benchmarking (`cargo bench`), not when `cargo test` runs the bench once.
    if std::env::args().any(|a| a == "--bench") {
        interleaved();
    }
}
