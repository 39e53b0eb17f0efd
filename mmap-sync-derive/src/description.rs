//! The type's readable description (`mmap_sync::schema::TypeDescription`): names and type
//! tokens from the definition, archived offsets, sizes and alignments computed by the compiler,
//! and, for each field, the descriptions of the nested types that have one.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Type};

use crate::ast::{Container, Data, Field, Variant};
use crate::check::Config;
use crate::fingerprint;

/// Type names that can never implement `Describe`: the trait belongs to the runtime, so only
/// the runtime could implement it for the standard library's types, and it does not. Fields of
/// these types get no probe, which keeps the generated code short.
const NEVER_DESCRIBED: &[&str] = &[
    "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "f32", "f64", "str", "String",
];

/// `impl Describe for T`, to be placed in the derive's `const _: () = { .. }` block after
/// [`probe_imports`].
pub(crate) fn describe_impl(container: &Container, config: &Config) -> TokenStream {
    let private = config.private();
    let ident = container.ident;
    let name = &container.name;
    let description = match &container.data {
        Data::Struct(_, fields) => {
            let fields = fields.iter().map(|field| {
                let offset = (!container.archived_as_other).then(|| {
                    let member = &field.member;
                    quote! {
                        #private::core::mem::offset_of!(
                            <Self as #private::rkyv::Archive>::Archived, #member
                        )
                    }
                });
                field_description(field, offset, config)
            });
            quote! {
                #private::TypeDescription::of_struct(
                    #name, #private::layout_of::<Self>(), &[#(#fields),*]
                )
            }
        }
        Data::Enum(variants) => {
            let variants = variants.iter().enumerate().map(|(index, variant)| {
                variant_description(container, variants, index, variant, config)
            });
            quote! {
                #private::TypeDescription::of_enum(
                    #name, #private::layout_of::<Self>(), &[#(#variants),*]
                )
            }
        }
        // Refused by `check`, so never generated.
        Data::Union => return TokenStream::new(),
    };
    quote! {
        #[automatically_derived]
        impl #private::Describe for #ident {
            const DESCRIPTION: &'static #private::TypeDescription = &#description;
        }
    }
}

/// The imports nested-type probes resolve through, or nothing when no field has a probe. Method
/// calls need their traits in scope; importing them as `_` names nothing the user could see.
pub(crate) fn probe_imports(container: &Container, config: &Config) -> TokenStream {
    if container.all_fields().iter().all(|field| probe_types(field).is_empty()) {
        return TokenStream::new();
    }
    let private = config.private();
    quote! {
        #[allow(unused_imports)]
        use #private::{DescribedProbe as _, OpaqueProbe as _};
    }
}

fn variant_description(
    container: &Container,
    variants: &[Variant],
    index: usize,
    variant: &Variant,
    config: &Config,
) -> TokenStream {
    let private = config.private();
    let name = &variant.name;
    let discriminant = discriminant(variants, index, config);
    let fields = variant.fields.iter().map(|field| field_description(field, None, config));
    // Offsets of variant fields cannot be taken with `offset_of!` on stable Rust; they follow
    // from the fields' layouts (see `variant_fields`).
    let fields = if container.archived_as_other || variant.fields.is_empty() {
        quote!(&[#(#fields),*])
    } else {
        quote!(&#private::variant_fields([#(#fields),*]))
    };
    quote!(#private::VariantDescription::new(#name, #discriminant, #fields))
}

/// The discriminant of `variants[index]` as rkyv's archived tag has it: the explicit value,
/// or one more than the previous variant's, from 0. Literals are computed here; other
/// expressions are left to the compiler, typed as the tag's `u8`.
fn discriminant(variants: &[Variant], index: usize, config: &Config) -> TokenStream {
    let private = config.private();
    let explicit = variants[..=index]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, variant)| variant.discriminant.map(|expr| (i, expr)));
    let (base, steps) = match explicit {
        None => return Literal::u64_unsuffixed(index as u64).into_token_stream(),
        Some((at, expr)) => (expr, (index - at) as u64),
    };
    if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. }) = base
        && let Ok(value) = lit.base10_parse::<u64>()
        && let Some(value) = value.checked_add(steps)
    {
        return Literal::u64_unsuffixed(value).into_token_stream();
    }
    let steps = (steps > 0).then(|| {
        let steps = Literal::u64_unsuffixed(steps);
        quote!(+ #steps)
    });
    quote!(#private::discriminant(#base) #steps)
}

fn field_description(field: &Field, offset: Option<TokenStream>, config: &Config) -> TokenStream {
    let private = config.private();
    let name = &field.name;
    let ty = field.ty;
    let text = fingerprint::type_text(field);
    // Spanned at the field type, so a type that cannot be archived is reported there.
    let layout = match &field.with {
        None => quote_spanned!(ty.span()=> #private::layout_of::<#ty>()),
        Some(with) => quote_spanned!(ty.span()=> #private::layout_with::<#ty, #with>()),
    };
    let offset = offset.map(|offset| quote!(.at(#offset)));
    let probes = probe_types(field);
    let nested = (!probes.is_empty()).then(|| {
        let probes =
            probes.iter().map(|ty| quote!(|| (&#private::Probe::<#ty>::NEW).description()));
        quote!(.nested(&[#(#probes),*]))
    });
    quote!(#private::FieldDescription::new(#name, #text, #layout) #offset #nested)
}

/// The types of `field` that might implement `Describe`: its own type and, unless a `with`
/// wrapper decides the archived form, the element types the fingerprint also looks into;
/// each type once, and none that is known never to implement it.
fn probe_types<'a>(field: &Field<'a>) -> Vec<&'a Type> {
    let mut types = vec![field.ty];
    if field.with.is_none() {
        fingerprint::element_types(field.ty, &mut |elem| types.push(elem));
    }
    let mut seen = Vec::new();
    types.retain(|ty| {
        let text = fingerprint::canonical_tokens(quote!(#ty));
        if !may_describe(ty) || seen.contains(&text) {
            return false;
        }
        seen.push(text);
        true
    });
    types
}

/// Only a named type (not an array, tuple or reference) can implement a trait of another
/// crate, and not one of the standard library's.
fn may_describe(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().is_some_and(|last| {
            let name = last.ident.to_string();
            !NEVER_DESCRIBED.contains(&name.as_str())
                && !fingerprint::CONTAINERS.iter().any(|(container, _)| *container == name)
        }),
        Type::Paren(paren) => may_describe(&paren.elem),
        Type::Group(group) => may_describe(&group.elem),
        _ => false,
    }
}
