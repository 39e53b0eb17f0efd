//! A small deterministic generator, so that a failing randomised run can be replayed from the
//! seed it printed.

/// xorshift64*: enough for choosing kill points and lengths, and no extra crate.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `MMAP_SYNC_SEED` when set, from the clock otherwise. Prints the seed with
    /// the test's name, so that a failure can be replayed with `MMAP_SYNC_SEED=<seed>`.
    pub fn from_env(test: &str) -> Self {
        let seed = std::env::var("MMAP_SYNC_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: MMAP_SYNC_SEED={seed}");
        Rng::new(seed)
    }

    /// The generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
