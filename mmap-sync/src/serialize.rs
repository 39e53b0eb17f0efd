//! Serializing a value straight into a mapped data copy, checksumming it on the way.

use rkyv::api::high::HighSerializer;
use rkyv::rancor;
use rkyv::ser::allocator::{Arena, ArenaHandle};
use rkyv::ser::{Positional, Writer as RkyvWriter};
use xxhash_rust::xxh3::Xxh3;

/// Bytes copied between two checksum updates of a large write: small enough to still be in
/// cache when hashed, so a large value crosses memory once for the copy, not again for the hash.
const CHUNK: usize = 64 << 10;
/// Small writes are hashed in batches of this size (and a value smaller than this is hashed in
/// one call at the end, which is cheaper than a streaming hasher).
const BATCH: usize = 256 << 10;

/// The rkyv output that writes into a mapped data copy.
///
/// Bytes beyond the copy's current size are not written but still counted, so one pass tells
/// the writer how far to grow the file before it serializes again.
pub struct CopyWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    /// Bytes of `buf` already fed to `hasher`.
    hashed: usize,
    hasher: Option<Box<Xxh3>>,
}

impl std::fmt::Debug for CopyWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyWriter")
            .field("capacity", &self.buf.len())
            .field("pos", &self.pos)
            .finish()
    }
}

/// What serializing into a copy produced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Filled {
    /// Full length of the archive; larger than the copy when it did not fit.
    pub len: usize,
    /// xxh3-64 of the archive, when it was computed on the way.
    pub checksum: Option<u64>,
}

impl Filled {
    /// A fill whose checksum the writer computes afterwards.
    pub fn unhashed(len: usize) -> Self {
        Filled { len, checksum: None }
    }
}

impl<'a> CopyWriter<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        CopyWriter { buf, pos: 0, hashed: 0, hasher: None }
    }

    #[cold]
    #[inline(never)]
    fn hash_up_to(&mut self, end: usize) {
        let hasher = self.hasher.get_or_insert_with(|| Box::new(Xxh3::new()));
        hasher.update(&self.buf[self.hashed..end]);
        self.hashed = end;
    }

    fn finish(mut self) -> Filled {
        if self.pos > self.buf.len() || self.hasher.is_none() {
            return Filled::unhashed(self.pos);
        }
        self.hash_up_to(self.pos);
        Filled { len: self.pos, checksum: self.hasher.map(|h| h.digest()) }
    }
}

impl Positional for CopyWriter<'_> {
    #[inline]
    fn pos(&self) -> usize {
        self.pos
    }
}

impl<E> RkyvWriter<E> for CopyWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        let end = self.pos + bytes.len();
        if end > self.buf.len() {
            self.pos = end; // counted, not written: the copy grows and serialization runs again
            return Ok(());
        }
        if bytes.len() < CHUNK {
            self.buf[self.pos..end].copy_from_slice(bytes);
            self.pos = end;
            if end - self.hashed >= BATCH {
                self.hash_up_to(end);
            }
            return Ok(());
        }
        self.hash_up_to(self.pos);
        for chunk in bytes.chunks(CHUNK) {
            let next = self.pos + chunk.len();
            self.buf[self.pos..next].copy_from_slice(chunk);
            self.pos = next;
            self.hash_up_to(next);
        }
        Ok(())
    }
}

/// The rkyv serializer a channel value is written with (see `SharedState`'s bounds).
pub type CopySerializer<'a, 'b> = HighSerializer<CopyWriter<'a>, ArenaHandle<'b>, rancor::Error>;

/// Serializes `value` into `buf`.
pub(crate) fn serialize_into<T>(
    value: &T,
    buf: &mut [u8],
    arena: &mut Arena,
) -> Result<Filled, String>
where
    T: for<'a, 'b> rkyv::Serialize<CopySerializer<'a, 'b>>,
{
    rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(
        value,
        CopyWriter::new(buf),
        arena.acquire(),
    )
    .map(CopyWriter::finish)
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(rkyv::Archive, rkyv::Serialize)]
    struct Mixed {
        big: Vec<u64>,
        names: Vec<String>,
    }

    /// The streamed checksum must equal a one-shot hash of the same bytes, whatever mix of
    /// large and small writes produced them, or readers would refuse every large value. A value
    /// with a write of at least `CHUNK` bytes, or of at least `BATCH` bytes in all, is hashed on
    /// the way; a smaller one is left for the writer to hash afterwards.
    #[test]
    fn the_checksum_computed_while_copying_equals_a_hash_of_the_result() {
        let cases = [
            // (words, names, hashed while copied)
            (10, 3, false),
            // One write of three chunks and a bit, in a value smaller than a batch.
            (CHUNK / 8 * 3 + 5, 10, true),
            // Only small writes, several batches of them.
            (100, 50_000, true),
            (BATCH, 20_000, true),
        ];
        for (words, names, hashed) in cases {
            let value = Mixed {
                big: (0..words as u64).collect(),
                names: (0..names).map(|i| format!("name-{i}")).collect(),
            };
            let mut arena = Arena::new();
            let len = serialize_into(&value, &mut [], &mut arena).unwrap().len;
            let mut buf = vec![0u8; len + 64];
            let filled = serialize_into(&value, &mut buf, &mut arena).unwrap();
            assert_eq!(filled.len, len);
            let expected = xxhash_rust::xxh3::xxh3_64(&buf[..len]);
            assert_eq!(
                filled.checksum,
                hashed.then_some(expected),
                "{words} words, {names} names, {len} bytes"
            );
            let reference = rkyv::to_bytes::<rancor::Error>(&value).unwrap();
            assert_eq!(&buf[..len], &reference[..], "same bytes as rkyv::to_bytes");
        }
    }
}
