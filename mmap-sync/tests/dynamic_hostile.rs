//! The dynamic decoder on hostile input: damaged archives, descriptions that lie, pointers that
//! share or loop. It returns errors and never panics, never runs away, and allocates no more
//! than a small multiple of its input (of its output, for JSON). Where rkyv's own validator
//! accepts a damaged archive, the decoder does too and reads the same value.

mod dynamic_types;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dynamic_types::*;
use mmap_sync::dynamic::{DynArchive, DynErrorKind, Key, Kind, MAX_DEPTH, Value, work_budget};
use mmap_sync::schema::{ArchivedLayout, Body, Describe, Encoding, Float, Int, Shape, Structure};
use rkyv::util::AlignedVec;

// ---------------------------------------------------------------------------------------------
// Allocations, counted per thread
// ---------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(grow: usize, shrink: usize) {
    let _ = CURRENT.try_with(|current| {
        let now = current.get().saturating_add(grow).saturating_sub(shrink);
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; the counting touches only
// const-initialized thread-locals, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            track(layout.size(), 0);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc` or `realloc` above, with this layout.
        unsafe { System.dealloc(pointer, layout) };
        track(0, layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is the system allocator's.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            track(new_size, layout.size());
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `f`'s result and the most bytes it had allocated at once on this thread beyond what was
/// allocated before.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let result = f();
    (result, PEAK.with(Cell::get).saturating_sub(base))
}

/// What a walk over `bytes` may allocate beyond its output: errors and paths.
const SMALL: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn aligned(bytes: &[u8]) -> AlignedVec {
    let mut out = AlignedVec::with_capacity(bytes.len());
    out.extend_from_slice(bytes);
    out
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = bytes.get_mut(at..at + 4) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Reading everything a caller might read
// ---------------------------------------------------------------------------------------------

/// The reads a caller makes of `value`'s kind (and one of another kind), into its parts to a
/// bounded depth, results ignored: none may panic.
fn poke(value: Value<'_>, depth: usize) {
    if depth == 0 {
        return;
    }
    let _ = value.len();
    match value.kind() {
        Kind::Bool => drop(value.as_bool()),
        Kind::Char => drop(value.as_char()),
        Kind::Int(_) => drop((value.as_i64(), value.as_u128())),
        Kind::Float(_) => drop(value.as_f64()),
        Kind::String => drop(value.as_str()),
        Kind::Opaque => drop(value.opaque()),
        Kind::Option => {
            if let Ok(Some(inner)) = value.option() {
                poke(inner, depth - 1);
            }
        }
        Kind::Enum => {
            if let Ok(variant) = value.variant() {
                for (_, field) in variant.fields() {
                    poke(field, depth - 1);
                }
            }
        }
        Kind::Struct => {
            if let Ok(fields) = value.fields() {
                for (_, field) in fields {
                    poke(field, depth - 1);
                }
            }
            let _ = value.index(1);
        }
        Kind::List | Kind::Tuple | Kind::Set => {
            let _ = (value.numeric(), value.as_bytes(), value.index(1));
            if let Ok(elements) = value.elements() {
                for element in elements.take(2).flatten() {
                    poke(element, depth - 1);
                }
            }
            if value.kind() == Kind::Set {
                let _ = (value.get("alpha"), value.get(7u32), value.get('a'));
            }
        }
        Kind::Map => {
            for key in [
                Key::Str("alpha"),
                Key::Int(-1),
                Key::UInt(4_294_967_295),
                Key::Char('a'),
                Key::Bool(true),
            ] {
                let _ = value.get(key);
            }
            if let Ok(entries) = value.entries() {
                for (k, v) in entries.take(2).flatten() {
                    poke(k, depth - 1);
                    poke(v, depth - 1);
                }
            }
        }
        _ => {}
    }
    let _ = value.as_bool();
}

const PATHS: &[&str] = &[
    "boxed.tags[1]",
    "tuples[1].1",
    r#"string_map["alpha"].tags[0]"#,
    "figures[4294967295][0].radius",
    "i64_map[-1]",
    r#"modes_by_name["nested"].0.0"#,
    "tree.children[1].children[0].label",
    "u32_set[1000]",
    "char_tree[a]",
    "grid[1][1]",
    "maybe",
    "nested_option",
];

/// Sets (sorted and without duplicates: a damaged set may repeat an element, which the Rust
/// set drops) in `Everything`'s JSON.
fn normalized(mut json: serde_json::Value) -> serde_json::Value {
    for pointer in ["/char_set", "/string_set", "/u32_set"] {
        if let Some(serde_json::Value::Array(items)) = json.pointer_mut(pointer) {
            items.sort_by_cached_key(|item| item.to_string());
            items.dedup();
        }
    }
    json
}

/// Everything a reader does with `bytes` through `structure`: `None` when the archive is
/// refused at the start, else the JSON or the error both `check` and the JSON ended in.
fn read_all(structure: &Structure, bytes: &AlignedVec) -> Option<Result<String, DynErrorKind>> {
    let archive = DynArchive::new(structure, bytes).ok()?;
    let root = archive.root();
    let (checked, check_peak) = peak_during(|| root.check());
    assert!(check_peak <= SMALL, "check allocated {check_peak} bytes for {} bytes", bytes.len());
    let mut json = String::new();
    let (written, json_peak) = peak_during(|| root.write_json(&mut json));
    assert!(
        json_peak <= 3 * json.len() + SMALL,
        "JSON of {} bytes allocated {json_peak} bytes",
        json.len()
    );
    assert!(
        json.len() as u64 <= 64 * work_budget(bytes.len()),
        "{} bytes of JSON for {} bytes",
        json.len(),
        bytes.len()
    );
    assert_eq!(checked.is_ok(), written.is_ok(), "check {checked:?}, JSON {written:?}");
    if let Err(e) = &checked {
        assert!(!e.to_string().is_empty());
        assert!(!matches!(e.kind(), DynErrorKind::Output | DynErrorKind::Path));
    }
    for path in PATHS {
        if let Ok(value) = root.at(path) {
            let _ = value.check();
        }
    }
    poke(root, 3);
    Some(checked.map(|()| json).map_err(|e| e.kind()))
}

// ---------------------------------------------------------------------------------------------
// Damaged archives
// ---------------------------------------------------------------------------------------------

/// A value with more of everything: hash tables of dozens of entries, B-trees of three levels.
fn big() -> Everything {
    let mut big = sample();
    big.string_map.extend((0..30).map(|i| (format!("key number {i}"), inner(i, &["t"]))));
    big.i16_tree.extend((0..100).map(|i| (i * 7, 1)));
    big.u32_set.extend(0..100);
    big.modes.extend((0..10).map(|i| Mode::Failed(format!("failure {i}"))));
    big
}

fn bases() -> Vec<AlignedVec> {
    let mut small = sample();
    small.u8_map.clear();
    small.i16_tree.clear();
    small.u32_set = [7].into_iter().collect();
    vec![archive(&sample()), archive(&big()), archive(&small)]
}

/// Kinds of damage.
#[derive(Clone, Copy)]
enum Damage {
    /// Flipped bytes, or bytes cut from either end.
    BytesAndCuts,
    /// A 32-bit word (lengths, pointers) overwritten with a value that tends to matter, or a
    /// pointer aimed at another word of the archive; sometimes two.
    WordsAndPointers,
}

fn damage(rng: &mut Rng, kind: Damage, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    let choice = match kind {
        Damage::BytesAndCuts => rng.below(2),
        Damage::WordsAndPointers => 2 + rng.below(4),
    };
    match choice {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(len);
                bytes[at] ^= 1 + rng.below(255) as u8;
            }
        }
        1 => {
            let cut = 1 + rng.below(64.min(len));
            if rng.below(2) == 0 {
                bytes.drain(..cut);
            } else {
                bytes.truncate(len - cut);
            }
        }
        2 | 3 => {
            let at = rng.below(len / 4) * 4;
            let value = match rng.below(10) {
                0 => 0,
                1 => 1,
                2 => u32::MAX,
                3 => i32::MAX as u32,
                4 => 0x8000_0000,
                5 => len as u32,
                6 => (-(rng.below(len) as i64)) as u32,
                7 => rng.below(64) as u32,
                8 => 0x80 | (rng.below(1 << 20) as u32) << 8,
                _ => rng.next() as u32,
            };
            put_u32(bytes, at, value);
        }
        4 => {
            // A relative pointer aimed at another word: shared parts, loops.
            let at = rng.below(len / 4) * 4;
            let target = rng.below(len / 4) * 4;
            put_u32(bytes, at, (target as i64 - at as i64) as u32);
        }
        _ => {
            damage(rng, kind, bytes);
            damage(rng, kind, bytes);
        }
    }
}

/// 10 000 damaged archives: each read in every way gives errors or values, never a panic, and
/// where rkyv's validator accepts the archive, the decoder reads the value rkyv deserializes.
fn damaged_archives(kind: Damage, seed: u64) {
    let structure = structure_of::<Everything>();
    let bases = bases();
    for base in &bases {
        assert!(matches!(read_all(&structure, base), Some(Ok(_))));
    }
    let mut rng = Rng(seed);
    let (mut refused, mut failed, mut passed, mut rkyv_passed) = (0, 0, 0, 0);
    for case in 0..10_000 {
        let base = &bases[case % bases.len()];
        let mut bytes = base.to_vec();
        damage(&mut rng, kind, &mut bytes);
        let bytes = aligned(&bytes);
        let ours = read_all(&structure, &bytes);
        let json = match ours {
            None => {
                refused += 1;
                continue;
            }
            // Where the decoder stops at its work limit rkyv may accept (it reads a list of
            // zero-sized values of any length, one by one): those are not asked of rkyv.
            Some(Err(DynErrorKind::Limit)) => {
                failed += 1;
                continue;
            }
            Some(Err(_)) => {
                failed += 1;
                None
            }
            Some(Ok(json)) => {
                passed += 1;
                Some(json)
            }
        };
        let Ok(archived) = rkyv::access::<ArchivedEverything, rkyv::rancor::Error>(&bytes) else {
            continue;
        };
        rkyv_passed += 1;
        let json =
            json.unwrap_or_else(|| panic!("case {case}: rkyv accepts what the decoder refuses"));
        let value: Everything = rkyv::deserialize::<_, rkyv::rancor::Error>(archived).unwrap();
        let theirs = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        assert_eq!(
            normalized(serde_json::from_str(&json).unwrap()),
            normalized(theirs),
            "case {case}"
        );
    }
    // The damage reached every stage: found in the walk, harmless, and (cuts) refused at once.
    assert!(failed > 2_000 && passed > 100 && rkyv_passed > 100, "{failed} {passed} {rkyv_passed}");
    if let Damage::BytesAndCuts = kind {
        assert!(refused > 100, "{refused}");
    }
}

#[test]
fn archives_with_flipped_bytes_or_cuts_give_errors_and_read_as_rkyv_does() {
    damaged_archives(Damage::BytesAndCuts, 0x005e_ed0f_da7a);
}

#[test]
fn archives_with_overwritten_lengths_or_pointers_give_errors_and_read_as_rkyv_does() {
    damaged_archives(Damage::WordsAndPointers, 0x0bad_5eed);
}

#[test]
fn reading_a_sound_archive_allocates_only_the_json() {
    let structure = structure_of::<Everything>();
    let value = big();
    let bytes = &archive(&value);
    let root = DynArchive::new(&structure, bytes).unwrap().root();
    let ((), navigation) = peak_during(|| {
        for path in PATHS {
            root.at(path).unwrap();
        }
        let map = root.field("string_map").unwrap();
        assert!(map.get("key number 7").unwrap().is_some());
        assert_eq!(
            root.field("i16_tree").unwrap().entries().unwrap().count(),
            value.i16_tree.len()
        );
        assert_eq!(root.field("modes").unwrap().elements().unwrap().count(), value.modes.len());
        let slice = root.field("floats").unwrap().numeric().unwrap().unwrap();
        assert_eq!(slice.len(), 8);
    });
    assert_eq!(navigation, 0, "navigation allocated");
    let (checked, peak) = peak_during(|| root.check());
    checked.unwrap();
    assert!(peak < 1024, "check allocated {peak} bytes");
    let (json, peak) = peak_during(|| root.to_json().unwrap());
    assert!(peak <= 3 * json.len(), "{} bytes of JSON, {peak} allocated", json.len());
}

// ---------------------------------------------------------------------------------------------
// Shared and looping pointers
// ---------------------------------------------------------------------------------------------

/// The offset of `part` in `whole`.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

#[test]
fn lists_that_share_one_long_list_end_in_the_budget_error() {
    let mut lists = vec![vec![0u32; 5000]];
    lists.extend((0..2000).map(|_| vec![0u32]));
    let structure = structure_of::<Vec<Vec<u32>>>();
    let mut bytes = archive(&lists).to_vec();
    let (long, positions) = {
        let root = DynArchive::new(&structure, &bytes).unwrap().root();
        let long = root.index(0).unwrap().numeric().unwrap().unwrap();
        let positions: Vec<usize> =
            (1..lists.len()).map(|i| root.index(i).unwrap().position()).collect();
        (offset_in(&bytes, long.bytes()), positions)
    };
    for at in positions {
        put_u32(&mut bytes, at, (long as i64 - at as i64) as u32);
        put_u32(&mut bytes, at + 4, 5000);
    }
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    // Each list alone reads well; the whole is ten million numbers in 44 kB.
    assert_eq!(root.index(2000).unwrap().len().unwrap(), 5000);
    let error = root.check().unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Limit, "{error}");
    let mut json = String::new();
    let (written, peak) = peak_during(|| root.write_json(&mut json));
    assert_eq!(written.unwrap_err().kind(), DynErrorKind::Limit);
    assert!(peak <= 3 * json.len() + SMALL);
    assert!((json.len() as u64) < 64 * work_budget(bytes.len()));
}

#[test]
fn a_tree_whose_children_loop_back_ends_in_the_depth_error() {
    let tree = Tree { label: 1, children: vec![Tree { label: 2, children: vec![] }] };
    let structure = structure_of::<Tree>();
    let mut bytes = archive(&tree).to_vec();
    let (children, inner) = {
        let root = DynArchive::new(&structure, &bytes).unwrap().root();
        let first = root.at("children[0]").unwrap();
        (first.position(), root.at("children[0].children").unwrap().position())
    };
    // The child's children are the root's children: the child contains itself.
    put_u32(&mut bytes, inner, (children as i64 - inner as i64) as u32);
    put_u32(&mut bytes, inner + 4, 1);
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    let error = root.check().unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Limit, "{error}");
    assert!(error.to_string().contains(&format!("more than {MAX_DEPTH} deep")), "{error}");
    assert!(error.path().starts_with("children[0].children[0].children[0]"), "{error}");
    assert_eq!(root.to_json().unwrap_err().kind(), DynErrorKind::Limit);
    // Navigation goes as deep as asked, one step at a time.
    assert_eq!(
        root.at("children[0].".repeat(500).trim_end_matches('.')).unwrap().kind(),
        Kind::Struct
    );
}

#[test]
fn a_box_that_points_at_itself_ends_in_the_depth_error() {
    let mode = Mode::Nested(Box::new(Mode::Idle));
    let structure = structure_of::<Mode>();
    let mut bytes = archive(&mode).to_vec();
    let (enum_at, box_at) = {
        let root = DynArchive::new(&structure, &bytes).unwrap().root();
        let (_, boxed) = root.fields().unwrap().next().unwrap();
        (root.position(), boxed.position())
    };
    put_u32(&mut bytes, box_at, (enum_at as i64 - box_at as i64) as u32);
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    assert_eq!(root.check().unwrap_err().kind(), DynErrorKind::Limit);
    assert_eq!(root.to_json().unwrap_err().kind(), DynErrorKind::Limit);
}

#[test]
fn a_list_of_four_billion_units_is_refused_not_walked() {
    let structure = structure_of::<Vec<()>>();
    let mut bytes = archive(&vec![(); 3]).to_vec();
    let at = bytes.len() - 8;
    put_u32(&mut bytes, at + 4, u32::MAX);
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    assert_eq!(root.len().unwrap(), u32::MAX as usize);
    assert_eq!(root.index(u32::MAX as usize - 1).unwrap().kind(), Kind::Unit);
    assert_eq!(root.check().unwrap_err().kind(), DynErrorKind::Limit);
    assert_eq!(root.to_json().unwrap_err().kind(), DynErrorKind::Limit);
    let last = root.elements().unwrap().last().unwrap();
    assert_eq!(last.unwrap_err().kind(), DynErrorKind::Limit);
}

#[test]
fn a_hash_table_without_an_empty_control_byte_ends_its_probe() {
    let map: std::collections::HashMap<u32, u8> = (0..10).map(|i| (i, i as u8)).collect();
    let structure = structure_of::<std::collections::HashMap<u32, u8>>();
    let mut bytes = archive(&map).to_vec();
    let control = {
        let root = DynArchive::new(&structure, &bytes).unwrap().root();
        let at = root.position();
        (at as i64 + i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as i64) as usize
    };
    // Every control byte full, none matching: a probe never meets an empty byte.
    let count = 16 + 15;
    bytes[control..control + count].fill(0x00);
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    let error = root.get(1234u32).unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Corrupt, "{error}");
    assert_eq!(error.path(), "[1234]");
    assert_eq!(root.check().unwrap_err().kind(), DynErrorKind::Corrupt);
}

#[test]
fn a_btree_whose_child_is_its_parent_is_refused() {
    let set: std::collections::BTreeSet<u32> = (0..100).collect();
    let structure = structure_of::<std::collections::BTreeSet<u32>>();
    let mut bytes = archive(&set).to_vec();
    let root_node = {
        let root = DynArchive::new(&structure, &bytes).unwrap().root();
        let at = root.position();
        (at as i64 + i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as i64) as usize
    };
    // The root is an inner node (100 entries): aim its last child back at itself.
    assert_eq!(bytes[root_node], 1);
    let greater = root_node + 4 + 5 * 4 + 4 * 5;
    put_u32(&mut bytes, greater, (root_node as i64 - greater as i64) as u32);
    let bytes = aligned(&bytes);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    assert_eq!(root.check().unwrap_err().kind(), DynErrorKind::Corrupt);
    assert!(root.elements().unwrap().any(|e| e.is_err()));
    assert!(root.get(1_000_000u32).is_err());
    assert!(root.contains(3u32).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Descriptions that lie
// ---------------------------------------------------------------------------------------------

fn fields_mut<'s>(
    structure: &'s mut Structure,
    type_name: &str,
) -> &'s mut Vec<mmap_sync::schema::Field> {
    let definition = structure.types.iter_mut().find(|d| d.name == type_name).unwrap();
    match &mut definition.body {
        Body::Struct(fields) => &mut fields.list,
        Body::Enum(variants) => &mut variants[0].fields.list,
    }
}

fn refused(structure: &Structure, bytes: &[u8]) -> String {
    let error = DynArchive::new(structure, bytes).unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Structure, "{error}");
    error.to_string()
}

#[test]
fn inconsistent_descriptions_are_refused_naming_the_field() {
    let bytes = archive(&sample());
    let sound = structure_of::<Everything>();

    let mut s = sound.clone();
    s.encoding = Encoding { big_endian: true, ..Encoding::standard() };
    assert!(refused(&s, &bytes).contains("big-endian"));
    let mut s = sound.clone();
    s.encoding = Encoding { pointer_width: 64, ..Encoding::standard() };
    refused(&s, &bytes);

    let mut s = sound.clone();
    fields_mut(&mut s, "Everything").iter_mut().find(|f| f.name == "text").unwrap().layout.size =
        12;
    assert!(refused(&s, &bytes).starts_with("Everything.text: recorded as 12 bytes"));

    let mut s = sound.clone();
    let text = fields_mut(&mut s, "Everything").iter_mut().find(|f| f.name == "text").unwrap();
    text.shape = Shape::Int(Int::U128);
    assert!(refused(&s, &bytes).starts_with("Everything.text:"));

    let mut s = sound.clone();
    fields_mut(&mut s, "Inner")[1].offset = 1 << 40;
    assert!(refused(&s, &bytes).starts_with("Inner.tags:"));

    let mut s = sound.clone();
    fields_mut(&mut s, "Inner")[1].offset = 2;
    refused(&s, &bytes);

    let mut s = sound.clone();
    fields_mut(&mut s, "Inner")[0].shape = Shape::Named(999);
    assert!(refused(&s, &bytes).contains("type 999"));

    let mut s = sound.clone();
    s.root = Shape::Named(999);
    refused(&s, &bytes);

    let mut s = sound.clone();
    let mut deep = Shape::Int(Int::U8);
    for _ in 0..100 {
        deep = Shape::Option(Box::new(deep));
    }
    s.root = deep;
    assert!(refused(&s, &bytes).contains("nested more than"));

    let mut s = sound.clone();
    s.root = Shape::Array(Box::new(Shape::Int(Int::U64)), 1 << 60);
    refused(&s, &bytes);

    let mut s = sound.clone();
    s.root = Shape::Opaque { name: "x".into(), layout: ArchivedLayout { size: 3, align: 3 } };
    refused(&s, &bytes);

    let mut s = sound.clone();
    let mode = s.types.iter_mut().find(|d| d.name == "Mode").unwrap();
    if let Body::Enum(variants) = &mut mode.body {
        variants[1].tag = variants[0].tag;
    }
    assert!(refused(&s, &bytes).contains("another variant's"));

    let mut s = sound.clone();
    s.types.iter_mut().find(|d| d.name == "Mode").unwrap().layout =
        ArchivedLayout { size: 0, align: 1 };
    refused(&s, &bytes);

    let mut s = sound.clone();
    s.types.iter_mut().find(|d| d.name == "Everything").unwrap().layout.align = 6;
    refused(&s, &bytes);

    // A named type of alignment 0 inside the shapes that lay out their parts.
    let inner = sound.types.iter().position(|d| d.name == "Inner").unwrap();
    for shape in [
        Shape::Tuple(vec![Shape::Int(Int::U8), Shape::Named(inner)]),
        Shape::Option(Box::new(Shape::Named(inner))),
        Shape::HashMap(Box::new(Shape::Named(inner)), Box::new(Shape::Unit)),
        Shape::BTreeSet(Box::new(Shape::Named(inner))),
        Shape::Array(Box::new(Shape::Named(inner)), 3),
    ] {
        let mut s = sound.clone();
        s.types[inner].layout.align = 0;
        s.root = shape;
        assert!(refused(&s, &bytes).contains("Inner: alignment 0"));
    }

    // The root larger than the archive, or misaligned at its end.
    let error = DynArchive::new(&sound, &bytes[..100]).unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Corrupt);
    let error = DynArchive::new(&sound, &bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(error.kind(), DynErrorKind::Corrupt);
}

/// Shapes archived in the same bytes as `shape`: a description may swap them without any
/// layout telling.
fn lookalike(rng: &mut Rng, shape: &Shape) -> Option<Shape> {
    let u8_ = || Box::new(Shape::Int(Int::U8));
    let eight = [
        Shape::String,
        Shape::BoxStr,
        Shape::Vec(u8_()),
        Shape::Vec(Box::new(Shape::String)),
        Shape::BoxSlice(Box::new(Shape::Int(Int::U64))),
        Shape::BTreeMap(Box::new(Shape::String), u8_()),
        Shape::BTreeSet(Box::new(Shape::Int(Int::U128))),
        Shape::Array(Box::new(Shape::Char), 2),
        Shape::Int(Int::U64),
    ];
    let four = [
        Shape::Int(Int::U32),
        Shape::Int(Int::I32),
        Shape::Char,
        Shape::Float(Float::F32),
        Shape::Box(Box::new(Shape::String)),
        Shape::Array(Box::new(Shape::Bool), 4),
    ];
    let twelve = [
        Shape::HashMap(Box::new(Shape::String), u8_()),
        Shape::HashSet(Box::new(Shape::Int(Int::U32))),
        Shape::Tuple(vec![Shape::Int(Int::U32), Shape::Vec(u8_())]),
    ];
    let pick = |rng: &mut Rng, list: &[Shape]| list[rng.below(list.len())].clone();
    match shape {
        Shape::String
        | Shape::BoxStr
        | Shape::Vec(_)
        | Shape::BoxSlice(_)
        | Shape::BTreeMap(..)
        | Shape::BTreeSet(_) => Some(pick(rng, &eight)),
        Shape::Int(Int::U32 | Int::I32 | Int::Usize | Int::Isize)
        | Shape::Char
        | Shape::Float(Float::F32)
        | Shape::Box(_) => Some(pick(rng, &four)),
        Shape::HashMap(..) | Shape::HashSet(_) => Some(pick(rng, &twelve)),
        Shape::Int(Int::U8 | Int::I8) | Shape::Bool => Some(pick(
            rng,
            &[
                Shape::Bool,
                Shape::Int(Int::I8),
                Shape::Int(Int::U8),
                Shape::Array(Box::new(Shape::Bool), 1),
            ],
        )),
        _ => None,
    }
}

#[test]
fn descriptions_that_lie_in_the_same_layout_give_errors_never_panics() {
    let bytes = archive(&sample());
    let sound = structure_of::<Everything>();
    let mut rng = Rng(0xdeca_fbad);
    let mut read = 0;
    for _ in 0..1500 {
        let mut s = sound.clone();
        for _ in 0..1 + rng.below(3) {
            let index = rng.below(s.types.len());
            let lists: Vec<&mut Vec<mmap_sync::schema::Field>> = match &mut s.types[index].body {
                Body::Struct(fields) => vec![&mut fields.list],
                Body::Enum(variants) => variants.iter_mut().map(|v| &mut v.fields.list).collect(),
            };
            let Some(list) = lists.into_iter().filter(|l| !l.is_empty()).last() else { continue };
            let field = rng.below(list.len());
            if let Some(shape) = lookalike(&mut rng, &list[field].shape) {
                list[field].shape = shape;
            } else if rng.below(4) == 0 {
                list[field].offset = rng.below(64) as u64;
            }
        }
        if read_all(&s, &bytes).is_some() {
            read += 1;
        }
    }
    assert!(read > 1000, "{read}");
}

#[test]
fn a_description_of_another_type_reads_errors_or_values_never_panics() {
    // Every pair of sample types: one's bytes read through the other's description.
    let archives: Vec<(Structure, AlignedVec)> = vec![
        (structure_of::<Everything>(), archive(&sample())),
        (
            structure_of::<Vec<Mode>>(),
            archive(&vec![Mode::Failed("x".repeat(40)), Mode::Moved(1, 2)]),
        ),
        (structure_of::<Tree>(), archive(&sample().tree)),
        (structure_of::<Inner>(), archive(&inner(5, &["a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]))),
        (structure_of::<Larges>(), archive(&sample().large)),
        (
            Structure::of(&<std::collections::HashMap<String, Inner>>::SHAPE),
            archive(&sample().string_map),
        ),
    ];
    for (structure, _) in &archives {
        for (_, bytes) in &archives {
            let _ = read_all(structure, bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deep values
// ---------------------------------------------------------------------------------------------

/// Nesting through maps and options, for the depth limit.
#[derive(rkyv::Archive, rkyv::Serialize, Describe, Default)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    __C::Error: rkyv::rancor::Source,
)))]
struct Nest {
    #[rkyv(omit_bounds)]
    tree: std::collections::BTreeMap<u8, Nest>,
    #[rkyv(omit_bounds)]
    hash: std::collections::HashMap<u8, Nest>,
    #[rkyv(omit_bounds)]
    next: Option<Box<Nest>>,
}

/// A chain of `levels` values, each holding the next in the way `link` says.
fn chain(levels: usize, link: fn(Nest) -> Nest) -> Nest {
    (0..levels).fold(Nest::default(), |inner, _| link(inner))
}

#[test]
fn walks_end_at_the_depth_limit_within_a_small_stack() {
    let values = [
        chain(MAX_DEPTH, |n| Nest { tree: [(1, n)].into_iter().collect(), ..Nest::default() }),
        chain(MAX_DEPTH, |n| Nest { hash: [(1, n)].into_iter().collect(), ..Nest::default() }),
        chain(MAX_DEPTH, |n| Nest { next: Some(Box::new(n)), ..Nest::default() }),
    ];
    let structure = structure_of::<Nest>();
    for value in values {
        let bytes = archive(&value);
        let structure = structure.clone();
        // An unoptimized build's frames are the largest: a walk to the limit fits in 1 MiB.
        let walk = std::thread::Builder::new().stack_size(1 << 20).spawn(move || {
            let root = DynArchive::new(&structure, &bytes).unwrap().root();
            (root.check().unwrap_err(), root.to_json().unwrap_err())
        });
        let (checked, json) = walk.unwrap().join().unwrap();
        for error in [checked, json] {
            assert_eq!(error.kind(), DynErrorKind::Limit, "{error}");
            assert!(error.message().contains(&format!("more than {MAX_DEPTH} deep")), "{error}");
        }
    }
    // Half as deep reads whole.
    let value = chain(MAX_DEPTH / 2 - 1, |n| Nest {
        tree: [(1, n)].into_iter().collect(),
        ..Nest::default()
    });
    let bytes = archive(&value);
    let root = DynArchive::new(&structure, &bytes).unwrap().root();
    root.check().unwrap();
    assert!(root.to_json().unwrap().starts_with(r#"{"tree":{"1":{"tree":{"1":"#));
}
