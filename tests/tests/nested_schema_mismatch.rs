//! A change inside a nested type is a schema mismatch that names the place: an enum variant's
//! field that became another type of the same archived layout (`Failed(String)` to
//! `Failed(Vec<u8>)`), and an integer whose signedness changed (`u32` to `i32`). Before the
//! structural schema, both were accepted: the reader failed later with "corrupt", or read the
//! wrong values silently.

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::channel::ChannelDir;

/// The types exist for their shapes; only `before`'s values are made.
#[allow(dead_code)]
mod before {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(String),
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/nested_status")]
    pub struct Status {
        pub code: u32,
        pub mode: Mode,
    }
}

#[allow(dead_code)]
mod after {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(Vec<u8>),
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/nested_status")]
    pub struct Status {
        pub code: u32,
        pub mode: Mode,
    }
}

#[allow(dead_code)]
mod signed {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    pub enum Mode {
        Idle,
        Failed(String),
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/nested_status")]
    pub struct Status {
        pub code: i32,
        pub mode: Mode,
    }
}

fn published(dir: &ChannelDir) -> std::path::PathBuf {
    let prefix = dir.prefix("status");
    let mut writer = Writer::<before::Status>::open(&prefix).unwrap();
    let value = before::Status { code: 4_000_000_000, mode: before::Mode::Failed("disk".into()) };
    writer.write(&value).unwrap();
    prefix
}

/// The message of a refusal, checked to be a schema mismatch.
fn refusal(result: Result<impl Sized, Error>) -> String {
    match result {
        Err(error @ Error::SchemaMismatch { .. }) => error.to_string(),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("accepted a channel of another schema"),
    }
}

#[test]
fn a_variant_field_of_another_type_is_refused_naming_it() {
    let dir = ChannelDir::new("nested-variant");
    let prefix = published(&dir);
    let message = refusal(Reader::<after::Status>::open(&prefix));
    assert!(message.contains("Mode::Failed.0: Vec<u8> here, String in the channel"), "{message}");
    assert!(message.contains(&prefix.display().to_string()), "names the file: {message}");
    // A writer of the new definition does not take the channel either, and the value stays.
    let message = refusal(Writer::<after::Status>::open(&prefix));
    assert!(message.contains("Mode::Failed.0"), "{message}");
    let reader = Reader::<before::Status>::open(&prefix).unwrap();
    let guard = reader.read().unwrap();
    assert!(matches!(&guard.mode, before::ArchivedMode::Failed(text) if text == "disk"));
}

#[test]
fn an_integer_of_another_signedness_is_refused_naming_it() {
    let dir = ChannelDir::new("nested-signed");
    let prefix = published(&dir);
    let message = refusal(Reader::<signed::Status>::open(&prefix));
    assert!(message.contains("Status.code: i32 here, u32 in the channel"), "{message}");
}

// Behind a field marked `#[rkyv(omit_bounds)]` the fingerprint sees the type as written and its
// layout only (a `const` tree cannot hold a cycle); the reader compares whole structures. Two
// definitions of one forest that differ only behind such a field:

/// The types exist for their shapes.
#[allow(dead_code)]
mod forest_u32 {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    #[rkyv(serialize_bounds(
        __S: rkyv::ser::Writer + rkyv::ser::Allocator,
        __S::Error: rkyv::rancor::Source,
    ))]
    #[rkyv(bytecheck(bounds(
        __C: rkyv::validation::ArchiveContext,
        __C::Error: rkyv::rancor::Source,
    )))]
    pub struct Tree {
        pub label: u32,
        #[rkyv(omit_bounds)]
        pub children: Vec<Tree>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/nested_forest")]
    #[rkyv(serialize_bounds(
        __S: rkyv::ser::Writer + rkyv::ser::Allocator,
        __S::Error: rkyv::rancor::Source,
    ))]
    #[rkyv(bytecheck(bounds(
        __C: rkyv::validation::ArchiveContext,
        __C::Error: rkyv::rancor::Source,
    )))]
    pub struct Forest {
        #[rkyv(omit_bounds)]
        pub trees: Vec<Tree>,
    }
}

/// The types exist for their shapes.
#[allow(dead_code)]
mod forest_i32 {
    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::schema::Describe, Debug)]
    #[rkyv(serialize_bounds(
        __S: rkyv::ser::Writer + rkyv::ser::Allocator,
        __S::Error: rkyv::rancor::Source,
    ))]
    #[rkyv(bytecheck(bounds(
        __C: rkyv::validation::ArchiveContext,
        __C::Error: rkyv::rancor::Source,
    )))]
    pub struct Tree {
        pub label: i32,
        #[rkyv(omit_bounds)]
        pub children: Vec<Tree>,
    }

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState, Debug)]
    #[shared_state(path = "/dev/shm/nested_forest")]
    #[rkyv(serialize_bounds(
        __S: rkyv::ser::Writer + rkyv::ser::Allocator,
        __S::Error: rkyv::rancor::Source,
    ))]
    #[rkyv(bytecheck(bounds(
        __C: rkyv::validation::ArchiveContext,
        __C::Error: rkyv::rancor::Source,
    )))]
    pub struct Forest {
        #[rkyv(omit_bounds)]
        pub trees: Vec<Tree>,
    }
}

#[test]
fn a_change_behind_a_recursive_field_is_refused_naming_it() {
    // The fingerprint cannot tell the two apart...
    assert_eq!(forest_u32::Forest::FINGERPRINT, forest_i32::Forest::FINGERPRINT);
    let dir = ChannelDir::new("nested-forest");
    let prefix = dir.prefix("forest");
    let mut writer = Writer::<forest_u32::Forest>::open(&prefix).unwrap();
    let leaf = forest_u32::Tree { label: 7, children: vec![] };
    writer.write(&forest_u32::Forest { trees: vec![leaf] }).unwrap();
    // ...the structures can.
    let message = refusal(Reader::<forest_i32::Forest>::open(&prefix));
    assert!(message.contains("Tree.label: i32 here, u32 in the channel"), "{message}");
    let reader = Reader::<forest_u32::Forest>::open(&prefix).unwrap();
    assert_eq!(reader.read().unwrap().trees[0].label, 7);
}
