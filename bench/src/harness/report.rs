//! Figures with their targets, and the markdown they become: the targets table (the README's
//! benchmark section) and the full report (`RESULTS.md`).

use std::fmt::Write as _;

/// What a figure is counted in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Time, shown in the most readable of ns, µs, ms, s.
    Ns,
    KiB,
    /// A count (reads, validations), per whatever the row says.
    Count,
    /// Operations per second.
    PerSec,
}

/// What a figure must show to meet its target.
#[derive(Clone, Copy)]
pub enum Target {
    /// ours / baseline at most this.
    Ratio(f64),
    /// ours / baseline at least this.
    AtLeast(f64),
    /// ours at most this, in the row's unit.
    Ours(f64),
    /// Reported for information only.
    None,
}

/// What ours is compared with: a value measured in the same run, and what it is.
#[derive(Clone)]
pub struct Base {
    pub value: f64,
    pub label: String,
}

pub struct Row {
    /// The issue that set the target (`#4` for the first round).
    pub issue: &'static str,
    /// What is measured, one line.
    pub what: String,
    pub payload: String,
    pub unit: Unit,
    pub ours: f64,
    pub base: Option<Base>,
    pub target: Target,
    /// The lowest ratio the design can reach, measured in the same run (its own row says how),
    /// for figures whose target may be out of reach.
    pub floor: Option<f64>,
    /// Shown in the README's table even without a target.
    pub headline: bool,
    /// For a figure measured in several runs: each run's ratio (or, without a baseline, each
    /// run's figure of ours). The row's values are then those of the run with the median.
    pub runs: Vec<f64>,
}

impl Row {
    /// A figure of ours, in ns, with no baseline and no target yet.
    pub fn new(what: impl Into<String>, payload: impl Into<String>, ours: f64) -> Row {
        Row {
            issue: "",
            what: what.into(),
            payload: payload.into(),
            unit: Unit::Ns,
            ours,
            base: None,
            target: Target::None,
            floor: None,
            headline: false,
            runs: Vec::new(),
        }
    }

    /// Puts the row in the README's table even though it has no target.
    pub fn headline(mut self) -> Row {
        self.headline = true;
        self
    }

    /// Whether the README's table shows the row: it has a target, or is a headline.
    pub fn in_table(&self) -> bool {
        self.met().is_some() || self.headline
    }

    /// The same figure measured in several runs (each run's row, in run order) as one row:
    /// the row of the run whose ratio (or, without a baseline, whose figure of ours) is the
    /// median, so that ours, the baseline and the ratio shown come from one run, with every
    /// run's ratio kept for the spread.
    pub fn merge(rows: Vec<Row>) -> Row {
        let per_run: Vec<f64> = rows.iter().map(|r| r.ratio().unwrap_or(r.ours)).collect();
        let middle = crate::harness::measure::median(per_run.clone());
        let chosen = per_run.iter().position(|&r| r == middle).unwrap_or(0);
        let row = rows.into_iter().nth(chosen).expect("a figure runs at least once");
        Row { runs: per_run, ..row }
    }

    /// The lowest ratio reachable, as measured (see [`Row::floor`](Row)).
    pub fn floor(mut self, ratio: f64) -> Row {
        self.floor = Some(ratio);
        self
    }

    pub fn against(mut self, value: f64, label: impl Into<String>) -> Row {
        self.base = Some(Base { value, label: label.into() });
        self
    }

    pub fn target(mut self, issue: &'static str, target: Target) -> Row {
        self.issue = issue;
        self.target = target;
        self
    }

    pub fn unit(mut self, unit: Unit) -> Row {
        self.unit = unit;
        self
    }

    /// ours / baseline (for a row of several runs, that of the run with the median ratio).
    pub fn ratio(&self) -> Option<f64> {
        self.base.as_ref().map(|b| self.ours / b.value)
    }

    /// For a row of several runs: the lowest and highest of the runs' ratios (or figures of
    /// ours, without a baseline), and how many runs there were.
    pub fn spread(&self) -> Option<(f64, f64, usize)> {
        (self.runs.len() > 1).then(|| {
            let lo = self.runs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = self.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi, self.runs.len())
        })
    }

    fn spread_text(&self) -> String {
        match self.spread() {
            Some((lo, hi, n)) if self.base.is_some() => {
                format!("{}–{} ({n} runs)", ratio_text(lo), ratio_text(hi))
            }
            Some((lo, hi, n)) => {
                format!("{}–{} ({n} runs)", human(lo, self.unit), human(hi, self.unit))
            }
            None => String::new(),
        }
    }

    pub fn met(&self) -> Option<bool> {
        let ratio = self.ratio();
        match self.target {
            Target::Ratio(max) => ratio.map(|r| r.is_finite() && r <= max),
            Target::AtLeast(min) => ratio.map(|r| r.is_finite() && r >= min),
            Target::Ours(max) => Some(self.ours <= max),
            Target::None => None,
        }
    }

    fn target_text(&self) -> String {
        let text = match self.target {
            Target::Ratio(max) => format!("ratio <= {max}"),
            Target::AtLeast(min) => format!("ratio >= {min}"),
            Target::Ours(max) => format!("<= {}", human(max, self.unit)),
            Target::None => return String::new(),
        };
        format!("{text} ({})", self.issue)
    }

    /// One line for the console.
    pub fn console(&self) -> String {
        let base = self
            .base
            .as_ref()
            .map_or(String::new(), |b| format!(" vs {} {}", human(b.value, self.unit), b.label));
        let ratio = self.ratio().map_or(String::new(), |r| format!(" ratio {}", ratio_text(r)));
        let met = match self.met() {
            Some(true) => " [met]",
            Some(false) => " [NOT MET]",
            None => "",
        };
        let spread = match self.spread_text() {
            s if s.is_empty() => s,
            s => format!(" spread {s}"),
        };
        format!(
            "{} ({}): {}{base}{ratio}{spread}{met}",
            self.what,
            self.payload,
            human(self.ours, self.unit)
        )
    }
}

/// The table of `rows`: | figure | payload | ours | against | ratio | target | met | floor |
/// spread |.
pub fn table<'a>(rows: impl IntoIterator<Item = &'a Row>) -> String {
    let mut out = String::from(
        "| figure | payload | ours | against | ratio | target | met | floor | spread |\n\
         | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: |\n",
    );
    for row in rows {
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let against = row
            .base
            .as_ref()
            .map_or("-".to_owned(), |b| format!("{} ({})", human(b.value, row.unit), b.label));
        let ratio = row.ratio().map_or("-".to_owned(), ratio_text);
        let floor = row.floor.map_or(String::new(), ratio_text);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.what,
            row.payload,
            human(row.ours, row.unit),
            against,
            ratio,
            row.target_text(),
            met,
            floor,
            row.spread_text()
        )
        .expect("writing to a String");
    }
    out
}

pub fn ratio_text(ratio: f64) -> String {
    if !ratio.is_finite() || ratio <= 0.0 {
        "-".into()
    } else if ratio < 0.01 {
        format!("{ratio:.2e}")
    } else {
        format!("{ratio:.3}")
    }
}

/// A value in its unit, with times scaled to the most readable unit.
pub fn human(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Ns => ns(value),
        Unit::KiB if value.abs() >= 10.0 * 1024.0 => format!("{:.1} MiB", value / 1024.0),
        Unit::KiB => format!("{value:.0} KiB"),
        Unit::Count if value.fract() == 0.0 => format!("{value:.0}"),
        Unit::Count => format!("{value:.2}"),
        Unit::PerSec if value >= 1e6 => format!("{:.1} M/s", value / 1e6),
        Unit::PerSec => format!("{value:.0} /s"),
    }
}

/// A time in ns, scaled.
pub fn ns(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1e9 {
        format!("{:.2} s", value / 1e9)
    } else if abs >= 1e6 {
        format!("{:.2} ms", value / 1e6)
    } else if abs >= 1e3 {
        format!("{:.2} µs", value / 1e3)
    } else {
        format!("{value:.1} ns")
    }
}

/// A section of the full report: a heading, then markdown.
pub struct Section {
    pub title: String,
    pub body: String,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Section {
        Section { title: title.into(), body: String::new() }
    }

    /// Appends a line (a paragraph ends with an empty line).
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.body.push_str(text.as_ref());
        self.body.push('\n');
    }
}
