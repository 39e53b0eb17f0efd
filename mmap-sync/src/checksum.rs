//! The copy checksum, computed while the writer copies the bytes in: xxh3-64 (seed 0, the
//! default secret) of a copy's bytes, the very value `xxhash_rust::xxh3::xxh3_64` gives and
//! readers compare with, in one pass over the bytes instead of a copy and then a hash.
//!
//! xxh3 hashes an input longer than 240 bytes in 64-byte *stripes*: eight 64-bit accumulators
//! take each stripe in turn (each lane adds its neighbour's input word and the 32 × 32-bit
//! product of its own input word xor-ed with a word of the secret, the secret word depending
//! on the stripe's place in its block of 16), a *scramble* mixes the accumulators after every
//! 16 stripes, and the end mixes in the input's last 64 bytes and folds the accumulators into
//! one word. Every stripe but the input's final one is taken the same way, whatever follows,
//! so a writer that has the first bytes of its archive can take their stripes while it writes
//! the rest: [`CopyHasher`] takes a stripe once at least one byte follows it. A large write
//! is copied and hashed stripe by stripe ([`CopyHasher::copy_in`]): each stripe is loaded once,
//! stored into the copy and added to the accumulators from the same registers, so the bytes
//! cross memory once. Inputs of at most 240 bytes use xxh3's other algorithms; the end hashes
//! them from the copy in one call.

use xxhash_rust::const_xxh3::const_custom_default_secret;

/// Bytes per stripe.
const STRIPE: usize = 64;
/// Stripes per block: between two scrambles.
const STRIPES_PER_BLOCK: usize = 16;
/// A write at least this long goes to memory with streaming stores
/// ([`copy_stripes_streaming`]): beyond what the caches could keep for a reader anyway.
const STREAM_MIN: usize = 8 << 20;
/// Inputs up to this length are not hashed in stripes.
const SHORT_MAX: usize = 240;
/// xxh3's default secret (the secret of seed 0).
const SECRET: [u8; 192] = const_custom_default_secret(0);
/// The secret as little-endian words: stripe `n` of a block takes words `n..n + 8`, the
/// scramble words `16..24`.
const KEYS: [u64; 24] = secret_words();

const PRIME32_1: u64 = 0x9E37_79B1;
const PRIME32_2: u64 = 0x85EB_CA77;
const PRIME32_3: u64 = 0xC2B2_AE3D;
const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
const PRIME64_4: u64 = 0x85EB_CA77_C2B2_AE63;
const PRIME64_5: u64 = 0x27D4_EB2F_1656_67C5;
/// Where in the secret the last stripe's words start, and the final fold's.
const LAST_STRIPE_SECRET: usize = SECRET.len() - STRIPE - 7;
const MERGE_SECRET: usize = 11;
/// The secret words the input's last stripe takes.
const LAST_KEYS: [u64; 8] = last_keys();

const fn last_keys() -> [u64; 8] {
    let mut words = [0; 8];
    let mut i = 0;
    while i < 8 {
        words[i] = secret_word(LAST_STRIPE_SECRET + 8 * i);
        i += 1;
    }
    words
}

const fn secret_words() -> [u64; 24] {
    let mut words = [0; 24];
    let mut i = 0;
    while i < 24 {
        words[i] = secret_word(8 * i);
        i += 1;
    }
    words
}

/// The little-endian word at byte `at` of the secret (any offset, aligned or not).
const fn secret_word(at: usize) -> u64 {
    let mut word = 0;
    let mut i = 0;
    while i < 8 {
        word |= (SECRET[at + i] as u64) << (8 * i);
        i += 1;
    }
    word
}

#[inline(always)]
fn stripe_words(stripe: &[u8]) -> [u64; 8] {
    std::array::from_fn(|i| {
        u64::from_le_bytes(stripe[8 * i..8 * i + 8].try_into().expect("a stripe is 64 bytes"))
    })
}

/// Adds one stripe (as words) to the accumulators, with the secret words `keys`.
#[inline(always)]
fn accumulate(acc: &mut [u64; 8], data: &[u64; 8], keys: &[u64]) {
    for i in 0..8 {
        let keyed = data[i] ^ keys[i];
        acc[i ^ 1] = acc[i ^ 1].wrapping_add(data[i]);
        acc[i] = acc[i].wrapping_add((keyed & 0xFFFF_FFFF).wrapping_mul(keyed >> 32));
    }
}

/// Copies the stripes of `src` into `dst` (which starts at stripe number `stripes` of the
/// archive) and takes each, while the archive known up to `end` has a byte after it; returns
/// the bytes copied.
#[inline(always)]
fn copy_stripes(
    acc: &mut [u64; 8],
    stripes: &mut usize,
    dst: &mut [u8],
    src: &[u8],
    end: usize,
) -> usize {
    let mut done = 0;
    for (d, s) in dst.chunks_exact_mut(STRIPE).zip(src.chunks_exact(STRIPE)) {
        if (*stripes + 1) * STRIPE >= end {
            break;
        }
        let words = stripe_words(s);
        d.copy_from_slice(s);
        take(acc, stripes, &words);
        done += STRIPE;
    }
    done
}

/// [`copy_stripes`] for a write too large for the caches to keep: the stripes go to memory
/// with streaming stores, which do not read each destination line into the cache before
/// overwriting it (as a plain store does), and leave the caches to the source. Falls back to
/// plain stores where streaming stores need what is not there (another architecture, a
/// destination not 16-byte aligned).
fn copy_stripes_streaming(
    acc: &mut [u64; 8],
    stripes: &mut usize,
    dst: &mut [u8],
    src: &[u8],
    end: usize,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if dst.as_ptr().cast::<std::arch::x86_64::__m128i>().is_aligned() {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
        let mut done = 0;
        for (d, s) in dst.chunks_exact_mut(STRIPE).zip(src.chunks_exact(STRIPE)) {
            if (*stripes + 1) * STRIPE >= end {
                break;
            }
            let words = stripe_words(s);
            for lane in 0..STRIPE / 16 {
                // SAFETY: `s` and `d` are 64 bytes each, so both 16-byte ranges at `16 * lane`
                // are in bounds; `d` starts 16-byte aligned (checked above for `dst`, and every
                // chunk starts a multiple of 64 bytes after it), as the streaming store needs;
                // the load has no alignment requirement. SSE2 is part of every x86-64 CPU.
                unsafe {
                    let v = _mm_loadu_si128(s.as_ptr().add(16 * lane).cast::<__m128i>());
                    _mm_stream_si128(d.as_mut_ptr().add(16 * lane).cast::<__m128i>(), v);
                }
            }
            take(acc, stripes, &words);
            done += STRIPE;
        }
        // Streaming stores are weakly ordered: the fence makes them visible before every later
        // store, among them the release store of the generation that publishes the copy.
        // SAFETY: SSE, which provides the fence, is part of every x86-64 CPU; the fence has no
        // other precondition.
        unsafe { _mm_sfence() };
        return done;
    }
    copy_stripes(acc, stripes, dst, src, end)
}

/// Takes the stripes of `archive` from number `stripes` on while one byte of the `known`
/// follows each (see [`CopyHasher::absorb`]).
#[inline(always)]
fn absorb_stripes(acc: &mut [u64; 8], stripes: &mut usize, archive: &[u8], known: usize) {
    while (*stripes + 1) * STRIPE < known {
        let at = *stripes * STRIPE;
        take(acc, stripes, &stripe_words(&archive[at..at + STRIPE]));
    }
}

/// [`absorb_stripes`] with 256-bit vectors: four lanes per instruction where SSE2 has two.
/// Reading a copy to check it is all hashing, so the wider lanes pay there.
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn absorb_avx2(acc: &mut [u64; 8], stripes: &mut usize, archive: &[u8], known: usize) {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_set1_epi64x,
        _mm256_shuffle_epi32, _mm256_slli_epi64, _mm256_srli_epi64, _mm256_storeu_si256,
        _mm256_xor_si256,
    };
    let known = known.min(archive.len());
    // The 32 bytes at the start of `words`, which has at least 4.
    let load_words = |words: &[u64]| {
        let words = &words[..4];
        // SAFETY: `words` is 32 readable bytes; the unaligned load needs no alignment.
        unsafe { _mm256_loadu_si256(words.as_ptr().cast::<__m256i>()) }
    };
    let mut lanes = [load_words(&acc[..]), load_words(&acc[4..])];
    let prime = _mm256_set1_epi64x(PRIME32_1 as i64);
    while (*stripes + 1) * STRIPE < known {
        let at = *stripes * STRIPE;
        let n = *stripes % STRIPES_PER_BLOCK;
        for (half, lane) in lanes.iter_mut().enumerate() {
            let bytes = &archive[at + 32 * half..at + 32 * half + 32];
            // SAFETY: `bytes` is 32 readable bytes; the unaligned load needs no alignment.
            let data = unsafe { _mm256_loadu_si256(bytes.as_ptr().cast::<__m256i>()) };
            let keyed = _mm256_xor_si256(data, load_words(&KEYS[n + 4 * half..]));
            // Each 64-bit lane: its low 32 bits times its high 32 bits.
            let product = _mm256_mul_epu32(keyed, _mm256_shuffle_epi32::<0x31>(keyed));
            // Each lane adds its neighbour's input word (the pairs swap within 128 bits).
            let swapped = _mm256_shuffle_epi32::<0x4E>(data);
            *lane = _mm256_add_epi64(*lane, _mm256_add_epi64(product, swapped));
        }
        *stripes += 1;
        if stripes.is_multiple_of(STRIPES_PER_BLOCK) {
            for (half, lane) in lanes.iter_mut().enumerate() {
                let mixed = _mm256_xor_si256(*lane, _mm256_srli_epi64::<47>(*lane));
                let mixed = _mm256_xor_si256(mixed, load_words(&KEYS[16 + 4 * half..]));
                // A 64 × 32-bit product from two 32 × 32-bit ones.
                let low = _mm256_mul_epu32(mixed, prime);
                let high = _mm256_mul_epu32(_mm256_srli_epi64::<32>(mixed), prime);
                *lane = _mm256_add_epi64(low, _mm256_slli_epi64::<32>(high));
            }
        }
    }
    for (half, lane) in lanes.into_iter().enumerate() {
        let words = &mut acc[4 * half..4 * half + 4];
        // SAFETY: `words` is 32 writable bytes; the unaligned store needs no alignment.
        unsafe { _mm256_storeu_si256(words.as_mut_ptr().cast::<__m256i>(), lane) };
    }
}

/// [`absorb_stripes`] with 512-bit vectors: a stripe is one register, the eight accumulators
/// another, so a stripe costs a load and five vector instructions. 1.1 to 1.5 times as fast as
/// [`absorb_avx2`] on a megabyte another core just wrote (32 against 49 µs here, 88 against
/// 97 µs while the machine ran slower), where a reader's first read of a large value spends
/// its time.
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn absorb_avx512(acc: &mut [u64; 8], stripes: &mut usize, archive: &[u8], known: usize) {
    use std::arch::x86_64::{__m512i, _mm512_loadu_si512, _mm512_storeu_si512};
    let known = known.min(archive.len());
    // SAFETY: `acc` is 64 readable bytes; the unaligned load needs no alignment.
    let mut lanes = unsafe { _mm512_loadu_si512(acc.as_ptr().cast::<__m512i>()) };
    let keys = Keys512::new();
    while (*stripes + 1) * STRIPE < known {
        let at = *stripes * STRIPE;
        let bytes = &archive[at..at + STRIPE];
        // SAFETY: `bytes` is 64 readable bytes; the unaligned load needs no alignment.
        let data = unsafe { _mm512_loadu_si512(bytes.as_ptr().cast::<__m512i>()) };
        keys.take(&mut lanes, stripes, data);
    }
    // SAFETY: `acc` is 64 writable bytes; the unaligned store needs no alignment.
    unsafe { _mm512_storeu_si512(acc.as_mut_ptr().cast::<__m512i>(), lanes) };
}

/// The secret as 512-bit vectors: the sixteen stripe keys and the scramble's.
#[cfg(target_arch = "x86_64")]
struct Keys512 {
    stripe: [std::arch::x86_64::__m512i; STRIPES_PER_BLOCK],
    scramble: std::arch::x86_64::__m512i,
    prime: std::arch::x86_64::__m512i,
}

#[cfg(target_arch = "x86_64")]
impl Keys512 {
    #[target_feature(enable = "avx512f")]
    fn new() -> Self {
        use std::arch::x86_64::{__m512i, _mm512_loadu_si512, _mm512_set1_epi64};
        // The 64 bytes at the start of `words`, which has at least 8.
        let load = |words: &[u64]| {
            let words = &words[..8];
            // SAFETY: `words` is 64 readable bytes; the unaligned load needs no alignment.
            unsafe { _mm512_loadu_si512(words.as_ptr().cast::<__m512i>()) }
        };
        Keys512 {
            stripe: std::array::from_fn(|n| load(&KEYS[n..])),
            scramble: load(&KEYS[16..]),
            prime: _mm512_set1_epi64(PRIME32_1 as i64),
        }
    }

    /// Takes stripe number `stripes` (its bytes `data`) into `lanes`: [`take`] on one register.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn take(
        &self,
        lanes: &mut std::arch::x86_64::__m512i,
        stripes: &mut usize,
        data: std::arch::x86_64::__m512i,
    ) {
        use std::arch::x86_64::{
            _MM_PERM_BADC, _MM_PERM_DDBB, _mm512_add_epi64, _mm512_mul_epu32, _mm512_shuffle_epi32,
            _mm512_slli_epi64, _mm512_srli_epi64, _mm512_xor_si512,
        };
        let keyed = _mm512_xor_si512(data, self.stripe[*stripes % STRIPES_PER_BLOCK]);
        // Each 64-bit lane: its low 32 bits times its high 32 bits.
        let product = _mm512_mul_epu32(keyed, _mm512_shuffle_epi32::<_MM_PERM_DDBB>(keyed));
        // Each lane adds its neighbour's input word (the pairs swap within 128 bits).
        let swapped = _mm512_shuffle_epi32::<_MM_PERM_BADC>(data);
        *lanes = _mm512_add_epi64(*lanes, _mm512_add_epi64(product, swapped));
        *stripes += 1;
        if stripes.is_multiple_of(STRIPES_PER_BLOCK) {
            let mixed = _mm512_xor_si512(*lanes, _mm512_srli_epi64::<47>(*lanes));
            let mixed = _mm512_xor_si512(mixed, self.scramble);
            // A 64 × 32-bit product from two 32 × 32-bit ones.
            let low = _mm512_mul_epu32(mixed, self.prime);
            let high = _mm512_mul_epu32(_mm512_srli_epi64::<32>(mixed), self.prime);
            *lanes = _mm512_add_epi64(low, _mm512_slli_epi64::<32>(high));
        }
    }
}

/// Which vectors a hash may use. A reader's check of a copy is all hashing, and 512-bit
/// vectors pay there; a writer hashes as it copies, and with them its publish was slower
/// (`docs/decisions.md`), so it stops at 256 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vectors {
    Reader,
    Writer,
}

/// xxh3-64 of `bytes`, the same value as `xxhash_rust::xxh3::xxh3_64`: the hash a reader
/// checks a copy with, on the widest vectors the CPU has ([`Vectors::Reader`]).
pub fn xxh3_64(bytes: &[u8]) -> u64 {
    // Short inputs are not hashed in stripes: none to take before `digest`.
    if bytes.len() <= SHORT_MAX {
        return xxhash_rust::xxh3::xxh3_64(bytes);
    }
    let mut hasher = CopyHasher::new();
    hasher.absorb_with(bytes, bytes.len(), Vectors::Reader);
    hasher.digest(bytes)
}

/// Takes stripe number `stripes` (its words `data`): accumulates it, and scrambles after the
/// last stripe of a block.
#[inline(always)]
fn take(acc: &mut [u64; 8], stripes: &mut usize, data: &[u64; 8]) {
    let n = *stripes % STRIPES_PER_BLOCK;
    accumulate(acc, data, &KEYS[n..n + 8]);
    *stripes += 1;
    if stripes.is_multiple_of(STRIPES_PER_BLOCK) {
        scramble(acc);
    }
}

#[inline(always)]
fn scramble(acc: &mut [u64; 8]) {
    for (i, lane) in acc.iter_mut().enumerate() {
        let mixed = (*lane ^ (*lane >> 47)) ^ KEYS[16 + i];
        *lane = mixed.wrapping_mul(PRIME32_1);
    }
}

/// xxh3-64 of an archive written front to back: feed it the archive's bytes as they are
/// written ([`absorb`](Self::absorb), or [`copy_in`](Self::copy_in) to write and hash in one
/// pass), then [`digest`](Self::digest) the whole archive.
#[derive(Clone, Debug)]
pub(crate) struct CopyHasher {
    acc: [u64; 8],
    /// Stripes taken so far (the archive's first `64 * stripes` bytes).
    stripes: usize,
}

impl CopyHasher {
    pub fn new() -> Self {
        CopyHasher {
            acc: [
                PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5,
                PRIME32_1,
            ],
            stripes: 0,
        }
    }

    /// Bytes of the archive taken so far.
    pub fn hashed(&self) -> usize {
        self.stripes * STRIPE
    }

    /// Whether the next stripe may be taken when the archive is known up to `known` bytes: it
    /// must lie within them and not be the archive's last (at least one byte follows it).
    #[inline(always)]
    fn next_fits(&self, known: usize) -> bool {
        (self.stripes + 1) * STRIPE < known
    }

    /// Takes the stripes of `archive` (the archive's bytes from its start, written up to
    /// `known`) that are complete and followed by at least one written byte: the writer's
    /// hashing, on vectors of at most 256 bits (see [`Vectors`]).
    pub fn absorb(&mut self, archive: &[u8], known: usize) {
        self.absorb_with(archive, known, Vectors::Writer);
    }

    /// [`absorb`](Self::absorb) with the widest vectors `vectors` allows that the CPU has.
    fn absorb_with(&mut self, archive: &[u8], known: usize, vectors: Vectors) {
        let known = known.min(archive.len());
        if !self.next_fits(known) {
            return;
        }
        let (mut acc, mut stripes) = (self.acc, self.stripes);
        #[cfg(target_arch = "x86_64")]
        if vectors == Vectors::Reader && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (detected just above).
            unsafe { absorb_avx512(&mut acc, &mut stripes, archive, known) };
        } else if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (detected just above).
            unsafe { absorb_avx2(&mut acc, &mut stripes, archive, known) };
        } else {
            absorb_stripes(&mut acc, &mut stripes, archive, known);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // One width elsewhere.
            let _ = vectors;
            absorb_stripes(&mut acc, &mut stripes, archive, known);
        }
        (self.acc, self.stripes) = (acc, stripes);
    }

    /// Writes `src` at offset `at` of `archive` (which holds the archive's bytes from its
    /// start, written up to `at`), hashing the stripes it completes: the stripes that `src`
    /// fills from a stripe boundary on are loaded once, stored and hashed together.
    pub fn copy_in(&mut self, archive: &mut [u8], at: usize, src: &[u8]) {
        let end = at + src.len();
        let dst = &mut archive[..end];
        // Catch up on the bytes before `at`; one more byte follows them.
        self.absorb(dst, at);
        // Complete the stripe `at` falls in, if it is not on a boundary.
        let mut done = 0;
        if self.hashed() < at {
            done = (self.hashed() + STRIPE - at).min(src.len());
            dst[at..at + done].copy_from_slice(&src[..done]);
            self.absorb(dst, at + done + usize::from(at + done < end));
        }
        // From a boundary on: copy and hash each stripe from the same registers. The
        // accumulators stay in locals so that they stay in registers.
        if self.hashed() == at + done {
            let (mut acc, mut stripes) = (self.acc, self.stripes);
            let (dst_rest, src_rest) = (&mut dst[at + done..], &src[done..]);
            done += if src_rest.len() >= STREAM_MIN {
                copy_stripes_streaming(&mut acc, &mut stripes, dst_rest, src_rest, end)
            } else {
                copy_stripes(&mut acc, &mut stripes, dst_rest, src_rest, end)
            };
            (self.acc, self.stripes) = (acc, stripes);
        }
        // The rest (less than a stripe, or the archive's last stripe so far) is taken later.
        dst[at + done..].copy_from_slice(&src[done..]);
    }

    /// xxh3-64 of `archive`, the archive's bytes in full, of which the stripes taken so far
    /// are the first ones.
    pub fn digest(mut self, archive: &[u8]) -> u64 {
        let len = archive.len();
        if len <= SHORT_MAX {
            return xxhash_rust::xxh3::xxh3_64(archive);
        }
        self.absorb(archive, len);
        accumulate(&mut self.acc, &stripe_words(&archive[len - STRIPE..]), &LAST_KEYS);
        let mut folded = (len as u64).wrapping_mul(PRIME64_1);
        for i in 0..4 {
            let lo = self.acc[2 * i] ^ secret_word(MERGE_SECRET + 16 * i);
            let hi = self.acc[2 * i + 1] ^ secret_word(MERGE_SECRET + 16 * i + 8);
            let product = u128::from(lo) * u128::from(hi);
            folded = folded.wrapping_add(product as u64 ^ (product >> 64) as u64);
        }
        // xxh3's avalanche.
        folded ^= folded >> 37;
        folded = folded.wrapping_mul(0x1656_6791_9E37_79F9);
        folded ^ (folded >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_64;

    /// Bytes that differ at every offset and do not repeat with any short period.
    fn input(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    /// Lengths around every boundary the algorithm has: the short-input limit, stripes, blocks.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..=1100).chain([4095, 4096, 4097, 16_383, 16_384, 16_385, 100_000, (1 << 20) + 7])
    }

    #[test]
    fn one_copy_gives_the_hash_readers_compute() {
        for len in lengths() {
            let src = input(len);
            let mut archive = vec![0; len];
            let mut hasher = CopyHasher::new();
            hasher.copy_in(&mut archive, 0, &src);
            assert_eq!(archive, src, "the copy holds the bytes, {len} bytes");
            assert_eq!(hasher.digest(&archive), xxh3_64(&src), "{len} bytes");
        }
    }

    #[test]
    fn the_vector_hash_is_xxh3() {
        for len in lengths() {
            let bytes = input(len);
            assert_eq!(super::xxh3_64(&bytes), xxh3_64(&bytes), "{len} bytes");
            let mut plain = CopyHasher::new();
            absorb_stripes(&mut plain.acc, &mut plain.stripes, &bytes, len);
            assert_eq!(plain.digest(&bytes), xxh3_64(&bytes), "{len} bytes, without vectors");
        }
    }

    /// Says that a check could not run here, as the tests package's `skip::skipped` does:
    /// `SKIPPED: <test>: <reason>` on stderr, which the harness does not capture, or a failure
    /// when `MMAP_SYNC_NO_SKIP` is set (CI sets it).
    fn skipped(reason: &str) {
        use std::io::Write;
        let forbidden = std::env::var("MMAP_SYNC_NO_SKIP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!forbidden, "cannot run: {reason}, and MMAP_SYNC_NO_SKIP forbids skipping");
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a test");
        let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {reason}");
    }

    /// Each vector width takes the stripes as the plain code does, whole and in pieces that
    /// stop anywhere in a block. A width the CPU lacks cannot run: the test says so
    /// ([`skipped`]).
    #[test]
    fn every_vector_width_takes_stripes_as_the_plain_code_does() {
        #[cfg(target_arch = "x86_64")]
        {
            type Absorb = unsafe fn(&mut [u64; 8], &mut usize, &[u8], usize);
            let widths: [(&str, bool, Absorb); 2] = [
                ("avx2", std::arch::is_x86_feature_detected!("avx2"), absorb_avx2),
                ("avx512f", std::arch::is_x86_feature_detected!("avx512f"), absorb_avx512),
            ];
            for (name, present, absorb) in widths {
                if !present {
                    skipped(&format!("the {name} hash: this CPU lacks {name}"));
                    continue;
                }
                for len in lengths().step_by(3) {
                    let bytes = input(len);
                    let mut plain = CopyHasher::new();
                    absorb_stripes(&mut plain.acc, &mut plain.stripes, &bytes, len);
                    for piece in [len, 1, 64, 100, 1000] {
                        let mut vector = CopyHasher::new();
                        let mut known = 0;
                        while known < len {
                            known = (known + piece).min(len);
                            // SAFETY: the CPU has the width (`present`).
                            unsafe { absorb(&mut vector.acc, &mut vector.stripes, &bytes, known) };
                        }
                        assert_eq!(
                            (vector.acc, vector.stripes),
                            (plain.acc, plain.stripes),
                            "{name}, {len} bytes in pieces of {piece}"
                        );
                    }
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        skipped("the vector hashes: they are x86-64 code");
    }

    /// A write large enough for streaming stores gives the bytes and the hash readers compute:
    /// into a buffer on a 64-byte boundary and one 16 bytes past it (streaming stores need
    /// 16-byte alignment), from its start and after a few bytes written before.
    #[test]
    fn a_streamed_copy_gives_the_hash_readers_compute() {
        #[repr(C, align(64))]
        #[derive(Clone, Copy)]
        struct Line([u8; 64]);
        let len = STREAM_MIN + 4096 + 5;
        let src = input(len);
        for (skip, at) in [(0, 0), (0, 3), (16, 0), (16, 3)] {
            let mut storage = vec![Line([0; 64]); (len + skip).div_ceil(64)];
            // SAFETY: a Line is 64 plain bytes without padding; the view covers exactly the
            // vector's bytes, which outlive it.
            let archive = unsafe {
                std::slice::from_raw_parts_mut(
                    storage.as_mut_ptr().cast::<u8>(),
                    storage.len() * 64,
                )
            };
            let archive = &mut archive[skip..skip + len];
            archive[..at].copy_from_slice(&src[..at]);
            let mut hasher = CopyHasher::new();
            hasher.copy_in(archive, at, &src[at..]);
            let case = format!("{skip} bytes past a 64-byte boundary, written at {at}");
            assert!(archive[..] == src[..], "the copy holds the bytes, {case}");
            assert_eq!(hasher.digest(archive), xxh3_64(&src), "{case}");
        }
    }

    /// An archive is written in pieces of any size, large and small mixed, some hashed as
    /// they are copied and some taken afterwards: the checksum is the one-shot hash.
    #[test]
    fn any_mix_of_writes_gives_the_hash_readers_compute() {
        for len in lengths().step_by(7).chain([1 << 16, 100_000]) {
            let src = input(len);
            for pattern in 0..6usize {
                let mut archive = vec![0; len];
                let mut hasher = CopyHasher::new();
                let (mut at, mut k) = (0, 0usize);
                while at < len {
                    let step = match pattern {
                        0 => 1,
                        1 => 63,
                        2 => 64,
                        3 => (k * 37) % 300 + 1,
                        4 => [5, 4096, 3, 70_000, 129][k % 5],
                        _ => [1000, 64, 1, 2000][k % 4],
                    }
                    .min(len - at);
                    if k % 2 == 0 {
                        hasher.copy_in(&mut archive, at, &src[at..at + step]);
                    } else {
                        archive[at..at + step].copy_from_slice(&src[at..at + step]);
                        hasher.absorb(&archive, at + step);
                    }
                    at += step;
                    k += 1;
                }
                assert_eq!(archive, src, "{len} bytes, pattern {pattern}");
                assert_eq!(
                    hasher.digest(&archive),
                    xxh3_64(&src),
                    "{len} bytes, pattern {pattern}"
                );
            }
        }
    }
}
