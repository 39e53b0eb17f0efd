//! Compile-time behaviour of the derive: inputs it must accept (`ui/pass`) and inputs it must
//! refuse with the committed message (`ui/fail/*.stderr`).
//!
//! Compiler diagnostics change between Rust releases, so the expected `.stderr` files are only
//! compared on the toolchain they were written with (`PINNED_RUSTC`); on any other toolchain the
//! test says so and skips, rather than failing CI because the compiler was upgraded. Regenerate
//! them with `TRYBUILD=overwrite cargo test -p mmap-sync-derive --test ui` after moving the pin.

use std::process::Command;

/// The `rustc --version` prefix the `.stderr` files were produced with (the workspace's
/// `rust-version`).
const PINNED_RUSTC: &str = "rustc 1.95.";

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc).arg("--version").output().expect("rustc --version runs");
    String::from_utf8(output.stdout).expect("rustc prints UTF-8")
}

#[test]
fn derive_accepts_and_refuses_with_the_committed_messages() {
    let version = rustc_version();
    if !version.starts_with(PINNED_RUSTC) {
        // Visible whatever the harness captures, and fatal where skipping is forbidden (CI).
        let reason = format!("pinned to {PINNED_RUSTC}x and this is {}", version.trim());
        let forbidden = std::env::var("MMAP_SYNC_NO_SKIP").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(
            !forbidden,
            "the UI tests cannot run ({reason}) and MMAP_SYNC_NO_SKIP forbids skipping"
        );
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "SKIPPED: derive UI tests: {reason}");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
