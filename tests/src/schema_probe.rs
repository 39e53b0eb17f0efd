//! The driver shared by the `schema_probe_*` programs. Each program is built with its own
//! definition of a channel type and does one thing to the channel the derive's `writer()` or
//! `reader()` opens (wherever the type's `env` override points), then reports one line on
//! stdout (see `mmap_sync_tests::report` for the format):
//!
//! * `fingerprint value=F type=T`: the type's `FINGERPRINT` and `TYPE_NAME`;
//! * `published generation=G` after `write`;
//! * `read ...` after `read`, with the fields the program reads out of the value;
//! * an `err` line, and exit code 1, when the channel refuses it (`kind=SchemaMismatch` when
//!   it holds another schema).

use mmap_sync::{Reader, Result, SharedState, Writer};
use mmap_sync_tests::report::{Line, error_line, say};

/// What a probe program plugs in: its type's derived constructors, a value to publish and the
/// fields of the `read` line for what it read.
pub struct Probe<T: SharedState> {
    pub writer: fn() -> Result<Writer<T>>,
    pub reader: fn() -> Result<Reader<T>>,
    pub value: fn() -> T,
    pub describe: fn(&T::Archived, Line) -> Line,
}

pub fn run<T: SharedState>(probe: Probe<T>) {
    let role = std::env::args().nth(1).unwrap_or_default();
    let outcome = match role.as_str() {
        "fingerprint" => {
            Ok(Line::new("fingerprint").with("value", T::FINGERPRINT).with("type", T::TYPE_NAME))
        }
        "write" => (probe.writer)().and_then(|mut writer| {
            let published = writer.write(&(probe.value)())?;
            Ok(Line::new("published").with("generation", published.generation))
        }),
        "read" => (probe.reader)().and_then(|reader| {
            let guard = reader.read()?;
            Ok((probe.describe)(&guard, Line::new("read")))
        }),
        other => {
            eprintln!("unknown role {other:?}; expected fingerprint, write or read");
            std::process::exit(2);
        }
    };
    match outcome {
        Ok(line) => say(&line),
        Err(error) => {
            say(&error_line(&error));
            std::process::exit(1);
        }
    }
}
