//! The driver shared by the `schema_probe_*` programs. Each program is built with its own
//! definition of a channel type and does one thing to the channel the derive's `writer()` or
//! `reader()` opens (wherever the type's `env` override points), then reports one line on
//! stdout:
//!
//! * `fingerprint F`: the type's `FINGERPRINT`;
//! * `published generation G` after `write`;
//! * `read ...` (the value, as the program describes it) after `read`;
//! * `mismatch expected E found F | D` when the channel holds another schema, D being the
//!   differences the error names, `; `-separated;
//! * `error ...` (and exit code 1) for anything else.

use std::io::Write;

use mmap_sync::{Error, Reader, Result, SharedState, Writer};

/// What a probe program plugs in: its type's derived constructors, a value to publish and a
/// way to print what it read.
pub struct Probe<T: SharedState> {
    pub writer: fn() -> Result<Writer<T>>,
    pub reader: fn() -> Result<Reader<T>>,
    pub value: fn() -> T,
    pub describe: fn(&T::Archived) -> String,
}

pub fn run<T: SharedState>(probe: Probe<T>) {
    let role = std::env::args().nth(1).unwrap_or_default();
    let outcome = match role.as_str() {
        "fingerprint" => Ok(format!("fingerprint {}", T::FINGERPRINT)),
        "write" => (probe.writer)().and_then(|mut writer| {
            let published = writer.write(&(probe.value)())?;
            Ok(format!("published generation {}", published.generation))
        }),
        "read" => (probe.reader)().and_then(|reader| {
            let guard = reader.read()?;
            Ok(format!("read {}", (probe.describe)(&guard)))
        }),
        other => {
            say(&format!("error unknown role {other:?}; expected fingerprint, write or read"));
            std::process::exit(2);
        }
    };
    match outcome {
        Ok(line) => say(&line),
        Err(Error::SchemaMismatch { expected, found, differences, .. }) => {
            let differences: Vec<String> = differences.iter().map(|d| d.to_string()).collect();
            say(&format!(
                "mismatch expected {} found {} | {}",
                expected.fingerprint,
                found.fingerprint,
                differences.join("; ")
            ))
        }
        Err(error) => {
            say(&format!("error {error}"));
            std::process::exit(1);
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
