//! What the derived fingerprint sees and what it cannot, on real types compiled by rustc: the
//! const-evaluated part (archived sizes and alignments) is only observable here, not in the
//! macro's own unit tests.

use mmap_sync::SharedState;

/// The same definition in two modules, as two programs that each define it would have it.
mod program_a {
    use super::inner_u32::Row;

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/fp")]
    pub struct Table {
        pub id: u64,
        pub rows: Vec<Row>,
    }
}

mod program_b {
    use super::inner_u32::Row;

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/fp")]
    pub struct Table {
        pub id: u64,
        pub rows: Vec<Row>,
    }
}

/// Same tokens (`Vec<Row>`), but `Row` is a different, larger type: only the element's archived
/// layout tells them apart.
mod program_c {
    use super::inner_u64::Row;

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/fp")]
    pub struct Table {
        pub id: u64,
        pub rows: Vec<Row>,
    }
}

/// Same as `program_a` but with `schema_version` bumped.
mod program_d {
    use super::inner_u32::Row;

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/fp", schema_version = 1)]
    pub struct Table {
        pub id: u64,
        pub rows: Vec<Row>,
    }
}

/// Nested row whose fields are swapped relative to `inner_u32`: same size and alignment.
mod program_e {
    use super::inner_swapped::Row;

    #[derive(rkyv::Archive, rkyv::Serialize, mmap_sync::SharedState)]
    #[shared_state(path = "/dev/shm/fp")]
    pub struct Table {
        pub id: u64,
        pub rows: Vec<Row>,
    }
}

mod inner_u32 {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct Row {
        pub key: u32,
        pub value: u32,
    }
}

mod inner_u64 {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct Row {
        pub key: u32,
        pub value: u64,
    }
}

mod inner_swapped {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    pub struct Row {
        pub value: u32,
        pub key: u32,
    }
}

#[test]
fn identical_definitions_in_different_modules_agree() {
    assert_eq!(program_a::Table::FINGERPRINT, program_b::Table::FINGERPRINT);
}

#[test]
fn a_changed_element_layout_inside_a_vec_changes_the_fingerprint() {
    assert_ne!(program_a::Table::FINGERPRINT, program_c::Table::FINGERPRINT);
}

#[test]
fn schema_version_changes_the_fingerprint() {
    assert_ne!(program_a::Table::FINGERPRINT, program_d::Table::FINGERPRINT);
}

/// The documented blind spot: a nested type's field names and order are not visible to the
/// outer type's derive when its archived size and alignment stay the same. If this starts
/// failing, the fingerprint got stronger: update the crate documentation.
#[test]
fn swapping_same_sized_fields_of_a_nested_type_is_not_seen() {
    assert_eq!(program_a::Table::FINGERPRINT, program_e::Table::FINGERPRINT);
}

#[test]
fn the_trait_constant_is_the_inherent_one() {
    assert_eq!(<program_a::Table as SharedState>::FINGERPRINT, program_a::Table::FINGERPRINT);
}
