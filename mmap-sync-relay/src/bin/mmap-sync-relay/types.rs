//! The channel types this binary relays: the one place that names them.
//!
//! A relay must know a channel's type to check fingerprints and validate archives, and Rust
//! types cannot be loaded at run time, so the binary is built with a fixed list. Every command
//! that needs the type goes through [`dispatch`] with a [`ForType`]; nothing else matches on
//! [`TypeArg`]. To relay your own type, build a binary around `mmap_sync_relay::Relay`.

use clap::ValueEnum;
use mmap_sync::SharedState;
use mmap_sync::rkyv::{self, api::high::HighSerializer, rancor, ser::allocator::ArenaHandle};
use mmap_sync_schemas::{FeatureTable, HelloWorld, RoutingTable};

/// A type name on the command line or in a configuration file.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeArg {
    /// mmap_sync_schemas::HelloWorld
    HelloWorld,
    /// mmap_sync_schemas::FeatureTable
    FeatureTable,
    /// mmap_sync_schemas::RoutingTable
    RoutingTable,
}

/// Sizes of the example values `publish --example` builds.
#[derive(Clone, Copy, Debug)]
pub struct ExampleSize {
    /// Routes of a routing table.
    pub routes: usize,
    /// Entities of a feature table.
    pub entities: u64,
    /// Features per entity of a feature table.
    pub dimension: u32,
}

/// What the binary needs of a type: a channel type it can archive, with an example value.
pub trait Relayed: SharedState
    + 'static
    + for<'a> rkyv::Serialize<HighSerializer<rkyv::util::AlignedVec, ArenaHandle<'a>, rancor::Error>>
{
    /// The type's example value with this version number.
    fn example(version: u64, size: ExampleSize) -> Self;
}

impl Relayed for HelloWorld {
    fn example(version: u64, _: ExampleSize) -> Self {
        HelloWorld {
            version: version as u32,
            messages: vec!["Hello".into(), "World".into(), format!("version {version}")],
        }
    }
}

impl Relayed for RoutingTable {
    fn example(version: u64, size: ExampleSize) -> Self {
        RoutingTable::example(version, size.routes)
    }
}

impl Relayed for FeatureTable {
    fn example(version: u64, size: ExampleSize) -> Self {
        FeatureTable::synthetic(version, size.entities, size.dimension)
    }
}

/// Work that needs the channel's type: a generic function, as a value.
pub trait ForType {
    /// What the work returns.
    type Output;
    /// Does the work for type `T`.
    fn run<T: Relayed>(self) -> Self::Output;
}

/// Runs `work` for the type `ty` names.
pub fn dispatch<W: ForType>(ty: TypeArg, work: W) -> W::Output {
    match ty {
        TypeArg::HelloWorld => work.run::<HelloWorld>(),
        TypeArg::FeatureTable => work.run::<FeatureTable>(),
        TypeArg::RoutingTable => work.run::<RoutingTable>(),
    }
}
