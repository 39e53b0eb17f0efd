//! `inspect` on channel files whose strings a broken or hostile writer chose: schema
//! descriptions with names of half a megabyte or many rows under one wide name. Text output
//! shows every such string cut to a bounded width, and stays as small as the files; `--json`
//! has the strings whole.

mod common;

use std::fs::OpenOptions;
use std::mem::offset_of;
use std::os::unix::fs::FileExt;

use common::{Run, TempDir, cli_at};
use mmap_sync::format::{StateHeader, state_file_len};
use mmap_sync::schema::{ArchivedLayout, NAME_WIDTH, OwnedDescription, OwnedField, OwnedShape};
use mmap_sync::{ChannelPaths, Writer};
use mmap_sync_schemas::RoutingTable;
use serde_json::Value;

/// A channel with one generation published, its writer gone.
fn published(dir: &TempDir) -> ChannelPaths {
    let mut writer = Writer::<RoutingTable>::open(dir.channel("routing")).unwrap();
    writer.write(&RoutingTable::example(1, 3)).unwrap();
    writer.paths().clone()
}

fn patch(paths: &ChannelPaths, offset: usize, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(&paths.state).unwrap();
    file.write_all_at(bytes, offset as u64).unwrap();
}

/// Replaces the stored schema description by `description`, growing the state file for it.
fn plant_description(paths: &ChannelPaths, description: &OwnedDescription) -> usize {
    let copies = mmap_sync::inspect::Channel::open(&paths.prefix).unwrap().header().copies;
    let encoded = description.encode();
    let at = state_file_len(copies);
    let file = OpenOptions::new().write(true).open(&paths.state).unwrap();
    file.set_len((at + encoded.len()) as u64).unwrap();
    patch(paths, at, &encoded);
    patch(paths, offset_of!(StateHeader, schema_len), &(encoded.len() as u32).to_le_bytes());
    encoded.len()
}

fn field(name: &str) -> OwnedField {
    OwnedField {
        name: name.to_owned(),
        ty: "u8".to_owned(),
        offset: Some(0),
        layout: ArchivedLayout { size: 1, align: 1 },
        nested: Vec::new(),
    }
}

fn description(fields: Vec<OwnedField>) -> OwnedDescription {
    OwnedDescription {
        name: "Planted".to_owned(),
        layout: ArchivedLayout { size: 1, align: 1 },
        shape: OwnedShape::Struct(fields),
    }
}

#[test]
fn a_schema_name_of_half_a_megabyte_is_cut_in_the_table_and_whole_in_json() {
    let dir = TempDir::new("hostile-long-name");
    let paths = published(&dir);
    let long = "A".repeat(550_000);
    let encoded = plant_description(&paths, &description(vec![field(&long), field("next")]));

    let run = cli_at("inspect", &paths.prefix, &[]);
    assert_eq!(run.code, 0, "inspect of a 550,000-character name: {}", run.stderr);
    let cut = format!("{}…", "A".repeat(NAME_WIDTH - 1));
    let row = run.stdout.lines().find(|l| l.contains(&cut)).expect("the cut name's row");
    assert!(row.chars().count() < 3 * NAME_WIDTH, "{row}");
    assert!(!run.stdout.contains(&"A".repeat(NAME_WIDTH)), "the name is shown whole");
    assert!(run.stdout.len() < encoded / 4, "{} bytes of output", run.stdout.len());

    let run = cli_at("inspect", &paths.prefix, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["schema"]["fields"][0]["name"], long.as_str());
}

#[test]
fn one_wide_name_does_not_pad_every_row_of_the_schema_table() {
    // A name narrow enough to be padded to, and thousands of rows padded to it: output
    // hundreds of times the size of the description.
    let dir = TempDir::new("hostile-wide-column");
    let paths = published(&dir);
    let mut fields = vec![field(&"W".repeat(20_000))];
    fields.extend((0..5000).map(|i| field(&i.to_string())));
    let encoded = plant_description(&paths, &description(fields));

    let run: Run = cli_at("inspect", &paths.prefix, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let longest = run.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 3 * NAME_WIDTH, "a line of {longest} characters");
    assert!(
        run.stdout.len() < 16 * encoded,
        "{} bytes of output for a description of {encoded}",
        run.stdout.len()
    );
}
