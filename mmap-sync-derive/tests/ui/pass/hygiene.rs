// The generated code names nothing through the caller's scope: it compiles under
// `#![no_implicit_prelude]` and next to user types called `Result`, `Option`, `Writer`,
// `Reader`, `SharedState`, `core` and `std`.
#![no_implicit_prelude]

#[allow(dead_code)]
mod shadows {
    pub struct Result;
    pub struct Option;
    pub struct Writer;
    pub struct Reader;
    pub struct SharedState;
    pub mod core {}
    pub mod std {}
}

#[allow(unused_imports)]
use shadows::{Option, Reader, Result, SharedState, Writer, core, std};

// rkyv's own `Serialize` derive names `Sized` unqualified; the SharedState expansion needs
// nothing from the prelude.
use ::core::marker::Sized;

#[derive(::rkyv::Archive, ::rkyv::Serialize, ::mmap_sync::SharedState)]
#[shared_state(path = "/dev/shm/hygiene", env = "HYGIENE_PATH", readers = 4, max_size = "1 MiB")]
pub struct Hygiene {
    pub value: u64,
    pub part: Part,
    pub parts: ::std::vec::Vec<Part>,
}

// The description's nested-type lookups need nothing from the caller's scope either.
#[derive(::rkyv::Archive, ::rkyv::Serialize, ::mmap_sync::schema::Describe)]
pub struct Part {
    pub weight: u32,
}

fn main() {
    let _ = Hygiene::writer;
    let _ = Hygiene::reader;
}
