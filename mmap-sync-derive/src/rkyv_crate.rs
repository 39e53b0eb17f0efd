//! The one mistake the compiler cannot explain: deriving rkyv's traits through the runtime's
//! re-export (`#[derive(mmap_sync::rkyv::Archive)]`) in a crate that does not depend on rkyv
//! itself. rkyv's derives name their crate `::rkyv` unless the type says
//! `#[rkyv(crate = mmap_sync::rkyv)]`, so they fail with name-resolution errors, and the
//! compiler stops there, before any type-level diagnostic of ours could say what to do. This
//! check says it at expansion time: when the type names no rkyv crate path and the manifest of
//! the crate being compiled does not mention rkyv, the derive reports the fix instead of
//! generating code. (Finding a crate's dependencies in its manifest is what crates such as
//! `proc-macro-crate` do for the same reason.)

use proc_macro2::Span;

/// An error naming the fix, when `ty` is in a crate that cannot name `::rkyv` and does not tell
/// rkyv's derives where rkyv is. `None` when the type sets `#[rkyv(crate = ..)]`, when the
/// manifest mentions rkyv (then `::rkyv` may resolve; if it does not, rkyv's own errors are
/// about a real dependency problem), or when no manifest is known (a build without Cargo).
pub(crate) fn missing_crate_path(
    names_crate_path: bool,
    ty: &str,
    span: Span,
) -> Option<syn::Error> {
    if names_crate_path {
        return None;
    }
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let manifest = std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml")).ok()?;
    if mentions_rkyv(&manifest) {
        return None;
    }
    Some(syn::Error::new(
        span,
        format!(
            "`{ty}` derives rkyv's traits in a crate that does not depend on rkyv: add \
             `#[rkyv(crate = mmap_sync::rkyv)]` to `{ty}` so that rkyv's derives use the \
             runtime's re-export (they name `::rkyv` otherwise), or add rkyv to the crate's \
             dependencies"
        ),
    ))
}

/// Whether a manifest's dependency tables mention rkyv: a dependency on rkyv under any name
/// must say `rkyv` there (`rkyv = ..`, `rkyv.workspace = true`, `[dependencies.rkyv]`,
/// `package = "rkyv"`). Generous on purpose: a false "yes" only leaves rkyv's own errors, a
/// false "no" would refuse a crate that builds; so every table whose header says `dependencies`
/// counts, dev- and target-specific ones included.
fn mentions_rkyv(manifest: &str) -> bool {
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            in_dependencies = line.contains("dependencies");
        }
        if in_dependencies && line.contains("rkyv") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::mentions_rkyv;

    #[test]
    fn every_way_of_depending_on_rkyv_is_seen() {
        for manifest in [
            "[dependencies]\nrkyv = \"0.8\"\n",
            "[dependencies]\nrkyv.workspace = true\n",
            "[dependencies.rkyv]\nversion = \"0.8\"\n",
            "[dependencies]\nrk = { package = \"rkyv\", version = \"0.8\" }\n",
            "[target.'cfg(unix)'.dependencies]\nrkyv = \"0.8\"\n",
        ] {
            assert!(mentions_rkyv(manifest), "{manifest}");
        }
    }

    #[test]
    fn a_manifest_without_rkyv_or_with_it_only_in_a_comment_is_not_taken_for_one() {
        assert!(!mentions_rkyv("[dependencies]\nmmap-sync = \"3\"\n"));
        assert!(!mentions_rkyv("[dependencies]\nmmap-sync = \"3\" # has rkyv inside\n"));
        assert!(!mentions_rkyv(
            "[package]\nname = \"rkyv-user\"\n[dependencies]\nmmap-sync = \"3\"\n"
        ));
    }
}
