//! Collects every error found in one derive input, so the user sees all of them in one build
//! instead of fixing them one compile at a time.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Error sink for one expansion. Parsing and checking record errors here and carry on with a
/// best guess; [`Ctxt::check`] turns them into one combined `syn::Error`.
///
/// Dropping a `Ctxt` without calling `check` is a bug in the macro (errors would be lost), so it
/// panics, the way serde_derive's context does.
#[derive(Debug)]
pub(crate) struct Ctxt {
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt { errors: Some(Vec::new()) }
    }

    /// Records an error that points at `span`.
    pub(crate) fn error_at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error that points at all of `tokens` (first to last token).
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error produced by syn while parsing.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.push(error);
    }

    fn push(&mut self, error: syn::Error) {
        self.errors.as_mut().expect("Ctxt used after check").push(error);
    }

    /// All recorded errors as one `syn::Error` (each keeps its own span), or `Ok` if there were
    /// none.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let mut errors = self.errors.take().expect("Ctxt checked twice").into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("Ctxt dropped without check(): errors would be lost");
        }
    }
}
