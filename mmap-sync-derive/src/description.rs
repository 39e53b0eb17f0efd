//! The type's archived shape (`mmap_sync::schema::Describe::SHAPE`): a `const` tree of the
//! type's fields or variants, each field with its archived offset, size and alignment computed
//! by the compiler and its own shape (the field type's `Describe::SHAPE`, or an opaque shape
//! named after the type as written when it has none).

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Type};

use crate::ast::{Container, Data, Field, Style, Variant};
use crate::check::Config;
use crate::fingerprint;

/// `impl Describe for T`, to be placed in the derive's `const _: () = { .. }` block after
/// [`probe_imports`].
pub(crate) fn describe_impl(container: &Container, config: &Config) -> TokenStream {
    let private = config.private();
    let ident = container.ident;
    let name = &container.name;
    let layout = quote!(#private::layout_of::<#ident>());
    if container.archived_as_other {
        // Archived as another, existing type whose fields this derive cannot name: opaque.
        return quote! {
            #[automatically_derived]
            impl #private::Describe for #ident {
                const SHAPE: #private::StaticShape = #private::StaticShape::Opaque(#name, #layout);
            }
        };
    }
    let mut items = Vec::new();
    let body = match &container.data {
        Data::Struct(style, fields) => {
            let fields = fields.iter().map(|field| {
                let member = &field.member;
                let offset = quote! {
                    #private::core::mem::offset_of!(
                        <#ident as #private::rkyv::Archive>::Archived, #member
                    ) as u64
                };
                static_field(field, offset, config)
            });
            let style = style_tokens(*style, config);
            quote!(#private::StaticBody::Struct(#style, &[#(#fields),*]))
        }
        Data::Enum(variants) => {
            let variants = variants.iter().enumerate().map(|(index, variant)| {
                let fields = variant.fields.iter().map(|f| static_field(f, quote!(0), config));
                let list = format_ident!("__MMAP_SYNC_VARIANT_{}", index);
                let count = Literal::usize_unsuffixed(variant.fields.len());
                // Offsets of variant fields cannot be taken with `offset_of!` on stable Rust;
                // they follow from the fields' layouts (see `variant_fields`).
                items.push(quote! {
                    const #list: [#private::StaticField; #count] =
                        #private::variant_fields([#(#fields),*]);
                });
                let name = &variant.name;
                let tag = discriminant(variants, index, config);
                let style = style_tokens(variant.style, config);
                quote! {
                    #private::StaticVariant { name: #name, tag: #tag, style: #style, fields: &#list }
                }
            });
            quote!(#private::StaticBody::Enum(&[#(#variants),*]))
        }
        // Refused by `check`, so never generated.
        Data::Union => return TokenStream::new(),
    };
    quote! {
        #[automatically_derived]
        impl #private::Describe for #ident {
            const SHAPE: #private::StaticShape = {
                #(#items)*
                const BODY: #private::StaticBody = #body;
                const LAYOUT: #private::ArchivedLayout = #layout;
                const FINGERPRINT: u64 = #private::definition_fingerprint(#name, LAYOUT, &BODY);
                #private::StaticShape::Named(&#private::StaticDefinition {
                    name: #name,
                    layout: LAYOUT,
                    body: BODY,
                    fingerprint: FINGERPRINT,
                })
            };
        }
    }
}

/// The import the shape probes resolve through: a path to an associated constant finds a
/// trait's constant only when the trait is in scope; importing it as `_` names nothing the user
/// could see.
pub(crate) fn probe_imports(container: &Container, config: &Config) -> TokenStream {
    if container.all_fields().is_empty() {
        return TokenStream::new();
    }
    let private = config.private();
    quote! {
        #[allow(unused_imports)]
        use #private::{Different as _, Opaque as _};
    }
}

fn style_tokens(style: Style, config: &Config) -> TokenStream {
    let private = config.private();
    match style {
        Style::Named => quote!(#private::Style::Named),
        Style::Tuple => quote!(#private::Style::Unnamed),
        Style::Unit => quote!(#private::Style::Unit),
    }
}

/// One `StaticField`: name, offset, the archived layout (spanned at the field type, so a type
/// that cannot be archived is reported there) and the shape.
fn static_field(field: &Field, offset: TokenStream, config: &Config) -> TokenStream {
    let private = config.private();
    let name = &field.name;
    let ty = field.ty;
    let text = fingerprint::type_text(field);
    let layout = match &field.with {
        None => quote_spanned!(ty.span()=> #private::layout_of::<#ty>()),
        Some(with) => quote_spanned!(ty.span()=> #private::layout_with::<#ty, #with>()),
    };
    let shape = if field.with.is_some() {
        // The wrapper decides the archived form, which this derive cannot name.
        quote!(#private::StaticShape::Opaque(#text, #layout))
    } else if field.omit_bounds {
        // Where a type contains itself: looked up when the structure is made.
        let probe = quote!(#private::opaque_named(#private::Probe::<#ty>::SHAPE, #text));
        quote!(#private::StaticShape::Deferred(#text, #layout, || #probe))
    } else {
        shape_of(ty, config)
    };
    quote!(#private::StaticField { name: #name, offset: #offset, layout: #layout, shape: #shape })
}

/// The `const` expression of the shape of the type `ty`: its `Describe::SHAPE` through the
/// probe, or an opaque shape named after it as written when it has none.
///
/// The std containers (`Vec`, `Box`, `Option`, maps and sets), arrays and tuples are looked
/// into by their syntax: `Vec<Row>` is a `Vec` of `Row`'s shape even when `Row` does not
/// implement `Describe` (its opaque shape then has `Row`'s archived layout, which the
/// fingerprint sees), where the probe would see one opaque `Vec<Row>`. A type is taken as a
/// container only when the compiler agrees it is that std type (`Same::SAME`); a user's own
/// `Vec` goes to the probe.
fn shape_of(ty: &Type, config: &Config) -> TokenStream {
    let private = config.private();
    let probe = || {
        let text = fingerprint::canonical_tokens(ty.to_token_stream());
        quote!(#private::opaque_named(#private::Probe::<#ty>::SHAPE, #text))
    };
    // Checked when the compiler agrees that `ty` is `std_ty`.
    let container = |std_ty: TokenStream, inner: &[&Type], shape: TokenStream| {
        let inner = inner.iter().map(|t| shape_of(t, config));
        let names = (0..inner.len()).map(|i| format_ident!("E{i}"));
        let fallback = probe();
        quote!({
            #(const #names: #private::StaticShape = #inner;)*
            if #private::Same::<#ty, #std_ty>::SAME { #shape } else { #fallback }
        })
    };
    match ty {
        Type::Paren(inner) => shape_of(&inner.elem, config),
        Type::Group(inner) => shape_of(&inner.elem, config),
        Type::Array(array) => {
            let elem = shape_of(&array.elem, config);
            let len = &array.len;
            quote!({
                const E0: #private::StaticShape = #elem;
                #private::StaticShape::Array(&E0, (#len) as u64)
            })
        }
        Type::Tuple(tuple) if !tuple.elems.is_empty() => {
            let elems = tuple.elems.iter().map(|t| shape_of(t, config));
            let n = tuple.elems.len();
            quote!({
                const E: [#private::StaticShape; #n] = [#(#elems),*];
                #private::StaticShape::Tuple(&E)
            })
        }
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else { return probe() };
            let args: Vec<&Type> = match &last.arguments {
                syn::PathArguments::AngleBracketed(args) => args
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        syn::GenericArgument::Type(ty) => Some(ty),
                        _ => None,
                    })
                    .collect(),
                _ => return probe(),
            };
            let s = quote!(#private::StaticShape);
            match (last.ident.to_string().as_str(), args.as_slice()) {
                ("Vec", [t]) => container(quote!(::std::vec::Vec<#t>), &[t], quote!(#s::Vec(&E0))),
                ("Option", [t]) => {
                    container(quote!(::std::option::Option<#t>), &[t], quote!(#s::Option(&E0)))
                }
                ("Box", [Type::Slice(slice)]) => {
                    let t = &*slice.elem;
                    container(quote!(::std::boxed::Box<[#t]>), &[t], quote!(#s::BoxSlice(&E0)))
                }
                // `Box<str>` is described by the probe.
                ("Box", [t]) if !is_str(t) => {
                    container(quote!(::std::boxed::Box<#t>), &[t], quote!(#s::Box(&E0)))
                }
                ("HashSet", [t]) => container(
                    quote!(::std::collections::HashSet<#t>),
                    &[t],
                    quote!(#s::HashSet(&E0)),
                ),
                ("BTreeSet", [t]) => container(
                    quote!(::std::collections::BTreeSet<#t>),
                    &[t],
                    quote!(#s::BTreeSet(&E0)),
                ),
                ("HashMap", [k, v]) => container(
                    quote!(::std::collections::HashMap<#k, #v>),
                    &[k, v],
                    quote!(#s::HashMap(&E0, &E1)),
                ),
                ("BTreeMap", [k, v]) => container(
                    quote!(::std::collections::BTreeMap<#k, #v>),
                    &[k, v],
                    quote!(#s::BTreeMap(&E0, &E1)),
                ),
                _ => probe(),
            }
        }
        _ => probe(),
    }
}

fn is_str(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident("str"))
}

/// The tag of `variants[index]` as rkyv's archived enum has it: the explicit discriminant, or
/// one more than the previous variant's, from 0. Literals are computed here; other expressions
/// are left to the compiler, typed as the tag's `u8`.
fn discriminant(variants: &[Variant], index: usize, config: &Config) -> TokenStream {
    let private = config.private();
    let explicit = variants[..=index]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, variant)| variant.discriminant.map(|expr| (i, expr)));
    let (base, steps) = match explicit {
        None => return Literal::u8_unsuffixed(index as u8).into_token_stream(),
        Some((at, expr)) => (expr, (index - at) as u64),
    };
    if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. }) = base
        && let Ok(value) = lit.base10_parse::<u64>()
        && let Some(value) = value.checked_add(steps)
        && let Ok(value) = u8::try_from(value)
    {
        return Literal::u8_unsuffixed(value).into_token_stream();
    }
    let steps = (steps > 0).then(|| {
        let steps = Literal::u8_unsuffixed(steps as u8);
        quote!(+ #steps)
    });
    quote!(#private::tag(#base) #steps)
}
