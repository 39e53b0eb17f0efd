//! `expand`: derive input in, generated items out. Reads the attributes, checks everything,
//! and only then generates code, so a refused input produces its errors and nothing else.

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::quote;
use syn::DeriveInput;

use crate::ast::Container;
use crate::attr;
use crate::check::{self, Config, Derive};
use crate::ctxt::Ctxt;
use crate::{description, fingerprint};

/// Expands `#[derive(SharedState)]` on `input`: every error found, or the generated items.
pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let (container, config) = read(&input, Derive::SharedState)?;
    Ok(generate(&container, &config))
}

/// Expands `#[derive(Describe)]` on `input`: every error found, or the `Describe` impl.
pub fn expand_describe(input: DeriveInput) -> syn::Result<TokenStream> {
    let (container, config) = read(&input, Derive::Describe)?;
    let imports = description::probe_imports(&container, &config);
    let describe = description::describe_impl(&container, &config);
    Ok(quote! {
        const _: () = {
            #imports
            #describe
        };
    })
}

/// Reads and checks `input` for `derive`.
fn read(input: &DeriveInput, derive: Derive) -> syn::Result<(Container<'_>, Config)> {
    let mut cx = Ctxt::new();
    let container = Container::from_ast(input);
    let attrs = attr::parse(&mut cx, &input.attrs);
    let config = check::check(&mut cx, input, attrs, derive);
    if let Some(error) = crate::rkyv_crate::missing_crate_path(
        container.names_rkyv_crate,
        &container.name,
        input.ident.span(),
    ) {
        cx.syn_error(error);
    }
    // Every check has run on every part of the input, so this reports all problems at once;
    // code is generated only for an input without any.
    cx.check()?;
    Ok((container, config))
}

fn generate(container: &Container, config: &Config) -> TokenStream {
    let ident = container.ident;
    let private = config.private();
    let path = &config.path;
    let type_name = &container.name;
    let copies = config.copies;
    let copies_lit = Literal::usize_unsuffixed(copies);

    let data_paths = (0..copies).map(|i| {
        let suffix = format!("_data_{i}");
        quote!(#private::core::concat!(#path, #suffix))
    });
    let fingerprint = fingerprint::expression(container, config);

    let doc_path = format!(
        " Path prefix of this type's channel files: `{}` (from `#[shared_state(path = ..)]`).",
        path.value()
    );
    let doc_env = match &config.env {
        Some(env) => format!(
            " `{type_name}::writer()` and `{type_name}::reader()` use the value of the environment variable \
             `{}` instead when it is set and not empty.",
            env.value()
        ),
        None => String::new(),
    };
    let doc_path = format!("{doc_path}{doc_env}");
    let doc_data =
        format!(" The channel's {copies} data files, one complete archived value per copy.");

    let readers = config.readers.map(|(readers, _)| {
        let readers = Literal::usize_unsuffixed(readers);
        quote!(const READER_SLOTS: usize = #readers;)
    });
    let limit_assertions = limit_assertions(config);
    let probe_imports = description::probe_imports(container, config);
    let describe = description::describe_impl(container, config);
    let max_size_lit = config.max_size.map(|(max_size, _)| Literal::u64_unsuffixed(max_size));
    let max_size = max_size_lit.as_ref().map(|max_size| quote!(const MAX_SIZE: u64 = #max_size;));
    let path_env = config.env.as_ref().map(|env| {
        quote! {
            const PATH_ENV: #private::core::option::Option<&'static str> =
                #private::core::option::Option::Some(#env);
        }
    });
    let max_size_assertion = config.max_size.zip(max_size_lit).map(|((max_size, span), max_size_lit)| {
        let message = format!(
            "`max_size` ({max_size} bytes) is smaller than the archived root of `{type_name}`, so no \
             value of `{type_name}` could ever be published; raise `max_size`"
        );
        // Every token spanned at the `max_size` literal, so the failed evaluation is reported
        // there: that is what the user has to change.
        respanned(
            quote! {
                const _: () = #private::core::assert!(
                    #private::archived_root_size::<#ident>() <= #max_size_lit,
                    #message
                );
            },
            span,
        )
    });

    quote! {
        const _: () = {
            #probe_imports

            #[automatically_derived]
            #[allow(dead_code)]
            impl #ident {
                #[doc = #doc_path]
                pub const PATH: &'static str = #path;
                /// The channel's state file: header, publish word and copy descriptors.
                pub const STATE_PATH: &'static str = #private::core::concat!(#path, "_state");
                /// The channel's reader slot table.
                pub const READERS_PATH: &'static str = #private::core::concat!(#path, "_readers");
                #[doc = #doc_data]
                pub const DATA_PATHS: [&'static str; #copies_lit] = [#(#data_paths),*];
                /// Schema fingerprint: readers refuse files written with another one.
                pub const FINGERPRINT: u64 = #fingerprint;
                /// This type's archived shape, the whole tree: fields, offsets, sizes, nested
                /// types and variants (see `mmap_sync::schema`), which the writer stores in
                /// the channel.
                pub const SHAPE: #private::StaticShape = <Self as #private::Describe>::SHAPE;

                /// Opens (creating if needed) this type's channel for writing.
                pub fn writer() -> #private::Result<#private::Writer<Self>> {
                    #private::Writer::<Self>::open(<Self as #private::SharedState>::path())
                }

                /// Opens this type's channel for reading.
                pub fn reader() -> #private::Result<#private::Reader<Self>> {
                    #private::Reader::<Self>::open(<Self as #private::SharedState>::path())
                }
            }

            #[automatically_derived]
            impl #private::SharedState for #ident {
                const PATH: &'static str = #path;
                const TYPE_NAME: &'static str = #type_name;
                const FINGERPRINT: u64 = #ident::FINGERPRINT;
                const COPIES: usize = #copies_lit;
                #readers
                #max_size
                #path_env
                const SHAPE: #private::core::option::Option<#private::StaticShape> =
                    #private::core::option::Option::Some(<Self as #private::Describe>::SHAPE);
            }

            #describe

            #limit_assertions
            #max_size_assertion
        };
    }
}

/// Const assertions that `copies` and `readers` lie within the runtime's own limits, reached
/// through `__private`. The derive checks the same ranges itself, to point at the token with a
/// friendly message; these assertions make the runtime's constants the definition, so a
/// runtime whose limits differ from the derive's refuses to compile rather than accept a
/// channel it cannot open.
fn limit_assertions(config: &Config) -> TokenStream {
    let private = config.private();
    let copies = Literal::usize_unsuffixed(config.copies);
    let copies_message = format!(
        "`copies = {}` is outside the range of copies this mmap-sync runtime supports \
         (`MIN_COPIES..=MAX_COPIES`): mmap-sync-derive and mmap-sync are of different versions",
        config.copies
    );
    let copies_assertion = respanned(
        quote! {
            const _: () = #private::core::assert!(
                #private::MIN_COPIES <= #copies && #copies <= #private::MAX_COPIES,
                #copies_message
            );
        },
        config.copies_span,
    );
    let readers_assertion = config.readers.map(|(readers, span)| {
        let message = format!(
            "`readers = {readers}` is outside the range of reader slots this mmap-sync runtime \
             supports (`1..=MAX_READER_SLOTS`): mmap-sync-derive and mmap-sync are of different \
             versions"
        );
        let readers = Literal::usize_unsuffixed(readers);
        respanned(
            quote! {
                const _: () = #private::core::assert!(
                    1 <= #readers && #readers <= #private::MAX_READER_SLOTS,
                    #message
                );
            },
            span,
        )
    });
    quote!(#copies_assertion #readers_assertion)
}

/// `tokens` with every token's span (recursively) set to `span`.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}
