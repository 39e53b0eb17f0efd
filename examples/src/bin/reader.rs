//! Reads upstream's HelloWorld, like upstream mmap-sync's reader example, but safely.

use mmap_sync::Reader;
use schemas::HelloWorld;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = mmap_sync_examples::hello_world_path();
    let mut reader: Reader<HelloWorld> = Reader::open(&path)?;
    let data = reader.read()?;
    println!("version: {} messages: {:?}", data.version, data.messages);
    Ok(())
}
