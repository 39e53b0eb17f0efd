//! The derive input read once into the shape every later step works from: the type's name,
//! its variants and fields, and what rkyv's attributes change about their archived form.
//!
//! Everything that reads a field's `#[rkyv(..)]` or turns an identifier into text goes through
//! here, so the fingerprint, the description and the generated docs agree on both.

use proc_macro2::{Ident, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{DeriveInput, Expr, Member, Token, Type};

/// A derive input, read.
pub(crate) struct Container<'a> {
    /// The type's identifier as written (`r#type` stays raw), for generated code.
    pub(crate) ident: &'a Ident,
    /// The type's name as text: see [`name`].
    pub(crate) name: String,
    pub(crate) data: Data<'a>,
    /// The type carries `#[rkyv(as = ..)]`: its archived form is another, existing type whose
    /// fields this derive cannot name, so field offsets are not recorded.
    pub(crate) archived_as_other: bool,
    /// The type tells rkyv's derives where rkyv is (`#[rkyv(crate = ..)]`).
    pub(crate) names_rkyv_crate: bool,
}

pub(crate) enum Data<'a> {
    Struct(Style, Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    /// Refused by `check`; kept so that every problem of the input is still reported together.
    Union,
}

/// How a struct's or variant's fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Named,
    Tuple,
    Unit,
}

pub(crate) struct Variant<'a> {
    pub(crate) name: String,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
    /// The explicit `= expr`, if any.
    pub(crate) discriminant: Option<&'a Expr>,
}

pub(crate) struct Field<'a> {
    /// `name` or `0`, as generated code refers to the field (`r#type` stays raw).
    pub(crate) member: Member,
    /// The field's name as text (`"type"` for `r#type`, `"0"` for a tuple field).
    pub(crate) name: String,
    pub(crate) ty: &'a Type,
    /// The `#[rkyv(with = W)]` wrapper, which replaces the field's archived type with
    /// `<W as ArchiveWith<F>>::Archived`.
    pub(crate) with: Option<Type>,
    /// `#[rkyv(omit_bounds)]`: how rkyv lets a type contain itself. The field's shape is then
    /// looked up lazily (a `const` tree cannot contain itself).
    pub(crate) omit_bounds: bool,
}

impl<'a> Container<'a> {
    pub(crate) fn from_ast(input: &'a DeriveInput) -> Self {
        let data = match &input.data {
            syn::Data::Struct(data) => Data::Struct(
                style(&data.fields),
                data.fields.iter().enumerate().map(field).collect(),
            ),
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| Variant {
                        name: name(&variant.ident),
                        style: style(&variant.fields),
                        fields: variant.fields.iter().enumerate().map(field).collect(),
                        discriminant: variant.discriminant.as_ref().map(|(_, expr)| expr),
                    })
                    .collect(),
            ),
            syn::Data::Union(_) => Data::Union,
        };
        Container {
            ident: &input.ident,
            name: name(&input.ident),
            data,
            archived_as_other: rkyv_value(&input.attrs, "as").is_some(),
            names_rkyv_crate: rkyv_value(&input.attrs, "crate").is_some(),
        }
    }

    /// Every field of the struct or of every variant, in declaration order.
    pub(crate) fn all_fields(&self) -> Vec<&Field<'a>> {
        match &self.data {
            Data::Struct(_, fields) => fields.iter().collect(),
            Data::Enum(variants) => variants.iter().flat_map(|variant| &variant.fields).collect(),
            Data::Union => Vec::new(),
        }
    }
}

fn style(fields: &syn::Fields) -> Style {
    match fields {
        syn::Fields::Named(_) => Style::Named,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    }
}

fn field((index, field): (usize, &syn::Field)) -> Field<'_> {
    let (member, name) = match &field.ident {
        Some(ident) => (Member::Named(ident.clone()), self::name(ident)),
        None => (Member::Unnamed(syn::Index::from(index)), index.to_string()),
    };
    Field {
        member,
        name,
        ty: &field.ty,
        with: rkyv_value(&field.attrs, "with"),
        omit_bounds: rkyv_flag(&field.attrs, "omit_bounds"),
    }
}

/// The text an identifier stands for: `r#type` is the identifier `type`, and `r#foo` is the
/// same identifier as `foo`, so every name that ends up in text (the type name a channel
/// records, the fingerprint, the description, messages) is written without `r#`.
pub(crate) fn name(ident: &Ident) -> String {
    ident.unraw().to_string()
}

/// Whether the bare key `wanted` appears in an item's or field's `#[rkyv(..)]` attributes.
fn rkyv_flag(attrs: &[syn::Attribute], wanted: &str) -> bool {
    let mut found = false;
    rkyv_entries(attrs, |key, value| found |= value.is_none() && key == wanted);
    found
}

/// The type given to `key = ..` in an item's or field's `#[rkyv(..)]` attributes (the last
/// one given).
fn rkyv_value(attrs: &[syn::Attribute], wanted: &str) -> Option<Type> {
    let mut found = None;
    rkyv_entries(attrs, |key, value| {
        if let Some(value) = value
            && key == wanted
        {
            found = syn::parse2::<Type>(value).ok();
        }
    });
    found
}

/// Visits the entries of an item's or field's `#[rkyv(..)]` attributes in order: a bare key
/// with `None`, `key = value` with the value's tokens; `key(..)` is skipped.
///
/// Everything else in `#[rkyv(..)]` is rkyv's business; what cannot be read here is ignored
/// (the rest of that attribute with it), because rkyv's own derive reports it.
fn rkyv_entries(attrs: &[syn::Attribute], mut visit: impl FnMut(&Ident, Option<TokenStream>)) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("rkyv")) {
        let syn::Meta::List(list) = &attr.meta else { continue };
        let parser = |input: ParseStream| {
            while !input.is_empty() {
                // `as` is a keyword, so keys are read as any identifier.
                let key = input.call(Ident::parse_any)?;
                if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    visit(&key, Some(value_tokens(input)?));
                } else if input.peek(syn::token::Paren) {
                    input.parse::<proc_macro2::TokenTree>()?;
                } else {
                    visit(&key, None);
                }
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(())
        };
        let _ = parser.parse2(list.tokens.clone());
    }
}

/// The tokens of one `key = value` value: everything up to the next top-level comma.
fn value_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    let mut value = TokenStream::new();
    // Angle brackets are not token groups: `HashMap<K, V>` holds a comma that does not end the
    // value.
    let mut depth = 0usize;
    loop {
        let at_end = input.is_empty() || (depth == 0 && input.peek(Token![,]));
        if at_end {
            break;
        }
        let tree: proc_macro2::TokenTree = input.parse()?;
        if let proc_macro2::TokenTree::Punct(punct) = &tree {
            match punct.as_char() {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        value.extend([tree]);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn with_of(input: DeriveInput) -> Vec<Option<String>> {
        let container = Container::from_ast(&input);
        container
            .all_fields()
            .iter()
            .map(|field| field.with.as_ref().map(|ty| ty.to_token_stream().to_string()))
            .collect()
    }

    #[test]
    fn with_wrappers_are_read_among_other_rkyv_keys() {
        let input: DeriveInput = syn::parse_quote! {
            struct A {
                #[rkyv(omit_bounds, with = rkyv::with::Map<rkyv::with::Inline>)]
                a: Vec<u8>,
                #[rkyv(attr(doc = "x"))]
                #[rkyv(with = Wrapper<u8, u16>, omit_bounds)]
                b: u8,
                c: u32,
            }
        };
        assert_eq!(
            with_of(input),
            [
                Some("rkyv :: with :: Map < rkyv :: with :: Inline >".to_owned()),
                Some("Wrapper < u8 , u16 >".to_owned()),
                None
            ]
        );
    }

    #[test]
    fn raw_identifiers_are_named_without_their_prefix() {
        let input: DeriveInput = syn::parse_quote! {
            enum r#Match { r#Type { r#type: u8 }, Other(u8) }
        };
        let container = Container::from_ast(&input);
        assert_eq!(container.name, "Match");
        let Data::Enum(variants) = &container.data else { panic!("an enum is read as an enum") };
        assert_eq!(variants[0].name, "Type");
        assert_eq!(variants[0].fields[0].name, "type");
        assert_eq!(variants[1].fields[0].name, "0");
        // Generated code keeps the raw identifier, which is what the field is called in Rust.
        assert_eq!(variants[0].fields[0].member.to_token_stream().to_string(), "r#type");
    }

    #[test]
    fn archived_as_another_type_is_noticed() {
        let plain: DeriveInput = syn::parse_quote!(
            #[rkyv(derive(Debug))]
            struct A(u8);
        );
        let other: DeriveInput = syn::parse_quote!(
            #[rkyv(as = ArchivedA)]
            struct A(u8);
        );
        assert!(!Container::from_ast(&plain).archived_as_other);
        assert!(Container::from_ast(&other).archived_as_other);
    }
}
