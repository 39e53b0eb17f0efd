//! Paths used by code that `#[derive(SharedState)]` generates. Not a public API: anything here
//! may change in any release.

pub use ::core;
pub use ::rkyv;
pub use ::std;

pub use crate::fingerprint::{fold_fingerprint, hash_str};
pub use crate::{Error, Reader, Result, SharedState, Writer};

/// The validator a copy's archived bytes are checked with.
pub type Validator<'a> = rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>;
