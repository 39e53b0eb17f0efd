//! Schema fingerprints: a 64-bit hash that changes when the archived form of a type changes.

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

/// The fingerprint used for types that do not derive `SharedState` (the `Synchronizer`
/// facade): the type's name and the size and alignment of its archived form.
///
/// Weaker than a derived fingerprint: it does not see field names or nested layouts.
pub fn fingerprint_of<T: rkyv::Archive>() -> u64 {
    let mut fp = hash_str(std::any::type_name::<T>());
    fp = fold_fingerprint(fp, size_of::<T::Archived>() as u64);
    fold_fingerprint(fp, align_of::<T::Archived>() as u64)
}
