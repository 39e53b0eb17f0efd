//! The dynamic decoder reads real archives of every shape as the Rust type would: its JSON is
//! serde_json's, map lookups find every key and no other, paths and numeric slices reach the
//! values.

mod dynamic_types;

use std::collections::{BTreeMap, HashMap};

use dynamic_types::*;
use mmap_sync::dynamic::{DynArchive, DynErrorKind, Key, Kind, NumericKind, Value};
use mmap_sync::schema::{Describe, Int, Structure};
use proptest::prelude::*;

fn root<'a>(structure: &'a Structure, bytes: &'a [u8]) -> Value<'a> {
    DynArchive::new(structure, bytes).expect("archive").root()
}

fn json_of<T: serde::Serialize>(value: &T) -> serde_json::Value {
    expected_json(value, &[])
}

fn parsed(value: Value<'_>) -> serde_json::Value {
    let text = value.to_json().expect("to_json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn json_of_every_shape_is_what_serde_json_prints() {
    let value = sample();
    let bytes = archive(&value);
    let structure = structure_of::<Everything>();
    root(&structure, &bytes).check().expect("check");
    assert_eq!(
        dynamic_json(&structure, &bytes, EVERYTHING_SETS),
        expected_json(&value, EVERYTHING_SETS)
    );

    // Streamed to an `io::Write`, the same text; a writer that fails is an `Output` error.
    let root = root(&structure, &bytes);
    let mut streamed = Vec::new();
    root.write_json_io(&mut std::io::BufWriter::new(&mut streamed)).unwrap();
    assert_eq!(String::from_utf8(streamed).unwrap(), root.to_json().unwrap());
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let error = root.write_json_io(&mut Full).unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Output);
    assert!(error.to_string().contains("disk full"), "{error}");
}

/// Where the texts can be compared whole: no floats, no hash maps, strings without the
/// characters the crate escapes beyond serde_json.
#[test]
fn json_text_is_serde_jsons_for_variants_structs_and_integers() {
    let modes = vec![
        Mode::Idle,
        Mode::Failed("x \"q\" \\ \n \u{1}".into()),
        Mode::Moved(i32::MIN, i32::MAX),
        Mode::Config { name: "c".into(), retries: None },
        Mode::Config { name: "c".into(), retries: Some(255) },
        Mode::NoFields(),
        Mode::NoNamedFields {},
        Mode::Nested(Box::new(Mode::Nested(Box::new(Mode::Idle)))),
    ];
    let bytes = archive(&modes);
    let structure = structure_of::<Vec<Mode>>();
    let text = root(&structure, &bytes).to_json().unwrap();
    assert_eq!(text, serde_json::to_string(&modes).unwrap());

    let larges = Larges { u64_: u64::MAX, u128_: u128::MAX, i64_: i64::MIN, i128_: i128::MIN };
    let bytes = archive(&larges);
    let structure = structure_of::<Larges>();
    assert_eq!(
        root(&structure, &bytes).to_json().unwrap(),
        serde_json::to_string(&larges).unwrap()
    );

    let parts =
        (Point(-1, 2), Marker, Empty {}, (), [0u8; 0], Some(Some(1u8)), Some(None::<u8>), 'x');
    let bytes = archive(&parts);
    let structure = Structure::of(
        &<(Point, Marker, Empty, (), [u8; 0], Option<Option<u8>>, Option<Option<u8>>, char)>::SHAPE,
    );
    assert_eq!(root(&structure, &bytes).to_json().unwrap(), serde_json::to_string(&parts).unwrap());
    assert_eq!(
        root(&structure, &bytes).to_json().unwrap(),
        r#"[[-1,2],null,{},null,[],1,null,"x"]"#
    );

    let tree: BTreeMap<bool, BTreeMap<char, Option<Meters>>> =
        [(true, [('a', None), ('b', Some(Meters(2.0)))].into_iter().collect())]
            .into_iter()
            .collect();
    let bytes = archive(&tree);
    let structure = Structure::of(&<BTreeMap<bool, BTreeMap<char, Option<Meters>>>>::SHAPE);
    assert_eq!(root(&structure, &bytes).to_json().unwrap(), r#"{"true":{"a":null,"b":2.0}}"#);
    assert_eq!(serde_json::to_string(&tree).unwrap(), r#"{"true":{"a":null,"b":2.0}}"#);
}

#[test]
fn floats_are_written_as_serde_json_writes_them() {
    let floats: Vec<f64> = vec![
        1.0,
        -0.0,
        0.1,
        1e300,
        5e-324,
        1e-7,
        1e16,
        0.00001,
        123456789.0,
        f64::NAN,
        f64::NEG_INFINITY,
    ];
    let bytes = archive(&floats);
    let structure = structure_of::<Vec<f64>>();
    let text = root(&structure, &bytes).to_json().unwrap();
    assert_eq!(text, "[1.0,-0.0,0.1,1e+300,5e-324,1e-7,1e+16,0.00001,123456789.0,null,null]");
    assert_eq!(text, serde_json::to_string(&floats).unwrap());

    let f32s: Vec<f32> = vec![0.1, 16777216.0, f32::MIN_POSITIVE, 3.4028235e38, -135_379.12];
    let bytes = archive(&f32s);
    let structure = structure_of::<Vec<f32>>();
    let text = root(&structure, &bytes).to_json().unwrap();
    assert_eq!(text, "[0.1,16777216.0,1.1754944e-38,3.4028235e+38,-135379.12]");
    assert_eq!(text, serde_json::to_string(&f32s).unwrap());
}

#[test]
fn strings_of_every_length_read_back_inline_and_out_of_line() {
    let lengths =
        [0, 1, 7, 8, 9, 10, 63, 64, 65, 127, 128, 255, 256, 257, 1000, 16_383, 16_384, 70_000];
    let strings: Vec<String> =
        lengths.iter().map(|&n| "é".repeat(n / 2) + &"x".repeat(n % 2)).collect();
    let bytes = archive(&strings);
    let structure = structure_of::<Vec<String>>();
    let root = root(&structure, &bytes);
    for (i, s) in strings.iter().enumerate() {
        let value = root.index(i).unwrap();
        assert_eq!(value.as_str().unwrap(), s, "length {}", s.len());
        assert_eq!(value.len().unwrap(), s.len());
    }
    let boxed: Vec<Box<str>> = strings.iter().map(|s| s.clone().into_boxed_str()).collect();
    let bytes = archive(&boxed);
    let structure = structure_of::<Vec<Box<str>>>();
    let root = self::root(&structure, &bytes);
    for (i, s) in strings.iter().enumerate() {
        assert_eq!(root.index(i).unwrap().as_str().unwrap(), s);
    }
}

#[test]
fn large_collections_read_whole_and_by_key() {
    let hash: HashMap<String, u64> = (0..5000u64).map(|i| (format!("key {i}"), i * 3)).collect();
    let tree: BTreeMap<i64, String> =
        (0..20_000i64).map(|i| (i * 7 - 50_000, i.to_string())).collect();
    let numbers: Vec<u64> = (0..100_000).collect();
    let value = (hash.clone(), tree.clone(), numbers.clone());
    let bytes = archive(&value);
    let structure =
        Structure::of(&<(HashMap<String, u64>, BTreeMap<i64, String>, Vec<u64>)>::SHAPE);
    let root = root(&structure, &bytes);
    root.check().unwrap();
    assert_eq!(parsed(root), json_of(&value));

    let map = root.index(0).unwrap();
    assert_eq!(map.len().unwrap(), 5000);
    for (k, v) in &hash {
        assert_eq!(map.get(k.as_str()).unwrap().unwrap().as_u64().unwrap(), *v);
    }
    assert!(map.get("key 5000").unwrap().is_none());
    let btree = root.index(1).unwrap();
    assert_eq!(btree.len().unwrap(), 20_000);
    for (k, v) in &tree {
        assert_eq!(btree.get(*k).unwrap().unwrap().as_str().unwrap(), v);
        assert!(btree.get(*k + 1).unwrap().is_none());
    }
    let keys: Vec<i64> = btree.entries().unwrap().map(|e| e.unwrap().0.as_i64().unwrap()).collect();
    assert_eq!(keys, tree.keys().copied().collect::<Vec<_>>());
    let slice = root.index(2).unwrap().numeric().unwrap().unwrap();
    assert_eq!(slice.kind(), NumericKind::U64);
    assert_eq!(slice.len(), numbers.len());
    assert!(slice.is_aligned());
    let read: Vec<u64> =
        slice.bytes().chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(read, numbers);
}

#[test]
fn paths_reach_nested_values_and_errors_name_them() {
    let value = sample();
    let bytes = archive(&value);
    let structure = structure_of::<Everything>();
    let root = root(&structure, &bytes);
    assert_eq!(
        root.at("boxed.tags[1]").unwrap().as_str().unwrap(),
        "a tag of more than eight bytes"
    );
    assert_eq!(root.at(".tuples[1].0").unwrap().as_u64().unwrap(), 2);
    assert_eq!(root.at(r#"string_map["alpha"].tags[0]"#).unwrap().as_str().unwrap(), "a");
    assert_eq!(root.at(r#"string_map[""].id"#).unwrap().as_u64().unwrap(), 3);
    assert_eq!(root.at("string_map[alpha].id").unwrap().as_u64().unwrap(), 1);
    assert_eq!(root.at("figures[4294967295][0].radius").unwrap().as_f64().unwrap(), 1.5);
    assert_eq!(root.at("i64_map[-9223372036854775808]").unwrap().as_str().unwrap(), "min");
    assert_eq!(
        root.at(r#"modes_by_name["config"].retries"#)
            .unwrap()
            .option()
            .unwrap()
            .unwrap()
            .as_u64()
            .unwrap(),
        3
    );
    assert_eq!(root.at(r#"modes_by_name["failed"].0"#).unwrap().as_str().unwrap(), "disk full");
    assert_eq!(root.at(r#"modes_by_name["moved"][1]"#).unwrap().as_i64().unwrap(), 1);
    assert_eq!(root.at("tree.children[1].children[0].label").unwrap().as_u64().unwrap(), 4);
    assert_eq!(root.at("grid[1][0]").unwrap().as_u64().unwrap(), 3);
    assert_eq!(root.at("pair.1").unwrap().as_str().unwrap(), "three");
    assert_eq!(root.at("point.1").unwrap().as_i64().unwrap(), 4);
    assert_eq!(root.at("point[0]").unwrap().as_i64().unwrap(), -3);
    assert_eq!(root.at("meters.0").unwrap().as_f64().unwrap(), 1.0);
    assert_eq!(root.at("bool_map[true]").unwrap().as_u64().unwrap(), 1);
    assert!(!root.at("char_tree[é]").unwrap().as_bool().unwrap());
    assert_eq!(root.at("u8_map[240]").unwrap().as_i64().unwrap(), 20);
    assert!(root.at("char_set[😀]").is_ok());
    assert_eq!(root.at("").unwrap().position(), root.position());

    let error = |path: &str| root.at(path).unwrap_err();
    let e = error("boxed.tags[2]");
    assert_eq!(e.kind(), DynErrorKind::OutOfRange);
    assert_eq!(e.to_string(), "boxed.tags[2]: index 2 is past the end of 2 elements");
    let e = error("tree.children[0].nope");
    assert_eq!(e.kind(), DynErrorKind::NotFound);
    assert_eq!(e.path(), "tree.children[0].nope");
    let e = error(r#"string_map["beta"].id"#);
    assert_eq!(e.kind(), DynErrorKind::NotFound);
    assert_eq!(e.path(), r#"string_map["beta"]"#);
    let e = error("maybe_text.len");
    assert_eq!((e.kind(), e.path()), (DynErrorKind::NotFound, "maybe_text"));
    let e = error("flag.x");
    assert_eq!((e.kind(), e.path()), (DynErrorKind::WrongKind, "flag"));
    let e = error("figures[x]");
    assert_eq!((e.kind(), e.path()), (DynErrorKind::Path, "figures"));
    assert_eq!(error("tuples[").kind(), DynErrorKind::Path);
    assert_eq!(error("tuples[0]x").kind(), DynErrorKind::Path);
    assert_eq!(error("boxed..id").kind(), DynErrorKind::Path);
    assert_eq!(error(r#"string_map["alpha"#).kind(), DynErrorKind::Path);
    assert_eq!(error("colors[Red]").kind(), DynErrorKind::WrongKind);

    // Navigation names paths relative to where it starts.
    let tags = root.at("boxed.tags").unwrap();
    assert_eq!(tags.index(9).unwrap_err().path(), "[9]");
    assert_eq!(root.field("missing").unwrap_err().path(), "missing");
    let map = root.field("string_map").unwrap();
    assert!(map.get("beta").unwrap().is_none());
    assert_eq!(map.get(3u8).unwrap_err().kind(), DynErrorKind::WrongKind);
    assert_eq!(
        root.field("colors").unwrap().get("Red").unwrap_err().kind(),
        DynErrorKind::WrongKind
    );
}

#[test]
fn kinds_lengths_and_scalars_follow_the_shapes() {
    let value = sample();
    let bytes = archive(&value);
    let structure = structure_of::<Everything>();
    let root = root(&structure, &bytes);
    let kind = |name: &str| root.field(name).unwrap().kind();
    assert_eq!(root.kind(), Kind::Struct);
    assert_eq!(kind("unit"), Kind::Unit);
    assert_eq!(kind("letter"), Kind::Char);
    assert_eq!(kind("boxed_text"), Kind::String);
    assert_eq!(kind("boxed"), Kind::Struct);
    assert_eq!(kind("byte_array"), Kind::List);
    assert_eq!(kind("pair"), Kind::Tuple);
    assert_eq!(kind("figures"), Kind::Map);
    assert_eq!(kind("u32_set"), Kind::Set);
    assert_eq!(kind("maybe"), Kind::Option);
    assert_eq!(kind("modes"), Kind::List);
    assert_eq!(root.at("modes[0]").unwrap().kind(), Kind::Enum);
    assert_eq!(root.at("small.isize_").unwrap().kind(), Kind::Int(Int::Isize));

    assert_eq!(root.at("small.u32_").unwrap().as_u64().unwrap(), u32::MAX as u64);
    assert_eq!(root.at("small.isize_").unwrap().as_i64().unwrap(), i32::MIN as i64);
    assert_eq!(root.at("large.u128_").unwrap().as_u128().unwrap(), u128::MAX);
    assert_eq!(root.at("large.i128_").unwrap().as_i128().unwrap(), i128::MIN);
    assert_eq!(root.at("large.u64_").unwrap().as_i64().unwrap_err().kind(), DynErrorKind::Range);
    assert_eq!(root.at("large.i64_").unwrap().as_u128().unwrap_err().kind(), DynErrorKind::Range);
    assert_eq!(root.at("large.u128_").unwrap().as_i128().unwrap_err().kind(), DynErrorKind::Range);
    assert!(root.field("f32_").unwrap().as_f64().unwrap().is_nan());
    assert_eq!(root.field("letter").unwrap().as_char().unwrap(), 'é');
    assert_eq!(root.field("text").unwrap().as_bool().unwrap_err().kind(), DynErrorKind::WrongKind);
    let nested = root.field("nested_option").unwrap().option().unwrap().unwrap();
    assert!(nested.option().unwrap().is_none());

    assert_eq!(root.field("string_map").unwrap().len().unwrap(), 3);
    assert_eq!(root.field("u32_set").unwrap().len().unwrap(), 37);
    assert_eq!(root.field("text").unwrap().len().unwrap(), value.text.len());
    assert_eq!(root.field("triple").unwrap().len().unwrap(), 3);
    assert_eq!(root.field("nothing").unwrap().len().unwrap(), 0);
    assert_eq!(root.field("units").unwrap().len().unwrap(), 3);
    assert_eq!(root.len().unwrap(), root.fields().unwrap().count());

    let names: Vec<&str> = root.field("boxed").unwrap().fields().unwrap().map(|(n, _)| n).collect();
    assert_eq!(names, ["id", "tags"]);
    let mode = root.at(r#"modes_by_name["config"]"#).unwrap().variant().unwrap();
    assert_eq!((mode.enum_name(), mode.name(), mode.tag(), mode.len()), ("Mode", "Config", 3, 2));
    assert_eq!(mode.field("name").unwrap().as_str().unwrap(), "c");
    let fields: Vec<&str> = mode.fields().map(|(n, _)| n).collect();
    assert_eq!(fields, ["name", "retries"]);
    let triple: Vec<Kind> =
        root.field("triple").unwrap().elements().unwrap().map(|e| e.unwrap().kind()).collect();
    assert_eq!(triple, [Kind::Int(Int::U64), Kind::Bool, Kind::Char]);
    assert_eq!(root.field("bytes").unwrap().as_bytes().unwrap(), &value.bytes[..]);
    assert_eq!(root.field("boxed_bytes").unwrap().as_bytes().unwrap(), &value.boxed_bytes[..]);
    assert_eq!(root.field("byte_array").unwrap().as_bytes().unwrap(), &value.byte_array[..]);
    assert!(root.field("u128s").unwrap().numeric().unwrap().is_none());
    assert!(root.field("tuples").unwrap().numeric().unwrap().is_none());
}

/// A key serde_json cannot write: a variant with fields.
#[derive(rkyv::Archive, rkyv::Serialize, Describe, PartialEq, Eq, PartialOrd, Ord)]
#[rkyv(derive(PartialEq, Eq, PartialOrd, Ord))]
enum Shaped {
    Plain,
    Pair(u8, u8),
}

#[test]
fn opaque_values_show_their_bytes_and_composite_keys_their_json() {
    #[derive(rkyv::Archive, rkyv::Serialize, Describe)]
    struct WithOpaque {
        address: std::net::Ipv4Addr,
        #[rkyv(with = rkyv::with::Skip)]
        skipped: u8,
        keys: BTreeMap<(u8, String), u8>,
        hashed: HashMap<Option<u16>, bool>,
        by_variant: BTreeMap<Shaped, u8>,
    }
    let value = WithOpaque {
        address: std::net::Ipv4Addr::new(10, 0, 0, 255),
        skipped: 0,
        keys: [((1, "a".to_string()), 2)].into_iter().collect(),
        hashed: [(None, true)].into_iter().collect(),
        by_variant: [(Shaped::Pair(1, 2), 3), (Shaped::Plain, 4)].into_iter().collect(),
    };
    let _ = value.skipped;
    let bytes = archive(&value);
    let structure = structure_of::<WithOpaque>();
    let archive = DynArchive::new(&structure, &bytes).unwrap();
    assert!(archive.has_opaque());
    let root = archive.root();
    let address = root.field("address").unwrap();
    assert_eq!(address.kind(), Kind::Opaque);
    assert_eq!(address.opaque().unwrap(), ("std::net::Ipv4Addr", &[10, 0, 0, 255][..]));
    assert_eq!(
        root.to_json().unwrap(),
        r#"{"address":{"$opaque":"std::net::Ipv4Addr","hex":"0a0000ff"},"skipped":{"$opaque":"u8 with rkyv::with::Skip","hex":""},"keys":{"[1,\"a\"]":2},"hashed":{"null":true},"by_variant":{"Plain":4,"{\"Pair\":[1,2]}":3}}"#
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_values_read_as_the_rust_type_would(value in any_everything()) {
        let bytes = archive(&value);
        let structure = structure_of::<Everything>();
        let root = root(&structure, &bytes);
        root.check().unwrap();
        prop_assert_eq!(
            dynamic_json(&structure, &bytes, EVERYTHING_SETS),
            expected_json(&value, EVERYTHING_SETS)
        );
        // With at most one entry in each hash map and set, whose order then cannot differ, the
        // text is serde_json's byte for byte.
        let mut ordered = value.clone();
        ordered.string_map.retain(|k, _| value.string_map.keys().min() == Some(k));
        ordered.figures.retain(|k, _| value.figures.keys().min() == Some(k));
        ordered.i64_map.retain(|k, _| value.i64_map.keys().min() == Some(k));
        ordered.u8_map.retain(|k, _| value.u8_map.keys().min() == Some(k));
        ordered.char_set.retain(|k| value.char_set.iter().min() == Some(k));
        ordered.string_set.retain(|k| value.string_set.iter().min() == Some(k));
        ordered.color_hash.retain(|k, _| value.color_hash.keys().min() == Some(k));
        let ordered_bytes = archive(&ordered);
        prop_assert_eq!(
            self::root(&structure, &ordered_bytes).to_json().unwrap(),
            serde_json::to_string(&ordered).unwrap()
        );

        // Every key is found, with its value, and keys that are not there are not.
        let map = root.field("string_map").unwrap();
        for (k, v) in &value.string_map {
            prop_assert_eq!(parsed(map.get(k.as_str()).unwrap().unwrap()), json_of(v));
            let quoted = serde_json::to_string(k).unwrap();
            prop_assert_eq!(parsed(root.at(&format!("string_map[{quoted}]")).unwrap()), json_of(v));
        }
        let absent = (0..).map(|i| format!("absent {i}")).find(|k| !value.string_map.contains_key(k)).unwrap();
        prop_assert!(map.get(absent.as_str()).unwrap().is_none());

        let figures = root.field("figures").unwrap();
        for (k, v) in &value.figures {
            prop_assert_eq!(parsed(figures.get(*k).unwrap().unwrap()), json_of(v));
            prop_assert_eq!(parsed(root.at(&format!("figures[{k}]")).unwrap()), json_of(v));
        }
        let absent = (0..).find(|k| !value.figures.contains_key(k)).unwrap();
        prop_assert!(figures.get(absent).unwrap().is_none());
        prop_assert!(figures.get(-1).unwrap().is_none());

        let i64_map = root.field("i64_map").unwrap();
        for (k, v) in &value.i64_map {
            prop_assert_eq!(i64_map.get(*k).unwrap().unwrap().as_str().unwrap(), v.as_str());
        }
        let absent = (0..).find(|k| !value.i64_map.contains_key(k)).unwrap();
        prop_assert!(i64_map.get(absent).unwrap().is_none());
        prop_assert!(i64_map.get(u64::MAX).unwrap().is_none());

        let u8_map = root.field("u8_map").unwrap();
        for k in 0..=255u8 {
            let found = u8_map.get(k).unwrap().map(|v| v.as_i64().unwrap());
            prop_assert_eq!(found, value.u8_map.get(&k).map(|v| *v as i64));
        }
        prop_assert!(u8_map.get(256).unwrap().is_none());

        let char_set = root.field("char_set").unwrap();
        for c in &value.char_set {
            prop_assert!(char_set.contains(*c).unwrap());
            prop_assert_eq!(char_set.get(*c).unwrap().unwrap().as_char().unwrap(), *c);
        }
        let absent = ('a'..).find(|c| !value.char_set.contains(c)).unwrap();
        prop_assert!(!char_set.contains(absent).unwrap());

        let string_set = root.field("string_set").unwrap();
        for s in &value.string_set {
            prop_assert!(string_set.contains(s.as_str()).unwrap());
        }
        prop_assert_eq!(string_set.contains("absent".repeat(3).as_str()).unwrap(), value.string_set.contains(&"absent".repeat(3)));

        let bool_map = root.field("bool_map").unwrap();
        for b in [false, true] {
            let found = bool_map.get(b).unwrap().map(|v| v.as_u64().unwrap());
            prop_assert_eq!(found, value.bool_map.get(&b).map(|v| *v as u64));
        }

        let modes = root.field("modes_by_name").unwrap();
        for (k, v) in &value.modes_by_name {
            prop_assert_eq!(parsed(modes.get(k.as_str()).unwrap().unwrap()), json_of(v));
        }
        prop_assert_eq!(modes.get("\u{10ffff}absent").unwrap().is_none(), !value.modes_by_name.contains_key("\u{10ffff}absent"));

        let i16_tree = root.field("i16_tree").unwrap();
        for k in [i16::MIN, -1, 0, 1, i16::MAX].into_iter().chain(value.i16_tree.keys().copied()) {
            let found = i16_tree.get(k).unwrap().map(|v| v.as_u64().unwrap());
            prop_assert_eq!(found, value.i16_tree.get(&k).map(|v| *v as u64));
        }
        prop_assert!(i16_tree.get(i16::MAX as i64 + 1).unwrap().is_none());

        let u128_tree = root.field("u128_tree").unwrap();
        for k in [0, 1, u128::MAX].into_iter().chain(value.u128_tree.keys().copied()) {
            prop_assert_eq!(u128_tree.contains(k).unwrap(), value.u128_tree.contains_key(&k));
        }
        let u32_set = root.field("u32_set").unwrap();
        for k in [0, 1, u32::MAX].into_iter().chain(value.u32_set.iter().copied()) {
            prop_assert_eq!(u32_set.contains(k).unwrap(), value.u32_set.contains(&k));
        }
        let char_tree = root.field("char_tree").unwrap();
        for (c, v) in &value.char_tree {
            prop_assert_eq!(char_tree.get(*c).unwrap().unwrap().as_bool().unwrap(), *v);
            prop_assert_eq!(char_tree.get(Key::Str(c.encode_utf8(&mut [0; 4]))).unwrap().unwrap().as_bool().unwrap(), *v);
        }

        // Paths.
        for (i, (n, s)) in value.tuples.iter().enumerate() {
            prop_assert_eq!(root.at(&format!("tuples[{i}].0")).unwrap().as_u64().unwrap(), *n as u64);
            prop_assert_eq!(root.at(&format!("tuples[{i}][1]")).unwrap().as_str().unwrap(), s.as_str());
        }
        for (i, tag) in value.boxed.tags.iter().enumerate() {
            prop_assert_eq!(root.at(&format!("boxed.tags[{i}]")).unwrap().as_str().unwrap(), tag.as_str());
        }
        prop_assert_eq!(parsed(root.at("tree.children").unwrap()), json_of(&value.tree.children));
        prop_assert_eq!(root.at("small.isize_").unwrap().as_i64().unwrap(), value.small.isize_ as i64);
        prop_assert_eq!(root.at("large.i128_").unwrap().as_i128().unwrap(), value.large.i128_);
        prop_assert_eq!(root.at("large.u128_").unwrap().as_u128().unwrap(), value.large.u128_);
        prop_assert_eq!(root.at("text").unwrap().as_str().unwrap(), value.text.as_str());

        // Numeric slices are the elements.
        fn elements<const N: usize, T>(v: Value<'_>, kind: NumericKind, read: fn([u8; N]) -> T) -> Vec<T> {
            let slice = v.numeric().unwrap().unwrap();
            assert_eq!(slice.kind(), kind);
            assert_eq!(slice.bytes().len(), slice.len() * N);
            assert!(slice.is_aligned());
            slice.bytes().chunks_exact(N).map(|c| read(c.try_into().unwrap())).collect()
        }
        prop_assert_eq!(elements(root.field("numbers").unwrap(), NumericKind::I32, i32::from_le_bytes), value.numbers.clone());
        let floats = elements(root.field("floats").unwrap(), NumericKind::F64, f64::from_le_bytes);
        prop_assert_eq!(floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), value.floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        let f32s = elements(root.field("boxed_f32s").unwrap(), NumericKind::F32, f32::from_le_bytes);
        prop_assert_eq!(f32s.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), value.boxed_f32s.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(elements(root.field("u16_array").unwrap(), NumericKind::U16, u16::from_le_bytes), value.u16_array.to_vec());
        prop_assert_eq!(elements(root.field("usizes").unwrap(), NumericKind::U32, |b| u32::from_le_bytes(b) as usize), value.usizes.clone());
        prop_assert_eq!(elements(root.field("i64s").unwrap(), NumericKind::I64, i64::from_le_bytes), value.i64s.clone());
        prop_assert_eq!(elements(root.field("bytes").unwrap(), NumericKind::U8, |[b]: [u8; 1]| b), value.bytes.clone());
        prop_assert_eq!(root.field("bytes").unwrap().as_bytes().unwrap(), &value.bytes[..]);

        // Lengths and iteration.
        prop_assert_eq!(root.field("string_map").unwrap().entries().unwrap().count(), value.string_map.len());
        prop_assert_eq!(root.field("u32_set").unwrap().elements().unwrap().count(), value.u32_set.len());
        prop_assert_eq!(root.field("i16_tree").unwrap().len().unwrap(), value.i16_tree.len());
        prop_assert_eq!(root.field("modes").unwrap().len().unwrap(), value.modes.len());
        prop_assert_eq!(root.field("units").unwrap().elements().unwrap().count(), value.units.len());
    }
}
