//! Upstream mmap-sync's writer example, ported: only the imports are this crate's.
//!
//! `cargo run --example writer`, then `cargo run --example reader`. `HELLO_WORLD_PATH` moves the
//! channel from `/tmp/hello_world`.

mod common;

use common::HelloWorld;
use mmap_sync::synchronizer::Synchronizer;
use std::time::Duration;

fn main() {
    let path = std::env::var_os("HELLO_WORLD_PATH").unwrap_or_else(|| "/tmp/hello_world".into());

    // Initialize the Synchronizer
    let mut synchronizer = Synchronizer::new(&path);

    // Define the data
    let data = HelloWorld {
        version: 7,
        messages: vec!["Hello".to_string(), "World".to_string(), "!".to_string()],
    };

    // Write data to shared memory
    let (written, reset) = match synchronizer.write(&data, Duration::from_secs(1)) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("failed to write data: {e}");
            std::process::exit(1);
        }
    };

    // Show how many bytes written and whether state was reset
    println!("written: {} bytes | reset: {}", written, reset);
}
