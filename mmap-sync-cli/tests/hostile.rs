//! `inspect`, `verify` and `watch` on channel files whose strings a broken or hostile writer
//! chose: a type name full of terminal escape sequences and a line break, schema descriptions
//! with names of half a megabyte or many rows under one wide name. Text output shows every such
//! string escaped and cut to a bounded width, and stays as small as the files; `--json` has the
//! strings whole.

mod common;

use std::fs::OpenOptions;
use std::mem::offset_of;
use std::os::unix::fs::FileExt;

use common::{ChannelDir, Run, cli_at};
use mmap_sync::format::{StateHeader, state_file_len};
use mmap_sync::schema::{
    ArchivedLayout, Body, Definition, Field, Fields, Int, NAME_WIDTH, Shape, Structure, Style,
};
use mmap_sync::{ChannelPaths, Writer};
use mmap_sync_schemas::RoutingTable;
use serde_json::Value;

/// A channel with one generation published, its writer gone.
fn published(dir: &ChannelDir) -> ChannelPaths {
    let mut writer = Writer::<RoutingTable>::open(dir.prefix("routing")).unwrap();
    writer.write(&RoutingTable::example(1, 3)).unwrap();
    writer.paths().clone()
}

fn patch(paths: &ChannelPaths, offset: usize, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(&paths.state).unwrap();
    file.write_all_at(bytes, offset as u64).unwrap();
}

/// Writes `name` as the type name the state file's header records.
fn plant_type_name(paths: &ChannelPaths, name: &str) {
    assert!(name.len() <= mmap_sync::format::TYPE_NAME_CAPACITY);
    patch(paths, offset_of!(StateHeader, type_name), name.as_bytes());
    patch(paths, offset_of!(StateHeader, type_name_len), &(name.len() as u32).to_le_bytes());
}

/// Replaces the stored schema description by `description`, growing the state file for it.
fn plant_description(paths: &ChannelPaths, description: &Structure) -> usize {
    let copies = mmap_sync::inspect::Channel::open(&paths.prefix).unwrap().header().copies;
    let encoded = description.encode();
    let at = state_file_len(copies);
    let file = OpenOptions::new().write(true).open(&paths.state).unwrap();
    file.set_len((at + encoded.len()) as u64).unwrap();
    patch(paths, at, &encoded);
    patch(paths, offset_of!(StateHeader, schema_len), &(encoded.len() as u32).to_le_bytes());
    encoded.len()
}

fn field(name: &str) -> Field {
    Field {
        name: name.to_owned(),
        offset: 0,
        layout: ArchivedLayout { size: 1, align: 1 },
        shape: Shape::Int(Int::U8),
    }
}

/// A structure whose root is one struct, `Planted`, of `fields`.
fn description(fields: Vec<Field>) -> Structure {
    let planted = Definition {
        name: "Planted".to_owned(),
        layout: ArchivedLayout { size: 1, align: 1 },
        body: Body::Struct(Fields { style: Style::Named, list: fields }),
    };
    Structure {
        encoding: Structure::of(&RoutingTable::SHAPE).encoding,
        root: Shape::Named(0),
        types: vec![planted],
    }
}

/// Checks that `text` holds no control character but line breaks.
fn assert_no_control_characters(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| c != '\n' && c.is_control()) {
        panic!("{what} printed the control character {c:?}:\n{text}");
    }
}

#[test]
fn a_type_name_with_escape_sequences_is_shown_escaped_by_every_command_and_whole_in_json() {
    let dir = ChannelDir::new("hostile-type-name");
    let paths = published(&dir);
    // Sets the terminal's title, clears the screen, and starts a line of its own.
    let name = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\nchannel      forged";
    plant_type_name(&paths, name);
    let escaped = r"Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\nchannel      forged";

    let runs: [(&str, &[&str]); 3] =
        [("inspect", &[]), ("verify", &[]), ("watch", &["--count", "0"])];
    for (command, more) in runs {
        let run = cli_at(command, &paths.prefix, more);
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert_no_control_characters(command, &run.stdout);
        assert_no_control_characters(command, &run.stderr);
        assert!(run.stdout.contains(escaped), "{command} shows the name escaped:\n{}", run.stdout);
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("channel      forged")),
            "{command} let the name start a line:\n{}",
            run.stdout
        );

        let mut more = more.to_vec();
        more.push("--json");
        let run = cli_at(command, &paths.prefix, &more);
        assert_eq!(run.code, 0, "{command} --json: {run:?}");
        assert_no_control_characters(command, &run.stdout.replace('\n', ""));
        let first: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
        assert_eq!(first["type_name"], name, "{command} --json has the name whole");
    }
}

#[test]
fn a_schema_name_of_half_a_megabyte_is_cut_in_the_table_and_whole_in_json() {
    let dir = ChannelDir::new("hostile-long-name");
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
    assert_eq!(json["schema"]["types"][0]["fields"][0]["name"], long.as_str());
}

#[test]
fn one_wide_name_does_not_pad_every_row_of_the_schema_table() {
    // A name narrow enough to be padded to, and thousands of rows padded to it: output
    // hundreds of times the size of the description.
    let dir = ChannelDir::new("hostile-wide-column");
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
