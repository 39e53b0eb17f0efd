//! The Python package (`mmap-sync-python/`) against real writer processes: its pytest suite,
//! run from `cargo test` so that the workspace's one test command covers it.
//!
//! The test makes a fresh virtual environment under the target directory, installs maturin,
//! pytest and numpy into it from PyPI, installs the package with `pip install
//! ./mmap-sync-python` (built into the workspace's own target directory, so the build is
//! shared with cargo's), and runs `pytest mmap-sync-python/tests` with the writer program
//! `python_fixture` of this package. A pytest failure fails the test and shows pytest's output.
//!
//! Without a Python 3.11 or later, its `venv` module or PyPI, the test says `SKIPPED: ...`
//! (and fails instead under `MMAP_SYNC_NO_SKIP`, as in CI). `MMAP_SYNC_PYTHON` names the
//! interpreter to use; `MMAP_SYNC_PYTEST_ARGS` adds arguments to pytest (`-k wait -x`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use mmap_sync_tests::skip::skipped;

const FIXTURE: &str = env!("CARGO_BIN_EXE_python_fixture");

/// What the suite needs from PyPI. maturin 1.9.4 is the first to build PyO3 0.26+ extension
/// modules without linking libpython; numpy 2 has the buffer handling the tests check.
const REQUIREMENTS: &[&str] = &["maturin>=1.9.4,<2", "pytest>=8,<10", "numpy>=2,<3"];

/// The workspace's root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_owned()
}

/// The target directory this test was built into (`CARGO_TARGET_TMPDIR` is its `tmp`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("tmp is in the target dir").to_owned()
}

/// Prints straight to the test process's stderr, which the harness does not capture: the
/// steps and their times show in `cargo test`'s output.
fn note(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "python: {text}");
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `command` with the variables cargo sets for this test removed, so that the cargo that
/// maturin runs sees the environment a user's shell has.
fn clean(mut command: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let cargo_set = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*key);
        if cargo_set {
            command.env_remove(&*key);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// The first Python 3.11 or later among `MMAP_SYNC_PYTHON` and the usual names, or why none.
fn find_python() -> Result<PathBuf, String> {
    let named = std::env::var_os("MMAP_SYNC_PYTHON").map(PathBuf::from);
    let candidates = named.into_iter().chain(
        ["python3", "python3.14", "python3.13", "python3.12", "python3.11"].map(PathBuf::from),
    );
    let mut seen = Vec::new();
    for candidate in candidates {
        let mut command = clean(Command::new(&candidate));
        command.args(["-c", "import sys, venv; print(sys.version_info >= (3, 11), sys.version)"]);
        match command.output() {
            Ok(output) if output.status.success() => {
                let out = String::from_utf8_lossy(&output.stdout);
                if out.starts_with("True") {
                    return Ok(candidate);
                }
                seen.push(format!("{}: {}", candidate.display(), out.trim()));
            }
            Ok(output) => seen.push(format!("{}: {}", candidate.display(), text(&output).trim())),
            Err(err) => seen.push(format!("{}: {err}", candidate.display())),
        }
    }
    Err(format!("no Python 3.11 or later with venv ({})", seen.join("; ")))
}

/// Runs `command`, timing it; `Err` carries its output.
fn run(what: &str, mut command: Command) -> Result<(), String> {
    let started = Instant::now();
    let output = command.output().map_err(|err| format!("{what}: {err}"))?;
    note(format_args!("{what}: {:.1} s", started.elapsed().as_secs_f64()));
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({}):\n{}", output.status, text(&output)))
    }
}

#[test]
fn python_package_passes_its_pytest_suite() {
    let python = match find_python() {
        Ok(python) => python,
        Err(reason) => return skipped(reason),
    };
    let workspace = workspace();
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    // Fresh every run: nothing installed by an earlier run (or by hand) can make it pass.
    let _ = std::fs::remove_dir_all(&venv);
    let mut create = clean(Command::new(&python));
    create.arg("-m").arg("venv").arg(&venv);
    if let Err(reason) = run("create a venv", create) {
        return skipped(reason);
    }
    let venv_python = venv.join("bin/python");
    // As an activated venv has it: maturin's build hook runs `maturin` from the PATH.
    let path = std::env::join_paths(
        std::iter::once(venv.join("bin"))
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH entries");
    let clean = |program: &Path| {
        let mut command = clean(Command::new(program));
        command.env("PATH", &path).env("VIRTUAL_ENV", &venv);
        command
    };
    let pip = |args: &[&str]| {
        let mut command = clean(&venv_python);
        command.args(["-m", "pip", "--disable-pip-version-check", "install"]).args(args);
        command
    };
    if let Err(reason) = run("pip install maturin pytest numpy", pip(REQUIREMENTS)) {
        return skipped(format!("cannot install from PyPI: {reason}"));
    }

    // The package, as a user installs it, with the venv's maturin (no isolated build
    // environment: that would fetch maturin again) building into the workspace's target.
    let mut install = pip(&["--no-build-isolation", "--no-deps", "-v"]);
    install.arg(workspace.join("mmap-sync-python")).env("CARGO_TARGET_DIR", target_dir());
    if let Err(output) = run("pip install ./mmap-sync-python", install) {
        panic!("{output}");
    }

    let mut pytest = clean(&venv_python);
    pytest
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-ra", "--durations=5"])
        .arg(workspace.join("mmap-sync-python/tests"))
        .args(std::env::var("MMAP_SYNC_PYTEST_ARGS").unwrap_or_default().split_whitespace())
        .env("MMAP_SYNC_PYTHON_FIXTURE", FIXTURE)
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&workspace);
    let started = Instant::now();
    let output = pytest.output().expect("run pytest");
    let report = text(&output);
    note(format_args!("pytest: {:.1} s", started.elapsed().as_secs_f64()));
    assert!(output.status.success(), "pytest failed ({}):\n{report}", output.status);
    let summary = report.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("");
    note(summary.trim_matches(|c| c == '=' || c == ' '));
}
