//! The schema fingerprint: a description of the type written out at macro time, hashed and
//! combined by const evaluation with the size and alignment of every archived type involved.
//!
//! See the crate documentation for what this catches and what it cannot.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use crate::ast::{self, Container, Data, Field, Style};
use crate::check::Config;

/// Bumped when the description format or the fold order changes, so that a new macro can never
/// produce the same fingerprint for a different scheme by accident.
const SCHEME: &str = "mmap-sync-derive fingerprint 1";

/// Generic types whose listed type arguments are archived in place of the outer type's
/// out-of-line data: their layout matters although the outer type's own size does not change
/// with them. Only names whose rkyv impls require those arguments to be `Archive` appear here.
pub(crate) const CONTAINERS: &[(&str, &[usize])] = &[
    ("Vec", &[0]),
    ("VecDeque", &[0]),
    ("Box", &[0]),
    ("Option", &[0]),
    ("Arc", &[0]),
    ("Rc", &[0]),
    ("BTreeSet", &[0]),
    ("HashSet", &[0]),
    ("BTreeMap", &[0, 1]),
    ("HashMap", &[0, 1]),
    ("Result", &[0, 1]),
];

/// One archived type whose size and alignment go into the fingerprint.
struct LayoutTerm {
    /// The Rust type; its archived form is `<ty as Archive>::Archived`, or with `with`,
    /// `<with as ArchiveWith<ty>>::Archived`.
    ty: Type,
    with: Option<Type>,
}

/// The const expression of the type's fingerprint.
pub(crate) fn expression(container: &Container, config: &Config) -> TokenStream {
    let private = config.private();
    let description = describe(container);
    let version = proc_macro2::Literal::u64_unsuffixed(config.schema_version);
    let mut terms = Vec::new();
    for field in container.all_fields() {
        terms.push(LayoutTerm { ty: field.ty.clone(), with: field.with.clone() });
        // A `with` wrapper decides the archived form itself; the field type's arguments need
        // not be archivable then.
        if field.with.is_none() {
            element_types(field.ty, &mut |elem| {
                terms.push(LayoutTerm { ty: elem.clone(), with: None });
            });
        }
    }
    let folds = terms.iter().map(|term| {
        // Spanned at the field type so that a type that cannot be archived is reported there.
        let ty = &term.ty;
        let span = ty.span();
        match &term.with {
            None => quote_spanned!(span=> .archived::<#ty>()),
            Some(with) => quote_spanned!(span=> .archived_with::<#ty, #with>()),
        }
    });
    quote! {
        #private::Fingerprint::of_schema(#description)
            .value(#version)
            .archived::<Self>()
            #(#folds)*
            .finish()
    }
}

/// Calls `found` with each archived element type of `ty` (inside arrays, slices, tuples and the
/// known containers), outermost first, recursively; only types whose archived size can be taken
/// (see [`sized_archivable`]).
pub(crate) fn element_types<'t>(ty: &'t Type, found: &mut dyn FnMut(&'t Type)) {
    fn add<'t>(elem: &'t Type, found: &mut dyn FnMut(&'t Type)) {
        if let Some(elem) = sized_archivable(elem) {
            found(elem);
        }
        element_types(elem, found);
    }
    match ty {
        Type::Array(array) => add(&array.elem, found),
        Type::Slice(slice) => add(&slice.elem, found),
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|elem| add(elem, found)),
        Type::Paren(paren) => element_types(&paren.elem, found),
        Type::Group(group) => element_types(&group.elem, found),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else { return };
            let Some(&(_, positions)) = CONTAINERS.iter().find(|(name, _)| last.ident == name)
            else {
                return;
            };
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return };
            let types: Vec<&Type> = args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    syn::GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect();
            for &position in positions {
                if let Some(elem) = types.get(position) {
                    add(elem, found);
                }
            }
        }
        _ => {}
    }
}

/// `ty` itself if its archived size can be taken: a sized type that is not `str`. Slices and
/// `str` only contribute through their elements.
pub(crate) fn sized_archivable(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Slice(_) | Type::Reference(_) | Type::TraitObject(_) | Type::ImplTrait(_) => None,
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => None,
        Type::Paren(paren) => sized_archivable(&paren.elem),
        Type::Group(group) => sized_archivable(&group.elem),
        other => Some(other),
    }
}

/// The part of the fingerprint fixed at macro time: the item's kind and name, its variants and
/// fields in order with their names, type tokens and `with` wrappers, and discriminants.
///
/// Tokens are written one space apart, whatever the source spacing and whatever the compiler's
/// own printing does, so the same definition gives the same text on every toolchain.
pub(crate) fn describe(container: &Container) -> String {
    let mut out = format!("{SCHEME}: ");
    match &container.data {
        Data::Struct(style, fields) => {
            out.push_str("struct ");
            out.push_str(&container.name);
            describe_fields(*style, fields, &mut out);
        }
        Data::Enum(variants) => {
            out.push_str("enum ");
            out.push_str(&container.name);
            out.push_str(" {");
            for (i, variant) in variants.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { ", " });
                out.push_str(&variant.name);
                describe_fields(variant.style, &variant.fields, &mut out);
                if let Some(discriminant) = variant.discriminant {
                    out.push_str(" = ");
                    out.push_str(&canonical_tokens(discriminant.to_token_stream()));
                }
            }
            out.push_str(" }");
        }
        Data::Union => out.push_str("union"),
    }
    out
}

fn describe_fields(style: Style, fields: &[Field], out: &mut String) {
    let (open, close, first) = match style {
        Style::Named => (" {", " }", " "),
        Style::Tuple => ("(", ")", ""),
        Style::Unit => return,
    };
    out.push_str(open);
    for (i, field) in fields.iter().enumerate() {
        out.push_str(if i == 0 { first } else { ", " });
        if style == Style::Named {
            out.push_str(&field.name);
            out.push_str(": ");
        }
        out.push_str(&type_text(field));
    }
    out.push_str(close);
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
