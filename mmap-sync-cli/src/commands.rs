//! The three commands, each rendered as tables or as JSON.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mmap_sync::inspect::{
    self, Channel, CopyInfo, CopyOutcome, Description, Header, Inspection, Liveness, Pin,
    ReaderTable, SlotInfo, SlotStatus, Verification, WriterInfo, WriterStatus,
};
use mmap_sync::{ChannelPaths, Error};

use mmap_sync::protocol;

use crate::text::{self, Fields, Table};
use mmap_sync::json::Json;

/// How to print.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// JSON lines instead of tables.
    pub json: bool,
}

/// Exit code: the channel is damaged (or `verify` found a problem).
pub const EXIT_DAMAGED: u8 = 1;
/// Exit code: usage (clap's, and `PATH` naming one of a channel's files instead of its prefix).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: nothing to read: no channel, nothing published yet (`inspect` and `verify` still
/// show what they found), or a file cannot be opened.
pub const EXIT_CANNOT_OPEN: u8 = 3;
/// Exit code: the files are of another format version.
pub const EXIT_FORMAT_VERSION: u8 = 4;

/// Why a command stopped, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    kind: &'static str,
    file: Option<PathBuf>,
    message: String,
    /// Nothing to say (standard output was closed under `watch`).
    quiet: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let (code, kind) = match &error {
            Error::NotPublished { .. } => (EXIT_CANNOT_OPEN, "not_published"),
            Error::Io { .. } => (EXIT_CANNOT_OPEN, "cannot_open"),
            Error::Incompatible { .. } => (EXIT_FORMAT_VERSION, "format_version"),
            Error::Corrupt { .. } => (EXIT_DAMAGED, "damaged"),
            _ => (EXIT_CANNOT_OPEN, "error"),
        };
        let message = match &error {
            Error::Corrupt { .. } => {
                format!("{error} (the files are damaged, or are not an mmap-sync channel)")
            }
            _ => error.to_string(),
        };
        Failure { code, kind, file: Some(error.path().to_owned()), message, quiet: false }
    }
}

impl Failure {
    /// Prints the failure: to standard error, or as `{"error": {..}}` on standard output.
    pub fn report(&self, out: Output) {
        if self.quiet {
            return;
        }
        if out.json {
            let error = Json::Obj(vec![(
                "error",
                Json::Obj(vec![
                    ("kind", self.kind.into()),
                    ("file", self.file.as_deref().map_or(Json::Null, Json::path)),
                    ("message", self.message.clone().into()),
                    ("exit_code", u32::from(self.code).into()),
                ]),
            )]);
            let _ = writeln!(std::io::stdout(), "{error}");
        } else {
            eprintln!("mmap-sync: {}", text::shown(&self.message));
        }
    }
}

/// The suffixes of a channel's file names after its prefix (`_data_` takes a copy index).
const FILE_SUFFIXES: [&str; 4] = ["_state", "_readers", "_writer", "_data_"];

/// `path` as the prefix of a channel it names one file of (`P_state`, `P_readers`, `P_writer`,
/// `P_data_N`), when it ends like one.
fn prefix_of_file(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    FILE_SUFFIXES.iter().find_map(|suffix| {
        let at = name.rfind(suffix)?;
        let rest = &name[at + suffix.len()..];
        let whole = match *suffix {
            "_data_" => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()),
            _ => rest.is_empty(),
        };
        (whole && at > 0).then(|| path.with_file_name(&name[..at]))
    })
}

/// Whether anything (a file, a link, a FIFO) is at `path`.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Opening `path` failed with `error`; when that is because no state file is there, says why
/// more precisely than the library can: `path` names one of a channel's files instead of its
/// prefix, or no file of a channel is there at all, or only some are.
fn diagnose(path: &Path, error: Error) -> Failure {
    let Error::NotPublished { path: state } = &error else { return error.into() };
    if exists(state) {
        // The state file is there without its magic: the writer has not finished it.
        return error.into();
    }
    if let Some(prefix) = prefix_of_file(path)
        && (exists(path) || exists(&ChannelPaths::new(&prefix).state))
    {
        return Failure {
            code: EXIT_USAGE,
            kind: "not_a_prefix",
            file: Some(path.to_owned()),
            message: format!(
                "{} is one of a channel's files; PATH is the channel's prefix: did you mean {}?",
                path.display(),
                prefix.display()
            ),
            quiet: false,
        };
    }
    let paths = ChannelPaths::new(path);
    let others = [&paths.readers, &paths.data(0), &paths.writer];
    let partial = match others.into_iter().find(|file| exists(file)) {
        Some(file) => format!(
            " ({} does: a writer may be creating the channel, or its state file was removed)",
            file.display()
        ),
        None => String::new(),
    };
    Failure {
        code: EXIT_CANNOT_OPEN,
        kind: "no_channel",
        file: Some(state.clone()),
        message: format!(
            "no channel at {}: {} does not exist{partial}",
            path.display(),
            state.display()
        ),
        quiet: false,
    }
}

/// The channel at `path`, or why there is none.
fn open(path: &Path) -> Result<Channel, Failure> {
    Channel::open(path).map_err(|e| diagnose(path, e))
}

/// Writes `text` to standard output; a closed pipe ends the command quietly.
fn say(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure {
            code: 0,
            kind: "closed",
            file: None,
            message: String::new(),
            quiet: true,
        }),
        Err(e) => Err(Failure {
            code: EXIT_CANNOT_OPEN,
            kind: "output",
            file: None,
            message: format!("standard output: {e}"),
            quiet: false,
        }),
    }
}

fn line(json: &Json) -> String {
    format!("{json}\n")
}

// ---------------------------------------------------------------------------------------------
// inspect

/// `mmap-sync inspect PATH`.
pub fn inspect(path: &Path, out: Output) -> Result<u8, Failure> {
    let channel = open(path)?;
    let inspection = channel.inspect();
    let now = text::now();
    if out.json {
        say(&line(&inspection_json(&inspection)))?;
    } else {
        say(&inspection_text(&inspection, now))?;
    }
    // A reader would get NotPublished, as from a state file without its magic yet.
    Ok(if inspection.header.active.is_none() { EXIT_CANNOT_OPEN } else { 0 })
}

fn fingerprint_source(header: &Header) -> &'static str {
    if header.derived_fingerprint { "derive" } else { "layout" }
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

fn ts(unix_nanos: u64) -> Json {
    Json::opt_str(text::timestamp(unix_nanos))
}

fn header_json(h: &Header) -> Vec<(&'static str, Json)> {
    vec![
        ("format_version", h.format_version.into()),
        ("type_name", h.type_name.clone().into()),
        ("fingerprint", text::hex(h.fingerprint).into()),
        ("fingerprint_source", fingerprint_source(h).into()),
        ("layout_fingerprint", text::hex(h.layout_fingerprint).into()),
        ("copies", h.copies.into()),
        ("reader_slots", h.reader_slots.into()),
        ("max_size", h.max_size.into()),
    ]
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

// ---------------------------------------------------------------------------------------------
// watch

/// How long `watch` sleeps at most before it looks at the channel again: the writer wakes
/// only readers that announced a wait (which takes a slot), so a publish is noticed within this
/// step, or at once when another process of the channel is waiting too.
const WATCH_STEP: Duration = Duration::from_millis(10);

/// How long `watch` keeps trying to open the new files after the writer replaced them.
const REOPEN_LIMIT: Duration = Duration::from_secs(10);

/// Width of `watch`'s GENERATION column: the digits of the largest generation.
const GENERATION_WIDTH: usize = digits(protocol::LAST_GENERATION);

/// Width of `watch`'s SINCE PREVIOUS column: the heading, which is longer than any duration
/// `text::duration` writes (at most `213503 d 23 h`).
const SINCE_WIDTH: usize = "SINCE PREVIOUS".len();

const fn digits(mut n: u64) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

struct Watcher {
    out: Output,
    /// The last generation reported (shown or missed).
    generation: u64,
    /// When it was published (0: unknown).
    published_at: u64,
    /// Publishes shown so far; missed ones are reported, not counted.
    shown: u64,
    /// Width of the BYTES column: the digits of the channel's `max_size`, which no copy's
    /// length exceeds unless the files are damaged.
    bytes_width: usize,
}

impl Watcher {
    /// One line of the table: every column padded to a width fixed for the set of files, so
    /// that lines printed one at a time stay aligned.
    fn row(&self, generation: &str, bytes: &str, since: &str, published: &str) -> String {
        let mut line = String::new();
        text::pad(&mut line, generation, GENERATION_WIDTH);
        line.push_str("  ");
        text::pad(&mut line, bytes, self.bytes_width);
        line.push_str("  ");
        text::pad(&mut line, since, SINCE_WIDTH);
        line.push_str("  ");
        line.push_str(published);
        let mut line = line.trim_end().to_owned();
        line.push('\n');
        line
    }

    fn heading(&self) -> String {
        self.row("GENERATION", "BYTES", "SINCE PREVIOUS", "PUBLISHED")
    }

    fn publish(&mut self, c: &CopyInfo) -> Result<(), Failure> {
        let since = match (self.published_at, c.published_at) {
            (0, _) | (_, 0) => None,
            (before, after) => Some(after.saturating_sub(before)),
        };
        if self.out.json {
            say(&line(&Json::Obj(vec![
                ("event", "publish".into()),
                ("generation", c.generation.into()),
                ("copy", c.index.into()),
                ("length", c.length.into()),
                ("published_at", ts(c.published_at)),
                ("since_previous_ns", since.map_or(Json::Null, Json::from)),
            ])))?;
        } else {
            say(&self.row(
                &c.generation.to_string(),
                &c.length.to_string(),
                &since.map_or("-".into(), text::duration),
                &text::timestamp_ms(c.published_at),
            ))?;
        }
        self.generation = c.generation;
        self.published_at = c.published_at;
        self.shown += 1;
        Ok(())
    }

    fn missed(&mut self, from: u64, to: u64) -> Result<(), Failure> {
        if self.out.json {
            say(&line(&Json::Obj(vec![
                ("event", "missed".into()),
                ("from", from.into()),
                ("to", to.into()),
            ])))?;
        } else {
            let mut row = String::new();
            text::pad(&mut row, &from.to_string(), GENERATION_WIDTH);
            if from == to {
                row.push_str("  missed: overwritten before watch could see it\n");
            } else {
                row.push_str(&format!(
                    "  missed through {to} ({} generations): overwritten before watch could \
                     see them\n",
                    to - from + 1
                ));
            }
            say(&row)?;
        }
        self.generation = to;
        self.published_at = 0;
        Ok(())
    }

    fn replaced(&mut self, header: &Header) -> Result<(), Failure> {
        if self.out.json {
            say(&line(&Json::Obj(vec![("event", "replaced".into())])))
        } else {
            // The new files may allow larger values: the table starts again at their widths.
            self.bytes_width = bytes_width(header);
            say(&format!(
                "the writer replaced the channel's files; following the new ones\n{}",
                self.heading()
            ))
        }
    }
}

fn bytes_width(header: &Header) -> usize {
    digits(header.max_size).max("BYTES".len())
}

/// `mmap-sync watch PATH`.
pub fn watch(path: &Path, count: Option<u64>, out: Output) -> Result<u8, Failure> {
    let mut channel = open(path)?;
    let header = channel.header();
    let copies = channel.copies();
    let generation = header.active.map_or(0, |a| a.generation);
    let start = copies.iter().find(|c| c.generation == generation && generation != 0);
    let mut watcher = Watcher {
        out,
        generation,
        published_at: start.map_or(0, |c| c.published_at),
        shown: 0,
        bytes_width: bytes_width(&header),
    };
    if out.json {
        say(&line(&Json::Obj(vec![
            ("event", "start".into()),
            ("channel", Json::path(&channel.paths().prefix)),
            ("type_name", header.type_name.clone().into()),
            ("generation", generation.into()),
            ("length", start.map_or(Json::Null, |c| c.length.into())),
            ("published_at", ts(watcher.published_at)),
        ])))?;
    } else {
        let now = text::now();
        let current = match start {
            Some(c) => format!(
                "generation {generation} ({} bytes) published {}",
                c.length,
                text::when(c.published_at, now)
            ),
            None => "nothing published yet".into(),
        };
        say(&format!(
            "watching {} ({}): {current}\n{}",
            text::path(&channel.paths().prefix),
            text::shown(&header.type_name),
            watcher.heading()
        ))?;
    }
    loop {
        if count.is_some_and(|n| watcher.shown >= n) {
            return Ok(0);
        }
        let word = channel.publish_count();
        let header = channel.header();
        let now_generation = header.active.map_or(0, |a| a.generation);
        if now_generation > watcher.generation {
            let copies = channel.copies();
            let mut g = watcher.generation + 1;
            while g <= now_generation && count.is_none_or(|n| watcher.shown < n) {
                match copies.iter().find(|c| c.generation == g) {
                    Some(c) => {
                        watcher.publish(c)?;
                        g += 1;
                    }
                    None => {
                        // Every generation up to the next one still held by a copy is gone.
                        let next = copies
                            .iter()
                            .map(|c| c.generation)
                            .filter(|&h| h > g && h <= now_generation)
                            .min()
                            .unwrap_or(now_generation + 1);
                        watcher.missed(g, next - 1)?;
                        g = next;
                    }
                }
            }
            continue;
        }
        if header.superseded {
            channel = reopen(path)?;
            watcher.replaced(&channel.header())?;
            continue;
        }
        channel.wait_for_publish(word, WATCH_STEP)?;
    }
}

fn reopen(path: &Path) -> Result<Channel, Failure> {
    let deadline = Instant::now() + REOPEN_LIMIT;
    loop {
        match Channel::open(path) {
            Ok(channel) if !channel.header().superseded => return Ok(channel),
            Ok(_) | Err(Error::NotPublished { .. }) if Instant::now() < deadline => {
                std::thread::sleep(WATCH_STEP);
            }
            Ok(channel) => {
                return Err(Failure::from(Error::NotPublished {
                    path: channel.paths().state.clone(),
                }));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// verify

/// `mmap-sync verify PATH`.
pub fn verify(path: &Path, out: Output) -> Result<u8, Failure> {
    let verification = inspect::verify(path).map_err(|e| diagnose(path, e))?;
    if out.json {
        say(&line(&verification_json(&verification)))?;
    } else {
        say(&verification_text(&verification))?;
    }
    let published = verification.header.as_ref().is_some_and(|h| h.active.is_some());
    Ok(match (verification.is_ok(), published) {
        (false, _) => EXIT_DAMAGED,
        (true, false) => EXIT_CANNOT_OPEN,
        (true, true) => 0,
    })
}

fn outcome(o: &CopyOutcome) -> (&'static str, Option<String>) {
    match o {
        CopyOutcome::Ok => ("ok", None),
        CopyOutcome::Empty => ("empty", None),
        CopyOutcome::Busy => ("busy", Some("rewritten by the writer at every attempt".into())),
        CopyOutcome::Bad(reason) => ("bad", Some(reason.clone())),
        _ => ("unknown", None),
    }
}

fn verification_text(v: &Verification) -> String {
    let mut fields = Fields::default();
    fields.add("channel", text::path(&v.paths.prefix));
    match &v.header {
        Some(h) => fields.add(
            "header",
            format!(
                "ok: format {}, {}, {} copies, {} reader slots, {}",
                h.format_version,
                text::shown(&h.type_name),
                h.copies,
                h.reader_slots,
                match h.active {
                    Some(a) => format!("generation {} published", a.generation),
                    None => "nothing published yet".into(),
                }
            ),
        ),
        None => fields.add("header", "unreadable"),
    }
    if v.header.is_some() {
        fields.add(
            "pin",
            match &v.unpinned_reason {
                None => "copies hashed under a reader pin".to_owned(),
                Some(reason) => {
                    format!("none ({}); rewrites detected by generation", text::shown(reason))
                }
            },
        );
    }
    let mut out = fields.render();
    if !v.copies.is_empty() {
        out.push('\n');
        let mut table = Table::new(&["COPY", "GENERATION", "BYTES", "CHECKSUM", "RESULT"]);
        for c in &v.copies {
            let empty = c.generation == 0;
            let (result, _) = outcome(&c.outcome);
            table.row(vec![
                c.index.to_string(),
                if empty { "-".into() } else { c.generation.to_string() },
                if empty { "-".into() } else { c.length.to_string() },
                if empty { "-".into() } else { text::hex(c.checksum) },
                result.into(),
            ]);
        }
        out.push_str(&table.render(0));
    }
    out.push('\n');
    let published = v.header.as_ref().is_some_and(|h| h.active.is_some());
    if v.problems.is_empty() && !published {
        out.push_str(
            "nothing published yet: no problem found in the files, and no copy to check\n",
        );
    } else if v.problems.is_empty() {
        let checked = v.copies.iter().filter(|c| c.outcome == CopyOutcome::Ok).count();
        out.push_str(&format!(
            "ok: no problem found ({checked} of {} copies hold a generation and match their \
             checksum)\n",
            v.copies.len()
        ));
    } else {
        out.push_str(&format!(
            "{} problem{} found:\n",
            v.problems.len(),
            if v.problems.len() == 1 { "" } else { "s" }
        ));
        for p in &v.problems {
            out.push_str(&format!("  {}: {}\n", text::path(&p.path), text::shown(&p.reason)));
        }
    }
    out
}

fn verification_json(v: &Verification) -> Json {
    let mut fields = vec![
        ("channel", Json::path(&v.paths.prefix)),
        ("ok", v.is_ok().into()),
        ("header_ok", v.header.is_some().into()),
    ];
    match &v.header {
        Some(h) => {
            fields.extend(header_json(h));
            fields.push(("generation", h.active.map_or(0, |a| a.generation).into()));
        }
        None => fields.push(("format_version", Json::Null)),
    }
    fields.extend([
        ("pinned", v.pinned.into()),
        ("unpinned_reason", Json::opt_str(v.unpinned_reason.clone())),
        (
            "copy_checks",
            Json::Arr(
                v.copies
                    .iter()
                    .map(|c| {
                        let (result, reason) = outcome(&c.outcome);
                        Json::Obj(vec![
                            ("copy", c.index.into()),
                            ("generation", c.generation.into()),
                            ("length", c.length.into()),
                            ("checksum", text::hex(c.checksum).into()),
                            ("result", result.into()),
                            ("reason", Json::opt_str(reason)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "problems",
            Json::Arr(
                v.problems
                    .iter()
                    .map(|p| {
                        Json::Obj(vec![
                            ("file", Json::path(&p.path)),
                            ("problem", p.reason.clone().into()),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    Json::Obj(fields)
}
