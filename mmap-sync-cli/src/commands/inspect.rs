//! `mmap-sync inspect PATH`: the header, every copy, the writer's liveness, the reader slots
//! in use and the schema description, as tables or as one JSON object.

use std::path::PathBuf;

use mmap_sync::inspect::{
    CopyInfo, Description, Header, Inspection, Liveness, Pin, ReaderTable, SlotInfo, SlotStatus,
    WriterInfo, WriterStatus,
};
use mmap_sync::json::Json;

use crate::channel::open;
use crate::exit::Exit;
use crate::failure::Failure;
use crate::output::{Output, Report};
use crate::shapes::{header_json, ts};
use crate::text::{self, Fields, Table};

/// Show the header, every copy, the writer's liveness, the reader slots in use (with pids,
/// pins and dead readers) and the schema description.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The channel's path prefix (the files are PATH_state, PATH_readers, PATH_data_N).
    path: PathBuf,
}

/// Runs `mmap-sync inspect PATH`.
pub fn run(args: &Args, out: Output) -> Result<Exit, Failure> {
    let channel = open(&args.path)?;
    let inspection = channel.inspect();
    let now = text::now();
    out.print(&Shown { inspection: &inspection, now })?;
    // A reader would get NotPublished, as from a state file without its magic yet.
    Ok(if inspection.header.active.is_none() { Exit::NothingToRead } else { Exit::Ok })
}

/// An inspection as `inspect` prints it, ages taken at `now`.
struct Shown<'a> {
    inspection: &'a Inspection,
    now: u64,
}

impl Report for Shown<'_> {
    fn text(&self) -> String {
        inspection_text(self.inspection, self.now)
    }

    fn json(&self) -> Json {
        inspection_json(self.inspection)
    }
}

fn published_at_of(copies: &[CopyInfo], generation: u64) -> u64 {
    copies.iter().find(|c| c.generation == generation).map_or(0, |c| c.published_at)
}

fn inspection_text(i: &Inspection, now: u64) -> String {
    let h = &i.header;
    let mut fields = Fields::default();
    fields.add("channel", text::path(&i.paths.prefix));
    fields.add("format", h.format_version.to_string());
    fields.add("type", text::shown(&h.type_name));
    fields.add(
        "fingerprint",
        if h.derived_fingerprint {
            format!("{} (from the definition: #[derive(SharedState)])", text::hex(h.fingerprint))
        } else {
            format!(
                "{} (layout only: the type does not derive SharedState)",
                text::hex(h.fingerprint)
            )
        },
    );
    fields.add("layout", text::hex(h.layout_fingerprint));
    fields.add(
        "published",
        match h.active {
            None => "nothing yet (generation 0)".to_owned(),
            Some(active) => {
                let copy = i.copies.iter().find(|c| c.index == active.copy);
                format!(
                    "generation {} in copy {}, {}, at {}",
                    active.generation,
                    active.copy,
                    copy.map_or("-".into(), |c| text::bytes(c.length)),
                    text::when(copy.map_or(0, |c| c.published_at), now)
                )
            }
        },
    );
    fields.add("writer", writer_text(&i.writer, now));
    fields.add("copies", format!("{}, each at most {}", h.copies, text::bytes(h.max_size)));
    fields.add(
        "readers",
        match &i.readers {
            Ok(t) => format!(
                "{} live, {} dead, of {} slots (high-water {})",
                t.live(),
                t.dead(),
                t.slot_count,
                t.high_water
            ),
            Err(e) => format!("cannot read the slot table: {}", text::shown(&e.to_string())),
        },
    );
    fields.add("files", format!("created {}", text::when(h.created_at, now)));
    if h.superseded {
        fields.add("superseded", "yes: a writer replaced these files by a new set");
    }
    let mut out = fields.render();

    out.push('\n');
    let mut copies = Table::new(&["COPY", "GENERATION", "BYTES", "CHECKSUM", "PUBLISHED"]);
    for c in &i.copies {
        let generation = match (c.generation, c.active) {
            (0, _) => "-".to_owned(),
            (g, true) => format!("{g} (active)"),
            (g, false) => g.to_string(),
        };
        let empty = c.generation == 0;
        copies.row(vec![
            c.index.to_string(),
            generation,
            if empty { "-".into() } else { c.length.to_string() },
            if empty { "-".into() } else { text::hex(c.checksum) },
            if empty { "-".into() } else { text::when(c.published_at, now) },
        ]);
    }
    out.push_str(&copies.render(0));

    if let Ok(table) = &i.readers {
        out.push('\n');
        out.push_str(&readers_text(table, &i.copies, h, now));
    }

    out.push('\n');
    match &i.description {
        Description::None => out.push_str(
            "schema: none recorded (the type does not derive SharedState; values published \
             through the Synchronizer facade carry none)\n",
        ),
        Description::Unreadable(reason) => {
            out.push_str(&format!("schema: stored but unreadable: {}\n", text::shown(reason)));
        }
        Description::Described(d) => {
            out.push_str("schema:\n");
            for l in d.to_string().lines() {
                out.push_str(format!("  {l}").trim_end());
                out.push('\n');
            }
        }
    }
    out
}

fn writer_text(w: &WriterInfo, now: u64) -> String {
    let note = w.note.as_deref().map_or("-".to_owned(), text::shown);
    let pid = w.pid.map_or("no pid recorded".to_owned(), |p| format!("pid {p}"));
    let started = match w.started_at {
        0 => String::new(),
        t => format!(", started {}", text::when(t, now)),
    };
    match (w.status, w.checked_by) {
        (WriterStatus::Alive, Liveness::Lock) => {
            format!("alive (holds the writer lock), {pid}{started}")
        }
        (WriterStatus::Gone, Liveness::Lock) => {
            format!("gone (nobody holds the writer lock); last writer {pid}{started}")
        }
        (WriterStatus::Alive, _) => {
            format!("probably alive: {pid} exists (by pid: the lock could not be asked: {note})")
        }
        (WriterStatus::Gone, _) => {
            format!("gone: {pid} does not exist (by pid: the lock could not be asked: {note})")
        }
        (WriterStatus::Unknown, _) => {
            format!("unknown ({note}); {pid}")
        }
    }
}

fn pin_text(pin: Option<Pin>) -> String {
    match pin {
        None => "-".into(),
        Some(Pin::Exact(g)) => format!("{g} exact"),
        Some(Pin::Range(g)) => format!("{g} and newer"),
    }
}

/// What a pin holds back: when its generation was published and how far behind it is.
fn pinned_text(pin: Option<Pin>, copies: &[CopyInfo], header: &Header, now: u64) -> String {
    let Some(pin) = pin else { return "-".into() };
    let g = pin.generation();
    let published = header.active.map_or(0, |a| a.generation);
    let behind = match published.saturating_sub(g) {
        0 => "current".to_owned(),
        1 => "1 generation behind".to_owned(),
        n => format!("{n} generations behind"),
    };
    match published_at_of(copies, g) {
        0 => behind,
        t => format!("published {}, {behind}", text::age(t, now)),
    }
}

fn readers_text(t: &ReaderTable, copies: &[CopyInfo], header: &Header, now: u64) -> String {
    if t.slots.is_empty() {
        return "reader slots: none in use\n".into();
    }
    let mut table =
        Table::new(&["SLOT", "PID", "TID", "STATUS", "PIN", "PINNED GENERATION", "CLAIMED"]);
    for s in &t.slots {
        table.row(vec![
            s.index.to_string(),
            s.pid.to_string(),
            s.tid.to_string(),
            match s.status {
                SlotStatus::Live => "live".into(),
                SlotStatus::Dead => "dead (reader died holding its pin)".into(),
            },
            pin_text(s.pin),
            pinned_text(s.pin, copies, header, now),
            text::age(s.claimed_at, now),
        ]);
    }
    table.render(0)
}

fn inspection_json(i: &Inspection) -> Json {
    let h = &i.header;
    let mut fields =
        vec![("channel", Json::path(&i.paths.prefix)), ("state_file", Json::path(&i.paths.state))];
    fields.extend(header_json(h));
    fields.extend([
        ("created_at", ts(h.created_at)),
        ("superseded", h.superseded.into()),
        ("publish_count", h.publish_count.into()),
        (
            "published",
            match h.active {
                None => Json::Null,
                Some(a) => {
                    let copy = i.copies.iter().find(|c| c.index == a.copy);
                    Json::Obj(vec![
                        ("generation", a.generation.into()),
                        ("copy", a.copy.into()),
                        ("length", copy.map_or(Json::Null, |c| c.length.into())),
                        ("published_at", ts(copy.map_or(0, |c| c.published_at))),
                    ])
                }
            },
        ),
        ("writer", writer_json(&i.writer)),
        (
            "descriptors",
            Json::Arr(
                i.copies
                    .iter()
                    .map(|c| {
                        Json::Obj(vec![
                            ("copy", c.index.into()),
                            ("generation", c.generation.into()),
                            ("length", c.length.into()),
                            ("checksum", text::hex(c.checksum).into()),
                            ("fingerprint", text::hex(c.fingerprint).into()),
                            ("published_at", ts(c.published_at)),
                            ("active", c.active.into()),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "readers",
            match &i.readers {
                Ok(t) => readers_json(t, &i.copies, h),
                Err(e) => {
                    Json::Obj(vec![("error", e.to_string().into()), ("file", Json::path(e.path()))])
                }
            },
        ),
    ]);
    let (schema, schema_error) = match &i.description {
        Description::None => (Json::Null, Json::Null),
        Description::Described(d) => (Json::from(d), Json::Null),
        Description::Unreadable(reason) => (Json::Null, reason.clone().into()),
    };
    fields.push(("schema", schema));
    fields.push(("schema_error", schema_error));
    Json::Obj(fields)
}

fn writer_json(w: &WriterInfo) -> Json {
    Json::Obj(vec![
        (
            "status",
            match w.status {
                WriterStatus::Alive => "alive",
                WriterStatus::Gone => "gone",
                WriterStatus::Unknown => "unknown",
            }
            .into(),
        ),
        (
            "checked_by",
            match w.checked_by {
                Liveness::Lock => "lock",
                Liveness::Pid => "pid",
                Liveness::Nothing => "nothing",
            }
            .into(),
        ),
        ("pid", w.pid.map_or(Json::Null, Json::from)),
        ("started_at", ts(w.started_at)),
        ("note", Json::opt_str(w.note.clone())),
    ])
}

fn readers_json(t: &ReaderTable, copies: &[CopyInfo], h: &Header) -> Json {
    let published = h.active.map_or(0, |a| a.generation);
    Json::Obj(vec![
        ("slot_count", t.slot_count.into()),
        ("high_water", t.high_water.into()),
        ("live", t.live().into()),
        ("dead", t.dead().into()),
        ("slots", Json::Arr(t.slots.iter().map(|s| slot_json(s, copies, published)).collect())),
    ])
}

fn slot_json(s: &SlotInfo, copies: &[CopyInfo], published: u64) -> Json {
    let status = match s.status {
        SlotStatus::Live => "live",
        SlotStatus::Dead => "dead",
    };
    Json::Obj(vec![
        ("slot", s.index.into()),
        ("status", status.into()),
        ("pid", s.pid.into()),
        ("tid", s.tid.into()),
        ("claimed_at", ts(s.claimed_at)),
        ("pin", s.pin.map_or(Json::Null, |pin| pin_json(pin, copies, published))),
    ])
}

fn pin_json(pin: Pin, copies: &[CopyInfo], published: u64) -> Json {
    let kind = match pin {
        Pin::Exact(_) => "exact",
        Pin::Range(_) => "range",
    };
    Json::Obj(vec![
        ("generation", pin.generation().into()),
        ("kind", kind.into()),
        ("published_at", ts(published_at_of(copies, pin.generation()))),
        ("behind", published.saturating_sub(pin.generation()).into()),
    ])
}
