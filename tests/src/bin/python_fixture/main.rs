//! The writer process of the Python package's tests and benchmark (`mmap-sync-python/tests`,
//! `mmap-sync-python/bench`): publishes known values with the typed API at a path the caller
//! gives, and, where the tests compare values, writes the JSON each one reads as to `PATH.json`.
//!
//! * `hello PATH`: `HelloWorld::example()`;
//! * `routing PATH ROUTES`: `RoutingTable::example(1, ROUTES)`, the "table" of the benchmark;
//! * `features PATH ENTITIES DIMENSION`: `FeatureTable::synthetic(1, ENTITIES, DIMENSION)`;
//! * `kinds PATH`: one field of every shape a structure describes (`values::Kinds`);
//! * `weights PATH MIB`: `values::Weights::new(1, MIB)` (no JSON: the tests check its rule);
//! * `stamps PATH WORDS`: publishes `Stamp`s of WORDS words (every word equals the stamp's
//!   generation) without pause until its standard input closes; says `ready` after the first;
//! * `publish-lines PATH`: for each line `N` of standard input, publishes a `HelloWorld` of
//!   version N and says `published generation=G`; exits at the end of input;
//! * `no-structure PATH`: publishes through the upstream-style `Synchronizer` facade, which
//!   records no structure;
//! * `empty PATH`: creates the channel's files and publishes nothing;
//! * `hostile-archive PATH CASE`: publishes a `HelloWorld`, then damages its archive and
//!   rewrites the copy's checksum over the damage, so that only the reader's own checks can
//!   find it. CASE: `length` (the vector's length far past the archive), `pointer` (its
//!   relative pointer out of the archive), `utf8` (a string's bytes not UTF-8), `flip:SEED`
//!   (1 to 8 random bytes of the archive changed);
//! * `hostile-description PATH SEED`: publishes a `Kinds` and changes 1 to 4 random bytes of
//!   the structure the state file records.
//!
//! Each command that publishes says `published generation=G` last.

mod values;

use std::io::BufRead;
use std::mem::offset_of;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mmap_sync::format::{StateHeader, state_file_len};
use mmap_sync::{ChannelPaths, SharedState, Writer};
use mmap_sync_schemas::{ArchivedHelloWorld, FeatureTable, HelloWorld, RoutingTable};
use mmap_sync_tests::files;
use mmap_sync_tests::report::{Line, say};
use mmap_sync_tests::rng::Rng;
use mmap_sync_tests::types::Stamp;

use values::{Kinds, Weights};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["hello", path] => {
            let value = HelloWorld::example();
            write_json(path, &values::hello_json(&value).to_string());
            publish(&mut Writer::<HelloWorld>::open(path).unwrap(), &value);
        }
        ["routing", path, routes] => {
            let value = RoutingTable::example(1, routes.parse().expect("a route count"));
            write_json(path, &values::routing_json(&value).to_string());
            publish(&mut Writer::<RoutingTable>::open(path).unwrap(), &value);
        }
        ["features", path, entities, dimension] => {
            let entities = entities.parse().expect("an entity count");
            let value = FeatureTable::synthetic(1, entities, dimension.parse().expect("a size"));
            write_json(path, &values::features_json(&value).to_string());
            publish(&mut Writer::<FeatureTable>::open(path).unwrap(), &value);
        }
        ["kinds", path] => {
            let value = Kinds::example();
            write_json(path, &serde_json::to_string(&value).unwrap());
            publish(&mut Writer::<Kinds>::open(path).unwrap(), &value);
        }
        ["weights", path, mib] => {
            let value = Weights::new(1, mib.parse().expect("a size in MiB"));
            publish(&mut Writer::<Weights>::open(path).unwrap(), &value);
        }
        ["stamps", path, words] => stamps(path, words.parse().expect("a word count")),
        ["publish-lines", path] => publish_lines(path),
        ["no-structure", path] => no_structure(path),
        ["empty", path] => drop(Writer::<HelloWorld>::open(path).unwrap()),
        ["hostile-archive", path, case] => hostile_archive(path, case),
        ["hostile-description", path, seed] => {
            hostile_description(path, seed.parse().expect("a seed"))
        }
        _ => panic!("unknown command {args:?}; see the module documentation"),
    }
}

fn publish<T: SharedState>(writer: &mut Writer<T>, value: &T) {
    let published = writer.write(value).unwrap();
    say(&Line::new("published").with("generation", published.generation));
}

/// `json` into `PATH.json`, where the tests read what the value should read as.
fn write_json(path: &str, json: &str) {
    let file = PathBuf::from(format!("{path}.json"));
    std::fs::write(&file, json).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A flag that goes up when standard input closes: how the test tells a writer to stop, and
/// how a writer whose test died stops by itself.
fn stdin_closed() -> Arc<AtomicBool> {
    let closed = Arc::new(AtomicBool::new(false));
    let flag = closed.clone();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while std::io::stdin().lock().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        // Relaxed: a stop flag.
        flag.store(true, Ordering::Relaxed);
    });
    closed
}

fn stamps(path: &str, words: usize) {
    let closed = stdin_closed();
    // Three copies: a reading thread that holds a guard never makes this writer wait.
    let mut writer = Writer::<Stamp>::builder().copies(3).open(path).unwrap();
    let mut generation = writer.write(&Stamp::new(1, words)).unwrap().generation;
    say(&Line::new("ready").with("generation", generation));
    let mut count = 1u64;
    // Relaxed: a stop flag.
    while !closed.load(Ordering::Relaxed) {
        let published = writer.write(&Stamp::new(generation + 1, words)).unwrap();
        assert_eq!(published.generation, generation + 1, "generations grow by one");
        generation = published.generation;
        count += 1;
    }
    say(&Line::new("stopped").with("published", count).with("generation", generation));
}

fn publish_lines(path: &str) {
    let mut writer = Writer::<HelloWorld>::open(path).unwrap();
    for line in std::io::stdin().lock().lines() {
        let version: u32 = line.unwrap().trim().parse().expect("a version per line");
        let value = HelloWorld { version, messages: vec![format!("version {version}")] };
        publish(&mut writer, &value);
    }
}

/// Upstream's example type, as an upstream program defines it: rkyv's derives only.
#[derive(rkyv::Archive, rkyv::Serialize, Debug)]
struct UpstreamHello {
    version: u32,
    messages: Vec<String>,
}

fn no_structure(path: &str) {
    let mut synchronizer = mmap_sync::synchronizer::Synchronizer::new(path.as_ref());
    let value = UpstreamHello { version: 1, messages: vec!["no structure".into()] };
    synchronizer.write(&value, Duration::from_secs(1)).unwrap();
    let generation = synchronizer.version().unwrap();
    say(&Line::new("published").with("generation", generation.generation()));
}

/// The data file and archive length of the copy that holds the published generation.
fn active_copy(paths: &ChannelPaths) -> (usize, Vec<u8>) {
    let active = files::read_u64(&paths.state, offset_of!(StateHeader, active)).unwrap();
    let copy = (active & 0xff) as usize;
    let len = files::descriptor_length(paths, copy).unwrap() as usize;
    let mut data = std::fs::read(paths.data(copy)).unwrap();
    data.truncate(len);
    (copy, data)
}

fn hostile_archive(path: &str, case: &str) {
    let value = HelloWorld::example();
    let mut writer = Writer::<HelloWorld>::open(path).unwrap();
    let generation = writer.write(&value).unwrap().generation;
    drop(writer);
    let paths = ChannelPaths::new(Path::new(path));
    let (copy, mut data) = active_copy(&paths);
    let root = data.len() - size_of::<ArchivedHelloWorld>();
    // rkyv's `ArchivedVec`: a 32-bit relative pointer, then a 32-bit length.
    let messages = root + offset_of!(ArchivedHelloWorld, messages);
    match case.split_once(':').unwrap_or((case, "")) {
        ("length", _) => data[messages + 4..messages + 8].copy_from_slice(&u32::MAX.to_le_bytes()),
        ("pointer", _) => data[messages..messages + 4].copy_from_slice(&(1i32 << 30).to_le_bytes()),
        ("utf8", _) => {
            let at = data.windows(5).position(|w| w == b"Hello").expect("the string's bytes");
            // Inline (a first byte that is not 0b10xx_xxxx), no 0xff (which would end it), not UTF-8.
            data[at..at + 5].copy_from_slice(&[0xc0, 0x41, 0xed, 0xa0, 0x80]);
        }
        ("flip", seed) => {
            let mut rng = Rng::new(seed.parse().expect("a seed"));
            for _ in 0..=rng.below(8) {
                let at = rng.below(data.len() as u64) as usize;
                data[at] = rng.below(256) as u8;
            }
        }
        _ => panic!("unknown case {case}"),
    }
    files::patch(&paths.data(copy), 0, &data);
    assert!(files::rewrite_checksum(&paths, copy), "the copy's checksum is rewritten");
    say(&Line::new("published").with("generation", generation));
}

fn hostile_description(path: &str, seed: u64) {
    let mut writer = Writer::<Kinds>::open(path).unwrap();
    let generation = writer.write(&Kinds::example()).unwrap().generation;
    drop(writer);
    let paths = ChannelPaths::new(Path::new(path));
    let len = files::read_u32(&paths.state, offset_of!(StateHeader, schema_len)).unwrap();
    let start = state_file_len(Kinds::COPIES);
    let mut rng = Rng::new(seed);
    for _ in 0..=rng.below(4) {
        let at = start + rng.below(u64::from(len)) as usize;
        files::patch(&paths.state, at, &[rng.below(256) as u8]);
    }
    say(&Line::new("published").with("generation", generation));
}
