//! The description the derive records, on real types: what it shows (golden output of the
//! table and the JSON), that its offsets and sizes are those of the archived bytes, and that
//! two definitions that differ in one field are told apart by naming that field.

use mmap_sync::SharedState;
use mmap_sync::schema::{
    self, Body, Change, Definition, Describe, Field, Shape, Structure, Variant,
};
use rkyv::{Archive, Serialize};

#[derive(Archive, Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/description_routing")]
pub struct Routing {
    pub version: u64,
    pub routes: Vec<Route>,
    pub fallback: Option<Upstream>,
    pub policy: Policy,
}

#[derive(Archive, Serialize, Describe, Debug)]
pub struct Route {
    pub prefix: String,
    pub upstreams: Vec<Upstream>,
    pub timeout_ms: u32,
}

#[derive(Archive, Serialize, Describe, Debug)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    pub weight: u32,
}

#[derive(Archive, Serialize, Describe, Debug)]
#[repr(u8)]
pub enum Policy {
    RoundRobin,
    HashHeader { header: String },
    Weighted(u8, u64) = 7,
    Sticky,
}

/// A channel type that is an enum, with a `with` wrapper and a tuple variant.
#[derive(Archive, Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/description_event")]
pub enum Event {
    Started {
        #[rkyv(with = rkyv::with::AsUnixTime)]
        at: std::time::SystemTime,
        by: String,
    },
    Progress(u16, f64),
    Stopped,
}

fn description<T: SharedState>() -> Structure {
    Structure::of(&T::SHAPE.expect("a derived type has a structure"))
}

#[test]
fn a_nested_type_is_shown_under_its_field() {
    insta::assert_snapshot!(description::<Routing>().to_string());
}

#[test]
fn a_nested_type_as_json() {
    insta::assert_snapshot!(description::<Routing>().to_json());
}

#[test]
fn an_enum_is_shown_by_variant() {
    insta::assert_snapshot!(description::<Event>().to_string());
}

#[test]
fn an_enum_as_json() {
    insta::assert_snapshot!(description::<Event>().to_json());
}

/// The address of `field` within the archived value at `root`.
fn offset_in<R, F>(root: &R, field: &F) -> u64 {
    (field as *const F as usize - root as *const R as usize) as u64
}

fn field<'a>(fields: &'a [Field], name: &str) -> &'a Field {
    fields.iter().find(|field| field.name == name).unwrap_or_else(|| panic!("no field {name}"))
}

/// The definition of the named type `name` in `structure`.
fn definition<'a>(structure: &'a Structure, name: &str) -> &'a Definition {
    structure.types.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no type {name}"))
}

fn struct_fields<'a>(structure: &'a Structure, name: &str) -> &'a [Field] {
    match &definition(structure, name).body {
        Body::Struct(fields) => &fields.list,
        Body::Enum(_) => panic!("{name} is described as an enum"),
    }
}

fn variants<'a>(structure: &'a Structure, name: &str) -> &'a [Variant] {
    match &definition(structure, name).body {
        Body::Enum(variants) => variants,
        Body::Struct(_) => panic!("{name} is described as a struct"),
    }
}

fn variant_fields<'a>(structure: &'a Structure, ty: &str, name: &str) -> &'a [Field] {
    let variant = variants(structure, ty).iter().find(|variant| variant.name == name);
    &variant.expect("variant exists").fields.list
}

#[test]
fn struct_offsets_and_sizes_are_those_of_the_archived_bytes() {
    let value =
        Routing { version: 3, routes: vec![], fallback: None, policy: Policy::Weighted(1, 2) };
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&value).unwrap();
    let archived = rkyv::access::<ArchivedRouting, rkyv::rancor::Error>(&bytes).unwrap();
    let described = description::<Routing>();
    let fields = struct_fields(&described, "Routing");
    assert_eq!(field(fields, "version").offset, offset_in(archived, &archived.version));
    assert_eq!(field(fields, "routes").offset, offset_in(archived, &archived.routes));
    assert_eq!(field(fields, "fallback").offset, offset_in(archived, &archived.fallback));
    assert_eq!(field(fields, "policy").offset, offset_in(archived, &archived.policy));
    assert_eq!(field(fields, "policy").layout.size, size_of_val(&archived.policy) as u64);
    let routing = definition(&described, "Routing");
    assert_eq!(routing.layout.size, size_of::<ArchivedRouting>() as u64);
    assert_eq!(routing.layout.align, align_of::<ArchivedRouting>() as u64);
    // The nested types are laid out as the compiler laid out their archived forms.
    let route = definition(&described, "Route");
    assert_eq!(route.layout.size, size_of::<ArchivedRoute>() as u64);
    let upstream = definition(&described, "Upstream");
    assert_eq!(upstream.layout.align, align_of::<ArchivedUpstream>() as u64);
}

#[test]
fn variant_field_offsets_are_those_of_the_archived_bytes() {
    let described = description::<Event>();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(7);
    let values = [Event::Started { at, by: "ops".into() }, Event::Progress(3, 0.5)];
    for value in values {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&value).unwrap();
        let archived = rkyv::access::<ArchivedEvent, rkyv::rancor::Error>(&bytes).unwrap();
        match archived {
            ArchivedEvent::Started { at, by } => {
                let fields = variant_fields(&described, "Event", "Started");
                assert_eq!(field(fields, "at").offset, offset_in(archived, at));
                assert_eq!(field(fields, "at").layout.size, size_of_val(at) as u64);
                assert_eq!(field(fields, "by").offset, offset_in(archived, by));
            }
            ArchivedEvent::Progress(count, fraction) => {
                let fields = variant_fields(&described, "Event", "Progress");
                assert_eq!(field(fields, "0").offset, offset_in(archived, count));
                assert_eq!(field(fields, "1").offset, offset_in(archived, fraction));
            }
            ArchivedEvent::Stopped => unreachable!("not archived here"),
        }
    }
}

#[test]
fn discriminants_are_the_archived_tags() {
    for (value, name) in [
        (Policy::RoundRobin, "RoundRobin"),
        (Policy::HashHeader { header: String::new() }, "HashHeader"),
        (Policy::Weighted(0, 0), "Weighted"),
        (Policy::Sticky, "Sticky"),
    ] {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&value).unwrap();
        let archived = rkyv::access::<ArchivedPolicy, rkyv::rancor::Error>(&bytes).unwrap();
        // rkyv archives an enum as `#[repr(u8)]`: its first byte is the tag.
        let root = archived as *const ArchivedPolicy as usize - bytes.as_ptr() as usize;
        let tag = bytes[root];
        let described = Structure::of(&<Policy as Describe>::SHAPE);
        let variant = variants(&described, "Policy").iter().find(|v| v.name == name).unwrap();
        assert_eq!(variant.tag, tag, "{name}");
    }
}

#[test]
fn a_recursive_type_is_described_once() {
    #[derive(Archive, Serialize, Describe)]
    #[rkyv(serialize_bounds(
        __S: rkyv::ser::Writer + rkyv::ser::Allocator,
        __S::Error: rkyv::rancor::Source,
    ))]
    #[rkyv(bytecheck(bounds(
        __C: rkyv::validation::ArchiveContext,
        __C::Error: rkyv::rancor::Source,
    )))]
    struct Tree {
        label: u32,
        #[rkyv(omit_bounds)]
        children: Vec<Tree>,
    }

    let described = Structure::of(&<Tree as Describe>::SHAPE);
    assert_eq!(described.types.len(), 1, "{described:?}");
    assert_eq!(described.root, Shape::Named(0));
    let children = field(struct_fields(&described, "Tree"), "children");
    assert_eq!(children.shape, Shape::Vec(Box::new(Shape::Named(0))));
    let _ = Tree { label: 1, children: vec![] }.label;
}

#[test]
fn raw_identifiers_are_named_without_their_prefix() {
    #[derive(Archive, Serialize, SharedState)]
    #[shared_state(path = "/dev/shm/description_raw")]
    #[allow(non_camel_case_types)]
    struct r#loop {
        r#type: u32,
        r#match: r#Match,
    }

    #[derive(Archive, Serialize, Describe)]
    enum r#Match {
        r#Some(u8),
    }

    let _ = r#loop { r#type: 1, r#match: r#Match::r#Some(2) };
    assert_eq!(<r#loop as SharedState>::TYPE_NAME, "loop");
    let described = description::<r#loop>();
    let fields = struct_fields(&described, "loop");
    assert_eq!(fields[0].name, "type");
    assert_eq!(described.render(&fields[1].shape), "Match");
    assert_eq!(variant_fields(&described, "Match", "Some").len(), 1);
}

#[test]
fn derived_descriptions_survive_encoding() {
    for described in [description::<Routing>(), description::<Event>()] {
        assert_eq!(Structure::decode(&described.encode()), Ok(described));
    }
}

mod here {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/description_hello")]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<String>,
    }
}

mod there {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/description_hello")]
    pub struct HelloWorld {
        pub version: u32,
        pub messages: Vec<u64>,
    }
}

#[test]
fn two_definitions_that_differ_in_one_field_name_that_field() {
    assert_ne!(here::HelloWorld::FINGERPRINT, there::HelloWorld::FINGERPRINT);
    let differences =
        schema::diff(&description::<here::HelloWorld>(), &description::<there::HelloWorld>());
    let messages: Vec<String> = differences.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["HelloWorld.messages: Vec<String> here, Vec<u64> in the channel"]);
    assert!(matches!(differences[0].change, Change::FieldType { .. }));
}

/// The types exist for their shapes; no value of them is made.
#[allow(dead_code)]
mod before {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(String),
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/description_status")]
    pub struct Status {
        pub code: u32,
        pub mode: Mode,
    }
}

/// The types exist for their shapes; no value of them is made.
#[allow(dead_code)]
mod after {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(Vec<u8>),
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/description_status")]
    pub struct Status {
        pub code: u32,
        pub mode: Mode,
    }
}

/// The types exist for their shapes; no value of them is made.
#[allow(dead_code)]
mod signed {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(String),
    }

    /// `code` has the same archived layout as `before::Status`'s, and another meaning.
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/description_status")]
    pub struct Status {
        pub code: i32,
        pub mode: Mode,
    }
}

#[test]
fn a_change_inside_a_nested_enum_changes_the_fingerprint_and_names_the_variant_field() {
    assert_ne!(before::Status::FINGERPRINT, after::Status::FINGERPRINT);
    let differences =
        schema::diff(&description::<after::Status>(), &description::<before::Status>());
    let messages: Vec<String> = differences.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["Mode::Failed.0: Vec<u8> here, String in the channel"]);
}

#[test]
fn a_change_of_equal_layout_changes_the_fingerprint_and_names_the_field() {
    assert_ne!(before::Status::FINGERPRINT, signed::Status::FINGERPRINT);
    let differences =
        schema::diff(&description::<signed::Status>(), &description::<before::Status>());
    let messages: Vec<String> = differences.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["Status.code: i32 here, u32 in the channel"]);
}

#[test]
fn the_same_definition_in_two_modules_has_one_fingerprint() {
    // Names and shapes, not module paths, make a fingerprint: `before::Mode` and
    // `signed::Mode` are one type to a channel.
    assert_eq!(
        schema::shape_fingerprint(&<before::Mode as Describe>::SHAPE),
        schema::shape_fingerprint(&<signed::Mode as Describe>::SHAPE)
    );
}

/// A type without `Describe`, nested in std containers.
#[derive(Archive, Serialize, Debug)]
pub struct Plain {
    pub key: u32,
    pub value: u64,
}

mod mine {
    /// A type of the user's that is called `Vec`.
    #[derive(rkyv::Archive, rkyv::Serialize, Debug)]
    pub struct Vec<T> {
        pub first: Option<T>,
    }
}

#[derive(Archive, Serialize, SharedState, Debug)]
#[shared_state(path = "/dev/shm/description_containers")]
pub struct Containers {
    pub rows: Vec<Plain>,
    pub by_key: std::collections::HashMap<u32, Option<Plain>>,
    pub pairs: [(u8, Plain); 2],
    pub own: mine::Vec<u8>,
}

#[test]
fn std_containers_are_looked_into_and_a_users_own_vec_is_not() {
    let described = description::<Containers>();
    let fields = struct_fields(&described, "Containers");
    let shapes: Vec<String> = fields.iter().map(|field| described.render(&field.shape)).collect();
    assert_eq!(
        shapes,
        ["Vec<Plain>", "HashMap<u32, Option<Plain>>", "[(u8, Plain); 2]", "mine::Vec<u8>"]
    );
    let plain = Shape::Opaque {
        name: "Plain".to_owned(),
        layout: schema::ArchivedLayout {
            size: size_of::<ArchivedPlain>() as u64,
            align: align_of::<ArchivedPlain>() as u64,
        },
    };
    assert_eq!(fields[0].shape, Shape::Vec(Box::new(plain)));
    assert!(matches!(&fields[3].shape, Shape::Opaque { name, .. } if name == "mine::Vec<u8>"));
}
