//! The schema fingerprint: a description of the type written out at macro time, hashed and
//! combined by const evaluation with the size and alignment of every archived type involved.
//!
//! See the crate documentation for what this catches and what it cannot.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Type};

use crate::attr;
use crate::check::Config;

/// Bumped when the description format or the fold order changes, so that a new macro can never
/// produce the same fingerprint for a different scheme by accident.
const SCHEME: &str = "mmap-sync-derive fingerprint 1";

/// Generic types whose listed type arguments are archived in place of the outer type's
/// out-of-line data: their layout matters although the outer type's own size does not change
/// with them. Only names whose rkyv impls require those arguments to be `Archive` appear here.
const CONTAINERS: &[(&str, &[usize])] = &[
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
pub(crate) fn expression(input: &DeriveInput, config: &Config) -> TokenStream {
    let private = private_path(config);
    let description = describe(input);
    let version = proc_macro2::Literal::u64_unsuffixed(config.schema_version);
    let mut terms = Vec::new();
    for field in fields(input) {
        let with = attr::rkyv_with(field);
        // A `with` wrapper decides the archived form itself; the field type's arguments need
        // not be archivable then.
        let recurse = with.is_none();
        terms.push(LayoutTerm { ty: field.ty.clone(), with });
        if recurse {
            element_terms(&field.ty, &mut terms);
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

fn private_path(config: &Config) -> TokenStream {
    let krate = &config.krate;
    quote!(#krate::__private)
}

/// Every field of the struct or of every variant, in declaration order.
fn fields(input: &DeriveInput) -> Vec<&syn::Field> {
    match &input.data {
        Data::Struct(data) => data.fields.iter().collect(),
        Data::Enum(data) => {
            data.variants.iter().flat_map(|variant| variant.fields.iter()).collect()
        }
        Data::Union(data) => data.fields.named.iter().collect(),
    }
}

/// Adds the archived element types of `ty` (arrays, tuples, known containers), recursively.
fn element_terms(ty: &Type, terms: &mut Vec<LayoutTerm>) {
    let add = |elem: &Type, terms: &mut Vec<LayoutTerm>| {
        if let Some(elem) = sized_archivable(elem) {
            terms.push(LayoutTerm { ty: elem.clone(), with: None });
        }
        element_terms(elem, terms);
    };
    match ty {
        Type::Array(array) => add(&array.elem, terms),
        Type::Slice(slice) => add(&slice.elem, terms),
        Type::Tuple(tuple) => tuple.elems.iter().for_each(|elem| add(elem, terms)),
        Type::Paren(paren) => element_terms(&paren.elem, terms),
        Type::Group(group) => element_terms(&group.elem, terms),
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
                    add(elem, terms);
                }
            }
        }
        _ => {}
    }
}

/// `ty` itself if its archived size can be taken: a sized type that is not `str`. Slices and
/// `str` only contribute through their elements.
fn sized_archivable(ty: &Type) -> Option<&Type> {
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
pub(crate) fn describe(input: &DeriveInput) -> String {
    let mut out = format!("{SCHEME}: ");
    match &input.data {
        Data::Struct(data) => {
            out.push_str("struct ");
            out.push_str(&input.ident.to_string());
            describe_fields(&data.fields, &mut out);
        }
        Data::Enum(data) => {
            out.push_str("enum ");
            out.push_str(&input.ident.to_string());
            out.push_str(" {");
            for (i, variant) in data.variants.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { ", " });
                out.push_str(&variant.ident.to_string());
                describe_fields(&variant.fields, &mut out);
                if let Some((_, discriminant)) = &variant.discriminant {
                    out.push_str(" = ");
                    out.push_str(&canonical_tokens(discriminant.to_token_stream()));
                }
            }
            out.push_str(" }");
        }
        Data::Union(_) => out.push_str("union"),
    }
    out
}

fn describe_fields(fields: &Fields, out: &mut String) {
    let (open, close) = match fields {
        Fields::Named(_) => (" {", " }"),
        Fields::Unnamed(_) => ("(", ")"),
        Fields::Unit => return,
    };
    out.push_str(open);
    let first = if matches!(fields, Fields::Named(_)) { " " } else { "" };
    for (i, field) in fields.iter().enumerate() {
        out.push_str(if i == 0 { first } else { ", " });
        if let Some(ident) = &field.ident {
            out.push_str(&ident.to_string());
            out.push_str(": ");
        }
        out.push_str(&canonical_tokens(field.ty.to_token_stream()));
        if let Some(with) = attr::rkyv_with(field) {
            out.push_str(" with ");
            out.push_str(&canonical_tokens(with.to_token_stream()));
        }
    }
    out.push_str(close);
}

/// Tokens in a fixed spelling that depends only on the tokens, not on source whitespace or
/// the compiler's printer: no space around `::`, `<`, `>`, `.`, before `,` and `;`, after `&`
/// and `'`, or inside brackets; one space elsewhere. Invisible groups (from `macro_rules!`
/// fragments) are flattened, so a type written through a macro reads like the type written out.
fn canonical_tokens(tokens: TokenStream) -> String {
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
                words.push(Word { text: ident.to_string(), kind: WordKind::Other })
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
