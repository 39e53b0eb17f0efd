//! The description the derive records, on real types: what it shows (golden output of the
//! table and the JSON), that its offsets and sizes are those of the archived bytes, and that
//! two definitions that differ in one field are told apart by naming that field.

use mmap_sync::SharedState;
use mmap_sync::schema::{self, Change, Describe, Nested, OwnedDescription, OwnedShape};
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

fn description<T: SharedState>() -> OwnedDescription {
    T::DESCRIPTION.expect("a derived type has a description").to_owned_description()
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

fn field<'a>(fields: &'a [schema::OwnedField], name: &str) -> &'a schema::OwnedField {
    fields.iter().find(|field| field.name == name).unwrap_or_else(|| panic!("no field {name}"))
}

fn struct_fields(description: &OwnedDescription) -> &[schema::OwnedField] {
    match &description.shape {
        OwnedShape::Struct(fields) => fields,
        OwnedShape::Enum(_) => panic!("{} is described as an enum", description.name),
    }
}

fn variant_fields<'a>(description: &'a OwnedDescription, name: &str) -> &'a [schema::OwnedField] {
    match &description.shape {
        OwnedShape::Enum(variants) => {
            &variants.iter().find(|variant| variant.name == name).expect("variant exists").fields
        }
        OwnedShape::Struct(_) => panic!("{} is described as a struct", description.name),
    }
}

#[test]
fn struct_offsets_and_sizes_are_those_of_the_archived_bytes() {
    let value =
        Routing { version: 3, routes: vec![], fallback: None, policy: Policy::Weighted(1, 2) };
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&value).unwrap();
    let archived = rkyv::access::<ArchivedRouting, rkyv::rancor::Error>(&bytes).unwrap();
    let described = description::<Routing>();
    let fields = struct_fields(&described);
    assert_eq!(field(fields, "version").offset, Some(offset_in(archived, &archived.version)));
    assert_eq!(field(fields, "routes").offset, Some(offset_in(archived, &archived.routes)));
    assert_eq!(field(fields, "fallback").offset, Some(offset_in(archived, &archived.fallback)));
    assert_eq!(field(fields, "policy").offset, Some(offset_in(archived, &archived.policy)));
    assert_eq!(field(fields, "policy").layout.size, size_of_val(&archived.policy) as u64);
    assert_eq!(described.layout.size, size_of::<ArchivedRouting>() as u64);
    assert_eq!(described.layout.align, align_of::<ArchivedRouting>() as u64);
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
                let fields = variant_fields(&described, "Started");
                assert_eq!(field(fields, "at").offset, Some(offset_in(archived, at)));
                assert_eq!(field(fields, "at").layout.size, size_of_val(at) as u64);
                assert_eq!(field(fields, "by").offset, Some(offset_in(archived, by)));
            }
            ArchivedEvent::Progress(count, fraction) => {
                let fields = variant_fields(&described, "Progress");
                assert_eq!(field(fields, "0").offset, Some(offset_in(archived, count)));
                assert_eq!(field(fields, "1").offset, Some(offset_in(archived, fraction)));
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
        let OwnedShape::Enum(variants) = &Policy::DESCRIPTION.to_owned_description().shape else {
            panic!("an enum")
        };
        let variant = variants.iter().find(|variant| variant.name == name).unwrap();
        assert_eq!(variant.discriminant, u64::from(tag), "{name}");
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

    let described = Tree::DESCRIPTION.to_owned_description();
    let children = field(struct_fields(&described), "children");
    assert_eq!(children.nested, [Nested::Recursive { name: "Tree".to_owned() }]);
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
    let fields = struct_fields(&described);
    assert_eq!(fields[0].name, "type");
    assert_eq!(fields[1].ty, "Match");
    let Nested::Described(nested) = &fields[1].nested[0] else { panic!("Match is described") };
    assert_eq!(variant_fields(nested, "Some").len(), 1);
}

#[test]
fn derived_descriptions_survive_encoding() {
    for described in [description::<Routing>(), description::<Event>()] {
        assert_eq!(OwnedDescription::decode(&described.encode()), Ok(described));
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
    assert_eq!(
        messages,
        ["field 'messages' has type 'Vec<String>' here but 'Vec<u64>' in the channel"]
    );
    assert!(matches!(differences[0].change, Change::FieldType { .. }));
}
