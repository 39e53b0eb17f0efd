//! The error a type derived through `mmap_sync::rkyv` gets when it forgets
//! `#[rkyv(crate = mmap_sync::rkyv)]` in a crate without rkyv: it names the fix.
//!
//! Compiler diagnostics change between Rust releases: the `.stderr` file is compared on the
//! toolchain it was written with only (as the derive's own UI tests are); regenerate it with
//! `TRYBUILD=overwrite cargo test -p mmap-sync-reexport-tests --test ui`.

/// The `rustc --version` prefix the `.stderr` file was produced with.
const PINNED_RUSTC: &str = "rustc 1.95.";

#[test]
fn forgetting_the_crate_path_is_an_error_that_names_it() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = std::process::Command::new(rustc).arg("--version").output().unwrap();
    let version = String::from_utf8(output.stdout).unwrap();
    if !version.starts_with(PINNED_RUSTC) {
        let forbidden = std::env::var("MMAP_SYNC_NO_SKIP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!forbidden, "pinned to {PINNED_RUSTC}x, this is {version}; MMAP_SYNC_NO_SKIP set");
        eprintln!("SKIPPED: re-export UI test: pinned to {PINNED_RUSTC}x, this is {version}");
        return;
    }
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
