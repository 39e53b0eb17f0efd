//! A program of the port moved to the native API: the same `HelloWorld` definition as `common`'s,
//! declared here with `#[derive(SharedState)]`, read with `Reader<T>` and written with
//! `Writer<T>`, on the channel the facade programs use. `read` prints
//! `version: .. | messages: ..`; `write VERSION` publishes and prints `published generation N`.

use mmap_sync::{Reader, SharedState, Writer};

/// Upstream's `HelloWorld`, as a typed channel. `copies = 3`: the facade creates channels with
/// three copies, and a writer must ask for the count a channel has.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/tmp/hello_world", env = "UPSTREAM_PORT_PATH", copies = 3)]
struct HelloWorld {
    version: u32,
    messages: Vec<String>,
}

fn fail(e: mmap_sync::Error) -> ! {
    println!("failed: {e}");
    std::process::exit(1);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("read") => {
            let reader: Reader<HelloWorld> = HelloWorld::reader().unwrap_or_else(|e| fail(e));
            let data = reader.read().unwrap_or_else(|e| fail(e));
            println!("version: {} | messages: {:?}", data.version, data.messages);
        }
        Some("write") => {
            let version = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(8);
            let mut writer: Writer<HelloWorld> = HelloWorld::writer().unwrap_or_else(|e| fail(e));
            let value = HelloWorld { version, messages: vec!["from".into(), "native".into()] };
            let published = writer.write(&value).unwrap_or_else(|e| fail(e));
            println!("published generation {}", published.generation);
        }
        _ => {
            eprintln!("usage: upstream_port_native read | write [VERSION]");
            std::process::exit(2);
        }
    }
}
