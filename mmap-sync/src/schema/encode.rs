//! The binary form of a description, stored beside the fingerprint in a channel's files:
//! [`OwnedDescription::encode`] and the decoder that refuses whatever a hostile file may hold.

use super::{
    ArchivedLayout, MAX_DEPTH, Nested, OwnedDescription, OwnedField, OwnedShape, OwnedVariant,
};

/// Largest encoding [`OwnedDescription::decode`] accepts, in bytes. Real types describe
/// themselves in a few hundred bytes to a few kilobytes; the bound keeps what a hostile file can
/// make a decoder allocate small.
pub const MAX_ENCODED_LEN: usize = 1 << 20;

/// First eight bytes of an encoded description.
pub const ENCODING_MAGIC: [u8; 8] = *b"MMSYNCds";

/// Version of the encoding [`OwnedDescription::encode`] writes; [`OwnedDescription::decode`]
/// refuses others, saying which version it found.
pub const ENCODING_VERSION: u32 = 1;

/// Size of the encoding's header: magic, version, and the length of the body that follows.
const HEADER_LEN: usize = 16;

const KIND_STRUCT: u8 = 0;
const KIND_ENUM: u8 = 1;
const NESTED_DESCRIBED: u8 = 0;
const NESTED_RECURSIVE: u8 = 1;
const NESTED_TOO_DEEP: u8 = 2;

impl OwnedDescription {
    /// The description in its binary form, to store beside a channel's fingerprint.
    ///
    /// The form is self-delimiting: 8 bytes of [`ENCODING_MAGIC`], the [`ENCODING_VERSION`] and
    /// the length of the body as little-endian `u32`s, then the body. In the body, numbers are
    /// LEB128 varints and strings a varint length followed by UTF-8; a description is its name,
    /// archived size and alignment, a kind byte (0 struct, 1 enum), then its fields, or its
    /// variants (name, discriminant, fields), each list preceded by its length. A field is its
    /// name, type, an optional offset (byte 0, or byte 1 and the offset), size, alignment and
    /// its list of nested types (byte 0 and a description, 1 and the name of a recursive type,
    /// 2 and the name of one nested too deep).
    ///
    /// An encoding longer than [`MAX_ENCODED_LEN`] cannot be decoded; a writer should check
    /// the length before storing it.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        encode_description(self, &mut body);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&ENCODING_MAGIC);
        out.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a description that [`encode`](Self::encode) wrote at the start of `bytes`; bytes
    /// after its end are ignored, so it can be read from a larger, zero-padded region.
    ///
    /// Never panics, whatever `bytes` holds: malformed, truncated, too deeply nested or too
    /// long input is an error that says what is wrong and where, and nothing is allocated
    /// beyond a small multiple of the input's length.
    pub fn decode(bytes: &[u8]) -> Result<OwnedDescription, String> {
        let header = bytes.get(..HEADER_LEN).ok_or_else(|| {
            format!(
                "schema description: {} bytes, shorter than its {HEADER_LEN}-byte header",
                bytes.len()
            )
        })?;
        if header[..8] != ENCODING_MAGIC {
            return Err("schema description: wrong magic".to_owned());
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != ENCODING_VERSION {
            return Err(format!(
                "schema description: encoding version {version}, this build reads version \
                 {ENCODING_VERSION}"
            ));
        }
        let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize;
        if len > MAX_ENCODED_LEN - HEADER_LEN {
            return Err(format!(
                "schema description: body of {len} bytes, more than the {MAX_ENCODED_LEN}-byte \
                 limit"
            ));
        }
        let body = bytes.get(HEADER_LEN..HEADER_LEN + len).ok_or_else(|| {
            format!(
                "schema description: truncated: header announces {len} bytes, {} follow",
                bytes.len() - HEADER_LEN
            )
        })?;
        let mut decoder = Decoder { bytes: body, pos: 0 };
        let description = decoder.description(0)?;
        if decoder.pos != body.len() {
            return Err(decoder.error("bytes left over after the description"));
        }
        Ok(description)
    }
}

fn encode_description(description: &OwnedDescription, out: &mut Vec<u8>) {
    put_str(&description.name, out);
    put_varint(description.layout.size, out);
    put_varint(description.layout.align, out);
    match &description.shape {
        OwnedShape::Struct(fields) => {
            out.push(KIND_STRUCT);
            encode_fields(fields, out);
        }
        OwnedShape::Enum(variants) => {
            out.push(KIND_ENUM);
            put_varint(variants.len() as u64, out);
            for variant in variants {
                put_str(&variant.name, out);
                put_varint(variant.discriminant, out);
                encode_fields(&variant.fields, out);
            }
        }
    }
}

fn encode_fields(fields: &[OwnedField], out: &mut Vec<u8>) {
    put_varint(fields.len() as u64, out);
    for field in fields {
        put_str(&field.name, out);
        put_str(&field.ty, out);
        match field.offset {
            None => out.push(0),
            Some(offset) => {
                out.push(1);
                put_varint(offset, out);
            }
        }
        put_varint(field.layout.size, out);
        put_varint(field.layout.align, out);
        put_varint(field.nested.len() as u64, out);
        for nested in &field.nested {
            match nested {
                Nested::Described(description) => {
                    out.push(NESTED_DESCRIBED);
                    encode_description(description, out);
                }
                Nested::Recursive { name } => {
                    out.push(NESTED_RECURSIVE);
                    put_str(name, out);
                }
                Nested::TooDeep { name } => {
                    out.push(NESTED_TOO_DEEP);
                    put_str(name, out);
                }
            }
        }
    }
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(text: &str, out: &mut Vec<u8>) {
    put_varint(text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

/// Reads a body. Every list is read element by element, never pre-allocated from a length
/// taken from the input, so what is allocated grows only with the bytes actually read.
struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn error(&self, what: &str) -> String {
        format!("schema description: {what} at byte {} of the body", self.pos)
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.pos).ok_or_else(|| self.error("truncated"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.error("number overflows 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("number longer than 10 bytes"))
    }

    /// A length or count: it cannot exceed the bytes left, since every element takes at least
    /// one byte.
    fn count(&mut self) -> Result<usize, String> {
        let count = self.varint()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if count > left {
            return Err(self.error(&format!("a count of {count} with {left} bytes left")));
        }
        Ok(count as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.count()?;
        let bytes = &self.bytes[self.pos..self.pos + len];
        let text = std::str::from_utf8(bytes).map_err(|_| self.error("a string is not UTF-8"))?;
        self.pos += len;
        Ok(text.to_owned())
    }

    fn layout(&mut self) -> Result<ArchivedLayout, String> {
        let size = self.varint()?;
        let align = self.varint()?;
        if !align.is_power_of_two() {
            return Err(self.error(&format!("alignment {align} is not a power of two")));
        }
        Ok(ArchivedLayout { size, align })
    }

    fn description(&mut self, depth: usize) -> Result<OwnedDescription, String> {
        let name = self.string()?;
        let layout = self.layout()?;
        let shape = match self.byte()? {
            KIND_STRUCT => OwnedShape::Struct(self.fields(depth)?),
            KIND_ENUM => {
                let count = self.count()?;
                let mut variants = Vec::new();
                for _ in 0..count {
                    let name = self.string()?;
                    let discriminant = self.varint()?;
                    let fields = self.fields(depth)?;
                    variants.push(OwnedVariant { name, discriminant, fields });
                }
                OwnedShape::Enum(variants)
            }
            kind => return Err(self.error(&format!("unknown kind {kind}"))),
        };
        Ok(OwnedDescription { name, layout, shape })
    }

    fn fields(&mut self, depth: usize) -> Result<Vec<OwnedField>, String> {
        let count = self.count()?;
        let mut fields = Vec::new();
        for _ in 0..count {
            let name = self.string()?;
            let ty = self.string()?;
            let offset = match self.byte()? {
                0 => None,
                1 => Some(self.varint()?),
                other => return Err(self.error(&format!("offset marker {other}"))),
            };
            let layout = self.layout()?;
            let nested_count = self.count()?;
            let mut nested = Vec::new();
            for _ in 0..nested_count {
                nested.push(match self.byte()? {
                    NESTED_DESCRIBED if depth >= MAX_DEPTH => {
                        return Err(self.error("nested more than MAX_DEPTH levels deep"));
                    }
                    NESTED_DESCRIBED => Nested::Described(self.description(depth + 1)?),
                    NESTED_RECURSIVE => Nested::Recursive { name: self.string()? },
                    NESTED_TOO_DEEP => Nested::TooDeep { name: self.string()? },
                    other => return Err(self.error(&format!("nested marker {other}"))),
                });
            }
            fields.push(OwnedField { name, ty, offset, layout, nested });
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::*;

    #[test]
    fn encoding_round_trips() {
        for description in [hello_world(), everything(), structure("Unit", 0, vec![])] {
            let bytes = description.encode();
            assert_eq!(OwnedDescription::decode(&bytes), Ok(description));
        }
    }

    #[test]
    fn decoding_ignores_bytes_after_the_encoding() {
        let mut bytes = everything().encode();
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(OwnedDescription::decode(&bytes), Ok(everything()));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = everything().encode();
        for len in 0..bytes.len() {
            let result = OwnedDescription::decode(&bytes[..len]);
            assert!(result.is_err(), "decoding the first {len} of {} bytes succeeded", bytes.len());
        }
    }

    #[test]
    fn a_body_shorter_than_its_header_announces_is_refused_even_if_it_parses() {
        // Shortening the announced length cuts the body inside its last field.
        let mut bytes = hello_world().encode();
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) - 1;
        bytes[12..16].copy_from_slice(&len.to_le_bytes());
        assert!(OwnedDescription::decode(&bytes).is_err());
        // A longer announced length leaves bytes over.
        let mut bytes = hello_world().encode();
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) + 1;
        bytes[12..16].copy_from_slice(&len.to_le_bytes());
        bytes.push(0);
        let error = OwnedDescription::decode(&bytes).unwrap_err();
        assert!(error.contains("left over"), "{error}");
    }

    #[test]
    fn wrong_magic_other_versions_and_oversized_bodies_are_refused_by_name() {
        let good = hello_world().encode();
        let mut bad_magic = good.clone();
        bad_magic[0] ^= 1;
        assert!(OwnedDescription::decode(&bad_magic).unwrap_err().contains("magic"));

        let mut newer = good.clone();
        newer[8..12].copy_from_slice(&(ENCODING_VERSION + 1).to_le_bytes());
        let error = OwnedDescription::decode(&newer).unwrap_err();
        assert!(error.contains(&format!("version {}", ENCODING_VERSION + 1)), "{error}");

        let mut huge = good;
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = OwnedDescription::decode(&huge).unwrap_err();
        assert!(error.contains("limit"), "{error}");
    }

    /// Small deterministic generator, so a failure reproduces.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn decoding_damaged_or_random_bytes_never_panics() {
        let good = everything().encode();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut refused = 0;
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                // A valid encoding with a few bytes of its body changed.
                let mut bytes = good.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let at = HEADER_LEN + (rng.next() as usize) % (bytes.len() - HEADER_LEN);
                    bytes[at] = rng.next() as u8;
                }
                bytes
            } else {
                // A valid header followed by random bytes.
                let len = (rng.next() % 200) as usize;
                let mut bytes = good[..HEADER_LEN].to_vec();
                bytes[12..16].copy_from_slice(&(len as u32).to_le_bytes());
                bytes.extend((0..len).map(|_| rng.next() as u8));
                bytes
            };
            if rng.next().is_multiple_of(8) {
                bytes.truncate((rng.next() as usize) % bytes.len());
            }
            if OwnedDescription::decode(&bytes).is_err() {
                refused += 1;
            }
        }
        // Most damage must be noticed, not decoded into something else.
        assert!(refused > 10_000, "only {refused} of 20000 damaged inputs were refused");
    }

    #[test]
    fn huge_counts_are_refused_before_anything_is_allocated_for_them() {
        // name "", size 0, align 1, struct, then a field count of 2^62.
        let mut body = vec![0, 0, 1, KIND_STRUCT];
        put_varint(1 << 62, &mut body);
        let mut bytes = ENCODING_MAGIC.to_vec();
        bytes.extend_from_slice(&ENCODING_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        let error = OwnedDescription::decode(&bytes).unwrap_err();
        assert!(error.contains("count"), "{error}");
    }

    #[test]
    fn nesting_up_to_the_limit_decodes_and_deeper_nesting_is_refused() {
        let deepest = nested_chain(MAX_DEPTH);
        assert_eq!(OwnedDescription::decode(&deepest.encode()), Ok(deepest));
        let error = OwnedDescription::decode(&nested_chain(MAX_DEPTH + 1).encode()).unwrap_err();
        assert!(error.contains("MAX_DEPTH"), "{error}");
    }

    #[test]
    fn varints_that_overflow_64_bits_are_refused() {
        let mut decoder = Decoder {
            bytes: &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            pos: 0,
        };
        assert!(decoder.varint().is_err());
        let mut decoder = Decoder {
            bytes: &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            pos: 0,
        };
        assert_eq!(decoder.varint(), Ok(u64::MAX));
        let mut encoded = Vec::new();
        put_varint(u64::MAX, &mut encoded);
        assert_eq!(encoded.len(), 10);
    }
}
