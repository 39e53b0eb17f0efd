//! `mmap-sync dump PATH`: the channel's value, read through the structure its writer recorded:
//! an indented tree for people (long collections cut), or the value's JSON on one line, whole or
//! one part of it (`--at routes[3].prefix`).

use std::fmt::Write as _;
use std::path::PathBuf;

use mmap_sync::Error;
use mmap_sync::dynamic::{DynError, DynErrorKind, DynReader, Kind, NumericKind, Value};
use mmap_sync::schema::Float;

use crate::channel::diagnose;
use crate::exit::Exit;
use crate::failure::Failure;
use crate::output::Output;
use crate::text;

/// Print the channel's value, read through the structure its writer recorded: an indented tree,
/// or with --json the value as serde_json prints it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The channel's path prefix.
    path: PathBuf,
    /// Print only this part of the value: fields by name, elements by index, map entries by
    /// key (`routes[3].prefix`, `settings["region"]`).
    #[arg(long, value_name = "PATH.IN[3].VALUE")]
    at: Option<String>,
    /// Elements, entries and characters shown of each collection or string in the tree before
    /// it is cut (the JSON is never cut).
    #[arg(long, value_name = "N", default_value_t = 16)]
    limit: usize,
}

/// Runs `mmap-sync dump PATH`.
pub fn run(args: &Args, out: Output) -> Result<Exit, Failure> {
    let path = args.path.as_path();
    let reader = DynReader::open(path).map_err(|e| opening(path, e))?;
    // The value is rendered while the generation is pinned, then printed after the pin is
    // released: a slow terminal never holds a copy from the writer.
    let at = args.at.as_deref();
    let text = {
        let guard = reader.read().map_err(|e| opening(path, e))?;
        let failed = |e: DynError| {
            value_failure(&reader, guard.generation(), e.kind(), e.path(), e.message(), at)
        };
        let root = guard.value().map_err(failed)?;
        let value = match &args.at {
            Some(at) => root.at(at).map_err(failed)?,
            None => root,
        };
        match out {
            // The value's JSON as the dynamic view wrote it, on one line.
            Output::Json => format!("{}\n", value.to_json().map_err(failed)?),
            // The heading, then the tree.
            Output::Text => {
                let mut tree = Tree { out: String::new(), limit: args.limit, path: String::new() };
                tree.value(value, 0).map_err(|Located { path, error }| {
                    value_failure(
                        &reader,
                        guard.generation(),
                        error.kind(),
                        &path,
                        error.message(),
                        at,
                    )
                })?;
                let heading = heading(&reader, guard.generation(), guard.bytes().len(), at);
                format!("{heading}\n{}", tree.out)
            }
        }
    };
    crate::output::say(&text)?;
    Ok(Exit::Ok)
}

/// A failure to open or read the channel: a channel without a structure and one this build
/// cannot read get their own kinds.
fn opening(path: &std::path::Path, error: Error) -> Failure {
    match &error {
        Error::NoStructure { .. } => Failure::new(
            Exit::NothingToRead,
            "no_structure",
            Some(error.path().to_owned()),
            error.to_string(),
        ),
        Error::Incompatible { .. } if !error.to_string().contains("format version") => {
            Failure::new(
                Exit::FormatVersion,
                "unreadable_structure",
                Some(error.path().to_owned()),
                error.to_string(),
            )
        }
        _ => diagnose(path, error),
    }
}

/// A value that cannot be read as its structure says: a path given by `--at` that does not
/// lead anywhere (usage), or bytes that are not a valid archive (damaged); `path` is where, in
/// the value, the problem was found.
fn value_failure(
    reader: &DynReader,
    generation: u64,
    kind: DynErrorKind,
    path: &str,
    message: &str,
    at: Option<&str>,
) -> Failure {
    let file = reader.paths().state.clone();
    let error = if path.is_empty() { message.to_owned() } else { format!("{path}: {message}") };
    let (exit, kind, what) = match kind {
        DynErrorKind::NotFound
        | DynErrorKind::OutOfRange
        | DynErrorKind::WrongKind
        | DynErrorKind::Range
        | DynErrorKind::Path => (Exit::Usage, "not_in_value", "--at"),
        DynErrorKind::Structure => (Exit::FormatVersion, "unreadable_structure", "structure"),
        _ => (Exit::Damaged, "damaged", "value"),
    };
    let message = match what {
        "--at" => format!(
            "{}: generation {generation}: --at {}: {error}",
            reader.paths().prefix.display(),
            at.unwrap_or_default()
        ),
        _ => format!(
            "{}: generation {generation}: the {what} cannot be read: {error}",
            file.display()
        ),
    };
    Failure::new(exit, kind, Some(file), message)
}

/// The first line of the tree: the channel, its type, the generation.
fn heading(reader: &DynReader, generation: u64, bytes: usize, at: Option<&str>) -> String {
    let schema = reader.schema();
    let part = at.map_or_else(String::new, |at| format!(", at {}", text::shown(at)));
    format!(
        "{}: {}, generation {generation} ({}){part}",
        text::path(&reader.paths().prefix),
        text::shown(&schema.type_name),
        text::bytes(bytes as u64),
    )
}

/// A problem found while the tree is drawn, and the path of the value it was found at.
struct Located {
    path: String,
    error: DynError,
}

/// The indented tree of a value: one line per value, children two spaces further in.
struct Tree {
    out: String,
    limit: usize,
    /// The path of the value being drawn, from where the tree starts.
    path: String,
}

impl Tree {
    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// `error`, found at the value being drawn.
    fn located(&self, error: DynError) -> Located {
        let path = match (self.path.is_empty(), error.path().is_empty()) {
            (_, true) => self.path.clone(),
            (true, false) => error.path().to_owned(),
            (false, false) if error.path().starts_with('[') => {
                format!("{}{}", self.path, error.path())
            }
            (false, false) => format!("{}.{}", self.path, error.path()),
        };
        Located { path, error }
    }

    /// The value's summary line, then its parts below it.
    fn value(&mut self, value: Value<'_>, depth: usize) -> Result<(), Located> {
        let line = self.summary(value).map_err(|e| self.located(e))?;
        self.line(depth, &line);
        self.children(value, depth + 1)
    }

    /// A part of a value: `label: summary`, then its own parts. `segment` is how the part
    /// extends the path (`.name`, `[3]`).
    fn part(
        &mut self,
        label: &str,
        segment: &str,
        value: Value<'_>,
        depth: usize,
    ) -> Result<(), Located> {
        let outer = self.path.len();
        if self.path.is_empty() {
            self.path.push_str(segment.trim_start_matches('.'));
        } else {
            self.path.push_str(segment);
        }
        let result = self.summary(value).map_err(|e| self.located(e)).and_then(|summary| {
            self.line(depth, &format!("{label}: {summary}"));
            self.children(value, depth + 1)
        });
        self.path.truncate(outer);
        result
    }

    /// What a value is, on one line: a scalar's value, a collection's type and length.
    fn summary(&self, value: Value<'_>) -> Result<String, DynError> {
        Ok(match value.kind() {
            Kind::Unit => "()".to_owned(),
            Kind::Bool => value.as_bool()?.to_string(),
            Kind::Char => format!("{:?}", value.as_char()?),
            Kind::Int(_) => match value.as_i128() {
                Ok(v) => v.to_string(),
                Err(_) => value.as_u128()?.to_string(),
            },
            // An `f32` as the `f32` it is (`0.1`, not the `f64` nearest it).
            Kind::Float(Float::F32) => format!("{:?}", value.as_f64()? as f32),
            Kind::Float(_) => format!("{:?}", value.as_f64()?),
            Kind::String => self.string(value.as_str()?),
            Kind::List => {
                let len = value.len()?;
                match value.numeric()? {
                    Some(numbers) if numbers.kind() == NumericKind::U8 => {
                        format!("{} ({len}) {}", value.type_name(), self.hex(numbers.bytes()))
                    }
                    Some(_) => format!("{} ({len}) {}", value.type_name(), self.numbers(value)?),
                    None => format!("{} ({len})", value.type_name()),
                }
            }
            Kind::Tuple | Kind::Map | Kind::Set => {
                format!("{} ({})", value.type_name(), value.len()?)
            }
            Kind::Struct => value.type_name(),
            Kind::Enum => {
                let variant = value.variant()?;
                format!("{}::{}", variant.enum_name(), variant.name())
            }
            Kind::Option => match value.option()? {
                None => "None".to_owned(),
                Some(inner) => format!("Some({})", self.summary(inner)?),
            },
            Kind::Opaque => {
                let (name, bytes) = value.opaque()?;
                format!("{} (opaque, {} bytes) {}", text::shown(name), bytes.len(), self.hex(bytes))
            }
            _ => value.type_name(),
        })
    }

    /// The parts of a value, each on lines of their own, cut after `limit`.
    fn children(&mut self, value: Value<'_>, depth: usize) -> Result<(), Located> {
        if depth > mmap_sync::dynamic::MAX_DEPTH {
            return Ok(());
        }
        let at = |tree: &Tree, e: DynError| tree.located(e);
        match value.kind() {
            Kind::Struct => {
                for (name, field) in value.fields().map_err(|e| at(self, e))? {
                    let name = text::shown(name);
                    self.part(&name, &format!(".{name}"), field, depth)?;
                }
            }
            Kind::Enum => {
                let variant = value.variant().map_err(|e| at(self, e))?;
                for (name, field) in variant.fields() {
                    let name = text::shown(name);
                    self.part(&name, &format!(".{name}"), field, depth)?;
                }
            }
            Kind::Option => {
                if let Some(inner) = value.option().map_err(|e| at(self, e))? {
                    self.children(inner, depth)?;
                }
            }
            Kind::List if value.numeric().map_err(|e| at(self, e))?.is_some() => {}
            Kind::List | Kind::Tuple | Kind::Set => {
                let len = value.len().map_err(|e| at(self, e))?;
                let elements = value.elements().map_err(|e| at(self, e))?;
                for (i, element) in elements.enumerate().take(self.limit) {
                    let element = element.map_err(|e| at(self, e))?;
                    let label = format!("[{i}]");
                    self.part(&label, &label, element, depth)?;
                }
                self.more(len, depth);
            }
            Kind::Map => {
                let len = value.len().map_err(|e| at(self, e))?;
                for entry in value.entries().map_err(|e| at(self, e))?.take(self.limit) {
                    let (key, element) = entry.map_err(|e| at(self, e))?;
                    let label = format!("[{}]", self.summary(key).map_err(|e| at(self, e))?);
                    self.part(&label, &label, element, depth)?;
                }
                self.more(len, depth);
            }
            _ => {}
        }
        Ok(())
    }

    fn more(&mut self, len: usize, depth: usize) {
        if len > self.limit {
            let line = format!("… {} more (--limit {})", len - self.limit, self.limit);
            self.line(depth, &line);
        }
    }

    /// A string, quoted and escaped as Rust writes it, cut after `max(64, 8 × limit)`
    /// characters.
    fn string(&self, s: &str) -> String {
        let keep = self.limit.saturating_mul(8).max(64);
        let count = s.chars().count();
        let shown: String = s.chars().take(keep).collect();
        let mut out = format!("{shown:?}");
        if count > keep {
            let _ = write!(out, " … {} more characters", count - keep);
        }
        out
    }

    /// Bytes in hex, cut after `limit`.
    fn hex(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        for byte in bytes.iter().take(self.limit) {
            let _ = write!(out, "{byte:02x}");
        }
        if bytes.len() > self.limit {
            let _ = write!(out, " … {} more", bytes.len() - self.limit);
        }
        out
    }

    /// A numeric list on one line, cut after `limit`.
    fn numbers(&self, value: Value<'_>) -> Result<String, DynError> {
        let len = value.len()?;
        let mut parts = Vec::new();
        for element in value.elements()?.take(self.limit) {
            parts.push(self.summary(element?)?);
        }
        if len > self.limit {
            parts.push(format!("… {} more", len - self.limit));
        }
        Ok(format!("[{}]", parts.join(", ")))
    }
}
