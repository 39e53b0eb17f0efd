//! Times this repository's mmap-sync against upstream mmap-sync 2.0.4 (and against the
//! machine's own floors: the bare read protocol, a plain memory copy) in one process, figure by
//! figure, every comparison measured in one run with its sides interleaved. Prints one line per
//! figure; `--markdown FILE` writes the table of figures with targets (the README's), `--report
//! FILE` the full report (every figure, the curves, the methods) for RESULTS.md.
//!
//! `--quick` shortens the long figures (for trying the harness out; its numbers are not the
//! report's); `--only NAME,NAME` runs some figures only (names: see `FIGURES`).
//!
//! Everything lives under /dev/shm in files named after this process id, removed on exit.
//! `rss`, `large-writer` and `large-reader` are child modes used to measure fresh processes.

mod bare;
mod large;
mod many;
mod measure;
mod report;
mod sys;
mod threads;
mod types;

use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use measure::{BATCH, batch, calibrate, group, interleave, median, median_difference, pair};
use measure::{quantile, rounds, timed, timer_samples};
use report::{Row, Section, Target, Unit, ns};
use types::{ours as o, upstream as u};
use upstream::synchronizer::Synchronizer;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Entries of the string-heavy value (about 10 MB archived).
const STRING_ENTRIES: usize = 100_000;
/// u64s of the large value: 64 MiB.
const BIG_LEN: usize = 64 << 17;
/// Upstream's wait for readers before it resets their count (its sleep step is fixed at 1 s).
const UPSTREAM_GRACE: Duration = Duration::from_millis(100);
/// Writes timed while a reader pins an old copy (ours), and upstream samples (about 1 s each).
const PINNED_WRITES: usize = 2000;
const UPSTREAM_PINNED_SAMPLES: usize = 3;
/// Alternating single writes of the 64 MiB value (each style's samples).
const SINGLE_WRITES: usize = 9;
/// Per-operation samples of a first read after a write.
const FIRST_READ_SAMPLES: usize = 20_000;

/// The figures, in the order they run; `--only` takes these names.
const FIGURES: [&str; 17] = [
    "reads",
    "first_read",
    "two_threads",
    "strings",
    "write",
    "write_bytes",
    "big_write",
    "pinned",
    "rss",
    "open",
    "many",
    "hot_read",
    "visible",
    "validation_cpu",
    "latency",
    "large",
    "timer",
];

/// How long the long-running figures run.
#[derive(Clone, Copy)]
pub struct Budget {
    /// Read latency while republishing: each mode's run (the issue asks for 10 s).
    pub latency_run: Duration,
    /// Validation work: publishes per configuration.
    pub cpu_publishes: usize,
    /// Publish-to-visible: publishes of HelloWorld and of the table per configuration.
    pub visible_small: u32,
    pub visible_table: u32,
    /// The large value's archived size.
    pub large_bytes: u64,
}

impl Budget {
    fn full() -> Self {
        Budget {
            latency_run: Duration::from_secs(10),
            cpu_publishes: 20,
            visible_small: 1000,
            visible_table: 60,
            large_bytes: large::GIB,
        }
    }

    /// Every figure, much shorter and noisier.
    fn quick() -> Self {
        Budget {
            latency_run: Duration::from_secs(2),
            cpu_publishes: 6,
            visible_small: 200,
            visible_table: 12,
            large_bytes: 64 << 20,
        }
    }
}

struct Options {
    markdown: Option<PathBuf>,
    report: Option<PathBuf>,
    budget: Budget,
    quick: bool,
    only: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            markdown: None,
            report: None,
            budget: Budget::full(),
            quick: false,
            only: vec![],
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--markdown" => {
                    options.markdown = Some(args.next().ok_or("--markdown needs a file")?.into())
                }
                "--report" => {
                    options.report = Some(args.next().ok_or("--report needs a file")?.into())
                }
                "--quick" => {
                    options.quick = true;
                    options.budget = Budget::quick();
                }
                "--only" => {
                    for name in args.next().ok_or("--only needs names")?.split(',') {
                        if !FIGURES.contains(&name) {
                            return Err(format!("unknown figure {name}; known: {FIGURES:?}").into());
                        }
                        options.only.push(name.to_owned());
                    }
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(options)
    }

    fn wants(&self, figure: &str) -> bool {
        debug_assert!(FIGURES.contains(&figure));
        self.only.is_empty() || self.only.iter().any(|o| o == figure)
    }
}

/// Figures and report sections gathered so far.
#[derive(Default)]
struct Results {
    rows: Vec<Row>,
    sections: Vec<Section>,
}

impl Results {
    fn row(&mut self, row: Row) {
        println!("{}", row.console());
        self.rows.push(row);
    }

    fn rows(&mut self, rows: Vec<Row>) {
        rows.into_iter().for_each(|r| self.row(r));
    }

    fn with_section(&mut self, (rows, section): (Vec<Row>, Section)) {
        self.rows(rows);
        self.sections.push(section);
    }
}

/// Files of this run: `/dev/shm/mmap_sync_bench_<pid>_<name>...`, all removed on drop.
pub struct Scratch {
    dir: PathBuf,
    stem: String,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: PathBuf::from("/dev/shm"),
            stem: format!("mmap_sync_bench_{}_", std::process::id()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}{name}", self.stem))
    }

    /// Removes the files of the channel at `prefix` (a path made by [`path`](Self::path)), to
    /// give their memory back before the next figure.
    pub fn remove_prefixed(&self, prefix: &Path) {
        let Some(name) = prefix.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return;
        };
        self.remove_where(|file| file.starts_with(&name));
    }

    fn remove_where(&self, keep_out: impl Fn(&str) -> bool) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&self.stem) && keep_out(&file) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove_where(|_| true);
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("rss") => return rss_child(&args[2], Path::new(&args[3])),
        Some("large-writer") => return large::writer_child(&args[2..]),
        Some("large-reader") => return large::reader_child(&args[2..]),
        _ => {}
    }
    let options = Options::parse(&args[1..])?;
    // The many-readers figure maps a few thousand files.
    sys::raise_nofile()?;

    let scratch = Scratch::new();
    let budget = options.budget;
    let mut results = Results::default();
    let mut hello = Hello::open(&scratch)?;
    if options.wants("reads") {
        results.rows(hello.reads(&scratch)?);
    }
    if options.wants("first_read") {
        results.with_section(hello.first_reads()?);
    }
    if options.wants("two_threads") {
        results.row(hello.two_threads()?);
    }
    if options.wants("strings") {
        results.row(strings_read(&scratch)?);
    }
    if options.wants("write") {
        results.row(hello.write()?);
    }
    if options.wants("write_bytes") {
        results.row(hello.write_bytes()?);
    }
    if options.wants("big_write") {
        results.with_section(big_write(&scratch)?);
    }
    if options.wants("pinned") {
        results.row(pinned_write_latency(&scratch)?);
    }
    if options.wants("rss") {
        results.row(rss(&scratch)?);
    }
    if options.wants("open") {
        results.rows(hello.open_and_first_read()?);
    }
    if options.wants("many") {
        results.with_section(many::run(&scratch)?);
    }
    if options.wants("hot_read") {
        results.with_section(threads::hot_read(&hello.paths)?);
    }
    if options.wants("visible") {
        results.with_section(threads::publish_to_visible(&scratch, budget)?);
    }
    if options.wants("validation_cpu") {
        results.with_section(threads::validation_cpu(&scratch, budget)?);
    }
    if options.wants("latency") {
        results.with_section(threads::read_latency(&scratch, budget)?);
    }
    if options.wants("large") {
        results.with_section(large::run(&scratch, budget)?);
    }
    if options.wants("timer") {
        results.sections.push(timer_section());
    }

    if let Some(file) = &options.markdown {
        std::fs::write(file, report::table(results.rows.iter().filter(|r| r.met().is_some())))?;
    }
    if let Some(file) = &options.report {
        std::fs::write(file, full_report(&results, &options))?;
    }
    let missed: Vec<_> = results.rows.iter().filter(|r| r.met() == Some(false)).collect();
    eprintln!(
        "{} figures, {} with targets, {} not met{}",
        results.rows.len(),
        results.rows.iter().filter(|r| r.met().is_some()).count(),
        missed.len(),
        if options.quick { " (--quick: not the report's numbers)" } else { "" }
    );
    Ok(())
}

/// The full report: every figure, then each section.
fn full_report(results: &Results, options: &Options) -> String {
    let mut out = String::new();
    if options.quick {
        out.push_str("**Run with `--quick`: shortened figures, not for publishing.**\n\n");
    }
    out.push_str("## Every figure\n\n");
    out.push_str(&report::table(&results.rows));
    out.push('\n');
    out.push_str(FLOORS);
    out.push_str("\n\n");
    for section in &results.sections {
        out.push_str(&format!("## {}\n\n{}\n", section.title, section.body));
    }
    out
}

/// What the floor column means.
const FLOORS: &str = "*floor*: for a figure whose target may be out of reach, the lowest ratio \
the current design can reach, measured in the same run by doing only what the design must do: \
the bare read protocol (a safe read does at least that); bytecheck and checksum of the value \
by hand plus a repeat read (a first read that validates in full does at least that); opening \
and mapping a reader's three files and locking a slot byte by hand (opening a reader does at \
least that); a publish with one reader plus a load of one slot line per live reader (a publish \
that looks at every live reader's slot does at least that). Each floor has a row of its own \
above; the sections below say more.";

/// What `Instant::now()` costs here: every per-operation timing includes one.
fn timer_section() -> Section {
    let samples = timer_samples(100_000);
    let mut section = Section::new("Timer");
    section.line(format!(
        "Two consecutive `Instant::now()` calls differ by {} (median; p99 {}): the floor of \
         every per-operation timing above (first reads cross-checked per operation, read \
         latency). Batched figures time thousands of operations between two calls.",
        ns(median(samples.clone())),
        ns(quantile(samples, 0.99))
    ));
    section.line("");
    section
}

/// A HelloWorld channel on each side, written once, shared by the small-value figures.
struct Hello {
    paths: HelloPaths,
    ours_writer: ours::Writer<o::HelloWorld>,
    upstream_writer: Synchronizer,
}

/// Where the HelloWorld channels live; shared with reader threads.
pub struct HelloPaths {
    ours: PathBuf,
    upstream: PathBuf,
}

impl HelloPaths {
    fn ours_reader(&self) -> Result<ours::Reader<o::HelloWorld>> {
        Ok(ours::Reader::open(&self.ours)?)
    }

    fn upstream_reader(&self) -> Synchronizer {
        Synchronizer::new(self.upstream.as_os_str())
    }
}

impl Hello {
    fn open(scratch: &Scratch) -> Result<Self> {
        let ours_path = scratch.path("hello_ours");
        let upstream_path = scratch.path("hello_upstream");
        let mut ours_writer = ours::Writer::<o::HelloWorld>::open(&ours_path)?;
        let mut upstream_writer = Synchronizer::new(upstream_path.as_os_str());
        ours_writer.write(&o::hello())?;
        upstream_writer.write(&u::hello(), UPSTREAM_GRACE)?;
        let paths = HelloPaths { ours: ours_path, upstream: upstream_path };
        Ok(Hello { paths, ours_writer, upstream_writer })
    }

    /// The safe read (guard, one field, guard dropped) against the bare protocol and upstream's
    /// unchecked and checked reads, all four in one group.
    fn reads(&self, scratch: &Scratch) -> Result<Vec<Row>> {
        let reader = self.paths.ours_reader()?;
        let mut unchecked = self.paths.upstream_reader();
        let mut checked = self.paths.upstream_reader();
        let bare = bare::Bare::create(&scratch.path("bare_protocol"))?;
        let m = group(vec![
            timed(|| {
                let guard = reader.read().expect("ours: read");
                black_box(guard.version);
            }),
            timed(bare.read_op()),
            timed(|| {
                // SAFETY: nothing writes this channel while the group runs.
                let value =
                    unsafe { unchecked.read::<u::HelloWorld>(false) }.expect("upstream: read");
                black_box(value.version);
            }),
            timed(|| {
                // SAFETY: as above.
                let value = unsafe { checked.read::<u::HelloWorld>(true) }.expect("upstream: read");
                black_box(value.version);
            }),
        ]);
        Ok(vec![
            Row::new("safe `read()` + guard drop vs the bare read protocol", "HelloWorld", m[0])
                .against(m[1], "bare protocol")
                .target("#12", Target::Ratio(1.5)),
            Row::new("safe `read()` vs upstream unchecked read", "HelloWorld", m[0])
                .against(m[2], "upstream `read(false)`")
                .target("#12", Target::Ratio(0.5))
                .floor(m[1] / m[2]),
            Row::new("safe `read()` vs upstream checked read", "HelloWorld", m[0])
                .against(m[3], "upstream `read(true)`")
                .target("#4", Target::Ratio(0.3)),
            Row::new(
                "the bare read protocol vs upstream unchecked read (the floor of a safe read)",
                "HelloWorld",
                m[1],
            )
            .against(m[2], "upstream `read(false)`"),
        ])
    }

    /// The first safe read of each new generation: batches of (write, read) minus batches of
    /// (write) timed in the same rounds, against upstream's checked read; cross-checked with
    /// each read timed on its own.
    fn first_reads(&mut self) -> Result<(Vec<Row>, Section)> {
        let reader = self.paths.ours_reader()?;
        let mut steady = self.paths.upstream_reader();
        let mut after_write = self.paths.upstream_reader();
        let (ours_value, upstream_value) = (o::hello(), u::hello());
        let archived = ours::rkyv::to_bytes::<ours::rkyv::rancor::Error>(&ours_value)?;

        // A write then a read on one thread serves that write.
        let published = self.ours_writer.write(&ours_value)?;
        if reader.read()?.generation() != published.generation {
            return Err("a read after a write did not return the write".into());
        }

        let writer = RefCell::new(&mut self.ours_writer);
        let sync_writer = RefCell::new(&mut self.upstream_writer);
        let write_ours = || {
            black_box(writer.borrow_mut().write(&ours_value).expect("ours: write"));
        };
        let write_upstream = || {
            black_box(
                sync_writer
                    .borrow_mut()
                    .write(&upstream_value, UPSTREAM_GRACE)
                    .expect("upstream: write"),
            );
        };
        let samples = rounds(vec![
            timed(|| {
                write_ours();
                black_box(reader.read().expect("ours: read").version);
            }),
            timed(write_ours),
            timed(|| {
                write_upstream();
                // SAFETY: the guard is dropped before the next write.
                let value =
                    unsafe { after_write.read::<u::HelloWorld>(true) }.expect("upstream: read");
                black_box(value.version);
            }),
            timed(write_upstream),
            timed(|| {
                // SAFETY: as above.
                let value = unsafe { steady.read::<u::HelloWorld>(true) }.expect("upstream: read");
                black_box(value.version);
            }),
            timed(|| {
                black_box(reader.read().expect("ours: read").version);
            }),
            timed(|| {
                let bytes = black_box(archived.as_slice());
                let value =
                    ours::rkyv::access::<o::ArchivedHelloWorld, ours::rkyv::rancor::Error>(bytes)
                        .expect("ours: bytecheck");
                black_box(value.version);
                black_box(xxhash_rust::xxh3::xxh3_64(bytes));
            }),
        ]);
        let by_hand = median(samples[6].clone());
        let ours_first = median_difference(&samples[0], &samples[1]);
        let upstream_first = median_difference(&samples[2], &samples[3]);
        let upstream_checked = median(samples[4].clone());
        let ours_repeat = median(samples[5].clone());
        let (ours_write, upstream_write) = (median(samples[1].clone()), median(samples[3].clone()));

        // Cross-check: each read after a write timed on its own, minus the timer's own cost.
        let timer = median(timer_samples(FIRST_READ_SAMPLES));
        let mut ours_single = Vec::with_capacity(FIRST_READ_SAMPLES);
        let mut upstream_single = Vec::with_capacity(FIRST_READ_SAMPLES);
        for _ in 0..FIRST_READ_SAMPLES {
            write_ours();
            let start = Instant::now();
            black_box(reader.read().expect("ours: read").version);
            ours_single.push(start.elapsed().as_nanos() as f64 - timer);
            write_upstream();
            let start = Instant::now();
            // SAFETY: as above.
            let value = unsafe { after_write.read::<u::HelloWorld>(true) }.expect("upstream: read");
            black_box(value.version);
            upstream_single.push(start.elapsed().as_nanos() as f64 - timer);
        }
        let (ours_single, upstream_single) = (median(ours_single), median(upstream_single));

        let mut section = Section::new("The first read of a new generation (#12, target 2)");
        section.line(
            "Official method: batches of (publish, then one safe `read()`) and batches of \
             (publish) alone, timed in the same interleaved rounds; the first read's cost is the \
             median over rounds of the per-round difference. Upstream's checked read validates \
             every time, so its steady checked read is the target's baseline; its read right \
             after a write is measured the same way as ours. Cross-check: each read after a \
             write timed on its own with `Instant`, minus the median cost of two back-to-back \
             `Instant::now()` calls.",
        );
        section.line("");
        section.line("| read | batches (difference) | timed one by one |");
        section.line("| --- | ---: | ---: |");
        section.line(format!(
            "| ours, first safe read of a generation | {} | {} |",
            ns(ours_first),
            ns(ours_single)
        ));
        section.line(format!("| ours, repeat read (same generation) | {} | - |", ns(ours_repeat)));
        section.line(format!(
            "| upstream, checked read right after a write | {} | {} |",
            ns(upstream_first),
            ns(upstream_single)
        ));
        section.line(format!("| upstream, checked read (steady) | {} | - |", ns(upstream_checked)));
        section.line(format!(
            "| (publish alone: ours, upstream) | {}, {} | - |",
            ns(ours_write),
            ns(upstream_write)
        ));
        section.line(format!(
            "| validation by hand: bytecheck (`rkyv::access`) and xxh3 of the {} archived bytes | \
             {} | - |",
            archived.len(),
            ns(by_hand)
        ));
        section.line("");
        section.line(format!(
            "Timer cost subtracted in the cross-check: {}. The first read has to validate the \
             generation (bytecheck, checksum, fingerprint) on top of the read; done by hand on \
             the archived bytes, bytecheck and the checksum alone take {} ({} of upstream's \
             checked read), so with the repeat read's {} the first read cannot cost less than \
             about {} ({} of upstream's checked read) as long as it validates in full.",
            ns(timer),
            ns(by_hand),
            report::ratio_text(by_hand / upstream_checked),
            ns(ours_repeat),
            ns(by_hand + ours_repeat),
            report::ratio_text((by_hand + ours_repeat) / upstream_checked),
        ));
        section.line("");

        let rows = vec![
            Row::new(
                "first safe `read()` of each new generation vs upstream checked read",
                "HelloWorld",
                ours_first,
            )
            .against(upstream_checked, "upstream `read(true)`")
            .target("#12", Target::Ratio(1.5))
            .floor((by_hand + ours_repeat) / upstream_checked),
            Row::new(
                "validation by hand (bytecheck + xxh3) plus a repeat read vs upstream checked read \
                 (the floor of a first read)",
                "HelloWorld",
                by_hand + ours_repeat,
            )
            .against(upstream_checked, "upstream `read(true)`"),
        ];
        Ok((rows, section))
    }

    /// Two threads, each with its own reader, reading as fast as they can: wall time per read
    /// of both together (so ratio <= 0.125 means ours does at least 8x the reads per second).
    fn two_threads(&self) -> Result<Row> {
        let single = {
            let reader = self.paths.ours_reader()?;
            let mut op = || {
                black_box(reader.read().expect("ours: read").version);
            };
            calibrate(&mut op);
            batch(100_000, &mut op)
        };
        let per_thread = (BATCH.as_nanos() as f64 / single) as u64;
        let paths = &self.paths;
        let ours = || {
            aggregate(per_thread, || {
                let reader = paths.ours_reader().expect("ours: open reader");
                move || {
                    black_box(reader.read().expect("ours: read").version);
                }
            })
        };
        let upstream = || {
            aggregate(per_thread / 4, || {
                let mut sync = paths.upstream_reader();
                move || {
                    // SAFETY: nothing writes this channel while the pair runs.
                    let value =
                        unsafe { sync.read::<u::HelloWorld>(false) }.expect("upstream: read");
                    black_box(value.version);
                }
            })
        };
        let (ours, upstream) = interleave(ours, upstream);
        Ok(Row::new(
            "2 reader threads, each its own `Reader`: wall time per read of both",
            "HelloWorld",
            ours,
        )
        .against(upstream, "upstream `read(false)`")
        .target("#4", Target::Ratio(0.125)))
    }

    fn write(&mut self) -> Result<Row> {
        let (ours_value, upstream_value) = (o::hello(), u::hello());
        let (ours, upstream) = pair(
            || {
                black_box(self.ours_writer.write(&ours_value).expect("ours: write"));
            },
            || {
                black_box(
                    self.upstream_writer
                        .write(&upstream_value, UPSTREAM_GRACE)
                        .expect("upstream: write"),
                );
            },
        );
        Ok(Row::new("write", "HelloWorld", ours)
            .against(upstream, "upstream `write`")
            .target("#4", Target::Ratio(0.5)))
    }

    /// Pre-archived bytes: `write_bytes` (validates them) against upstream's `write_raw`.
    fn write_bytes(&mut self) -> Result<Row> {
        let ours_bytes = ours::rkyv::to_bytes::<ours::rkyv::rancor::Error>(&o::hello())?;
        let upstream_bytes = rkyv07::to_bytes::<_, 1024>(&u::hello())?;
        let (ours, upstream) = pair(
            || {
                black_box(self.ours_writer.write_bytes(&ours_bytes).expect("ours: write_bytes"));
            },
            || {
                black_box(
                    self.upstream_writer
                        .write_raw::<u::HelloWorld>(&upstream_bytes, UPSTREAM_GRACE)
                        .expect("upstream: write_raw"),
                );
            },
        );
        Ok(Row::new("`write_bytes` (validates the bytes)", "HelloWorld", ours)
            .against(upstream, "upstream `write_raw`"))
    }

    /// Opening a reader and its first read, against upstream's lazy open and first checked
    /// read, and against the system calls alone of opening our channel.
    fn open_and_first_read(&self) -> Result<Vec<Row>> {
        let paths = ours::ChannelPaths::new(&self.paths.ours);
        // The channel has been written more than once: both of its copies exist.
        if !paths.data(0).exists() {
            return Err(format!("{} does not exist", paths.data(0).display()).into());
        }
        let m = group(vec![
            timed(|| {
                let reader = self.paths.ours_reader().expect("ours: open reader");
                black_box(reader.read().expect("ours: read").version);
            }),
            timed(|| {
                let mut sync = self.paths.upstream_reader();
                // SAFETY: nothing writes this channel while the group runs.
                let value = unsafe { sync.read::<u::HelloWorld>(true) }.expect("upstream: read");
                black_box(value.version);
            }),
            timed(|| {
                let open = |path: &Path, writable: bool| {
                    let file = std::fs::File::options()
                        .read(true)
                        .write(writable)
                        .open(path)
                        .expect("open");
                    let len = file.metadata().expect("fstat").len() as usize;
                    let map = sys::SharedMap::map(&file, len.max(1), writable).expect("mmap");
                    (file, map, len)
                };
                let state = open(&paths.state, false);
                let readers = open(&paths.readers, true);
                let data = open(&paths.data(0), false);
                // The last byte of the slot table belongs to no slot's lock.
                sys::ofd_lock_and_unlock(&readers.0, readers.2 as u64 - 1).expect("lock");
                black_box((state, readers, data));
            }),
        ]);
        Ok(vec![
            Row::new("open a reader + its first read", "HelloWorld", m[0])
                .against(m[1], "upstream `new` + first `read(true)`")
                .target("#12", Target::Ratio(1.0))
                .floor(m[2] / m[1]),
            Row::new(
                "opening and mapping a reader's three files and locking a slot byte, by hand (the \
                 floor of opening a reader)",
                "HelloWorld",
                m[2],
            )
            .against(m[1], "upstream `new` + first `read(true)`"),
        ])
    }
}

/// Wall time per operation of two threads each running `per_thread` operations made by `make`
/// (called on the thread, so each thread opens its own reader).
fn aggregate<M, F>(per_thread: u64, make: M) -> f64
where
    M: Fn() -> F + Sync,
    F: FnMut(),
{
    let per_thread = per_thread.max(1);
    let barrier = Barrier::new(3);
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut op = make();
                for _ in 0..1000 {
                    op();
                }
                barrier.wait();
                for _ in 0..per_thread {
                    op();
                }
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    start.elapsed().as_nanos() as f64 / (2 * per_thread) as f64
}

/// Safe read of a validated ~10 MB string-heavy value against upstream's checked read, which
/// validates the whole archive on every call.
fn strings_read(scratch: &Scratch) -> Result<Row> {
    let ours_path = scratch.path("strings_ours");
    let upstream_path = scratch.path("strings_upstream");
    let mut writer = ours::Writer::<o::Strings>::open(&ours_path)?;
    let bytes = writer.write(&o::strings(STRING_ENTRIES))?.bytes;
    let mut sync_writer = Synchronizer::new(upstream_path.as_os_str());
    let (upstream_bytes, _) = sync_writer.write(&u::strings(STRING_ENTRIES), UPSTREAM_GRACE)?;
    let reader = ours::Reader::<o::Strings>::open(&ours_path)?;
    let mut sync = Synchronizer::new(upstream_path.as_os_str());
    let (ours, upstream) = pair(
        || {
            let guard = reader.read().expect("ours: read");
            black_box(guard.version);
        },
        || {
            // SAFETY: nothing writes this channel while the pair runs.
            let value = unsafe { sync.read::<u::Strings>(true) }.expect("upstream: read");
            black_box(value.version);
        },
    );
    Ok(Row::new(
        "safe `read()` of a validated value vs upstream checked read",
        format!(
            "string-heavy, {}k entries ({:.1} MB ours, {:.1} MB upstream)",
            STRING_ENTRIES / 1000,
            bytes as f64 / 1e6,
            upstream_bytes as f64 / 1e6
        ),
        ours,
    )
    .against(upstream, "upstream `read(true)`")
    .target("#4", Target::Ratio(0.001)))
}

/// The 64 MiB write in two styles: batched repeated writes (each side calibrated to a batch,
/// sides interleaved round by round), and alternating single writes on fresh channels (one of
/// ours, one of upstream's, one copy, repeated), each against `copy_from_slice` of the same
/// 64 MiB into a buffer touched beforehand.
fn big_write(scratch: &Scratch) -> Result<(Vec<Row>, Section)> {
    let (ours_value, upstream_value) = (o::big(BIG_LEN), u::big(BIG_LEN));
    let source: &[u64] = &ours_value.values;
    let mut touched = vec![1u64; BIG_LEN];
    let mut hashed = vec![1u64; BIG_LEN];
    let copy = |dst: &mut [u64]| {
        dst.copy_from_slice(black_box(source));
        black_box(dst.as_ptr());
    };

    // Batched.
    let mut writer = ours::Writer::<o::Big>::open(scratch.path("big_ours"))?;
    let mut sync = Synchronizer::new(scratch.path("big_upstream").as_os_str());
    let m = group(vec![
        timed(|| {
            black_box(writer.write(&ours_value).expect("ours: write"));
        }),
        timed(|| {
            black_box(sync.write(&upstream_value, UPSTREAM_GRACE).expect("upstream: write"));
        }),
        timed(|| copy(&mut touched)),
        timed(|| {
            copy(&mut hashed);
            // SAFETY: the bytes of a u64 slice, 8 per element, are initialized and any byte
            // value is a valid u8.
            let bytes = unsafe {
                std::slice::from_raw_parts(hashed.as_ptr().cast::<u8>(), hashed.len() * 8)
            };
            black_box(xxhash_rust::xxh3::xxh3_64(bytes));
        }),
    ]);
    let (batched_ours, batched_upstream, batched_copy, floor) = (m[0], m[1], m[2], m[3]);
    drop((writer, sync));
    scratch.remove_prefixed(&scratch.path("big_"));

    // Alternating single writes, on fresh channels: the first write of each side fills pages
    // of a new file, the second the other copy's; later ones rewrite pages already there.
    let mut writer = ours::Writer::<o::Big>::open(scratch.path("big_single_ours"))?;
    let mut sync = Synchronizer::new(scratch.path("big_single_upstream").as_os_str());
    let time = |op: &mut dyn FnMut()| {
        let start = Instant::now();
        op();
        start.elapsed().as_nanos() as f64
    };
    let (mut ours, mut upstream, mut copies, mut fresh) = (vec![], vec![], vec![], vec![]);
    for _ in 0..SINGLE_WRITES {
        ours.push(time(&mut || {
            black_box(writer.write(&ours_value).expect("ours: write"));
        }));
        upstream.push(time(&mut || {
            black_box(sync.write(&upstream_value, UPSTREAM_GRACE).expect("upstream: write"));
        }));
        copies.push(time(&mut || copy(&mut touched)));
        // The same copy into memory never touched before (pages fault in on first write).
        let mut new = Vec::<u64>::with_capacity(BIG_LEN);
        fresh.push(time(&mut || {
            new.extend_from_slice(black_box(source));
            black_box(new.as_ptr());
        }));
    }
    let (first_ours, first_upstream) = (ours[0], upstream[0]);
    let (second_ours, second_upstream) = (ours[1], upstream[1]);
    let (single_ours, single_upstream, single_copy, single_fresh) =
        (median(ours), median(upstream), median(copies), median(fresh));
    drop((writer, sync));
    scratch.remove_prefixed(&scratch.path("big_"));

    let mut section = Section::new("The 64 MiB write: two measurement styles (#12, target 3)");
    section.line(format!(
        "Batched: each side writes the 64 MiB `Vec<u64>` back to back for a batch of about {} \
         ms, sides interleaved over the rounds, medians (the channel's pages are all in place \
         after the calibration writes). Alternating: on fresh channels, one write of ours, one \
         of upstream, one `copy_from_slice` into the touched buffer and one into a new buffer, \
         repeated {SINGLE_WRITES} times, medians of single timings.",
        BATCH.as_millis()
    ));
    section.line("");
    section.line("| style | ours | upstream | copy, touched buffer | copy, new buffer | ours / upstream | ours / copy |");
    section.line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    section.line(format!(
        "| batched | {} | {} | {} | - | {} | {} |",
        ns(batched_ours),
        ns(batched_upstream),
        ns(batched_copy),
        report::ratio_text(batched_ours / batched_upstream),
        report::ratio_text(batched_ours / batched_copy)
    ));
    section.line(format!(
        "| alternating single writes | {} | {} | {} | {} | {} | {} |",
        ns(single_ours),
        ns(single_upstream),
        ns(single_copy),
        ns(single_fresh),
        report::ratio_text(single_ours / single_upstream),
        report::ratio_text(single_ours / single_copy)
    ));
    section.line("");
    section.line(format!(
        "First and second writes on the fresh channels (each fills a copy whose pages do not \
         exist yet): ours {} and {}, upstream {} and {}. The 64 MiB copied once and then \
         checksummed once (`copy_from_slice`, then xxh3 of the destination; batched with the \
         others): {}.",
        ns(first_ours),
        ns(second_ours),
        ns(first_upstream),
        ns(second_upstream),
        ns(floor)
    ));
    section.line("");
    let notes = WriteStyles {
        batched: (batched_ours, batched_upstream, batched_copy),
        single: (single_ours, single_upstream, single_copy),
        floor,
        fresh_copy: single_fresh,
        firsts: [first_ours, second_ours, first_upstream, second_upstream],
    };
    section.line(notes.explain());
    section.line("");

    let payload = "64 MiB `Vec<u64>`";
    let rows = vec![
        Row::new("write, batched", payload, batched_ours)
            .against(batched_upstream, "upstream `write`")
            .target("#4", Target::Ratio(0.6)),
        Row::new("write, batched, vs a plain copy", payload, batched_ours)
            .against(batched_copy, "`copy_from_slice`, touched buffer")
            .target("#12", Target::Ratio(1.5)),
        Row::new("write, alternating single writes", payload, single_ours)
            .against(single_upstream, "upstream `write`"),
        Row::new("write, alternating single writes, vs a plain copy", payload, single_ours)
            .against(single_copy, "`copy_from_slice`, touched buffer"),
    ];
    Ok((rows, section))
}

/// The 64 MiB write's figures, for the explanation of how its two styles differ.
struct WriteStyles {
    /// ours, upstream, copy.
    batched: (f64, f64, f64),
    single: (f64, f64, f64),
    /// Copy plus xxh3 of the destination: the bytes copied once and checksummed once.
    floor: f64,
    /// The copy into a buffer never touched before.
    fresh_copy: f64,
    /// First and second writes of ours, then of upstream, on fresh channels.
    firsts: [f64; 4],
}

impl WriteStyles {
    /// Why the styles differ, in this run's numbers.
    fn explain(&self) -> String {
        let [o1, o2, u1, u2] = self.firsts;
        let faults = self.fresh_copy - self.single.2;
        let llc = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index3/size")
            .ok()
            .and_then(|s| s.trim().strip_suffix('K').and_then(|k| k.parse::<u64>().ok()))
            .map_or("of unknown size".to_owned(), |k| {
                format!("{} MiB (as the CPU reports it)", k >> 10)
            });
        let mib = (BIG_LEN * 8) >> 20;
        format!(
            "How the styles differ. In this run ours / upstream is {} batched and {} \
             alternating; ours / copy {} and {}. What separates the styles: \
             *Page faults of fresh pages.* The first write into a page of a new file or buffer \
             faults it in: the copy into a new buffer takes {} against {} into a touched one, \
             {} of faults per {mib} MiB. A fresh channel's first write into each of its copies \
             pays them (ours {} and {}, against {} later); upstream pays them on its first \
             writes for its data files and its serialization buffer ({} and {}, against {} \
             later). A harness that times only a few writes, or opens channels per sample, \
             measures these faults more than the writes, and the ratio moves toward 1 (both \
             sides fault in the same data pages). The batched style's calibration writes \
             fault every page in before anything is timed; the alternating style's medians are \
             not moved by the first two writes of each side. *Caches.* The last-level cache is {llc}. \
             The batched style repeats one side's write, whose source and copies ({} MiB) \
             stay as cached as they fit; the alternating style runs both sides and the copies \
             in turn ({} MiB in all), so each write starts with caches full of the others' \
             data. *Copy choice.* Ours serializes the value straight into the mapped copy and \
             checksums it (a copy followed by an xxh3 pass over the destination, two passes, \
             takes {}; ours takes {} of that); upstream serializes into a heap buffer, validates it, hashes it, copies it into \
             its mapped file and msyncs it: more passes over the bytes, which cost more the \
             less of them the caches hold.",
            report::ratio_text(self.batched.0 / self.batched.1),
            report::ratio_text(self.single.0 / self.single.1),
            report::ratio_text(self.batched.0 / self.batched.2),
            report::ratio_text(self.single.0 / self.single.2),
            ns(self.fresh_copy),
            ns(self.single.2),
            ns(faults),
            ns(o1),
            ns(o2),
            ns(self.single.0),
            ns(u1),
            ns(u2),
            ns(self.single.1),
            3 * mib,
            // Ours: value, 2 copies; upstream: value, buffer, 2 copies; the copy's buffers.
            3 * mib + 4 * mib + 2 * mib,
            ns(self.floor),
            report::ratio_text(self.batched.0 / self.floor),
        )
    }
}

/// p99 write latency while a reader holds a guard on a copy that is no longer active.
///
/// Ours: 3 copies, so the writer rotates through the two unpinned ones. Upstream has two copies;
/// each sample pins the active one (its guard is leaked, so the count stays up), writes once
/// (to the other copy) and times the second write, which finds the pinned copy, sleeps its
/// fixed 1 s step, then resets the count and overwrites the copy under the reader.
fn pinned_write_latency(scratch: &Scratch) -> Result<Row> {
    let ours_path = scratch.path("pinned_ours");
    let value = o::hello();
    let mut writer = ours::Writer::<o::HelloWorld>::builder()
        .copies(3)
        .max_wait(Duration::from_secs(1))
        .open(&ours_path)?;
    for _ in 0..3 {
        writer.write(&value)?;
    }
    let reader = ours::Reader::<o::HelloWorld>::open(&ours_path)?;
    let guard = reader.read()?;
    let mut samples = Vec::with_capacity(PINNED_WRITES);
    for _ in 0..PINNED_WRITES {
        let start = Instant::now();
        black_box(writer.write(&value)?);
        samples.push(start.elapsed().as_nanos() as f64);
    }
    drop(guard);
    let ours = quantile(samples, 0.99);

    let upstream_path = scratch.path("pinned_upstream");
    let value = u::hello();
    let mut sync_writer = Synchronizer::new(upstream_path.as_os_str());
    sync_writer.write(&value, UPSTREAM_GRACE)?;
    let mut sync_reader = Synchronizer::new(upstream_path.as_os_str());
    let mut samples = Vec::with_capacity(UPSTREAM_PINNED_SAMPLES);
    for _ in 0..UPSTREAM_PINNED_SAMPLES {
        // SAFETY: the guard is leaked, never dereferenced after the writer resets it.
        std::mem::forget(unsafe { sync_reader.read::<u::HelloWorld>(false) }?);
        sync_writer.write(&value, UPSTREAM_GRACE)?;
        let start = Instant::now();
        black_box(sync_writer.write(&value, UPSTREAM_GRACE)?);
        samples.push(start.elapsed().as_nanos() as f64);
    }
    let upstream = quantile(samples, 0.99);
    Ok(Row::new(
        "writer latency p99 while a reader pins an old copy (ours: 3 copies)",
        "HelloWorld",
        ours,
    )
    .against(upstream, "upstream `write`")
    .target("#4", Target::Ours(100_000.0)))
}

/// RssAnon of a fresh reader process after reading one field of a 64 MiB value, minus the same
/// for an empty value, each the median of three child processes.
fn rss(scratch: &Scratch) -> Result<Row> {
    let mut deltas = Vec::new();
    for side in ["ours", "upstream"] {
        let empty = scratch.path(&format!("rss_empty_{side}"));
        let full = scratch.path(&format!("rss_full_{side}"));
        // Keep the writers open while the children read, as on a live channel.
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        for (path, len) in [(&empty, 0), (&full, BIG_LEN)] {
            if side == "ours" {
                let mut w = ours::Writer::<o::Big>::open(path)?;
                w.write(&o::big(len))?;
                keep.push(Box::new(w));
            } else {
                let mut w = Synchronizer::new(path.as_os_str());
                w.write(&u::big(len), UPSTREAM_GRACE)?;
                keep.push(Box::new(w));
            }
        }
        let child = |path: &Path| -> Result<f64> {
            let mut runs = Vec::new();
            for _ in 0..3 {
                let out = std::process::Command::new(std::env::current_exe()?)
                    .arg("rss")
                    .arg(side)
                    .arg(path)
                    .output()?;
                if !out.status.success() {
                    return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
                }
                runs.push(String::from_utf8(out.stdout)?.trim().parse::<f64>()?);
            }
            Ok(median(runs))
        };
        deltas.push(child(&full)? - child(&empty)?);
    }
    Ok(Row::new(
        "reader RssAnon after reading one field, minus an empty value's",
        "64 MiB `Vec<u64>`",
        deltas[0],
    )
    .against(deltas[1], "upstream")
    .unit(Unit::KiB)
    .target("#4", Target::Ours(4096.0)))
}

/// Child mode: open a reader at `path`, read one field, print RssAnon in KiB.
fn rss_child(side: &str, path: &Path) -> Result<()> {
    match side {
        "ours" => {
            let reader = ours::Reader::<o::Big>::open(path)?;
            let guard = reader.read()?;
            black_box(guard.version);
            println!("{}", sys::status_kib("RssAnon")?);
        }
        "upstream" => {
            let mut sync = Synchronizer::new(path.as_os_str());
            // SAFETY: the writer does not write this channel again.
            let value = unsafe { sync.read::<u::Big>(true) }?;
            black_box(value.version);
            println!("{}", sys::status_kib("RssAnon")?);
        }
        other => return Err(format!("unknown side {other}").into()),
    }
    Ok(())
}
