//! Version 2 of the `Inventory` schema: same name, same path, one more field, as a program
//! built from a newer checkout would have it (see `schema_probe.rs` for the roles).

#[path = "../schema_probe.rs"]
mod schema_probe;

use mmap_sync::SharedState;

#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_schema_probe", env = "SCHEMA_PROBE_PATH")]
struct Inventory {
    version: u32,
    items: Vec<String>,
    owner: String,
}

fn main() {
    schema_probe::run(schema_probe::Probe {
        writer: Inventory::writer,
        reader: Inventory::reader,
        value: || Inventory { version: 2, items: vec!["plum".into()], owner: "ops".into() },
        describe: |inventory, line| {
            let items: Vec<&str> = inventory.items.iter().map(|item| item.as_str()).collect();
            line.with("schema", "v2")
                .with("version", inventory.version)
                .with("items", items.join(","))
                .with("owner", inventory.owner.as_str())
        },
    });
}
