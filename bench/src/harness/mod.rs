//! The harness every figure runs in: the command line, the run's budget and files, the shared
//! HelloWorld channels, and the report the figures add to. Figures are functions from a
//! [`Context`] to an [`Outcome`]; `main.rs` lists them in the order they run.

mod hello;
pub mod measure;
mod process;
pub mod report;
mod scratch;
mod stop;
pub mod sys;

use std::path::PathBuf;
use std::time::Duration;

pub use hello::Hello;
pub use process::ChildProcess;
pub use scratch::Scratch;
pub use stop::StopOnDrop;

use report::{Row, Section};

pub type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// One figure (or group of figures measured together): the name `--only` takes, the function
/// that measures it, and how many times the report runs it (each row then shows the run with
/// the median ratio and the spread of the runs' ratios).
pub struct Figure {
    pub name: &'static str,
    pub run: fn(&mut Context) -> Result<Outcome>,
    pub runs: usize,
}

/// A child process mode, used to measure fresh processes: the first argument names it, the
/// rest are its own.
pub struct Child {
    pub name: &'static str,
    pub run: fn(&[String]) -> Result<()>,
}

/// What a figure measured: rows of the table, and a section of the full report that says how.
#[derive(Default)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub section: Option<Section>,
}

impl Outcome {
    /// The outcomes of several runs of one figure as one: each row the merge of that row's
    /// runs ([`Row::merge`]), the section the last run's.
    fn merge(mut runs: Vec<Outcome>) -> Result<Outcome> {
        if runs.len() == 1 {
            return Ok(runs.pop().expect("one run"));
        }
        let count = runs.len();
        let rows = runs[0].rows.len();
        if runs.iter().any(|r| r.rows.len() != rows) {
            return Err("the runs of a figure gave different numbers of rows".into());
        }
        let mut section = runs.last_mut().and_then(|r| r.section.take());
        if let Some(section) = &mut section {
            section.body = format!(
                "*Measured in {count} runs: the tables of figures give, for each figure, the run \
                 with the median ratio and the spread of the runs' ratios; the numbers of this \
                 section are the last run's.*\n\n{}",
                section.body
            );
        }
        let mut columns: Vec<Vec<Row>> = (0..rows).map(|_| Vec::with_capacity(count)).collect();
        for run in runs {
            for (column, row) in columns.iter_mut().zip(run.rows) {
                column.push(row);
            }
        }
        Ok(Outcome { rows: columns.into_iter().map(Row::merge).collect(), section })
    }
}

impl From<Row> for Outcome {
    fn from(row: Row) -> Self {
        Outcome { rows: vec![row], section: None }
    }
}

impl From<Vec<Row>> for Outcome {
    fn from(rows: Vec<Row>) -> Self {
        Outcome { rows, section: None }
    }
}

impl From<(Vec<Row>, Section)> for Outcome {
    fn from((rows, section): (Vec<Row>, Section)) -> Self {
        Outcome { rows, section: Some(section) }
    }
}

impl From<Section> for Outcome {
    fn from(section: Section) -> Self {
        Outcome { rows: vec![], section: Some(section) }
    }
}

/// What every figure may use: the run's files, its budget and the shared HelloWorld channels.
pub struct Context {
    pub scratch: Scratch,
    pub budget: Budget,
    pub hello: Hello,
}

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
    /// Publish-to-visible in another process: publishes of 1 MiB per side.
    pub visible_mib: u32,
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
            visible_mib: 300,
            large_bytes: 1 << 30,
        }
    }

    /// Every figure, much shorter and noisier.
    fn quick() -> Self {
        Budget {
            latency_run: Duration::from_secs(2),
            cpu_publishes: 6,
            visible_small: 200,
            visible_table: 12,
            visible_mib: 60,
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
    /// Runs of every figure, instead of each figure's own count.
    runs: Option<usize>,
}

impl Options {
    fn parse(args: &[String], figures: &[Figure]) -> Result<Options> {
        let mut options = Options {
            markdown: None,
            report: None,
            budget: Budget::full(),
            quick: false,
            only: vec![],
            runs: None,
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
                        if !figures.iter().any(|f| f.name == name) {
                            let known: Vec<_> = figures.iter().map(|f| f.name).collect();
                            return Err(format!("unknown figure {name}; known: {known:?}").into());
                        }
                        options.only.push(name.to_owned());
                    }
                }
                "--runs" => {
                    let runs = args.next().ok_or("--runs needs a count")?.parse::<usize>()?;
                    options.runs = Some(runs.max(1));
                }
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(options)
    }

    fn wants(&self, figure: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == figure)
    }
}

/// Runs the child mode `args[1]` names, or else the figures the command line asks for (all of
/// them by default, in the order given), printing each row as it is measured and writing the
/// tables the options ask for.
pub fn main(figures: &[Figure], children: &[Child]) -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(child) = args.get(1).and_then(|mode| children.iter().find(|c| c.name == mode)) {
        return (child.run)(&args[2..]);
    }
    let options = Options::parse(&args[1..], figures)?;
    // The many-readers figure maps a few thousand files.
    sys::raise_nofile()?;

    let scratch = Scratch::new();
    let hello = Hello::open(&scratch)?;
    let mut cx = Context { scratch, budget: options.budget, hello };
    let mut rows = Vec::new();
    let mut sections = Vec::new();
    for figure in figures.iter().filter(|f| options.wants(f.name)) {
        let runs = options.runs.unwrap_or(figure.runs).max(1);
        let mut outcomes = Vec::with_capacity(runs);
        for run in 1..=runs {
            if runs > 1 {
                eprintln!("{}: run {run} of {runs}", figure.name);
            }
            outcomes.push((figure.run)(&mut cx)?);
        }
        let outcome = Outcome::merge(outcomes)?;
        for row in outcome.rows {
            println!("{}", row.console());
            rows.push(row);
        }
        sections.extend(outcome.section);
    }

    if let Some(file) = &options.markdown {
        std::fs::write(file, report::table(rows.iter().filter(|r| r.in_table())))?;
    }
    if let Some(file) = &options.report {
        std::fs::write(file, full_report(&rows, &sections, options.quick))?;
    }
    let missed = rows.iter().filter(|r| r.met() == Some(false)).count();
    eprintln!(
        "{} figures, {} with targets, {missed} not met{}",
        rows.len(),
        rows.iter().filter(|r| r.met().is_some()).count(),
        if options.quick { " (--quick: not the report's numbers)" } else { "" }
    );
    Ok(())
}

/// The full report: every figure, then each section.
fn full_report(rows: &[Row], sections: &[Section], quick: bool) -> String {
    let mut out = String::new();
    if quick {
        out.push_str("**Run with `--quick`: shortened figures, not for publishing.**\n\n");
    }
    out.push_str("## Every figure\n\n");
    out.push_str(&report::table(rows));
    out.push('\n');
    out.push_str(FLOORS);
    out.push_str("\n\n");
    for section in sections {
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
that looks at every live reader's slot does at least that); iceoryx2's publish-to-visible with \
its publisher hashing each sample as it copies it in and its reader hashing each received \
sample in full (a channel that checksums each generation as it is written and checks it in \
full when it is read, the bytes moving as iceoryx2 moves them, does at least that). Each floor but the \
last has a row of its own above; the sections below say more.";
