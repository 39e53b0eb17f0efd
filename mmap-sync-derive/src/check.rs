//! Decides whether a derive input can be a channel and what its settings mean: the shape of the
//! type, and the values of the keys [`crate::attr`] read.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, GenericParam, LitInt, LitStr};

use crate::ast;
use crate::attr::{self, Attrs, SizeLit, key};
use crate::byte_size;
use crate::ctxt::Ctxt;

/// Copy counts the runtime supports. The runtime's own limits (`mmap_sync::layout`) are the
/// definition: generated code asserts against them through `__private`, so a runtime with other
/// limits fails to compile instead of drifting, and a unit test compares the two.
pub(crate) const MIN_COPIES: u64 = 2;
pub(crate) const MAX_COPIES: u64 = 16;
/// Copies when `copies` is not given (the runtime's `DEFAULT_COPIES`).
pub(crate) const DEFAULT_COPIES: u64 = 2;
/// Smallest and largest reader slot tables the runtime supports (its `MAX_READER_SLOTS`).
pub(crate) const MIN_READER_SLOTS: u64 = 1;
pub(crate) const MAX_READER_SLOTS: u64 = 1 << 16;
/// Files cannot be longer than `off_t` allows.
pub(crate) const MAX_MAX_SIZE: u64 = i64::MAX as u64;

/// Which derive is being expanded: they share attribute parsing and shape checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Derive {
    /// `#[derive(SharedState)]`: a channel type, with every key.
    SharedState,
    /// `#[derive(Describe)]`: a description only, for a type nested in a channel type; of the
    /// keys only `crate` applies.
    Describe,
}

impl Derive {
    fn name(self) -> &'static str {
        match self {
            Derive::SharedState => "SharedState",
            Derive::Describe => "Describe",
        }
    }
}

/// The settings of one derived type. A value that was missing or refused is replaced by its
/// default and its error recorded in the `Ctxt`, so every later step can run; whether code is
/// emitted is decided by those errors alone.
#[derive(Debug)]
pub(crate) struct Config {
    /// Absolute path prefix of the channel's files (empty when missing or for `Describe`).
    pub(crate) path: LitStr,
    /// Number of data copies; always emitted, because `DATA_PATHS` depends on it.
    pub(crate) copies: usize,
    /// Where `copies` was written, or the call site when it was not.
    pub(crate) copies_span: Span,
    /// Reader slots and where they were written, when given; the runtime's default otherwise.
    pub(crate) readers: Option<(usize, Span)>,
    /// `max_size` in bytes and the span of its literal (for the root-size assertion).
    pub(crate) max_size: Option<(u64, Span)>,
    pub(crate) env: Option<LitStr>,
    pub(crate) schema_version: u64,
    /// Path of the runtime crate; `::mmap_sync` unless `crate = ..` says otherwise.
    pub(crate) krate: syn::Path,
}

impl Config {
    /// The one path generated code reaches the runtime through: `{crate}::__private`.
    pub(crate) fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }
}

/// Checks `input` and its attributes for `derive`, recording every problem in `cx`, and returns
/// the settings with defaults in place of what was refused. The caller decides from `cx`
/// whether to emit code.
pub(crate) fn check(cx: &mut Ctxt, input: &DeriveInput, attrs: Attrs, derive: Derive) -> Config {
    check_shape(cx, input, derive);
    if derive == Derive::Describe {
        for (key, span) in attrs.given.iter().filter(|(key, _)| *key != key::CRATE) {
            cx.error_at(
                *span,
                format!(
                    "`{key}` configures a channel, and `#[derive(Describe)]` only describes a type; \
                     derive `SharedState` to make `{}` a channel, or keep only `crate` here",
                    ast::name(&input.ident)
                ),
            );
        }
    }
    let path = match attrs.path {
        Some(path) => {
            if derive == Derive::SharedState {
                check_path(cx, &path);
            }
            path
        }
        None => {
            if derive == Derive::SharedState && !attrs.incomplete {
                cx.error_spanned_by(
                    &input.ident,
                    format!(
                        "missing `#[{}({} = \"..\")]`: a channel needs an absolute path prefix for \
                         its files, e.g. `#[{0}({1} = \"/dev/shm/{}\")]`",
                        attr::ATTRIBUTE,
                        key::PATH,
                        snake_case(&ast::name(&input.ident)),
                    ),
                );
            }
            LitStr::new("", input.ident.span())
        }
    };
    let (copies, copies_span) = match &attrs.copies {
        Some(lit) => (
            integer_in(cx, lit, key::COPIES, MIN_COPIES, MAX_COPIES).unwrap_or(DEFAULT_COPIES),
            lit.span(),
        ),
        None => (DEFAULT_COPIES, Span::call_site()),
    };
    let readers = attrs.readers.as_ref().and_then(|lit| {
        integer_in(cx, lit, key::READERS, MIN_READER_SLOTS, MAX_READER_SLOTS)
            .map(|readers| (to_usize(readers), lit.span()))
    });
    let max_size = attrs
        .max_size
        .as_ref()
        .and_then(|lit| check_max_size(cx, lit).map(|size| (size, lit.span())));
    let env = attrs.env.filter(|env| check_env(cx, env));
    let schema_version = attrs
        .schema_version
        .as_ref()
        .and_then(|lit| integer_in(cx, lit, key::SCHEMA_VERSION, 0, u64::MAX))
        .unwrap_or(0);
    Config {
        path,
        copies: to_usize(copies),
        copies_span,
        readers,
        max_size,
        env,
        schema_version,
        krate: attrs.krate.unwrap_or_else(|| syn::parse_quote!(::mmap_sync)),
    }
}

/// Copy and slot counts are checked against ranges far below `usize::MAX` on every target the
/// runtime builds for (64-bit Linux).
fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Refuses what cannot be a channel type: generic parameters (a channel's files hold one
/// concrete type, and the fingerprint and description must be known when the type is
/// compiled) and unions (rkyv cannot archive them).
fn check_shape(cx: &mut Ctxt, input: &DeriveInput, derive: Derive) {
    let derive = derive.name();
    for param in &input.generics.params {
        match param {
            GenericParam::Lifetime(lifetime) => cx.error_spanned_by(
                lifetime,
                format!(
                    "`{derive}` types cannot borrow: a lifetime parameter would let a published \
                     value point outside the shared files; use owned fields (`String`, `Vec<T>`)"
                ),
            ),
            GenericParam::Type(ty) => cx.error_spanned_by(
                &ty.ident,
                format!(
                    "`{derive}` cannot be derived for a generic type: a channel holds one \
                     concrete type; define a non-generic wrapper, e.g. `struct Prices(Table<f64>);`"
                ),
            ),
            GenericParam::Const(konst) => cx.error_spanned_by(
                &konst.ident,
                format!(
                    "`{derive}` cannot be derived for a type with const parameters: a channel \
                     holds one concrete type; define a non-generic wrapper"
                ),
            ),
        }
    }
    if let Data::Union(union) = &input.data {
        cx.error_spanned_by(
            union.union_token,
            format!(
                "`{derive}` cannot be derived for a union: rkyv cannot archive unions; use an enum"
            ),
        );
    }
}

/// A path prefix the runtime can turn into file names: absolute, not a directory, no NUL.
fn check_path(cx: &mut Ctxt, lit: &LitStr) {
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
    if let Some(message) = problem {
        cx.error_spanned_by(lit, message);
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

    /// The derive's ranges are a copy, for messages at the token; the runtime's are the
    /// definition. This fails as soon as the two disagree in either direction, where the
    /// generated const assertion only catches a value the derive accepts and the runtime does
    /// not.
    #[test]
    fn derive_limits_are_the_runtime_limits() {
        use mmap_sync::__private as runtime;
        assert_eq!(MIN_COPIES, runtime::MIN_COPIES as u64);
        assert_eq!(MAX_COPIES, runtime::MAX_COPIES as u64);
        assert_eq!(DEFAULT_COPIES, runtime::DEFAULT_COPIES as u64);
        assert_eq!(MAX_READER_SLOTS, runtime::MAX_READER_SLOTS as u64);
    }

    fn checked(input: DeriveInput, derive: Derive) -> (Config, syn::Result<()>) {
        let mut cx = Ctxt::new();
        let attrs = attr::parse(&mut cx, &input.attrs);
        let config = check(&mut cx, &input, attrs, derive);
        (config, cx.check())
    }

    #[test]
    fn refused_values_leave_defaults_and_errors() {
        let (config, result) = checked(
            syn::parse_quote! {
                #[shared_state(path = "/dev/shm/x", copies = 99, readers = 0, schema_version = "7")]
                struct X;
            },
            Derive::SharedState,
        );
        assert_eq!(config.copies as u64, DEFAULT_COPIES);
        assert_eq!(config.readers.map(|(readers, _)| readers), None);
        assert_eq!(config.schema_version, 0);
        assert_eq!(result.expect_err("three values are refused").into_iter().count(), 3);
    }

    #[test]
    fn a_missing_path_is_an_error_for_a_channel_only() {
        let input: DeriveInput = syn::parse_quote!(
            struct Nested;
        );
        let (_, channel) = checked(input.clone(), Derive::SharedState);
        let (_, description) = checked(input, Derive::Describe);
        assert!(channel.is_err());
        assert!(description.is_ok());
    }

    #[test]
    fn a_description_refuses_every_channel_key_but_crate() {
        let (config, result) = checked(
            syn::parse_quote! {
                #[shared_state(crate = ::ipc, path = "/dev/shm/x", copies = 3)]
                struct Nested;
            },
            Derive::Describe,
        );
        let messages: Vec<String> =
            result.expect_err("keys refused").into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].starts_with("`path` configures a channel"), "{}", messages[0]);
        assert!(messages[1].starts_with("`copies` configures a channel"), "{}", messages[1]);
        let krate = &config.krate;
        assert_eq!(quote!(#krate).to_string(), quote!(::ipc).to_string());
    }

    #[test]
    fn snake_case_splits_at_capitals() {
        assert_eq!(snake_case("HelloWorld"), "hello_world");
        assert_eq!(snake_case("Prices"), "prices");
    }
}
