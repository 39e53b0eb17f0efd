//! `mmap-sync watch PATH`: one line per publish, until interrupted or `--count` publishes,
//! holding no reader slot; generations overwritten before they could be seen are reported as
//! missed, and a replaced set of files is followed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mmap_sync::inspect::{Channel, CopyInfo, Header};
use mmap_sync::json::Json;
use mmap_sync::{Error, protocol};

use crate::channel::open;
use crate::exit::Exit;
use crate::failure::Failure;
use crate::output::{Output, Report};
use crate::shapes::ts;
use crate::text;

/// Print one line per publish (generation, bytes, time since the previous one) until
/// interrupted, holding no reader slot.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The channel's path prefix.
    path: PathBuf,
    /// Stop after showing this many publishes (generations overwritten before they could
    /// be seen are reported, not counted).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

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

/// The table's column widths, fixed for one set of files, so that lines printed one at a time
/// stay aligned.
#[derive(Clone, Copy, Debug)]
struct Columns {
    /// Width of the BYTES column: the digits of the channel's `max_size`, which no copy's
    /// length exceeds unless the files are damaged.
    bytes: usize,
}

impl Columns {
    fn of(header: &Header) -> Columns {
        Columns { bytes: digits(header.max_size).max("BYTES".len()) }
    }

    /// One line of the table: every column padded to its width.
    fn row(self, generation: &str, bytes: &str, since: &str, published: &str) -> String {
        let mut line = String::new();
        text::pad(&mut line, generation, GENERATION_WIDTH);
        line.push_str("  ");
        text::pad(&mut line, bytes, self.bytes);
        line.push_str("  ");
        text::pad(&mut line, since, SINCE_WIDTH);
        line.push_str("  ");
        line.push_str(published);
        let mut line = line.trim_end().to_owned();
        line.push('\n');
        line
    }

    fn heading(self) -> String {
        self.row("GENERATION", "BYTES", "SINCE PREVIOUS", "PUBLISHED")
    }
}

/// What `watch` has reported so far.
struct Watcher {
    out: Output,
    /// The last generation reported (shown or missed).
    generation: u64,
    /// When it was published (0: unknown).
    published_at: u64,
    /// Publishes shown so far; missed ones are reported, not counted.
    shown: u64,
    columns: Columns,
}

impl Watcher {
    fn publish(&mut self, c: &CopyInfo) -> Result<(), Failure> {
        let since = match (self.published_at, c.published_at) {
            (0, _) | (_, 0) => None,
            (before, after) => Some(after.saturating_sub(before)),
        };
        self.out.print(&Publish { columns: self.columns, copy: c, since })?;
        self.generation = c.generation;
        self.published_at = c.published_at;
        self.shown += 1;
        Ok(())
    }

    fn missed(&mut self, from: u64, to: u64) -> Result<(), Failure> {
        self.out.print(&Missed { from, to })?;
        self.generation = to;
        self.published_at = 0;
        Ok(())
    }

    fn replaced(&mut self, header: &Header) -> Result<(), Failure> {
        // The new files may allow larger values: the table starts again at their widths.
        self.columns = Columns::of(header);
        self.out.print(&Replaced { columns: self.columns })
    }
}

/// The first line: the channel, its type and what is published now.
struct Start<'a> {
    prefix: &'a Path,
    header: &'a Header,
    generation: u64,
    copy: Option<&'a CopyInfo>,
    published_at: u64,
    columns: Columns,
}

impl Report for Start<'_> {
    fn text(&self) -> String {
        let now = text::now();
        let current = match self.copy {
            Some(c) => format!(
                "generation {} ({} bytes) published {}",
                self.generation,
                c.length,
                text::when(c.published_at, now)
            ),
            None => "nothing published yet".into(),
        };
        format!(
            "watching {} ({}): {current}\n{}",
            text::path(self.prefix),
            text::shown(&self.header.type_name),
            self.columns.heading()
        )
    }

    fn json(&self) -> Json {
        Json::Obj(vec![
            ("event", "start".into()),
            ("channel", Json::path(self.prefix)),
            ("type_name", self.header.type_name.clone().into()),
            ("generation", self.generation.into()),
            ("length", self.copy.map_or(Json::Null, |c| c.length.into())),
            ("published_at", ts(self.published_at)),
        ])
    }
}

/// A generation seen.
struct Publish<'a> {
    columns: Columns,
    copy: &'a CopyInfo,
    /// Nanoseconds since the previous publish, when both times are known.
    since: Option<u64>,
}

impl Report for Publish<'_> {
    fn text(&self) -> String {
        let c = self.copy;
        self.columns.row(
            &c.generation.to_string(),
            &c.length.to_string(),
            &self.since.map_or("-".into(), text::duration),
            &text::timestamp_ms(c.published_at),
        )
    }

    fn json(&self) -> Json {
        let c = self.copy;
        Json::Obj(vec![
            ("event", "publish".into()),
            ("generation", c.generation.into()),
            ("copy", c.index.into()),
            ("length", c.length.into()),
            ("published_at", ts(c.published_at)),
            ("since_previous_ns", self.since.map_or(Json::Null, Json::from)),
        ])
    }
}

/// Generations `from..=to`, overwritten before `watch` could see them.
struct Missed {
    from: u64,
    to: u64,
}

impl Report for Missed {
    fn text(&self) -> String {
        let (from, to) = (self.from, self.to);
        let mut row = String::new();
        text::pad(&mut row, &from.to_string(), GENERATION_WIDTH);
        if from == to {
            row.push_str("  missed: overwritten before watch could see it\n");
        } else {
            row.push_str(&format!(
                "  missed through {to} ({} generations): overwritten before watch could see \
                 them\n",
                to - from + 1
            ));
        }
        row
    }

    fn json(&self) -> Json {
        Json::Obj(vec![
            ("event", "missed".into()),
            ("from", self.from.into()),
            ("to", self.to.into()),
        ])
    }
}

/// The writer replaced the channel's files; `watch` follows the new ones.
struct Replaced {
    /// The new files' widths.
    columns: Columns,
}

impl Report for Replaced {
    fn text(&self) -> String {
        format!(
            "the writer replaced the channel's files; following the new ones\n{}",
            self.columns.heading()
        )
    }

    fn json(&self) -> Json {
        Json::Obj(vec![("event", "replaced".into())])
    }
}

/// Runs `mmap-sync watch PATH`.
pub fn run(args: &Args, out: Output) -> Result<Exit, Failure> {
    let (path, count) = (args.path.as_path(), args.count);
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
        columns: Columns::of(&header),
    };
    out.print(&Start {
        prefix: &channel.paths().prefix,
        header: &header,
        generation,
        copy: start,
        published_at: watcher.published_at,
        columns: watcher.columns,
    })?;
    loop {
        if count.is_some_and(|n| watcher.shown >= n) {
            return Ok(Exit::Ok);
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
