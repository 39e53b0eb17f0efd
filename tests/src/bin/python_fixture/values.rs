//! The values the Python package's tests read, and the JSON each one is expected to read as:
//! what `serde_json` prints for the Rust value with serde's default (externally tagged) enums.
//! The types written here for the tests derive `serde::Serialize`, so their JSON is serde's
//! own; the workspace's example types (`mmap-sync-schemas`) do not, and are written out field
//! by field.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mmap_sync::SharedState;
use mmap_sync::schema::Describe;
use mmap_sync_schemas::{FeatureTable, HelloWorld, Policy, RoutingTable, Upstream};
use serde_json::{Value as Json, json};

/// One field of every shape a channel's structure can describe, for the JSON mapping.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/mmap_sync_python_kinds", copies = 3)]
pub struct Kinds {
    pub unit: (),
    pub flag: bool,
    pub letter: char,
    pub small: u8,
    pub short: u16,
    pub word: u32,
    pub long: u64,
    pub huge: u128,
    pub signed_small: i8,
    pub signed_short: i16,
    pub signed_word: i32,
    pub signed_long: i64,
    pub signed_huge: i128,
    pub single: f32,
    pub double: f64,
    pub text: String,
    pub long_text: String,
    pub boxed_text: Box<str>,
    pub bytes: Vec<u8>,
    pub ints: Vec<i32>,
    pub floats: Vec<f32>,
    pub boxed_slice: Box<[u16]>,
    pub nested: Vec<Vec<u32>>,
    pub boxed: Box<u32>,
    pub none: Option<u32>,
    pub some: Option<String>,
    pub array: [u16; 3],
    pub tuple: (u8, String, f64),
    pub by_name: HashMap<String, u32>,
    pub by_number: BTreeMap<u32, String>,
    pub hash_set: HashSet<u16>,
    pub btree_set: BTreeSet<String>,
    pub shapes: Vec<Shape>,
    pub point: Point,
    pub pair: Pair,
    pub meters: Meters,
    pub marker: Marker,
}

/// An enum with a variant of each style.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe, Debug)]
pub enum Shape {
    Empty,
    Circle(f64),
    Segment(i32, i32),
    Rect { width: u32, height: u32 },
}

/// A nested struct with named fields.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe, Debug)]
pub struct Point {
    pub x: i64,
    pub y: i64,
    pub label: String,
}

/// A tuple struct: serde writes it as an array.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe, Debug)]
pub struct Pair(pub u8, pub String);

/// A newtype struct: serde writes the inner value.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe, Debug)]
pub struct Meters(pub f64);

/// A unit struct: serde writes `null`.
#[derive(rkyv::Archive, rkyv::Serialize, serde::Serialize, Describe, Debug)]
pub struct Marker;

impl Kinds {
    /// Values at the edges of each type. Floats are exact in binary, so that JSON text, the
    /// archive and Python's `float` agree to the bit.
    pub fn example() -> Kinds {
        Kinds {
            unit: (),
            flag: true,
            letter: '🦀',
            small: u8::MAX,
            short: 40_000,
            word: u32::MAX,
            long: u64::MAX,
            huge: u128::MAX,
            signed_small: i8::MIN,
            signed_short: -300,
            signed_word: i32::MIN,
            signed_long: i64::MIN,
            signed_huge: i128::MIN,
            single: 1.5,
            double: -2.25e-300,
            text: "short".into(),
            long_text: "a string past the inline size: \"quoted\", line\nbreak, ünïcödé, 🦀".into(),
            boxed_text: "boxed".into(),
            bytes: vec![0, 1, 2, 127, 128, 255],
            ints: vec![-1, 0, 1, i32::MAX],
            floats: vec![0.5, -0.25, 1024.0],
            boxed_slice: vec![1, 2, 3].into_boxed_slice(),
            nested: vec![vec![], vec![1], vec![2, 3]],
            boxed: Box::new(42),
            none: None,
            some: Some("present".into()),
            array: [7, 8, 9],
            tuple: (1, "two".into(), 3.0),
            by_name: [("alpha".to_owned(), 1), ("beta".to_owned(), 2)].into_iter().collect(),
            by_number: [(3, "three".to_owned()), (10, "ten".to_owned())].into_iter().collect(),
            hash_set: [5, 6, 7].into_iter().collect(),
            btree_set: ["x".to_owned(), "y".to_owned()].into_iter().collect(),
            shapes: vec![
                Shape::Empty,
                Shape::Circle(0.5),
                Shape::Segment(-1, 1),
                Shape::Rect { width: 3, height: 4 },
            ],
            point: Point { x: -5, y: 5, label: "origin-ish".into() },
            pair: Pair(2, "second".into()),
            meters: Meters(12.5),
            marker: Marker,
        }
    }
}

/// A large numeric value: `weights[i] == i as f64 * 0.5`, `bytes[i] == i % 251`.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/mmap_sync_python_weights", copies = 3, max_size = "1 GiB")]
pub struct Weights {
    pub version: u64,
    pub weights: Vec<f64>,
    pub bytes: Vec<u8>,
    pub counts: Vec<u32>,
}

impl Weights {
    /// `mib` MiB of weights, 1 MiB of bytes, 1,000 counts (`counts[i] == i`).
    pub fn new(version: u64, mib: usize) -> Weights {
        let weights = (0..mib * (1 << 20) / 8).map(|i| i as f64 * 0.5).collect();
        let bytes = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
        Weights { version, weights, bytes, counts: (0..1000).collect() }
    }
}

pub fn hello_json(value: &HelloWorld) -> Json {
    json!({ "version": value.version, "messages": value.messages })
}

fn upstream_json(upstream: &Upstream) -> Json {
    json!({ "host": upstream.host, "port": upstream.port, "weight": upstream.weight })
}

pub fn routing_json(table: &RoutingTable) -> Json {
    let routes: Vec<Json> = table
        .routes
        .iter()
        .map(|route| {
            let policy = match &route.policy {
                Policy::RoundRobin => json!("RoundRobin"),
                Policy::LeastConnections => json!("LeastConnections"),
                Policy::HashHeader { header } => json!({ "HashHeader": { "header": header } }),
            };
            json!({
                "prefix": route.prefix,
                "upstreams": route.upstreams.iter().map(upstream_json).collect::<Vec<_>>(),
                "policy": policy,
                "timeout_ms": route.timeout_ms,
            })
        })
        .collect();
    json!({
        "version": table.version,
        "routes": routes,
        "fallback": table.fallback.as_ref().map(upstream_json),
        "settings": table.settings,
    })
}

pub fn features_json(table: &FeatureTable) -> Json {
    // serde_json writes integer map keys as strings, as here.
    let features: serde_json::Map<String, Json> =
        table.features.iter().map(|(id, row)| (id.to_string(), json!(row))).collect();
    json!({ "version": table.version, "dimension": table.dimension, "features": features })
}
