//! A program of the port whose `HelloWorld` is not the one in `common`: another field type,
//! another field, or another field order, chosen by the first argument (`retyped`, `extended`,
//! `reordered`). With `read` or `write` as the second argument it reads or writes the channel
//! through the facade and prints what happened: `refused: schema mismatch | <error>` when the
//! facade refuses the channel, `version: ..` or `written: ..` otherwise. It finds the channel
//! where the other programs do, through `common::path`.

mod common;

use std::time::Duration;

use mmap_sync::Error;
use mmap_sync::synchronizer::{Synchronizer, SynchronizerError};

/// `version` is a u64, not a u32.
mod retyped {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct HelloWorld {
        pub version: u64,
        pub messages: Vec<String>,
    }
}

/// One more field at the end.
mod extended {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<String>,
        pub owner: String,
    }
}

/// The same fields in another order.
mod reordered {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct HelloWorld {
        pub messages: Vec<String>,
        pub version: u32,
    }
}

/// Prints the outcome of a read or write; a schema mismatch is the expected refusal.
fn report<T>(result: Result<T, SynchronizerError>, ok: impl FnOnce(T) -> String) {
    match result {
        Ok(value) => println!("{}", ok(value)),
        Err(e) if matches!(e.error(), Some(Error::SchemaMismatch { .. })) => {
            println!("refused: schema mismatch | {e}")
        }
        Err(e) => {
            println!("failed: {e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sync = Synchronizer::new(&common::path());
    let grace = Duration::from_secs(1);
    let messages = || vec!["changed".to_string()];
    let written = |(bytes, _): (usize, bool)| format!("written: {bytes} bytes");
    match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        (Some("retyped"), Some("read")) => {
            report(sync.read::<retyped::HelloWorld>(true), |d| format!("version: {}", d.version))
        }
        (Some("retyped"), Some("write")) => report(
            sync.write(&retyped::HelloWorld { version: 9, messages: messages() }, grace),
            written,
        ),
        (Some("extended"), Some("read")) => {
            report(sync.read::<extended::HelloWorld>(true), |d| format!("version: {}", d.version))
        }
        (Some("extended"), Some("write")) => report(
            sync.write(
                &extended::HelloWorld { version: 9, messages: messages(), owner: "ops".into() },
                grace,
            ),
            written,
        ),
        (Some("reordered"), Some("read")) => {
            report(sync.read::<reordered::HelloWorld>(true), |d| format!("version: {}", d.version))
        }
        (Some("reordered"), Some("write")) => report(
            sync.write(&reordered::HelloWorld { messages: messages(), version: 9 }, grace),
            written,
        ),
        _ => {
            eprintln!("usage: upstream_port_changed retyped|extended|reordered read|write");
            std::process::exit(2);
        }
    }
}
