//! Upstream mmap-sync's reader example as a port would leave it: the imports are this crate's,
//! and the `unsafe` block around `read` is gone (the read is safe).

mod common;

use common::HelloWorld;
use mmap_sync::synchronizer::Synchronizer;

fn main() {
    let mut synchronizer = Synchronizer::new(&common::path());
    match synchronizer.read::<HelloWorld>(false) {
        Ok(data) => println!("version: {} | messages: {:?}", data.version, data.messages),
        Err(e) => {
            println!("failed to read data: {e}");
            std::process::exit(1);
        }
    }
}
