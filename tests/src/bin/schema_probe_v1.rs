//! Version 1 of the `Inventory` schema (see `schema_probe.rs` for the roles).

#[path = "../schema_probe.rs"]
mod schema_probe;

use mmap_sync::SharedState;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_schema_probe", env = "SCHEMA_PROBE_PATH")]
struct Inventory {
    version: u32,
    items: Vec<String>,
}

fn main() {
    schema_probe::run(schema_probe::Probe {
        writer: Inventory::writer,
        reader: Inventory::reader,
        value: || Inventory { version: 1, items: vec!["apple".into(), "pear".into()] },
        describe: |inventory, line| {
            let items: Vec<&str> = inventory.items.iter().map(|item| item.as_str()).collect();
            line.with("schema", "v1")
                .with("version", inventory.version)
                .with("items", items.join(","))
        },
    });
}
