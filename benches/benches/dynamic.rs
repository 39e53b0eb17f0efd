//! The dynamic view against the typed one, measured in one run and printed as ratios:
//!
//! * `dump --json` of a 100,000-row table (what the command does once the generation is pinned:
//!   `Value::write_json` through the recorded structure) against `serde_json::to_string` of the
//!   typed value (target: at most 3×);
//! * a field lookup through `DynReader` (read, value, field, number) against the typed
//!   `Reader::read` and field access, and a deep lookup (`rows[54321].name`) and a map lookup by
//!   key against the typed ones.
//!
//! `cargo bench -p mmap-sync-benches --bench dynamic [-- WORD]`: with a word, only the parts
//! whose label holds it (`dump`, `field`, `rows`, `by_name`), so that a profile sees one part.

// Shared with the other benches: this one uses only the scratch files.
#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::Scratch;
use mmap_sync::dynamic::DynReader;
use mmap_sync::schema::Describe;
use mmap_sync::{Reader, SharedState, Writer};

#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe)]
struct Row {
    id: u64,
    name: String,
    score: f64,
    tags: Vec<String>,
    active: bool,
}

#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_bench_table")]
struct Table {
    version: u64,
    rows: Vec<Row>,
    by_name: HashMap<String, u32>,
}

fn table(rows: usize) -> Table {
    let rows: Vec<Row> = (0..rows)
        .map(|i| Row {
            id: i as u64,
            name: format!("row-{i:06}"),
            score: i as f64 * 0.25,
            tags: vec![format!("t{}", i % 7), "common".to_owned()],
            active: i % 3 == 0,
        })
        .collect();
    let by_name = rows.iter().map(|r| (r.name.clone(), r.id as u32)).collect();
    Table { version: 7, rows, by_name }
}

/// The median time of one call of `f`, over `rounds` rounds of `per_round` calls.
fn median(rounds: usize, per_round: u32, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                f();
            }
            start.elapsed() / per_round
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn show(what: &str, dynamic: Duration, typed: Duration, target: Option<f64>) {
    let ratio = dynamic.as_secs_f64() / typed.as_secs_f64();
    let verdict = match target {
        Some(t) if ratio <= t => format!(" (target ≤ {t}×: met)"),
        Some(t) => format!(" (target ≤ {t}×: NOT met)"),
        None => String::new(),
    };
    println!(
        "{what:<44} dynamic {dynamic:>11.3?}  typed {typed:>11.3?}  ratio {ratio:>6.2}×{verdict}"
    );
}

/// Whether the part labelled `what` is wanted: every part, or those the arguments name.
fn wanted(what: &str) -> bool {
    let words: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    words.is_empty() || words.iter().any(|w| what.contains(w.as_str()))
}

fn main() {
    let scratch = Scratch::new("mmap_sync_dynamic_bench_");
    let path = scratch.path("table");
    let value = table(100_000);
    let mut writer = Writer::<Table>::open(&path).expect("open writer");
    writer.write(&value).expect("publish");
    let typed = Reader::<Table>::open(&path).expect("typed reader");
    let dynamic = DynReader::open(&path).expect("dynamic reader");
    println!("100,000 rows, {} archived bytes", dynamic.read().expect("read").bytes().len());

    // dump --json: the whole value as JSON.
    let what = "dump --json vs serde_json::to_string";
    if wanted(what) {
        let mut out = String::with_capacity(16 << 20);
        let dump = median(7, 3, || {
            out.clear();
            let guard = dynamic.read().unwrap();
            guard.value().unwrap().write_json(&mut out).unwrap();
            black_box(out.len());
        });
        let serde = median(7, 3, || {
            black_box(serde_json::to_string(&value).unwrap().len());
        });
        show(what, dump, serde, Some(3.0));
    }

    // One field of the root.
    let what = "read + field `version`";
    if wanted(what) {
        let dynamic = median(15, 200_000, || {
            let guard = dynamic.read().unwrap();
            black_box(guard.value().unwrap().field("version").unwrap().as_u64().unwrap());
        });
        let typed = median(15, 200_000, || {
            let guard = typed.read().unwrap();
            black_box(guard.version.to_native());
        });
        show(what, dynamic, typed, None);
    }

    // A deep path.
    let what = "read + `rows[54321].name`";
    if wanted(what) {
        let dynamic = median(15, 100_000, || {
            let guard = dynamic.read().unwrap();
            let value = guard.value().unwrap();
            black_box(value.at("rows[54321].name").unwrap().as_str().unwrap().len());
        });
        let typed = median(15, 100_000, || {
            let guard = typed.read().unwrap();
            black_box(guard.rows[54321].name.len());
        });
        show(what, dynamic, typed, None);
    }

    // A map lookup by key, through the hash table.
    let what = "read + `by_name[\"row-054321\"]`";
    if wanted(what) {
        let dynamic = median(15, 100_000, || {
            let guard = dynamic.read().unwrap();
            let value = guard.value().unwrap();
            let by_name = value.field("by_name").unwrap();
            black_box(by_name.get("row-054321").unwrap().unwrap().as_u64().unwrap());
        });
        let typed = median(15, 100_000, || {
            let guard = typed.read().unwrap();
            black_box(guard.by_name.get("row-054321").unwrap().to_native());
        });
        show(what, dynamic, typed, None);
    }
    assert_eq!(<Table as SharedState>::TYPE_NAME, "Table");
}
