//! A program written against everything of upstream mmap-sync 2.0.4 that client code names: the
//! four type parameters and `with_params`, both lock strategies and the `WriteLockStrategy`
//! bound, `ReadResult` from `guard`, `InstanceVersion` from `instance` and its conversions, and
//! `SynchronizerError` matched variant by variant (exhaustively, with no wildcard arm). Only the
//! imports differ from upstream (and the hasher, see `WyHash` below).
//!
//! `upstream_port_full_api run` walks through the API and prints one line per step;
//! `hold` writes, prints `holding`, and keeps the writer open until its standard input closes;
//! `second` tries to write while another process holds the channel.

mod common;

use std::hash::Hasher;
use std::io::{ErrorKind, Read};
use std::time::Duration;

use common::HelloWorld;
use mmap_sync::guard::ReadResult;
use mmap_sync::instance::InstanceVersion;
use mmap_sync::locks::{LockDisabled, SingleWriter, WriteLockStrategy};
use mmap_sync::synchronizer::{Synchronizer, SynchronizerError};

/// Upstream programs name `wyhash::WyHash`; any `Hasher + Default` is accepted in its place (the
/// parameter does not choose the checksum any more), so this program, which does not depend on
/// the `wyhash` crate, names the standard library's.
type WyHash = std::collections::hash_map::DefaultHasher;

/// Upstream's signature for a tuned synchronizer: 500 µs between checks for readers.
type Tuned<WL> = Synchronizer<WyHash, WL, 1024, 500_000>;

/// Every variant, as a program that handles each one would match them.
fn describe(error: &SynchronizerError) -> String {
    match error {
        SynchronizerError::FailedStateRead(e) if e.kind() == ErrorKind::NotFound => {
            "not found".to_string()
        }
        SynchronizerError::FailedStateRead(e) => format!("state: {e}"),
        SynchronizerError::FailedDataRead(e) => format!("data read: {e}"),
        SynchronizerError::FailedDataWrite(e) => format!("data write: {e}"),
        SynchronizerError::FailedEntityWrite => "entity write".to_string(),
        SynchronizerError::FailedEntityRead => "entity read".to_string(),
        SynchronizerError::UninitializedState => "uninitialized".to_string(),
        SynchronizerError::InvalidInstanceVersionParams => "invalid params".to_string(),
        SynchronizerError::WriteLockConflict => "write lock conflict".to_string(),
    }
}

/// A function generic over the parameters, with upstream's bounds.
fn publish<'a, H, WL, const N: usize, const SD: u64>(
    sync: &mut Synchronizer<H, WL, N, SD>,
    version: u32,
) -> Result<(usize, bool), SynchronizerError>
where
    H: Hasher + Default,
    WL: WriteLockStrategy<'a>,
{
    let data = HelloWorld { version, messages: vec!["Hello".to_string(), "World".to_string()] };
    sync.write(&data, Duration::from_secs(1))
}

/// A function that returns upstream's `ReadResult` by its path.
fn fetch<WL>(sync: &mut Tuned<WL>) -> Result<ReadResult<'_, HelloWorld>, SynchronizerError> {
    sync.read::<HelloWorld>(true)
}

fn step<T>(name: &str, result: Result<T, SynchronizerError>, ok: impl FnOnce(T) -> String) {
    match result {
        Ok(value) => println!("{name}: {}", ok(value)),
        Err(e) => println!("{name}: {}", describe(&e)),
    }
}

fn run() {
    let path = common::path();
    let mut reader = Tuned::<LockDisabled>::with_params(&path);
    step("version before any writer", reader.version(), |v| format!("{v:?}"));
    step("read before any writer", fetch(&mut reader).map(|r| r.version), |v| v.to_string());

    let mut writer = Synchronizer::<WyHash, SingleWriter>::with_params(&path);
    step("first writer", publish(&mut writer, 7), |(_, reset)| format!("reset {reset}"));
    let mut second = Tuned::<LockDisabled>::with_params(&path);
    step("second writer", publish(&mut second, 8), |_| "written".to_string());

    let read = fetch(&mut reader);
    step("read", read.map(|r| (r.version, r.is_switched())), |(v, s)| {
        format!("version {v} switched {s}")
    });
    step("read again", fetch(&mut reader).map(|r| r.is_switched()), |s| format!("switched {s}"));

    let version: Result<InstanceVersion, SynchronizerError> = reader.version();
    step("version", version, |v| {
        let number: u64 = v.into();
        let back = InstanceVersion::try_from(number).expect("a published version converts back");
        format!("{number} round trip {}", back == v)
    });
    step("version 0", InstanceVersion::try_from(0u64), |v| format!("{v:?}"));

    step("write again", publish(&mut writer, 9), |_| "written".to_string());
    let read = fetch(&mut reader).map(|r| (r.version, r.is_switched()));
    step("read after write", read, |(v, s)| format!("version {v} switched {s}"));
    step("version after write", reader.version().map(u64::from), |v| v.to_string());
}

fn main() {
    let mode = std::env::args().nth(1);
    match mode.as_deref() {
        Some("run") => run(),
        Some("hold") => {
            let mut writer = Synchronizer::<WyHash, SingleWriter>::with_params(&common::path());
            step("hold", publish(&mut writer, 7), |_| "holding".to_string());
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        }
        Some("second") => {
            let mut writer = Tuned::<LockDisabled>::with_params(&common::path());
            step("second", publish(&mut writer, 8), |_| "written".to_string());
        }
        _ => {
            eprintln!("usage: upstream_port_full_api run | hold | second");
            std::process::exit(2);
        }
    }
}
