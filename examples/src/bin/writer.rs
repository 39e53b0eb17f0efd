//! Publishes upstream's HelloWorld once, like upstream mmap-sync's writer example.
//!
//! `cargo run -p mmap-sync-examples --bin writer`, then `--bin reader`.

use mmap_sync::Writer;
use schemas::HelloWorld;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = mmap_sync_examples::hello_world_path();
    let mut writer: Writer<HelloWorld> = Writer::open(&path)?;
    let data = HelloWorld {
        version: 7,
        messages: vec!["Hello".to_string(), "World".to_string(), "!".to_string()],
    };
    let published = writer.write(&data)?;
    // "reset" is upstream's word for taking a copy from under a slow reader; that never happens
    // here. The closest event, reclaiming a dead reader's slot, is reported in its place.
    println!("written: {} bytes | reset: {}", published.bytes, published.reclaimed > 0);
    Ok(())
}
