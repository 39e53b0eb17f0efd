//! The trait that makes a type a channel: its archived form, its files, its schema.

use std::path::PathBuf;

use rkyv::bytecheck::CheckBytes;
use rkyv::{Archive, Portable};

use crate::serialize::CopySerializer;

/// A type that can be published through a channel.
///
/// Implemented by `#[derive(SharedState)]`; a hand-written impl must keep `FINGERPRINT` in step
/// with the type's archived layout, because readers trust a copy whose fingerprint matches.
///
/// The bounds say: the value can be serialized by rkyv straight into a mapped copy, and its
/// archived form can be validated by bytecheck.
pub trait SharedState:
    Archive<Archived: Portable + for<'a> CheckBytes<crate::__private::Validator<'a>>>
    + for<'a, 'b> rkyv::Serialize<CopySerializer<'a, 'b>>
    + Sized
{
    /// Default path prefix of the channel's files (`{PATH}_state`, `{PATH}_readers`,
    /// `{PATH}_data_{i}`).
    const PATH: &'static str;
    /// The type's name, recorded in the state file for error messages.
    const TYPE_NAME: &'static str;
    /// Hash of the type's schema; a reader refuses files written with another fingerprint.
    const FINGERPRINT: u64;
    /// Number of data copies (2..=16). Three or more let the writer publish while a slow
    /// reader holds an old copy.
    const COPIES: usize = crate::format::DEFAULT_COPIES;
    /// Number of reader slots, i.e. how many readers may be open at once.
    const READER_SLOTS: usize = crate::format::DEFAULT_READER_SLOTS;
    /// Largest archived value the writer accepts, in bytes.
    const MAX_SIZE: u64 = crate::format::DEFAULT_MAX_SIZE;
    /// Environment variable that, when set, overrides `PATH` at run time.
    const PATH_ENV: Option<&'static str> = None;
    /// The type's archived shape, as a tree (see [`schema`](crate::schema)): what the writer
    /// stores in the channel, so that a program without the type can read the value and a
    /// schema mismatch names the field that differs.
    ///
    /// `#[derive(SharedState)]` fills it in. A hand-written impl has none unless it sets one,
    /// and values published through the upstream-style
    /// [`Synchronizer`](crate::synchronizer::Synchronizer) facade have none.
    const SHAPE: Option<crate::schema::StaticShape> = None;

    /// The path prefix to use: `PATH_ENV`'s value when that variable is set and not empty,
    /// `PATH` otherwise.
    fn path() -> PathBuf {
        if let Some(var) = Self::PATH_ENV
            && let Some(value) = std::env::var_os(var)
            && !value.is_empty()
        {
            return PathBuf::from(value);
        }
        PathBuf::from(Self::PATH)
    }
}
