//! The schema fingerprint, computed by const evaluation over the type's whole shape, and the
//! type text (a field's type as written, in canonical tokens) that opaque and deferred shapes
//! are named by.
//!
//! See the crate documentation for what this catches and what it cannot.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{self, Container, Field};
use crate::check::Config;

/// The const expression of the type's fingerprint: the fingerprint of its whole shape, its
/// `schema_version` and the archive encoding (`__private::type_fingerprint`).
///
/// Before it, each field's type is required to be archivable in a call spanned at the field's
/// type: a field rkyv cannot archive is reported there, in words (`Instant` cannot be archived
/// by rkyv, ..). The shape's own probes cannot say it: a failed probe is a missing associated
/// item, and the compiler stops checking the body that holds it.
pub(crate) fn expression(container: &Container, config: &Config) -> TokenStream {
    let private = config.private();
    let ident = container.ident;
    let version = proc_macro2::Literal::u64_unsuffixed(config.schema_version);
    let checks = container.all_fields().into_iter().map(|field| {
        let ty = field.ty;
        match &field.with {
            None => quote_spanned!(ty.span()=> #private::archivable::<#ty>();),
            Some(with) => quote_spanned!(ty.span()=> #private::archivable_with::<#ty, #with>();),
        }
    });
    quote!({
        #(#checks)*
        #private::type_fingerprint(&<#ident as #private::Describe>::SHAPE, #version)
    })
}

/// A field's type as the fingerprint and the description write it: its tokens, and its `with`
/// wrapper's after the word `with`.
pub(crate) fn type_text(field: &Field) -> String {
    let mut out = canonical_tokens(field.ty.to_token_stream());
    if let Some(with) = &field.with {
        out.push_str(" with ");
        out.push_str(&canonical_tokens(with.to_token_stream()));
    }
    out
}

/// Tokens in a fixed spelling that depends only on the tokens, not on source whitespace or
/// the compiler's printer: no space around `::`, `<`, `>`, `.`, before `,` and `;`, after `&`
/// and `'`, or inside brackets; one space elsewhere. Invisible groups (from `macro_rules!`
/// fragments) are flattened, so a type written through a macro reads like the type written out.
/// Identifiers are written as [`ast::name`] writes them (`r#type` as `type`).
pub(crate) fn canonical_tokens(tokens: TokenStream) -> String {
    let mut words = Vec::new();
    push_canonical(tokens, &mut words);
    let mut out = String::new();
    let mut previous: Option<&Word> = None;
    for word in &words {
        if let Some(previous) = previous
            && !previous.glues_after()
            && !word.glues_before()
        {
            out.push(' ');
        }
        out.push_str(&word.text);
        previous = Some(word);
    }
    out
}

/// One printed token, and whether it is a punctuation character or a delimiter.
struct Word {
    text: String,
    kind: WordKind,
}

#[derive(PartialEq, Eq)]
enum WordKind {
    Open,
    Close,
    Punct(char),
    Other,
}

impl Word {
    fn glues_after(&self) -> bool {
        matches!(self.kind, WordKind::Open | WordKind::Punct(':' | '<' | '>' | '.' | '&' | '\''))
    }

    fn glues_before(&self) -> bool {
        matches!(self.kind, WordKind::Close | WordKind::Punct(':' | '<' | '>' | '.' | ',' | ';'))
    }
}

fn push_canonical(tokens: TokenStream, words: &mut Vec<Word>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => {
                        push_canonical(group.stream(), words);
                        continue;
                    }
                };
                words.push(Word { text: open.to_owned(), kind: WordKind::Open });
                push_canonical(group.stream(), words);
                words.push(Word { text: close.to_owned(), kind: WordKind::Close });
            }
            TokenTree::Ident(ident) => {
                words.push(Word { text: ast::name(&ident), kind: WordKind::Other })
            }
            TokenTree::Punct(punct) => words.push(Word {
                text: punct.as_char().to_string(),
                kind: WordKind::Punct(punct.as_char()),
            }),
            TokenTree::Literal(literal) => {
                words.push(Word { text: literal.to_string(), kind: WordKind::Other })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_tokens_read_like_rust() {
        let cases: [(TokenStream, &str); 5] = [
            (
                quote!(std::collections::HashMap<u64, Vec<f32>>),
                "std::collections::HashMap<u64, Vec<f32>>",
            ),
            (quote!([u8; 4]), "[u8; 4]"),
            (quote!(Option<Box<[(u32, Weight)]>>), "Option<Box<[(u32, Weight)]>>"),
            (quote!(&'static str), "&'static str"),
            (quote!(::core::num::NonZeroU64), "::core::num::NonZeroU64"),
        ];
        for (tokens, expected) in cases {
            assert_eq!(canonical_tokens(tokens), expected);
        }
    }

    #[test]
    fn invisible_groups_print_like_their_contents() {
        let inner = quote!(Vec<u8>);
        let grouped: TokenStream =
            TokenTree::Group(proc_macro2::Group::new(Delimiter::None, inner.clone())).into();
        assert_eq!(
            canonical_tokens(quote!(Option<#grouped>)),
            canonical_tokens(quote!(Option<#inner>))
        );
    }
}
