//! Serializing a value straight into a mapped data copy, checksumming it on the way.

use rkyv::api::high::HighSerializer;
use rkyv::rancor;
use rkyv::ser::allocator::{Arena, ArenaHandle};
use rkyv::ser::{Positional, Writer as RkyvWriter};

use crate::checksum::CopyHasher;

/// A write at least this long is copied and hashed in one pass ([`CopyHasher::copy_in`]);
/// shorter ones are copied, and their bytes hashed from the copy once [`BATCH`] of them have
/// gathered, while they are still in cache.
const FUSED: usize = 1 << 10;
/// Bytes of short writes gathered before they are hashed.
const BATCH: usize = 16 << 10;

/// The rkyv output that writes into a mapped data copy.
///
/// Bytes beyond the copy's current size are not written but still counted, so one pass tells
/// the writer how far to grow the file before it serializes again.
pub struct CopyWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    hasher: CopyHasher,
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
        CopyWriter { buf, pos: 0, hasher: CopyHasher::new() }
    }

    fn finish(self) -> Filled {
        if self.pos > self.buf.len() {
            return Filled::unhashed(self.pos);
        }
        let checksum = self.hasher.digest(&self.buf[..self.pos]);
        Filled { len: self.pos, checksum: Some(checksum) }
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
        if bytes.len() >= FUSED {
            self.hasher.copy_in(self.buf, self.pos, bytes);
        } else {
            self.buf[self.pos..end].copy_from_slice(bytes);
            if end - self.hasher.hashed() >= BATCH {
                self.hasher.absorb(self.buf, end);
            }
        }
        self.pos = end;
        Ok(())
    }
}

/// Copies `bytes` into the front of `buf` (which must hold them) and returns their checksum,
/// in one pass.
pub(crate) fn copy_hashed(buf: &mut [u8], bytes: &[u8]) -> u64 {
    let mut hasher = CopyHasher::new();
    hasher.copy_in(buf, 0, bytes);
    hasher.digest(&buf[..bytes.len()])
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

    /// The checksum computed while copying must equal a one-shot hash of the same bytes, or
    /// readers would refuse every value, whatever mix of large and small writes produced them.
    #[test]
    fn the_checksum_computed_while_copying_equals_a_hash_of_the_result() {
        let cases = [
            // (words, names)
            (0, 0),
            (10, 3),
            // One write of a few fused stripes and a bit, in a value smaller than a batch.
            (FUSED / 8 * 3 + 5, 10),
            // Only small writes, several batches of them.
            (100, 50_000),
            (BATCH, 20_000),
        ];
        for (words, names) in cases {
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
                Some(expected),
                "{words} words, {names} names, {len} bytes"
            );
            let reference = rkyv::to_bytes::<rancor::Error>(&value).unwrap();
            assert_eq!(&buf[..len], &reference[..], "same bytes as rkyv::to_bytes");
        }
    }
}
