//! A reader's own memory: what a fresh reader process holds beyond the shared pages after
//! reading one field of a large value.

use std::hint::black_box;
use std::path::Path;

use upstream::synchronizer::Synchronizer;

use crate::harness::measure::median;
use crate::harness::report::{Row, Target, Unit};
use crate::harness::{Context, Outcome, Result, sys};
use crate::values::{BIG_LEN, UPSTREAM_GRACE, ours as o, upstream as u};

/// RssAnon of a fresh reader process after reading one field of a 64 MiB value, minus the same
/// for an empty value, each the median of three child processes.
pub fn run(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
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
    Ok(Outcome::from(
        Row::new(
            "reader RssAnon after reading one field, minus an empty value's",
            "64 MiB `Vec<u64>`",
            deltas[0],
        )
        .against(deltas[1], "upstream")
        .unit(Unit::KiB)
        .target("#4", Target::Ours(4096.0)),
    ))
}

/// Child mode `rss SIDE PATH`: open a reader at `PATH`, read one field, print RssAnon in KiB.
pub fn child(args: &[String]) -> Result<()> {
    let [side, path] = args else {
        return Err("rss SIDE PATH".into());
    };
    let path = Path::new(path);
    match side.as_str() {
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
