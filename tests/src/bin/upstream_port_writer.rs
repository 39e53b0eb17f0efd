//! Upstream mmap-sync's writer example as a port would leave it: the imports are this crate's,
//! the type comes from the `common` module every program of the port includes.

mod common;

use std::time::Duration;

use common::HelloWorld;
use mmap_sync::synchronizer::Synchronizer;

fn main() {
    let mut synchronizer = Synchronizer::new(&common::path());
    let data = HelloWorld {
        version: 7,
        messages: vec!["Hello".to_string(), "World".to_string(), "!".to_string()],
    };
    match synchronizer.write(&data, Duration::from_secs(1)) {
        Ok((written, reset)) => println!("written: {} bytes | reset: {}", written, reset),
        Err(e) => {
            println!("failed to write data: {e}");
            std::process::exit(1);
        }
    }
}
