//! Types with every shape the dynamic decoder reads, nested, shared by its tests: archived by
//! rkyv, described by `Describe`, and written by serde_json for the JSON to compare with.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mmap_sync::dynamic::DynArchive;
use mmap_sync::schema::{Describe, Structure};
use proptest::prelude::*;
use rkyv::util::AlignedVec;

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Inner {
    pub id: u64,
    pub tags: Vec<String>,
}

/// A type with each kind of variant, one of them recursive through a `Box`.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(deserialize_bounds(__D::Error: rkyv::rancor::Source))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    __C::Error: rkyv::rancor::Source,
)))]
pub enum Mode {
    Idle,
    Failed(String),
    Moved(i32, i32),
    Config { name: String, retries: Option<u8> },
    NoFields(),
    NoNamedFields {},
    Nested(#[rkyv(omit_bounds)] Box<Mode>),
}

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub enum Figure {
    Circle { radius: f32 },
    Square(u32),
    Dot,
}

/// Map keys that are unit variants: serde_json writes them by name.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
#[rkyv(derive(Hash, PartialEq, Eq, PartialOrd, Ord))]
pub enum Color {
    Red,
    Green,
    Blue,
}

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Meters(pub f64);

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Point(pub i32, pub i16);

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Marker;

#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Empty {}

/// A recursive type: rkyv needs `omit_bounds` where it contains itself.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(deserialize_bounds(__D::Error: rkyv::rancor::Source))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    __C::Error: rkyv::rancor::Source,
)))]
pub struct Tree {
    pub label: u32,
    #[rkyv(omit_bounds)]
    pub children: Vec<Tree>,
}

/// Every shape the decoder reads.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Everything {
    pub unit: (),
    pub flag: bool,
    pub letter: char,
    pub small: Smalls,
    pub large: Larges,
    pub f32_: f32,
    pub f64_: f64,
    pub text: String,
    pub boxed_text: Box<str>,
    pub bytes: Vec<u8>,
    pub boxed_bytes: Box<[u8]>,
    pub byte_array: [u8; 4],
    pub numbers: Vec<i32>,
    pub floats: Vec<f64>,
    pub boxed_f32s: Box<[f32]>,
    pub u16_array: [u16; 3],
    pub usizes: Vec<usize>,
    pub i64s: Vec<i64>,
    pub u128s: Vec<u128>,
    pub boxed: Box<Inner>,
    pub maybe: Option<u16>,
    pub maybe_text: Option<String>,
    pub nested_option: Option<Option<u8>>,
    pub pair: (u8, String),
    pub triple: (u64, bool, char),
    pub tuples: Vec<(u32, String)>,
    pub string_map: HashMap<String, Inner>,
    pub figures: HashMap<u32, Vec<Figure>>,
    pub i64_map: HashMap<i64, String>,
    pub u8_map: HashMap<u8, i8>,
    pub char_set: HashSet<char>,
    pub string_set: HashSet<String>,
    pub color_hash: HashMap<Color, u8>,
    pub bool_map: BTreeMap<bool, u8>,
    pub modes_by_name: BTreeMap<String, Mode>,
    pub i16_tree: BTreeMap<i16, u8>,
    pub u128_tree: BTreeMap<u128, ()>,
    pub u32_set: BTreeSet<u32>,
    pub colors: BTreeMap<Color, u32>,
    pub char_tree: BTreeMap<char, bool>,
    pub meters: Meters,
    pub point: Point,
    pub marker: Marker,
    pub empty: Empty,
    pub modes: Vec<Mode>,
    pub tree: Tree,
    pub grid: [[u8; 2]; 2],
    pub nothing: [u32; 0],
    pub units: Vec<()>,
}

/// The integers of 8 to 32 bits and `usize`.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Smalls {
    pub u8_: u8,
    pub u16_: u16,
    pub u32_: u32,
    pub usize_: usize,
    pub i8_: i8,
    pub i16_: i16,
    pub i32_: i32,
    pub isize_: isize,
}

/// The integers of 64 and 128 bits.
#[derive(
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    serde::Serialize,
    Describe,
    Debug,
    Clone,
    PartialEq,
)]
pub struct Larges {
    pub u64_: u64,
    pub u128_: u128,
    pub i64_: i64,
    pub i128_: i128,
}

/// The archive of `value`, aligned as rkyv's own buffers are.
pub fn archive<T>(value: &T) -> AlignedVec
where
    T: for<'a> rkyv::Serialize<
            rkyv::api::high::HighSerializer<
                AlignedVec,
                rkyv::ser::allocator::ArenaHandle<'a>,
                rkyv::rancor::Error,
            >,
        >,
{
    rkyv::to_bytes::<rkyv::rancor::Error>(value).expect("archive")
}

pub fn structure_of<T: Describe>() -> Structure {
    Structure::of(&T::SHAPE)
}

/// serde_json's JSON of `value`, as a `serde_json::Value`, with sets (at the given JSON
/// pointers) sorted so that a `HashSet`'s order does not matter.
pub fn expected_json<T: serde::Serialize>(value: &T, sets: &[&str]) -> serde_json::Value {
    let text = serde_json::to_string(value).expect("serde_json");
    let mut parsed: serde_json::Value = serde_json::from_str(&text).expect("parse serde_json");
    sort_sets(&mut parsed, sets);
    parsed
}

/// The dynamic decoder's JSON, parsed, with sets sorted.
pub fn dynamic_json(structure: &Structure, bytes: &[u8], sets: &[&str]) -> serde_json::Value {
    let archive = DynArchive::new(structure, bytes).expect("archive");
    let text = archive.root().to_json().expect("to_json");
    let mut parsed: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    sort_sets(&mut parsed, sets);
    parsed
}

pub fn sort_sets(value: &mut serde_json::Value, sets: &[&str]) {
    for pointer in sets {
        if let Some(serde_json::Value::Array(items)) = value.pointer_mut(pointer) {
            items.sort_by_key(|item| item.to_string());
        }
    }
}

/// Where `Everything` has `HashSet`s.
pub const EVERYTHING_SETS: &[&str] = &["/char_set", "/string_set"];

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

pub fn inner(id: u64, tags: &[&str]) -> Inner {
    Inner { id, tags: tags.iter().map(|t| t.to_string()).collect() }
}

/// A value with something in every field, extremes included.
pub fn sample() -> Everything {
    Everything {
        unit: (),
        flag: true,
        letter: 'é',
        small: Smalls {
            u8_: u8::MAX,
            u16_: u16::MAX,
            u32_: u32::MAX,
            usize_: u32::MAX as usize,
            i8_: i8::MIN,
            i16_: i16::MIN,
            i32_: i32::MIN,
            isize_: i32::MIN as isize,
        },
        large: Larges { u64_: u64::MAX, u128_: u128::MAX, i64_: i64::MIN, i128_: i128::MIN },
        f32_: f32::NAN,
        f64_: -0.0,
        text: "a string longer than eight bytes, with \"quotes\" and \u{1b} escapes".into(),
        boxed_text: "boxed ✓".into(),
        bytes: vec![0, 1, 2, 254, 255],
        boxed_bytes: vec![9; 3].into_boxed_slice(),
        byte_array: [1, 2, 3, 4],
        numbers: vec![i32::MIN, -1, 0, 1, i32::MAX],
        floats: vec![0.1, -2.5, 1e300, f64::INFINITY, 5e-324, 1.0, 1e-7, 123456789.0],
        boxed_f32s: vec![0.1f32, f32::MAX, f32::MIN_POSITIVE, -0.0].into_boxed_slice(),
        u16_array: [0, 1, u16::MAX],
        usizes: vec![0, 7, u32::MAX as usize],
        i64s: vec![i64::MIN, i64::MAX],
        u128s: vec![0, u128::MAX, 1 << 64],
        boxed: Box::new(inner(42, &["x", "a tag of more than eight bytes"])),
        maybe: Some(7),
        maybe_text: None,
        nested_option: Some(None),
        pair: (3, "three".into()),
        triple: (u64::MAX, false, '\u{10ffff}'),
        tuples: vec![(1, "one".into()), (2, "".into())],
        string_map: [
            ("alpha".to_string(), inner(1, &["a"])),
            ("a key longer than eight bytes".to_string(), inner(2, &[])),
            ("".to_string(), inner(3, &["empty key"])),
        ]
        .into_iter()
        .collect(),
        figures: [
            (0, vec![Figure::Dot, Figure::Square(4)]),
            (u32::MAX, vec![Figure::Circle { radius: 1.5 }]),
            (17, vec![]),
        ]
        .into_iter()
        .collect(),
        i64_map: [
            (i64::MIN, "min".to_string()),
            (-1, "minus one".to_string()),
            (0, "zero".to_string()),
        ]
        .into_iter()
        .collect(),
        u8_map: (0..=40).map(|i| (i * 6, i as i8 - 20)).collect(),
        char_set: ['a', 'é', '😀', '\0'].into_iter().collect(),
        string_set: ["x", "yy", "a longer string"].into_iter().map(String::from).collect(),
        color_hash: [(Color::Red, 1), (Color::Blue, 3)].into_iter().collect(),
        bool_map: [(false, 0), (true, 1)].into_iter().collect(),
        modes_by_name: [
            ("idle".to_string(), Mode::Idle),
            ("failed".to_string(), Mode::Failed("disk full".into())),
            ("moved".to_string(), Mode::Moved(-1, 1)),
            ("config".to_string(), Mode::Config { name: "c".into(), retries: Some(3) }),
            ("none".to_string(), Mode::NoFields()),
            ("none named".to_string(), Mode::NoNamedFields {}),
            ("nested".to_string(), Mode::Nested(Box::new(Mode::Nested(Box::new(Mode::Idle))))),
        ]
        .into_iter()
        .collect(),
        i16_tree: (-50..50).map(|i| (i * 300, (i + 50) as u8)).collect(),
        u128_tree: [(0, ()), (u128::MAX, ())].into_iter().collect(),
        u32_set: (0..37).map(|i| i * 1000).collect(),
        colors: [(Color::Green, 2), (Color::Red, 1)].into_iter().collect(),
        char_tree: [('a', true), ('é', false)].into_iter().collect(),
        meters: Meters(1.0),
        point: Point(-3, 4),
        marker: Marker,
        empty: Empty {},
        modes: vec![Mode::Idle, Mode::Config { name: "x".repeat(20), retries: None }],
        tree: Tree {
            label: 1,
            children: vec![
                Tree { label: 2, children: vec![] },
                Tree { label: 3, children: vec![Tree { label: 4, children: vec![] }] },
            ],
        },
        grid: [[1, 2], [3, 4]],
        nothing: [],
        units: vec![(); 3],
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Strings of any characters (control, unicode of every plane), as short as inline ones and
/// longer.
pub fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
        prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        "[a-z]{0,12}",
    ]
}

macro_rules! edgy {
    ($ty:ty) => {
        prop_oneof![Just(<$ty>::MIN), Just(<$ty>::MAX), Just(0 as $ty), any::<$ty>()]
    };
}

pub fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(1.0),
        any::<f64>(),
        -1e6..1e6f64,
    ]
}

pub fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0f32),
        Just(-0.0f32),
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::MAX),
        Just(f32::MIN_POSITIVE),
        any::<f32>(),
        -1e6..1e6f32,
    ]
}

pub fn any_usize() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), Just(u32::MAX as usize), (0..=u32::MAX).prop_map(|n| n as usize)]
}

pub fn any_isize() -> impl Strategy<Value = isize> {
    prop_oneof![
        Just(i32::MIN as isize),
        Just(i32::MAX as isize),
        any::<i32>().prop_map(|n| n as isize)
    ]
}

pub fn any_inner() -> impl Strategy<Value = Inner> {
    (edgy!(u64), prop::collection::vec(any_string(), 0..4))
        .prop_map(|(id, tags)| Inner { id, tags })
}

pub fn any_mode() -> impl Strategy<Value = Mode> {
    let leaf = prop_oneof![
        Just(Mode::Idle),
        any_string().prop_map(Mode::Failed),
        (edgy!(i32), edgy!(i32)).prop_map(|(a, b)| Mode::Moved(a, b)),
        (any_string(), prop::option::of(edgy!(u8)))
            .prop_map(|(name, retries)| Mode::Config { name, retries }),
        Just(Mode::NoFields()),
        Just(Mode::NoNamedFields {}),
    ];
    leaf.prop_recursive(3, 8, 1, |inner| inner.prop_map(|m| Mode::Nested(Box::new(m))))
}

pub fn any_figure() -> impl Strategy<Value = Figure> {
    prop_oneof![
        any_f32().prop_map(|radius| Figure::Circle { radius }),
        edgy!(u32).prop_map(Figure::Square),
        Just(Figure::Dot),
    ]
}

pub fn any_color() -> impl Strategy<Value = Color> {
    prop_oneof![Just(Color::Red), Just(Color::Green), Just(Color::Blue)]
}

pub fn any_tree() -> impl Strategy<Value = Tree> {
    let leaf = edgy!(u32).prop_map(|label| Tree { label, children: vec![] });
    leaf.prop_recursive(4, 24, 4, |inner| {
        (edgy!(u32), prop::collection::vec(inner, 0..4))
            .prop_map(|(label, children)| Tree { label, children })
    })
}

fn any_smalls() -> impl Strategy<Value = Smalls> {
    (edgy!(u8), edgy!(u16), edgy!(u32), any_usize(), edgy!(i8), edgy!(i16), edgy!(i32), any_isize())
        .prop_map(|(u8_, u16_, u32_, usize_, i8_, i16_, i32_, isize_)| Smalls {
            u8_,
            u16_,
            u32_,
            usize_,
            i8_,
            i16_,
            i32_,
            isize_,
        })
}

fn any_larges() -> impl Strategy<Value = Larges> {
    (edgy!(u64), edgy!(u128), edgy!(i64), edgy!(i128))
        .prop_map(|(u64_, u128_, i64_, i128_)| Larges { u64_, u128_, i64_, i128_ })
}

/// Collections are empty to a few dozen entries: B-trees of 37 entries have inner nodes.
const MANY: std::ops::Range<usize> = 0..40;

pub fn any_everything() -> impl Strategy<Value = Everything> {
    use prop::collection::{btree_map, btree_set, hash_map, hash_set, vec};
    let scalars = (any::<bool>(), any::<char>(), any_smalls(), any_larges(), any_f32(), any_f64());
    let strings = (
        any_string(),
        any_string().prop_map(String::into_boxed_str),
        vec(any::<u8>(), MANY),
        vec(any::<u8>(), 0..10).prop_map(Vec::into_boxed_slice),
        any::<[u8; 4]>(),
    );
    let lists = (
        vec(edgy!(i32), MANY),
        vec(any_f64(), 0..10),
        vec(any_f32(), 0..10).prop_map(Vec::into_boxed_slice),
        any::<[u16; 3]>(),
        vec(any_usize(), 0..10),
        vec(edgy!(i64), 0..10),
        vec(edgy!(u128), 0..5),
    );
    let options = (
        any_inner().prop_map(Box::new),
        prop::option::of(edgy!(u16)),
        prop::option::of(any_string()),
        prop::option::of(prop::option::of(edgy!(u8))),
        (edgy!(u8), any_string()),
        (edgy!(u64), any::<bool>(), any::<char>()),
        vec((edgy!(u32), any_string()), 0..6),
    );
    let hashes = (
        hash_map(any_string(), any_inner(), 0..6),
        hash_map(edgy!(u32), vec(any_figure(), 0..3), 0..6),
        hash_map(edgy!(i64), any_string(), MANY),
        hash_map(any::<u8>(), any::<i8>(), MANY),
        hash_set(any::<char>(), MANY),
        hash_set(any_string(), 0..6),
        hash_map(any_color(), any::<u8>(), 0..3),
    );
    let trees = (
        btree_map(any::<bool>(), any::<u8>(), 0..2),
        btree_map(any_string(), any_mode(), 0..8),
        btree_map(edgy!(i16), any::<u8>(), MANY),
        btree_map(edgy!(u128), Just(()), 0..5),
        btree_set(edgy!(u32), MANY),
        btree_map(any_color(), edgy!(u32), 0..3),
        btree_map(any::<char>(), any::<bool>(), 0..8),
    );
    let rest = (
        any_f64().prop_map(Meters),
        (edgy!(i32), edgy!(i16)).prop_map(|(a, b)| Point(a, b)),
        vec(any_mode(), 0..5),
        any_tree(),
        any::<[[u8; 2]; 2]>(),
        (0..5usize).prop_map(|n| vec![(); n]),
    );
    (scalars, strings, lists, options, hashes, trees, rest).prop_map(
        |(scalars, strings, lists, options, hashes, trees, rest)| {
            let (flag, letter, small, large, f32_, f64_) = scalars;
            let (text, boxed_text, bytes, boxed_bytes, byte_array) = strings;
            let (numbers, floats, boxed_f32s, u16_array, usizes, i64s, u128s) = lists;
            let (boxed, maybe, maybe_text, nested_option, pair, triple, tuples) = options;
            let (string_map, figures, i64_map, u8_map, char_set, string_set, color_hash) = hashes;
            let (bool_map, modes_by_name, i16_tree, u128_tree, u32_set, colors, char_tree) = trees;
            let (meters, point, modes, tree, grid, units) = rest;
            Everything {
                unit: (),
                flag,
                letter,
                small,
                large,
                f32_,
                f64_,
                text,
                boxed_text,
                bytes,
                boxed_bytes,
                byte_array,
                numbers,
                floats,
                boxed_f32s,
                u16_array,
                usizes,
                i64s,
                u128s,
                boxed,
                maybe,
                maybe_text,
                nested_option,
                pair,
                triple,
                tuples,
                string_map,
                figures,
                i64_map,
                u8_map,
                char_set,
                string_set,
                color_hash,
                bool_map,
                modes_by_name,
                i16_tree,
                u128_tree,
                u32_set,
                colors,
                char_tree,
                meters,
                point,
                marker: Marker,
                empty: Empty {},
                modes,
                tree,
                grid,
                nothing: [],
                units,
            }
        },
    )
}
