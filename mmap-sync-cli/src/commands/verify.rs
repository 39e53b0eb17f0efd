//! `mmap-sync verify PATH`: the header, every descriptor and the checksum of every copy, and
//! every problem found, each naming its file.

use std::path::PathBuf;

use mmap_sync::inspect::{self, CopyOutcome, Verification};
use mmap_sync::json::Json;

use crate::channel::diagnose;
use crate::exit::Exit;
use crate::failure::Failure;
use crate::output::{Output, Report};
use crate::shapes::header_json;
use crate::text::{self, Fields, Table};

/// Check the header, every descriptor and the checksum of every copy; exit 1 and say why
/// when anything is wrong.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The channel's path prefix.
    path: PathBuf,
}

/// Runs `mmap-sync verify PATH`.
pub fn run(args: &Args, out: Output) -> Result<Exit, Failure> {
    let path = args.path.as_path();
    let verification = inspect::verify(path).map_err(|e| diagnose(path, e))?;
    out.print(&Shown(&verification))?;
    let published = verification.header.as_ref().is_some_and(|h| h.active.is_some());
    Ok(match (verification.is_ok(), published) {
        (false, _) => Exit::Damaged,
        (true, false) => Exit::NothingToRead,
        (true, true) => Exit::Ok,
    })
}

/// A verification as `verify` prints it.
struct Shown<'a>(&'a Verification);

impl Report for Shown<'_> {
    fn text(&self) -> String {
        verification_text(self.0)
    }

    fn json(&self) -> Json {
        verification_json(self.0)
    }
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
