//! The HelloWorld channels the small-value figures share: one of ours and one of upstream's,
//! each written once when first asked for.

use std::path::PathBuf;

use upstream::synchronizer::Synchronizer;

use super::{Result, Scratch};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

/// A HelloWorld channel on each side, written once, shared by the small-value figures.
pub struct Hello {
    pub paths: HelloPaths,
    pub ours_writer: ours::Writer<o::HelloWorld>,
    pub upstream_writer: Synchronizer,
}

/// Where the HelloWorld channels live; shared with reader threads.
pub struct HelloPaths {
    pub ours: PathBuf,
    pub upstream: PathBuf,
}

impl HelloPaths {
    pub fn ours_reader(&self) -> Result<ours::Reader<o::HelloWorld>> {
        Ok(ours::Reader::open(&self.ours)?)
    }

    pub fn upstream_reader(&self) -> Synchronizer {
        Synchronizer::new(self.upstream.as_os_str())
    }
}

impl Hello {
    pub fn open(scratch: &Scratch) -> Result<Self> {
        let ours_path = scratch.path("hello_ours");
        let upstream_path = scratch.path("hello_upstream");
        let mut ours_writer = ours::Writer::<o::HelloWorld>::open(&ours_path)?;
        let mut upstream_writer = Synchronizer::new(upstream_path.as_os_str());
        ours_writer.write(&o::hello())?;
        upstream_writer.write(&u::hello(), UPSTREAM_GRACE)?;
        let paths = HelloPaths { ours: ours_path, upstream: upstream_path };
        Ok(Hello { paths, ours_writer, upstream_writer })
    }
}
