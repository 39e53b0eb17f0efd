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

/// The byte values the probe writes, one at a time, into an all-zero root.
const PROBE_VALUES: [u8; 3] = [0x01, 0x80, 0xff];

/// The layout fingerprint of `T`: its name without module paths, the size and alignment of its
/// archived form, and which single-byte changes of an all-zero archived root bytecheck accepts.
///
/// It does not depend on where `T` is declared or which program includes it: the same
/// definition compiled into two binaries (say, a `mod common;` included by both) gives the same
/// value. It tells apart two definitions whose archived roots differ in size, alignment, or in
/// the kind of field at some offset (an integer, where any byte is valid, against a `bool`, an
/// enum tag, a relative pointer or a length, where most bytes are not); so adding, removing,
/// retyping or reordering fields of different kinds changes it. It cannot tell apart fields of
/// the same archived type that are swapped or renamed, nor changes inside what a relative
/// pointer points to (the element type of a `Vec`, say) that keep the root the same. The
/// derived fingerprint sees all of that; use `#[derive(SharedState)]` for full checking.
pub fn layout_fingerprint<T>() -> u64
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
        return fp;
    }
    // The root goes at the end of a buffer whose first `prefix` bytes are zeros (rkyv wants
    // the root last, and what its relative pointers point at before it). A root of zeros is not
    // valid when the type has pointers (a pointer to itself is refused), so the probe tries base
    // patterns in which every 4-byte word is either 0 or an offset that points at the start of
    // the buffer, for words in even or odd places, and probes the first base that validates.
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
    let word_for = |word: usize, pointer: bool| -> [u8; 4] {
        if pointer { (-((prefix + 4 * word) as i64) as i32).to_le_bytes() } else { [0; 4] }
    };
    let patterns: [fn(usize) -> bool; 3] = [|_| false, |w| w % 2 == 0, |w| w % 2 == 1];
    let mut chosen = None;
    for (index, pointer_at) in patterns.iter().enumerate() {
        let root = &mut buffer[prefix..];
        for (w, chunk) in root.chunks_mut(4).enumerate() {
            let word = word_for(w, pointer_at(w));
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        if accepts(buffer) {
            chosen = Some(index);
            break;
        }
    }
    fp = fold_fingerprint(fp, chosen.map_or(u64::MAX, |i| i as u64));
    if chosen.is_none() {
        return fp;
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
    fold_fingerprint(fp, signature)
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
