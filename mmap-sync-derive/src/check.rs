//! Decides whether a derive input can be a channel and what its settings mean: the shape of the
//! type, and the values of the keys [`crate::attr`] read.

use proc_macro2::Span;
use syn::{Data, DeriveInput, GenericParam, LitInt, LitStr};

use crate::attr::{self, Attrs, SizeLit, key};
use crate::byte_size;
use crate::ctxt::Ctxt;

/// Copy counts the runtime supports (`mmap_sync::layout::{MIN_COPIES, MAX_COPIES}`).
pub(crate) const MIN_COPIES: u64 = 2;
pub(crate) const MAX_COPIES: u64 = 16;
/// Copies when `copies` is not given (`mmap_sync::layout::DEFAULT_COPIES`).
pub(crate) const DEFAULT_COPIES: u64 = 2;
/// Largest reader slot table the runtime supports (`mmap_sync::layout::MAX_READER_SLOTS`).
pub(crate) const MAX_READER_SLOTS: u64 = 1 << 16;
/// Files cannot be longer than `off_t` allows.
pub(crate) const MAX_MAX_SIZE: u64 = i64::MAX as u64;

/// The settings of one channel type, every value checked.
#[derive(Debug)]
pub(crate) struct Config {
    /// Absolute path prefix of the channel's files.
    pub(crate) path: LitStr,
    /// Number of data copies; always emitted, because `DATA_PATHS` depends on it.
    pub(crate) copies: usize,
    /// Reader slots, when given; the runtime's default otherwise.
    pub(crate) readers: Option<usize>,
    /// `max_size` in bytes and the span of its literal (for the root-size assertion).
    pub(crate) max_size: Option<(u64, Span)>,
    pub(crate) env: Option<LitStr>,
    pub(crate) schema_version: u64,
    /// Path of the runtime crate; `::mmap_sync` unless `crate = ..` says otherwise.
    pub(crate) krate: syn::Path,
}

/// Checks `input` and its attributes, recording every problem in `cx`. Returns the settings
/// when nothing stopped them from being computed; the caller still has to call `cx.check()`.
pub(crate) fn check(cx: &mut Ctxt, input: &DeriveInput, attrs: Attrs) -> Option<Config> {
    check_shape(cx, input);
    let path = match attrs.path {
        Some(path) => check_path(cx, &path).then_some(path),
        None if attrs.incomplete => None,
        None => {
            cx.error_spanned_by(
                &input.ident,
                format!(
                    "missing `#[{}({} = \"..\")]`: a channel needs an absolute path prefix for its \
                     files, e.g. `#[{0}({1} = \"/dev/shm/{}\")]`",
                    attr::ATTRIBUTE,
                    key::PATH,
                    snake_case(&input.ident.to_string()),
                ),
            );
            None
        }
    };
    let copies = match &attrs.copies {
        Some(lit) => integer_in(cx, lit, key::COPIES, MIN_COPIES, MAX_COPIES),
        None => Some(DEFAULT_COPIES),
    };
    let readers =
        attrs.readers.as_ref().map(|lit| integer_in(cx, lit, key::READERS, 1, MAX_READER_SLOTS));
    let max_size =
        attrs.max_size.as_ref().map(|lit| check_max_size(cx, lit).map(|size| (size, lit.span())));
    let env = attrs.env.filter(|env| check_env(cx, env));
    let schema_version = attrs
        .schema_version
        .as_ref()
        .map(|lit| integer_in(cx, lit, key::SCHEMA_VERSION, 0, u64::MAX));
    Some(Config {
        path: path?,
        copies: usize::try_from(copies?).ok()?,
        readers: readers
            .map(|readers| readers.and_then(|n| usize::try_from(n).ok()))
            .transpose_none()?,
        max_size: max_size.transpose_none()?,
        env,
        schema_version: schema_version.unwrap_or(Some(0))?,
        krate: attrs.krate.unwrap_or_else(|| syn::parse_quote!(::mmap_sync)),
    })
}

/// `Option<Option<T>>` where the inner `None` means "given but invalid": an invalid value
/// makes the whole config unavailable, a missing one is just absent.
trait TransposeNone<T> {
    fn transpose_none(self) -> Option<Option<T>>;
}

impl<T> TransposeNone<T> for Option<Option<T>> {
    fn transpose_none(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(value)) => Some(Some(value)),
        }
    }
}

/// Refuses what cannot be a channel type: generic parameters (a channel's files hold one
/// concrete type, and the fingerprint must be known when the type is compiled) and unions
/// (rkyv cannot archive them).
fn check_shape(cx: &mut Ctxt, input: &DeriveInput) {
    for param in &input.generics.params {
        match param {
            GenericParam::Lifetime(lifetime) => cx.error_spanned_by(
                lifetime,
                "`SharedState` types cannot borrow: a lifetime parameter would let a published \
                 value point outside the shared files; use owned fields (`String`, `Vec<T>`)",
            ),
            GenericParam::Type(ty) => cx.error_spanned_by(
                &ty.ident,
                "`SharedState` cannot be derived for a generic type: a channel holds one concrete \
                 type; define a non-generic wrapper, e.g. `struct Prices(Table<f64>);`",
            ),
            GenericParam::Const(konst) => cx.error_spanned_by(
                &konst.ident,
                "`SharedState` cannot be derived for a type with const parameters: a channel \
                 holds one concrete type; define a non-generic wrapper",
            ),
        }
    }
    if let Data::Union(union) = &input.data {
        cx.error_spanned_by(
            union.union_token,
            "`SharedState` cannot be derived for a union: rkyv cannot archive unions; use an enum",
        );
    }
}

/// A path prefix the runtime can turn into file names: absolute, not a directory, no NUL.
fn check_path(cx: &mut Ctxt, lit: &LitStr) -> bool {
    let path = lit.value();
    let problem = if path.is_empty() {
        Some("`path` is empty; give an absolute prefix such as \"/dev/shm/name\"".to_owned())
    } else if path.contains('\0') {
        Some("`path` contains a NUL byte, which no file name can hold".to_owned())
    } else if !path.starts_with('/') {
        let guess =
            if path.contains('/') { format!("/{path}") } else { format!("/dev/shm/{path}") };
        Some(format!(
            "`path` must be absolute (start with `/`), so that writer and readers find the same \
             files whatever their working directory: \"{guess}\"?"
        ))
    } else if path.ends_with('/') {
        Some(format!(
            "`path` is a prefix of file names, not a directory: \"{path}\" ends in `/` (the files \
             would be `{path}_state`, ..); drop the trailing slash or add a name"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => {
            cx.error_spanned_by(lit, message);
            false
        }
        None => true,
    }
}

fn check_env(cx: &mut Ctxt, lit: &LitStr) -> bool {
    let name = lit.value();
    let problem = if name.is_empty() {
        Some("`env` is empty; name the environment variable that overrides `path`")
    } else if name.contains('=') || name.contains('\0') {
        Some("`env` must be a variable name: it cannot contain `=` or a NUL byte")
    } else {
        None
    };
    if let Some(message) = problem {
        cx.error_spanned_by(lit, message);
    }
    problem.is_none()
}

fn check_max_size(cx: &mut Ctxt, lit: &SizeLit) -> Option<u64> {
    let size = match lit {
        SizeLit::Int(int) => int.base10_parse::<u64>().map_err(|_| byte_size::SizeError::Overflow),
        SizeLit::Str(text) => byte_size::parse(&text.value()),
    };
    match size {
        Ok(0) => {
            cx.error_at(lit.span(), "`max_size` must be at least 1 byte");
            None
        }
        Ok(size) if size > MAX_MAX_SIZE => {
            cx.error_at(
                lit.span(),
                format!("`max_size` must be at most {MAX_MAX_SIZE} bytes (the largest file size)"),
            );
            None
        }
        Ok(size) => Some(size),
        Err(error) => {
            cx.error_at(lit.span(), format!("`max_size`: {error}"));
            None
        }
    }
}

fn integer_in(cx: &mut Ctxt, lit: &LitInt, key: &str, min: u64, max: u64) -> Option<u64> {
    match lit.base10_parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => Some(value),
        _ => {
            cx.error_spanned_by(
                lit,
                format!("`{key}` must be in {min}..={max}, got {}", lit.base10_digits()),
            );
            None
        }
    }
}

/// `HelloWorld` -> `hello_world`, for the suggested default path in the missing-path error.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_at_capitals() {
        assert_eq!(snake_case("HelloWorld"), "hello_world");
        assert_eq!(snake_case("Prices"), "prices");
    }
}
