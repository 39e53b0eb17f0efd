//! The upstream-style facade against the native API on the same channel: a facade read
//! (`Synchronizer::read`) must cost no more than a native read (`Reader::read`) of the same value,
//! with and without deserializing it. Writes are timed beside them for reference.
//!
//! `cargo bench -p mmap-sync --bench facade`
//!
//! After criterion's runs it prints an interleaved comparison (batches of native and facade
//! reads taking turns, median per read): on a shared machine, load that drifts between two
//! criterion runs can show a difference that an interleaved run does not.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{HelloWorld, Scratch, hello};
use criterion::{Criterion, criterion_group};
use mmap_sync::synchronizer::Synchronizer;
use mmap_sync::{Reader, Writer};
use rkyv::rancor;

/// Prefix of this bench's scratch files.
const SCRATCH: &str = "mmap_sync_facade_bench_";

fn reads(c: &mut Criterion) {
    let scratch = Scratch::new(SCRATCH);
    let path = scratch.path("hello");
    // Written through the facade; read by both APIs from the same files.
    let mut writer = Synchronizer::new(path.as_os_str());
    writer.write(&hello(), Duration::from_secs(1)).unwrap();
    let native = Reader::<HelloWorld>::open(&path).unwrap();
    let mut facade = Synchronizer::new(path.as_os_str());

    let mut group = c.benchmark_group("hello");
    group.bench_function("native_read", |b| {
        b.iter(|| black_box(native.read().unwrap().version));
    });
    group.bench_function("facade_read", |b| {
        b.iter(|| black_box(facade.read::<HelloWorld>(true).unwrap().version));
    });
    group.bench_function("native_read_deserialize", |b| {
        b.iter(|| {
            let guard = native.read().unwrap();
            black_box(rkyv::deserialize::<HelloWorld, rancor::Error>(&*guard).unwrap())
        });
    });
    group.bench_function("facade_read_deserialize", |b| {
        b.iter(|| {
            let read = facade.read::<HelloWorld>(true).unwrap();
            black_box(rkyv::deserialize::<HelloWorld, rancor::Error>(&*read).unwrap())
        });
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
    let path = scratch.path("interleaved");
    let mut writer = Synchronizer::new(path.as_os_str());
    writer.write(&hello(), Duration::from_secs(1)).unwrap();
    let native = Reader::<HelloWorld>::open(&path).unwrap();
    let mut facade = Synchronizer::new(path.as_os_str());
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
            black_box(native.read().unwrap().version);
        }));
        times[1].push(per_call(&mut || {
            black_box(facade.read::<HelloWorld>(true).unwrap().version);
        }));
        times[2].push(per_call(&mut || {
            let guard = native.read().unwrap();
            black_box(rkyv::deserialize::<HelloWorld, rancor::Error>(&*guard).unwrap());
        }));
        times[3].push(per_call(&mut || {
            let read = facade.read::<HelloWorld>(true).unwrap();
            black_box(rkyv::deserialize::<HelloWorld, rancor::Error>(&*read).unwrap());
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
