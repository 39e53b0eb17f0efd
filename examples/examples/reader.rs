//! Upstream mmap-sync's reader example, ported: only the imports are this crate's, and `read`
//! needs no `unsafe` block any more (it is safe).
//!
//! `cargo run --example writer`, then `cargo run --example reader`. `HELLO_WORLD_PATH` moves the
//! channel from `/tmp/hello_world`.

mod common;

use common::HelloWorld;
use mmap_sync::synchronizer::{Synchronizer, SynchronizerError};

fn main() {
    let path = std::env::var_os("HELLO_WORLD_PATH").unwrap_or_else(|| "/tmp/hello_world".into());

    // Initialize the Synchronizer
    let mut synchronizer = Synchronizer::new(&path);

    // Read data from shared memory
    let data = match synchronizer.read::<HelloWorld>(false) {
        Ok(data) => data,
        Err(SynchronizerError::FailedStateRead(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("failed to read data: {e} (run `cargo run --example writer` first)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("failed to read data: {e}");
            std::process::exit(1);
        }
    };

    // Access fields of the struct
    println!("version: {} | messages: {:?}", data.version, data.messages);
}
