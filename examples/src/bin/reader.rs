//! Reads upstream's HelloWorld, like upstream mmap-sync's reader example, but safely.

use std::process::ExitCode;

use mmap_sync::Reader;
use mmap_sync_schemas::HelloWorld;

fn main() -> ExitCode {
    let path = mmap_sync_examples::hello_world_path();
    let read = Reader::<HelloWorld>::open(&path).and_then(|reader| {
        let data = reader.read()?;
        println!("version: {} messages: {:?}", data.version, data.messages);
        Ok(())
    });
    match read {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reader: {e}");
            if matches!(e, mmap_sync::Error::NotPublished { .. }) {
                eprintln!("(run the writer first: cargo run -p mmap-sync-examples --bin writer)");
            }
            ExitCode::FAILURE
        }
    }
}
