//! Snapshot tests of what the derive generates, pretty-printed. A change in the output shows
//! up as a reviewable diff of the committed `.snap` files; a mismatch fails the test (run with
//! `INSTA_UPDATE=always` to accept a deliberate change, then review the diff).

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::{expand, expand_describe};

fn expand_pretty(input: TokenStream) -> String {
    pretty(expand, input)
}

fn pretty(expand: fn(syn::DeriveInput) -> syn::Result<TokenStream>, input: TokenStream) -> String {
    let input: syn::DeriveInput = syn::parse2(input).expect("test input is a valid item");
    let output = expand(input).expect("test input is accepted");
    let file: syn::File = syn::parse2(output).expect("expansion parses as items");
    prettyplease::unparse(&file)
}

fn errors(input: TokenStream) -> Vec<String> {
    let input: syn::DeriveInput = syn::parse2(input).expect("test input is a valid item");
    let error = expand(input).expect_err("test input is refused");
    error.into_iter().map(|error| error.to_string()).collect()
}

#[test]
fn named_struct_with_defaults() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[derive(Archive, Serialize, SharedState)]
        #[shared_state(path = "/dev/shm/hello_world")]
        pub struct HelloWorld {
            pub version: u32,
            pub messages: Vec<String>,
        }
    }));
}

#[test]
fn every_attribute_across_two_attributes() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[derive(Archive, Serialize, SharedState)]
        #[shared_state(path = "/dev/shm/features", copies = 3, readers = 512)]
        #[shared_state(max_size = "64 MiB", env = "FEATURES_PATH", schema_version = 7, crate = ::ipc::mmap)]
        pub struct FeatureTable {
            pub generation: u64,
            pub features: std::collections::HashMap<u64, Vec<f32>>,
        }
    }));
}

#[test]
fn tuple_struct() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[shared_state(path = "/dev/shm/price", copies = 4)]
        struct Price(u64, [u8; 8]);
    }));
}

#[test]
fn unit_struct() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[shared_state(path = "/run/heartbeat")]
        struct Heartbeat;
    }));
}

#[test]
fn enum_with_discriminants_and_nested_containers() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[shared_state(path = "/dev/shm/route", max_size = 4096)]
        enum Route {
            Drop = 0,
            Forward { upstream: String, weights: Option<Box<[(u32, Weight)]>> } = 1,
            Mirror(Vec<Upstream>, u16) = 2,
        }
    }));
}

#[test]
fn rkyv_with_wrapper_replaces_the_field_archived_type() {
    insta::assert_snapshot!(expand_pretty(quote! {
        #[shared_state(path = "/dev/shm/clock", crate = "my_ipc")]
        struct Clock {
            #[rkyv(with = rkyv::with::AsUnixTime)]
            now: std::time::SystemTime,
            #[rkyv(omit_bounds)]
            ticks: Vec<u64>,
        }
    }));
}

#[test]
fn describe_only_with_raw_identifiers() {
    insta::assert_snapshot!(pretty(
        expand_describe,
        quote! {
            #[shared_state(crate = ::ipc::mmap)]
            pub struct r#Part {
                pub r#type: u8,
                pub children: Vec<Child>,
                pub pairs: std::collections::BTreeMap<String, (u32, Child)>,
            }
        }
    ));
}

#[test]
fn archived_as_another_type_has_no_field_offsets() {
    insta::assert_snapshot!(pretty(
        expand_describe,
        quote! {
            #[rkyv(as = Celsius)]
            pub struct Celsius(f32);
        }
    ));
}

#[test]
fn every_problem_of_one_input_is_reported_together() {
    let errors = errors(quote! {
        #[shared_state(path = "relative", copys = 3, readers = 0)]
        #[shared_state(readers = 4, max_size = "lots", env = "")]
        struct Broken<T> { value: T }
    });
    assert_eq!(
        errors,
        [
            "unknown `shared_state` key `copys`; did you mean `copies`?",
            "`readers` is specified more than once",
            "`SharedState` cannot be derived for a generic type: a channel holds one concrete \
             type; define a non-generic wrapper, e.g. `struct Prices(Table<f64>);`",
            "`path` must be absolute (start with `/`), so that writer and readers find the same \
             files whatever their working directory: \"/dev/shm/relative\"?",
            "`readers` must be in 1..=65536, got 0",
            "`max_size`: expected a size such as \"64 MiB\", \"1 GB\" or \"4096\" (bytes)",
            "`env` is empty; name the environment variable that overrides `path`",
        ]
    );
}

#[test]
fn the_type_text_of_a_field_ignores_source_spacing() {
    let a: syn::DeriveInput = syn::parse_quote!(
        struct A {
            x: Vec<Vec<u8>>,
            y: [u8; 4],
        }
    );
    let b: syn::DeriveInput = syn::parse_str("struct A{x:Vec< Vec<u8> >,y:[u8;4]}").unwrap();
    let texts = |input: &syn::DeriveInput| -> Vec<String> {
        let container = crate::ast::Container::from_ast(input);
        container.all_fields().into_iter().map(crate::fingerprint::type_text).collect()
    };
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(texts(&a), ["Vec<Vec<u8>>", "[u8; 4]"]);
}
