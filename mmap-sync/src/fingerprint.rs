//! Schema fingerprints: 64-bit hashes that change when the archived form of a type changes.
//!
//! There are two. The *derived* fingerprint (`SharedState::FINGERPRINT`, made by
//! `#[derive(SharedState)]` at compile time) sees the definition: names, field names and type
//! tokens, and archived layouts. The *layout* fingerprint ([`layout_fingerprint`]) is what any
//! program can compute for any archivable type at run time, with or without the derive; the
//! upstream-style facade uses it, and every channel records it beside the derived one, so that a
//! program using the facade and one using `Reader<T>` agree on a channel.

use rkyv::bytecheck::CheckBytes;
use rkyv::{Archive, Portable};

/// Mixes `value` into the running fingerprint `acc`. Usable in `const` context, so derived
/// fingerprints can fold in `size_of`/`align_of` of archived types at compile time.
pub const fn fold_fingerprint(acc: u64, value: u64) -> u64 {
    // splitmix64 finaliser over the xor: cheap, const, and every input bit reaches every output
    // bit, so folding the same values in another order gives another result.
    let mut z = (acc ^ value.rotate_left(17)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a string (type names, field names, type tokens) at compile time.
pub const fn hash_str(s: &str) -> u64 {
    xxhash_rust::const_xxh3::xxh3_64(s.as_bytes())
}

/// Bytes of the archived root the layout probe looks at; a larger root is probed in its first
/// `PROBE_LIMIT` bytes only.
const PROBE_LIMIT: usize = 1024;

/// The byte values the probe writes, one at a time, into the base root.
const PROBE_VALUES: [u8; 3] = [0x01, 0x80, 0xff];

/// Most candidate bases tried before the probe gives up on finding one (see [`find_base`]).
const BASE_SEARCH_LIMIT: usize = 4096;

/// Size of a relative pointer (rkyv's default 32-bit pointer width): the unit of the base search.
const WORD: usize = 4;

/// The layout fingerprint of `T`: its name without module paths, the size and alignment of its
/// archived form, and which single-byte changes of a valid-looking archived root bytecheck
/// accepts.
///
/// It does not depend on where `T` is declared or which program includes it: the same
/// definition compiled into two binaries (say, a `mod common;` included by both) gives the same
/// value, and it is the same whether or not `T` derives `SharedState`.
///
/// What it tells apart: definitions whose archived roots differ in size or alignment, or in the
/// kind of field at some offset — an integer or float, where any byte is valid, against a
/// `bool`, a `char`, an enum tag, an `Option` tag, a relative pointer (`Vec`, `String`, `Box`,
/// maps) or a length, where most bytes are not. So adding or removing a field, retyping one
/// (`u32` to `u64`, `u32` to `bool`, `Vec` to a number) and reordering fields of different
/// kinds change it; so does renaming the type.
///
/// What it cannot tell apart: fields renamed, or swapped with fields of the same archived type
/// (two `u32`s, two `Vec`s); integer and float types of the same size (`u32`, `i32`, `f32`);
/// and anything behind a relative pointer, such as a `Vec`'s or a `Box`'s element type
/// (`Vec<String>` against `Vec<u64>`), because the probe only sees the root. Only the first
/// `PROBE_LIMIT` bytes of a larger root are probed. The derived fingerprint
/// (`#[derive(SharedState)]`) sees all of that: use it for full checking.
///
/// Cost: computed at run time, from about `3 × min(size, 1024)` bytechecks of the root plus
/// the base search; compute it once per type, not per read.
pub fn layout_fingerprint<T>() -> u64
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
{
    probe_layout::<T>().0
}

/// The layout fingerprint, and the base the probe used (the indices of the 4-byte words of the
/// root set to a relative pointer), if it found one.
fn probe_layout<T>() -> (u64, Option<Vec<usize>>)
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
{
    let size = size_of::<T::Archived>();
    let align = align_of::<T::Archived>();
    let mut fp = hash_str(&short_type_name(std::any::type_name::<T>()));
    fp = fold_fingerprint(fp, size as u64);
    fp = fold_fingerprint(fp, align as u64);
    if size == 0 {
        return (fp, None);
    }
    // The root goes at the end of a buffer whose first `prefix` bytes are zeros (rkyv wants
    // the root last, and what its relative pointers point at before it). A root of zeros is
    // not valid when the type has pointers past its first word (a pointer into the root itself
    // is refused), so the probe starts from a base in which some 4-byte words hold an offset
    // to the start of the buffer (where a pointer with a length of 0 is valid) and the others
    // are 0: the first such base that bytecheck accepts (see `find_base`).
    let prefix = size.next_multiple_of(16).max(16);
    let total = prefix + size;
    let mut storage = vec![0u128; total.div_ceil(16) + align.div_ceil(16) + 1];
    let base = storage.as_mut_ptr() as *mut u8;
    let start = (base as usize + prefix).next_multiple_of(align.max(16)) - prefix - base as usize;
    // SAFETY: `storage` has room for `start + total` bytes (start < align + 16, covered by the
    // extra u128s); u128 storage is valid for any byte pattern.
    let buffer = unsafe { std::slice::from_raw_parts_mut(base.add(start), total) };
    let accepts =
        |buffer: &[u8]| rkyv::api::high::access::<T::Archived, rkyv::rancor::Error>(buffer).is_ok();
    // Pointer words only where a relative pointer can be: at 4-byte offsets of a root aligned
    // to at least 4.
    let words = if align >= WORD { size / WORD } else { 0 };
    let chosen = find_base(words, |pointers| {
        let root = &mut buffer[prefix..];
        root.fill(0);
        for &w in pointers {
            let offset = -((prefix + WORD * w) as i64) as i32;
            root[WORD * w..WORD * (w + 1)].copy_from_slice(&offset.to_le_bytes());
        }
        accepts(buffer)
    });
    let Some(pointers) = chosen else {
        return (fold_fingerprint(fp, u64::MAX), None);
    };
    fp = fold_fingerprint(fp, pointers.len() as u64);
    for &w in &pointers {
        fp = fold_fingerprint(fp, w as u64);
    }
    let mut signature = 1u64;
    let mut count = 0;
    for i in prefix..prefix + size.min(PROBE_LIMIT) {
        let kept = buffer[i];
        for value in PROBE_VALUES {
            buffer[i] = value;
            signature = (signature << 1) | accepts(buffer) as u64;
            count += 1;
            if count % 63 == 0 {
                fp = fold_fingerprint(fp, signature);
                signature = 1;
            }
        }
        buffer[i] = kept;
    }
    (fold_fingerprint(fp, signature), Some(pointers))
}

/// The first set of pointer words, among `words` 4-byte words, for which `accepts` holds, in a
/// fixed order (so two programs with the same definition find the same set): regular patterns
/// first (no pointer; every 2nd, 3rd or 4th word from each start), then every set of 1, 2, 3 ..
/// words in lexicographic order, up to [`BASE_SEARCH_LIMIT`] candidates in all.
fn find_base(words: usize, mut accepts: impl FnMut(&[usize]) -> bool) -> Option<Vec<usize>> {
    let mut tried = std::collections::HashSet::new();
    let mut attempt = |pointers: &[usize]| -> Option<bool> {
        if tried.len() >= BASE_SEARCH_LIMIT {
            return None; // give up
        }
        // A set tried before (the patterns overlap on short roots) is not tried again.
        Some(tried.insert(pointers.to_vec()) && accepts(pointers))
    };
    let regular = (2..=4).flat_map(|period| {
        (0..period.min(words)).map(move |first| (first..words).step_by(period).collect())
    });
    for pointers in std::iter::once(Vec::new()).chain(regular) {
        if attempt(&pointers)? {
            return Some(pointers);
        }
    }
    for k in 1..=words {
        // Lexicographic k-subsets of 0..words.
        let mut subset: Vec<usize> = (0..k).collect();
        loop {
            if attempt(&subset)? {
                return Some(subset);
            }
            let Some(i) = (0..k).rev().find(|&i| subset[i] < words - k + i) else { break };
            subset[i] += 1;
            for j in i + 1..k {
                subset[j] = subset[j - 1] + 1;
            }
        }
    }
    None
}

/// `path::to::Name<other::Arg>` without its module paths: `Name<Arg>`.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear(); // a module path segment: drop it
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

/// The layout fingerprint under its former name, for code written against the first release.
#[deprecated(note = "use `layout_fingerprint`, which no longer depends on the module path")]
pub fn fingerprint_of<T>() -> u64
where
    T: Archive,
    T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
{
    layout_fingerprint::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_name_loses_its_module_paths_but_keeps_its_generics() {
        assert_eq!(short_type_name("reader::common::HelloWorld"), "HelloWorld");
        assert_eq!(short_type_name("alloc::vec::Vec<writer::common::Entry>"), "Vec<Entry>");
        assert_eq!(short_type_name("(u32, a::B)"), "(u32, B)");
    }

    mod one {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Hello {
            pub version: u32,
            pub messages: Vec<String>,
        }
    }
    mod two {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Hello {
            pub version: u32,
            pub messages: Vec<String>,
        }
    }
    mod swapped {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Hello {
            pub messages: Vec<String>,
            pub version: u32,
        }
    }
    mod retyped {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Hello {
            pub version: u32,
            pub messages: Vec<u64>,
            pub flag: bool,
        }
    }
    mod flagged {
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Hello {
            pub version: u16,
            pub flag: bool,
            pub messages: Vec<String>,
        }
    }

    /// Shapes of roots seen in real channel types: pointers (Vec, String, Box, maps) between
    /// integers, tags and flags, in irregular orders.
    mod shapes {
        use std::collections::{BTreeMap, HashMap};

        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Split {
            pub a: Vec<u8>,
            pub b: u32,
            pub c: Vec<u8>,
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Features {
            pub version: u64,
            pub dimension: u32,
            pub features: HashMap<u64, Vec<f32>>,
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Mixed {
            pub name: String,
            pub maybe: Option<Vec<u32>>,
            pub boxed: Box<u64>,
            pub routes: BTreeMap<u32, String>,
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        #[allow(dead_code)] // only its archived layout matters
        pub enum Kind {
            Number(u32),
            Bytes(Vec<u8>),
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Flags {
            pub flag: bool,
            pub kind: Kind,
            pub pair: (u8, Vec<String>),
            pub array: [u16; 3],
            pub tail: Vec<u8>,
        }
        #[derive(rkyv::Archive, rkyv::Serialize)]
        pub struct Irregular {
            pub a: Vec<u8>,
            pub b: u32,
            pub c: u32,
            pub d: Vec<u8>,
            pub e: Vec<u8>,
            pub f: u64,
            pub g: String,
            pub h: Option<Box<u32>>,
        }
    }

    #[test]
    fn the_probe_finds_a_base_for_typical_roots() {
        fn base<T>() -> Option<Vec<usize>>
        where
            T: Archive,
            T::Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>,
        {
            probe_layout::<T>().1
        }
        assert_eq!(base::<one::Hello>(), Some(vec![1]), "the messages pointer, word 1");
        assert!(base::<swapped::Hello>().is_some());
        assert!(base::<retyped::Hello>().is_some());
        assert!(base::<flagged::Hello>().is_some());
        assert!(base::<shapes::Split>().is_some());
        assert!(base::<shapes::Features>().is_some());
        assert!(base::<shapes::Mixed>().is_some());
        assert!(base::<shapes::Kind>().is_some());
        assert!(base::<shapes::Flags>().is_some());
        assert!(base::<shapes::Irregular>().is_some());
        assert!(base::<String>().is_some());
        assert!(base::<Vec<String>>().is_some());
        assert!(base::<u64>().is_some());
    }

    #[test]
    fn the_base_search_tries_sets_of_words_in_a_fixed_order_and_stops_at_its_limit() {
        let mut seen = Vec::new();
        let found = find_base(3, |p| {
            seen.push(p.to_vec());
            p == [0, 1]
        });
        assert_eq!(found, Some(vec![0, 1]));
        let expected: Vec<Vec<usize>> =
            vec![vec![], vec![0, 2], vec![1], vec![0], vec![2], vec![0, 1]];
        assert_eq!(seen, expected);
        let mut tried = 0;
        assert_eq!(
            find_base(64, |_| {
                tried += 1;
                false
            }),
            None
        );
        assert_eq!(tried, BASE_SEARCH_LIMIT, "stops at its limit");
    }

    #[test]
    fn the_same_definition_in_two_modules_has_one_layout_fingerprint() {
        assert_eq!(layout_fingerprint::<one::Hello>(), layout_fingerprint::<two::Hello>());
    }

    #[test]
    fn reordered_or_retyped_fields_change_the_layout_fingerprint() {
        let base = layout_fingerprint::<one::Hello>();
        assert_ne!(base, layout_fingerprint::<swapped::Hello>(), "reordered");
        assert_ne!(base, layout_fingerprint::<retyped::Hello>(), "field added");
        // Same size and alignment as the base (u16 + bool + padding where u32 was): only the
        // probe tells them apart.
        assert_eq!(size_of::<one::ArchivedHello>(), size_of::<flagged::ArchivedHello>());
        assert_ne!(base, layout_fingerprint::<flagged::Hello>(), "a bool where an integer was");
    }
}
