//! Reads `#[shared_state(..)]` attributes into raw values: which keys were given, with which
//! literals, where. Whether the values make sense is [`crate::check`]'s job.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, LitInt, LitStr, Token};

use crate::ctxt::Ctxt;
use crate::suggest;

/// The attribute this derive reads.
pub(crate) const ATTRIBUTE: &str = "shared_state";

/// The keys `#[shared_state(..)]` accepts.
pub(crate) mod key {
    pub(crate) const PATH: &str = "path";
    pub(crate) const COPIES: &str = "copies";
    pub(crate) const READERS: &str = "readers";
    pub(crate) const MAX_SIZE: &str = "max_size";
    pub(crate) const ENV: &str = "env";
    pub(crate) const SCHEMA_VERSION: &str = "schema_version";
    pub(crate) const CRATE: &str = "crate";

    pub(crate) const ALL: &[&str] = &[PATH, COPIES, READERS, MAX_SIZE, ENV, SCHEMA_VERSION, CRATE];

    /// Words people reach for instead of a key, mapped to the key they mean.
    pub(crate) const SYNONYMS: &[(&str, &str)] = &[
        ("prefix", PATH),
        ("copy_count", COPIES),
        ("slots", READERS),
        ("reader_slots", READERS),
        ("max_readers", READERS),
        ("size", MAX_SIZE),
        ("max_bytes", MAX_SIZE),
        ("env_var", ENV),
        ("path_env", ENV),
        ("version", SCHEMA_VERSION),
        ("crate_path", CRATE),
    ];
}

/// A `max_size` value as written: `"64 MiB"` or `67108864`.
#[derive(Debug)]
pub(crate) enum SizeLit {
    Str(LitStr),
    Int(LitInt),
}

impl SizeLit {
    pub(crate) fn span(&self) -> Span {
        match self {
            SizeLit::Str(lit) => lit.span(),
            SizeLit::Int(lit) => lit.span(),
        }
    }
}

/// Every key given across all `#[shared_state(..)]` attributes of one item, as written.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) path: Option<LitStr>,
    pub(crate) copies: Option<LitInt>,
    pub(crate) readers: Option<LitInt>,
    pub(crate) max_size: Option<SizeLit>,
    pub(crate) env: Option<LitStr>,
    pub(crate) schema_version: Option<LitInt>,
    pub(crate) krate: Option<syn::Path>,
    /// Every key given, with the span of its name, in the order written; for checks that
    /// depend on which keys appear at all.
    pub(crate) given: Vec<(&'static str, Span)>,
    /// Some `#[shared_state]` attribute could not be read to its end, so a key missing from
    /// `Attrs` may well have been written; checks should not call it missing.
    pub(crate) incomplete: bool,
}

/// Reads all `#[shared_state(..)]` attributes in `attrs`, recording every problem in `cx` and
/// keeping whatever could be read.
pub(crate) fn parse(cx: &mut Ctxt, attrs: &[Attribute]) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(ATTRIBUTE)) {
        if !matches!(attr.meta, syn::Meta::List(_)) {
            cx.error_spanned_by(
                attr,
                "expected `#[shared_state(key = value, ..)]`, e.g. \
                 `#[shared_state(path = \"/dev/shm/name\")]`",
            );
            out.incomplete = true;
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let name = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            let key_span = meta.path.span();
            let Some(key) = key::ALL.iter().copied().find(|key| *key == name) else {
                unknown_key(cx, &meta.path, &name);
                skip_value(meta.input)?;
                return Ok(());
            };
            // A key counts as given even if its value is refused, so a second occurrence is
            // still reported as a duplicate.
            if out.given.iter().any(|(given, _)| *given == key) {
                cx.error_at(key_span, format!("`{key}` is specified more than once"));
                skip_value(meta.input)?;
                return Ok(());
            }
            out.given.push((key, key_span));
            let value: Expr = meta.value()?.parse()?;
            match key {
                key::PATH => out.path = string(cx, key, value),
                key::COPIES => out.copies = integer(cx, key, value),
                key::READERS => out.readers = integer(cx, key, value),
                key::MAX_SIZE => out.max_size = size(cx, value),
                key::ENV => out.env = string(cx, key, value),
                key::SCHEMA_VERSION => out.schema_version = integer(cx, key, value),
                key::CRATE => out.krate = crate_path(cx, value),
                _ => unreachable!("every key in key::ALL is matched"),
            }
            Ok(())
        });
        if let Err(error) = result {
            out.incomplete = true;
            cx.syn_error(error);
        }
    }
    out
}

fn unknown_key(cx: &mut Ctxt, path: &syn::Path, name: &str) {
    let shown = if name.is_empty() {
        quote::quote!(#path).to_string().replace(' ', "")
    } else {
        name.to_owned()
    };
    match suggest::closest(name, key::ALL, key::SYNONYMS) {
        Some(known) => cx.error_spanned_by(
            path,
            format!("unknown `{ATTRIBUTE}` key `{shown}`; did you mean `{known}`?"),
        ),
        None => cx.error_spanned_by(
            path,
            format!(
                "unknown `{ATTRIBUTE}` key `{shown}`; expected one of {}",
                key::ALL.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", ")
            ),
        ),
    }
}

/// Consumes an unknown key's value (`= expr` or `(..)`), so the keys after it are still read
/// and checked in the same build.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
    } else if input.peek(syn::token::Paren) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

fn string(cx: &mut Ctxt, key: &str, value: Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => Some(lit),
        other => {
            cx.error_spanned_by(
                &other,
                format!("`{key}` takes a string literal: `{key} = \"..\"`"),
            );
            None
        }
    }
}

fn integer(cx: &mut Ctxt, key: &str, value: Expr) -> Option<LitInt> {
    match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Int(lit), .. }) => Some(lit),
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), .. }) => {
            cx.error_spanned_by(&value, format!("`{key}` cannot be negative"));
            None
        }
        Expr::Lit(syn::ExprLit { lit: Lit::Str(ref lit), .. }) => {
            cx.error_spanned_by(
                &value,
                format!(
                    "`{key}` takes an integer literal, not a string: `{key} = {}`",
                    lit.value()
                ),
            );
            None
        }
        other => {
            cx.error_spanned_by(&other, format!("`{key}` takes an integer literal: `{key} = 3`"));
            None
        }
    }
}

fn size(cx: &mut Ctxt, value: Expr) -> Option<SizeLit> {
    match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => Some(SizeLit::Str(lit)),
        Expr::Lit(syn::ExprLit { lit: Lit::Int(lit), .. }) => Some(SizeLit::Int(lit)),
        other => {
            cx.error_spanned_by(
                &other,
                "`max_size` takes a size string or a byte count: `max_size = \"64 MiB\"`",
            );
            None
        }
    }
}

/// `crate = "path::to::mmap_sync"` (serde's spelling) or `crate = path::to::mmap_sync`.
fn crate_path(cx: &mut Ctxt, value: Expr) -> Option<syn::Path> {
    match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => match lit.parse::<syn::Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                cx.error_spanned_by(&lit, format!("`{}` is not a path", lit.value()));
                None
            }
        },
        Expr::Path(syn::ExprPath { qself: None, path, .. }) => Some(path),
        other => {
            cx.error_spanned_by(&other, "`crate` takes a path: `crate = ::mmap_sync`");
            None
        }
    }
}
