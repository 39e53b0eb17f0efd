//! The iceoryx2 figures: this crate beside iceoryx2 0.10, the published crate, with its two
//! patterns that share a value: the blackboard (a key-value store in shared memory whose
//! `get` copies the value out; a store is `update_with_copy`) and publish-subscribe (a
//! publisher loans a sample in shared memory, writes it and sends it; a subscriber receives it
//! zero-copy), with an event service for notification. Neither iceoryx2 pattern validates what
//! it reads; ours validates each generation once (bytecheck, checksum, schema fingerprint).
//!
//! Every figure is measured in several runs (see `main.rs`); ratios are ours / iceoryx2 within
//! one run, the table gives the run with the median ratio and the spread. Every row is a
//! headline: the README's table shows it, target or not.

pub mod aggregate;
pub mod open;
pub mod publish;
pub mod read;
pub mod visible;

use iceoryx2::prelude::*;

use crate::harness::Result;

pub type Node = iceoryx2::node::Node<ipc::Service>;

/// A node for this process: iceoryx2's entry point, which every port belongs to. No signal
/// handler is installed and only errors are logged.
pub fn node() -> Result<Node> {
    set_log_level(LogLevel::Error);
    Ok(NodeBuilder::new()
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()?)
}

/// The name of service `name` of this run (the parent's pid keeps runs apart); child processes
/// are given the whole name.
pub fn service_name(name: &str) -> String {
    format!("mmap_sync_bench/{}/{name}", std::process::id())
}

/// [`service_name`]'s result as iceoryx2 takes it.
pub fn service(name: &str) -> Result<ServiceName> {
    Ok(ServiceName::new(name)?)
}
