//! The manifest: the small record that says which archive is a channel's current version, and
//! what type it is.
//!
//! A publisher uploads the archive first, under a name used for nothing else, and only then
//! moves the manifest to point at it. A follower therefore never sees a manifest whose object
//! is still being written, and everything it must check before downloading (type, fingerprint,
//! size) is in the manifest itself. So is everything it needs to write the value without
//! knowing its Rust type: the type's name, fingerprints and structure (a
//! [`ChannelType`]), which a follower records in the channel it creates and checks every
//! archive through.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use mmap_sync::dynamic::ChannelType;
use mmap_sync::schema::Structure;
use serde::{Deserialize, Serialize};

/// Version of the manifest's JSON shape. A follower refuses a manifest of another format.
pub const MANIFEST_FORMAT: u32 = 1;

/// The largest manifest a channel's KV bucket stores (its `max_message_size`), in bytes of
/// JSON. A publisher of a type whose structure does not fit is refused when it opens.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// What a publisher writes to the source for each version (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`] of the publisher that wrote it.
    pub format: u32,
    /// Name of the archived value's type (`SharedState::TYPE_NAME`).
    pub type_name: String,
    /// Schema fingerprint of the archived value's type (`SharedState::FINGERPRINT`); a
    /// follower whose channel holds another type refuses the version.
    pub fingerprint: u64,
    /// Layout fingerprint of the type, recorded beside the schema fingerprint in every channel
    /// (see [`ChannelType::layout_fingerprint`]).
    pub layout_fingerprint: u64,
    /// Length of the archive in bytes.
    pub size: u64,
    /// xxh3-64 of the archive, as `xxh3-64:<16 hex digits>`: the runtime's per-copy hash,
    /// which a follower checks the downloaded bytes against, so the hash the source channel's
    /// copy had is the one the follower's channel gets.
    pub checksum: String,
    /// SHA-256 of the archive, as `sha-256:<64 hex digits>`.
    pub digest: String,
    /// Name of the object holding the archive. Written once: never reused for another version.
    pub object: String,
    /// The source revision this version replaced (the compare-and-set's expectation), `None`
    /// for the first version of a channel. Following `replaces` back from the newest version
    /// gives the chain of versions without gaps.
    pub replaces: Option<u64>,
    /// When the publisher finished uploading, in milliseconds since the Unix epoch (publisher's
    /// clock): lets a follower report how long a version took to become visible.
    pub published_at_ms: u64,
    /// The type's structure ([`Structure::encode`]), in URL-safe base64 with padding: what a
    /// follower creates its channel with and checks every archive through.
    pub structure: String,
}

impl Manifest {
    /// A manifest describing `archive` as a value of type `ty`, stored under `object`.
    pub fn describe(
        ty: &ChannelType,
        archive: &[u8],
        object: String,
        replaces: Option<u64>,
    ) -> Self {
        Manifest {
            format: MANIFEST_FORMAT,
            type_name: ty.type_name.clone(),
            fingerprint: ty.fingerprint,
            layout_fingerprint: ty.layout_fingerprint,
            size: archive.len() as u64,
            checksum: checksum_of(archive),
            digest: digest_of(archive),
            object,
            replaces,
            published_at_ms: unix_millis(),
            structure: encode_structure(&ty.structure),
        }
    }

    /// The type of the version: its name and fingerprints, and its structure decoded (which
    /// refuses, with the reason, a structure that is not one: the text is not base64, the
    /// bytes are not an encoded structure, or the structure is inconsistent).
    pub fn channel_type(&self) -> Result<ChannelType, String> {
        let bytes = URL_SAFE
            .decode(&self.structure)
            .map_err(|_| "the structure is not URL-safe base64 text")?;
        let structure = Structure::decode(&bytes).map_err(|err| format!("the structure: {err}"))?;
        Ok(ChannelType {
            type_name: self.type_name.clone(),
            fingerprint: self.fingerprint,
            layout_fingerprint: self.layout_fingerprint,
            structure,
        })
    }

    /// The type name and fingerprint, as errors show a schema.
    pub fn schema(&self) -> mmap_sync::Schema {
        mmap_sync::Schema { type_name: self.type_name.clone(), fingerprint: self.fingerprint }
    }

    /// The manifest as stored: compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }

    /// Parses a stored manifest, with an error that says what is wrong with it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|err| format!("not a manifest: {err}"))
    }
}

/// A type's structure as a manifest carries it ([`Manifest::structure`]): [`Structure::encode`]
/// in URL-safe base64 with padding.
pub(crate) fn encode_structure(structure: &Structure) -> String {
    URL_SAFE.encode(structure.encode())
}

/// A manifest together with the source revision it was stored at.
///
/// The revision is assigned by the source when the manifest is stored, so it travels beside
/// the manifest rather than inside it. Revisions of one channel only grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// The source's revision of this manifest (for NATS: the KV entry's revision).
    pub revision: u64,
    /// The manifest stored at that revision, as the publisher wrote it.
    pub manifest: Manifest,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "revision {} ({}, {} bytes, {})",
            self.revision, self.manifest.type_name, self.manifest.size, self.manifest.digest
        )
    }
}

/// `sha-256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(bytes);
    digest.finish()
}

/// `xxh3-64:<hex>` of `bytes`.
pub fn checksum_of(bytes: &[u8]) -> String {
    format_checksum(xxhash_rust::xxh3::xxh3_64(bytes))
}

pub(crate) fn format_checksum(hash: u64) -> String {
    format!("xxh3-64:{hash:016x}")
}

/// Incremental SHA-256, formatted as in the manifest.
pub(crate) struct Sha256(ring::digest::Context);

impl Sha256 {
    pub fn new() -> Self {
        Sha256(ring::digest::Context::new(&ring::digest::SHA256))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        let digest = self.0.finish();
        let mut text = String::with_capacity(8 + 64);
        text.push_str("sha-256:");
        for byte in digest.as_ref() {
            text.push_str(&format!("{byte:02x}"));
        }
        text
    }
}

/// Milliseconds since the Unix epoch on this host's clock.
pub fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Checks a channel name: 1 to 64 ASCII letters, digits, `-` or `_`. The name becomes part of
/// the source's bucket names, which allow nothing else.
pub fn check_channel_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("channel name {name:?} must be 1 to 64 characters long"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "channel name {name:?} contains {bad:?}; use only ASCII letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_published_sha256_test_vector() {
        assert_eq!(
            digest_of(b"abc"),
            "sha-256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut split = Sha256::new();
        split.update(b"a");
        split.update(b"bc");
        assert_eq!(split.finish(), digest_of(b"abc"));
    }

    #[test]
    fn checksum_is_xxh3_in_fixed_width_hex() {
        assert_eq!(checksum_of(b""), "xxh3-64:2d06800538d394c2");
    }

    fn routing_table() -> ChannelType {
        ChannelType::of::<mmap_sync_schemas::RoutingTable>().expect("a derived type")
    }

    #[test]
    fn manifest_survives_its_json_form() {
        let manifest = Manifest::describe(&routing_table(), b"bytes", "v1-ab".into(), Some(3));
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        assert!(Manifest::from_json(b"{\"format\":1}").unwrap_err().contains("not a manifest"));
    }

    #[test]
    fn a_manifest_carries_its_type_whole() {
        let ty = routing_table();
        let manifest = Manifest::describe(&ty, b"bytes", "v1-ab".into(), None);
        assert_eq!(manifest.channel_type().unwrap(), ty);
        assert!(manifest.to_json().len() < MAX_MANIFEST_BYTES / 8, "{}", manifest.to_json().len());
        // A channel's recorded type is the same value as the one the type gives.
        let dir = std::env::temp_dir().join(format!("relay-manifest-type-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut writer =
            mmap_sync::Writer::<mmap_sync_schemas::RoutingTable>::open(dir.join("c")).unwrap();
        writer.write(&mmap_sync_schemas::RoutingTable::example(1, 2)).unwrap();
        assert_eq!(ChannelType::recorded(dir.join("c")).unwrap(), ty);
        drop(writer);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_structure_that_is_not_one_is_refused_with_the_reason() {
        let mut manifest = Manifest::describe(&routing_table(), b"bytes", "v1".into(), None);
        manifest.structure = "not base64!".into();
        assert!(manifest.channel_type().unwrap_err().contains("not URL-safe base64"));
        manifest.structure = URL_SAFE.encode(b"\x01\x02garbage");
        assert!(manifest.channel_type().unwrap_err().starts_with("the structure: "));
        // Cut short: every prefix of a real encoding is refused, none panics.
        let encoded = routing_table().structure.encode();
        for len in 0..encoded.len() {
            manifest.structure = URL_SAFE.encode(&encoded[..len]);
            assert!(manifest.channel_type().is_err(), "{len} bytes of {}", encoded.len());
        }
    }

    #[test]
    fn structure_text_is_padded_url_safe_base64_as_rfc4648_gives_it() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(URL_SAFE.encode(plain.as_bytes()), encoded, "{plain:?}");
            assert_eq!(
                URL_SAFE.decode(encoded).ok().as_deref(),
                Some(plain.as_bytes()),
                "{encoded:?}"
            );
        }
        // The URL-safe alphabet: 0xfb 0xff -> "-_8=" rather than "+/8=".
        assert_eq!(URL_SAFE.encode([0xfb, 0xff]), "-_8=");
        assert_eq!(URL_SAFE.decode("-_8=").ok(), Some(vec![0xfb, 0xff]));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(URL_SAFE.decode(URL_SAFE.encode(&all)).ok(), Some(all));
        // Anything else is refused.
        for bad in ["Zm9v!A==", "Zm9", "Zg==Zm9v", "Z===", "+/8="] {
            assert!(URL_SAFE.decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn channel_names_are_limited_to_what_bucket_names_allow() {
        assert!(check_channel_name("routing-table_2").is_ok());
        assert!(check_channel_name("").is_err());
        assert!(check_channel_name("a.b").unwrap_err().contains("'.'"));
        assert!(check_channel_name("a/b").is_err());
        assert!(check_channel_name(&"x".repeat(65)).is_err());
    }
}
