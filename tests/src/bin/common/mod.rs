//! The value the upstream port's programs (`upstream_port_*.rs` beside this folder) share,
//! included by each with `mod common;` as upstream mmap-sync's examples include theirs: every
//! program compiles its own copy of the type, under its own module path
//! (`upstream_port_writer::common::HelloWorld`, ...). Not a program itself: it has no `main.rs`.

use std::ffi::OsString;

use rkyv::{Archive, Deserialize, Serialize};

/// Example data-structure shared between writer and reader(s).
#[derive(Archive, Deserialize, Serialize, Debug, PartialEq)]
pub struct HelloWorld {
    pub version: u32,
    pub messages: Vec<String>,
}

/// The channel's path prefix: `UPSTREAM_PORT_PATH`, or upstream's `/tmp/hello_world`.
#[allow(dead_code)] // not every program that includes this module needs it
pub fn path() -> OsString {
    std::env::var_os("UPSTREAM_PORT_PATH").unwrap_or_else(|| "/tmp/hello_world".into())
}
