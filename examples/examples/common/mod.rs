//! The value shared by the `writer` and `reader` examples, which both include this module
//! (`mod common;`), as upstream mmap-sync's examples do.

use rkyv::{Archive, Deserialize, Serialize};

/// Example data-structure shared between writer and reader(s). rkyv 0.8 derives bytecheck's
/// `CheckBytes` itself: upstream's `#[archive_attr(derive(CheckBytes))]` is gone.
#[derive(Archive, Deserialize, Serialize, Debug, PartialEq)]
pub struct HelloWorld {
    pub version: u32,
    pub messages: Vec<String>,
}
