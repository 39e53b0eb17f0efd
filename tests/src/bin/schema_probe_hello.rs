//! `mmap_sync_schemas::HelloWorld` through its derived `writer()` and `reader()` (see `schema_probe.rs`
//! for the roles). Tests point it at private files with `MMAP_SYNC_HELLO_PATH`.

#[path = "../schema_probe.rs"]
mod schema_probe;

use mmap_sync_schemas::HelloWorld;

fn main() {
    schema_probe::run(schema_probe::Probe {
        writer: HelloWorld::writer,
        reader: HelloWorld::reader,
        value: HelloWorld::example,
        describe: |hello, line| {
            let messages: Vec<&str> = hello.messages.iter().map(|m| m.as_str()).collect();
            line.with("version", hello.version).with("messages", messages.join(","))
        },
    });
}
