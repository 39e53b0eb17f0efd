//! Publishes upstream's HelloWorld once, like upstream mmap-sync's writer example.
//!
//! `cargo run -p mmap-sync-examples --bin writer`, then `--bin reader`.

use std::process::ExitCode;

use mmap_sync::Writer;
use mmap_sync_schemas::HelloWorld;

fn main() -> ExitCode {
    let path = mmap_sync_examples::hello_world_path();
    let mut writer: Writer<HelloWorld> = match Writer::open(&path) {
        Ok(writer) => writer,
        Err(e) => {
            eprintln!("writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    match writer.write(&HelloWorld::example()) {
        Ok(published) => {
            // "reset" is upstream's word for taking a copy from under a slow reader, which never
            // happens here; the closest event, reclaiming a dead reader's slot, stands in for it.
            println!("written: {} bytes | reset: {}", published.bytes, published.reclaimed > 0);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("writer: {e}");
            ExitCode::FAILURE
        }
    }
}
