//! The manifest: the small record that says which archive is a channel's current version.
//!
//! A publisher uploads the archive first, under a name used for nothing else, and only then
//! moves the manifest to point at it. A follower therefore never sees a manifest whose object
//! is still being written, and everything it must check before downloading (type, fingerprint,
//! size) is in the manifest itself.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use mmap_sync::SharedState;
use serde::{Deserialize, Serialize};

/// Version of the manifest's JSON shape. A follower refuses a manifest of another format.
pub const MANIFEST_FORMAT: u32 = 1;

/// What a publisher writes to the source for each version (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`] of the publisher that wrote it.
    pub format: u32,
    /// `SharedState::TYPE_NAME` of the archived value.
    pub type_name: String,
    /// `SharedState::FINGERPRINT` of the archived value; a follower of another type refuses it.
    pub fingerprint: u64,
    /// Length of the archive in bytes.
    pub size: u64,
    /// xxh3-64 of the archive, as `xxh3-64:<16 hex digits>` (the hash the runtime keeps per
    /// copy; cheap to recompute when comparing a local copy with the manifest).
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
}

impl Manifest {
    /// A manifest describing `archive` as a value of `T`, stored under `object`.
    pub fn describe<T: SharedState>(archive: &[u8], object: String, replaces: Option<u64>) -> Self {
        Manifest {
            format: MANIFEST_FORMAT,
            type_name: T::TYPE_NAME.to_owned(),
            fingerprint: T::FINGERPRINT,
            size: archive.len() as u64,
            checksum: checksum_of(archive),
            digest: digest_of(archive),
            object,
            replaces,
            published_at_ms: unix_millis(),
        }
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

fn format_checksum(hash: u64) -> String {
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

    #[test]
    fn manifest_survives_its_json_form() {
        let manifest =
            Manifest::describe::<mmap_sync_schemas::HelloWorld>(b"bytes", "v1-ab".into(), Some(3));
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        assert!(Manifest::from_json(b"{\"format\":1}").unwrap_err().contains("not a manifest"));
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
