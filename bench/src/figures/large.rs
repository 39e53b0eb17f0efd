//! A large value end to end, each side in fresh processes: a writer process builds the value
//! and publishes it once, a reader process (started before the publish) waits for it and reads
//! it. Measured: the publish time, the writer's peak RSS during the publish beyond what it had
//! with the value built, the wall time from the start of the publish to the end of the reader's
//! first successful read (CLOCK_MONOTONIC, which both processes share), and the reader's RSS.
//!
//! The parent talks to its children through lines on their stdin/stdout:
//! writer: `ready` (value built, channel open) <- `go` -> `published ...`, exits at stdin EOF;
//! reader: `ready` (waiting) -> `read ...`.

use std::hint::black_box;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use upstream::synchronizer::Synchronizer;

use crate::harness::report::{Row, Section, Unit, human, ns};
use crate::harness::{ChildProcess, Context, Outcome, Result, Scratch, sys};
use crate::values::{UPSTREAM_GRACE, ours as o, upstream as u};

pub const GIB: u64 = 1 << 30;
/// Archived bytes per entry of `strings(n)` (about 120; the exact size is reported).
const STRING_ENTRY_BYTES: u64 = 120;

/// The two payloads: a `Vec<u64>` (validation is cheap per byte: bytecheck looks at the vector
/// once, the checksum reads every byte) and a table of strings (bytecheck visits every string).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    U64,
    Strings,
}

impl Payload {
    fn name(self) -> &'static str {
        match self {
            Payload::U64 => "u64",
            Payload::Strings => "strings",
        }
    }

    fn parse(s: &str) -> Result<Payload> {
        match s {
            "u64" => Ok(Payload::U64),
            "strings" => Ok(Payload::Strings),
            other => Err(format!("unknown payload {other}").into()),
        }
    }

    /// Elements of the payload for about `bytes` archived bytes.
    fn elements(self, bytes: u64) -> usize {
        match self {
            Payload::U64 => (bytes / 8) as usize,
            Payload::Strings => (bytes / STRING_ENTRY_BYTES) as usize,
        }
    }

    fn describe(self, bytes: u64) -> String {
        let size = if bytes >= GIB {
            format!("{} GiB", bytes / GIB)
        } else {
            format!("{} MiB", bytes >> 20)
        };
        match self {
            Payload::U64 => format!("{size} `Vec<u64>`"),
            Payload::Strings => format!("{size} table of strings"),
        }
    }
}

/// What the writer child reports.
struct Published {
    start_ns: u64,
    publish_ns: u64,
    archived_bytes: u64,
    /// VmRSS with the value built, just before the publish; then the peak during it.
    rss_before_kib: u64,
    peak_kib: u64,
}

/// What the reader child reports.
struct Read {
    end_ns: u64,
    rss_anon_kib: u64,
    rss_shmem_kib: u64,
}

struct EndToEnd {
    published: Published,
    read: Read,
}

/// Picks the size: 1 GiB unless /dev/shm or memory cannot hold a run of it (the value in the
/// writer's heap, upstream's serialization buffer beside it, one published copy), halving
/// until they can. The note says why when it is smaller.
fn size_that_fits(wanted: u64) -> Result<(u64, Option<String>)> {
    let shm = sys::available_bytes(Path::new("/dev/shm"))?;
    let mem = sys::meminfo_kib("MemAvailable")? * 1024;
    let mut size = wanted;
    // Strings take about three times their archived size in the heap, and upstream serializes
    // into a buffer before copying.
    while size > 16 << 20 && (shm < 2 * size || mem < 7 * size) {
        size /= 2;
    }
    let note = (size < wanted).then(|| {
        format!(
            "Scaled down to {} MiB from {} MiB: /dev/shm has {} MiB free and {} MiB of memory is \
             available; a size S needs about 2 S of /dev/shm and 7 S of memory.",
            size >> 20,
            wanted >> 20,
            shm >> 20,
            mem >> 20
        )
    });
    Ok((size, note))
}

pub fn run(cx: &mut Context) -> Result<Outcome> {
    let (scratch, budget) = (&cx.scratch, cx.budget);
    let (size, note) = size_that_fits(budget.large_bytes)?;
    let mut section = Section::new("A large value end to end (#12, target 6)");
    section.line(
        "Each side in fresh processes: a writer process builds the value, opens the channel and \
         publishes once; a reader process, started before the publish, waits for it (ours: \
         `wait_for_change`, a futex; upstream has no wait, so its reader polls `version()`) \
         and reads it (ours: safe `read()`, which validates the generation: bytecheck and \
         checksum; upstream: checked `read(true)`). Publish: the writer's `write` call. \
         Writer peak beyond the value: the writer's VmHWM during the publish (reset just \
         before it through /proc/self/clear_refs) minus its VmRSS with the value built; the \
         published copy's pages in /dev/shm, mapped by the writer, count in it. Visible: from \
         the start of the publish to the end of the reader's first successful read, on \
         CLOCK_MONOTONIC. Reader RSS: RssAnon and RssShmem of the reader process after that \
         read (shared pages of the copy count in RssShmem, once for the whole host).",
    );
    section.line("");
    if let Some(note) = &note {
        section.line(note);
        section.line("");
    }
    section.line(
        "| payload | side | archived | publish | writer peak beyond the value | visible in \
         another process | reader RssAnon | reader RssShmem |",
    );
    section.line("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for payload in [Payload::U64, Payload::Strings] {
        let elements = payload.elements(size);
        let ours = run_one(scratch, "ours", payload, elements)?;
        let upstream = run_one(scratch, "upstream", payload, elements)?;
        for (side, outcome) in [("ours", &ours), ("upstream 2.0.4", &upstream)] {
            let (p, r) = (&outcome.published, &outcome.read);
            section.line(format!(
                "| {} | {side} | {:.1} MiB | {} | {} | {} | {} | {} |",
                payload.describe(size),
                p.archived_bytes as f64 / (1 << 20) as f64,
                ns(p.publish_ns as f64),
                human(p.peak_kib as f64 - p.rss_before_kib as f64, Unit::KiB),
                ns(r.end_ns.saturating_sub(p.start_ns) as f64),
                human(r.rss_anon_kib as f64, Unit::KiB),
                human(r.rss_shmem_kib as f64, Unit::KiB),
            ));
        }
        let what = payload.describe(size);
        let visible = |o: &EndToEnd| o.read.end_ns.saturating_sub(o.published.start_ns) as f64;
        let beyond = |o: &EndToEnd| o.published.peak_kib as f64 - o.published.rss_before_kib as f64;
        rows.push(
            Row::new("publish", what.clone(), ours.published.publish_ns as f64)
                .against(upstream.published.publish_ns as f64, "upstream `write`"),
        );
        rows.push(
            Row::new(
                "writer peak RSS during the publish beyond the value",
                what.clone(),
                beyond(&ours),
            )
            .against(beyond(&upstream), "upstream")
            .unit(Unit::KiB),
        );
        rows.push(
            Row::new(
                "publish start to first read in another process",
                what.clone(),
                visible(&ours),
            )
            .against(visible(&upstream), "upstream, checked read"),
        );
        rows.push(
            Row::new("reader RssAnon after its first read", what, ours.read.rss_anon_kib as f64)
                .against(upstream.read.rss_anon_kib as f64, "upstream")
                .unit(Unit::KiB),
        );
    }
    section.line("");
    Ok((rows, section).into())
}

/// One writer process and one reader process for `side`.
fn run_one(scratch: &Scratch, side: &str, payload: Payload, elements: usize) -> Result<EndToEnd> {
    let path = scratch.path(&format!("large_{}_{side}", payload.name()));
    let elements = elements.to_string();
    let spawn = |mode: &str| {
        ChildProcess::spawn(&[mode, side, payload.name(), &elements, &path.to_string_lossy()])
    };
    let mut writer = spawn("large-writer")?;
    writer.expect("ready")?;
    let mut reader = spawn("large-reader")?;
    reader.expect("ready")?;
    // Let the reader reach its wait.
    std::thread::sleep(Duration::from_millis(200));
    writer.say("go")?;
    let w = writer.fields("published")?;
    let r = reader.fields("read")?;
    for child in [writer, reader] {
        child.wait().map_err(|e| format!("a {side} {} child: {e}", payload.name()))?;
    }
    scratch.remove_prefixed(&path);
    Ok(EndToEnd {
        published: Published {
            start_ns: w[0],
            publish_ns: w[1],
            archived_bytes: w[2],
            rss_before_kib: w[3],
            peak_kib: w[4],
        },
        read: Read { end_ns: r[0], rss_anon_kib: r[1], rss_shmem_kib: r[2] },
    })
}

/// Child: `large-writer SIDE PAYLOAD ELEMENTS PATH`.
pub fn writer_child(args: &[String]) -> Result<()> {
    let [side, payload, elements, path] = args else {
        return Err("large-writer SIDE PAYLOAD ELEMENTS PATH".into());
    };
    let (payload, elements) = (Payload::parse(payload)?, elements.parse::<usize>()?);
    let path = Path::new(path);
    let stdin = std::io::stdin();
    // Says `ready`, waits for `go`, then times one publish by `write` (which returns the
    // archived bytes): the same for both sides.
    let publish = |write: &mut dyn FnMut() -> Result<usize>| -> Result<_> {
        println!("ready");
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        sys::reset_peak_rss()?;
        let rss_before = sys::status_kib("VmRSS")?;
        let start = sys::monotonic_ns();
        let bytes = write()?;
        Ok((start, sys::monotonic_ns() - start, bytes, rss_before))
    };
    let max_size = 2 * GIB;
    // The writer and the value, kept until the parent is done.
    let keep: Box<dyn std::any::Any>;
    let (start, publish_ns, bytes, rss_before) = match (side.as_str(), payload) {
        ("ours", Payload::U64) => {
            let value = o::big(elements);
            let mut w = ours::Writer::<o::Big>::builder().max_size(max_size).open(path)?;
            let published = publish(&mut || Ok(w.write(&value)?.bytes))?;
            keep = Box::new((w, value));
            published
        }
        ("ours", Payload::Strings) => {
            let value = o::strings(elements);
            let mut w = ours::Writer::<o::Strings>::builder().max_size(max_size).open(path)?;
            let published = publish(&mut || Ok(w.write(&value)?.bytes))?;
            keep = Box::new((w, value));
            published
        }
        ("upstream", Payload::U64) => {
            let mut sync = Synchronizer::new(path.as_os_str());
            let value = u::big(elements);
            let published = publish(&mut || Ok(sync.write(&value, UPSTREAM_GRACE)?.0))?;
            keep = Box::new((value, sync));
            published
        }
        ("upstream", Payload::Strings) => {
            let mut sync = Synchronizer::new(path.as_os_str());
            let value = u::strings(elements);
            let published = publish(&mut || Ok(sync.write(&value, UPSTREAM_GRACE)?.0))?;
            keep = Box::new((value, sync));
            published
        }
        (other, _) => return Err(format!("unknown side {other}").into()),
    };
    let peak = sys::status_kib("VmHWM")?;
    println!("published {start} {publish_ns} {bytes} {rss_before} {peak}");
    // Keep the writer (and its mappings of the channel) alive until the parent is done.
    let mut rest = String::new();
    while stdin.lock().read_line(&mut rest)? > 0 {}
    drop(keep);
    Ok(())
}

/// Child: `large-reader SIDE PAYLOAD ELEMENTS PATH`.
pub fn reader_child(args: &[String]) -> Result<()> {
    let [side, payload, _, path] = args else {
        return Err("large-reader SIDE PAYLOAD ELEMENTS PATH".into());
    };
    let payload = Payload::parse(payload)?;
    let path = Path::new(path);
    // The time the first read ended, and the reader's memory while it still has the value.
    let (end, anon, shmem) = match side.as_str() {
        "ours" => match payload {
            Payload::U64 => ours_first_read::<o::Big>(path, |v| black_box(v.version.to_native()))?,
            Payload::Strings => {
                ours_first_read::<o::Strings>(path, |v| black_box(v.version.to_native()))?
            }
        },
        "upstream" => {
            let mut sync = Synchronizer::new(path.as_os_str());
            println!("ready");
            // Upstream has no way to wait: poll until a version is published.
            while sync.version().is_err() {
                std::thread::yield_now();
            }
            // SAFETY: the writer publishes once and then only waits.
            match payload {
                Payload::U64 => black_box(unsafe { sync.read::<u::Big>(true) }?.version),
                Payload::Strings => black_box(unsafe { sync.read::<u::Strings>(true) }?.version),
            };
            let end = sys::monotonic_ns();
            (end, sys::status_kib("RssAnon")?, sys::status_kib("RssShmem")?)
        }
        other => return Err(format!("unknown side {other}").into()),
    };
    println!("read {end} {anon} {shmem}");
    Ok(())
}

/// Opens a reader on a channel created but not yet published, waits for the first publish and
/// reads it; returns the time the first successful read ended, and RssAnon and RssShmem with
/// the reader still open.
fn ours_first_read<T: ours::SharedState>(
    path: &Path,
    touch: impl Fn(&T::Archived) -> u32,
) -> Result<(u64, u64, u64)> {
    let reader = ours::Reader::<T>::open(path)?;
    println!("ready");
    reader.wait_for_change(0, Duration::from_secs(600))?.ok_or("nothing published in 600 s")?;
    loop {
        match reader.read() {
            Ok(guard) => {
                touch(&guard);
                let end = sys::monotonic_ns();
                drop(guard);
                return Ok((end, sys::status_kib("RssAnon")?, sys::status_kib("RssShmem")?));
            }
            Err(ours::Error::NotPublished { .. }) => std::thread::yield_now(),
            Err(e) => return Err(e.into()),
        }
    }
}
