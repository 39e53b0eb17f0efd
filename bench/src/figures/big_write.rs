//! The 64 MiB write in two measurement styles, against upstream's and against one plain copy of
//! the same bytes.

use std::hint::black_box;
use std::time::Instant;

use upstream::synchronizer::Synchronizer;

use crate::harness::measure::{BATCH, group, median, timed};
use crate::harness::report::{self, Row, Section, Target, ns};
use crate::harness::{Context, Outcome, Result, sys};
use crate::values::{BIG_LEN, UPSTREAM_GRACE, ours as o, upstream as u};

/// Alternating single writes of the 64 MiB value (each style's samples).
const SINGLE_WRITES: usize = 9;

/// The 64 MiB write in two styles: batched repeated writes (each side calibrated to a batch,
/// sides interleaved round by round), and alternating single writes on fresh channels (one of
/// ours, one of upstream's, one copy, repeated), each against `copy_from_slice` of the same
/// 64 MiB into a buffer touched beforehand.
pub fn run(cx: &mut Context) -> Result<Outcome> {
    let scratch = &cx.scratch;
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
            black_box(xxhash_rust::xxh3::xxh3_64(sys::word_bytes(&hashed)));
        }),
    ]);
    let (batched_ours, batched_upstream, batched_copy, floor) = (m[0], m[1], m[2], m[3]);
    drop((writer, sync));
    scratch.remove_prefixed(&scratch.path("big_"));

    // Alone: ours and the copy only, batched, no other writer in the rounds.
    let mut writer = ours::Writer::<o::Big>::open(scratch.path("big_alone"))?;
    let m = group(vec![
        timed(|| {
            black_box(writer.write(&ours_value).expect("ours: write"));
        }),
        timed(|| copy(&mut touched)),
    ]);
    let (alone_ours, alone_copy) = (m[0], m[1]);
    drop(writer);
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

    let mut section =
        Section::new("The 64 MiB write: three measurement styles (#12, target 3; #21, target 1)");
    section.line(format!(
        "Batched: each side writes the 64 MiB `Vec<u64>` back to back for a batch of about {} \
         ms, sides interleaved over the rounds, medians (the channel's pages are all in place \
         after the calibration writes). Alternating: on fresh channels, one write of ours, one \
         of upstream, one `copy_from_slice` into the touched buffer and one into a new buffer, \
         repeated {SINGLE_WRITES} times, medians of single timings. Alone: batched as the \
         first, with only ours and the copy in the rounds (no other writer's bytes in the \
         caches between them).",
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
    section.line(format!(
        "| alone with the copy | {} | - | {} | - | - | {} |",
        ns(alone_ours),
        ns(alone_copy),
        report::ratio_text(alone_ours / alone_copy)
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
            .against(single_copy, "`copy_from_slice`, touched buffer")
            .target("#21", Target::Ratio(1.3)),
        Row::new("write vs a plain copy, the two alone", payload, alone_ours)
            .against(alone_copy, "`copy_from_slice`, touched buffer")
            .target("#21", Target::Ratio(1.3)),
    ];
    Ok((rows, section).into())
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
             checksums each 64-byte stripe from the registers that copy it, one pass over the \
             bytes (a copy followed by an xxh3 pass over the destination, two passes, takes {}; \
             ours takes {} of that); upstream serializes into a heap buffer, validates it, \
             hashes it, copies it into its mapped file and msyncs it: more passes over the \
             bytes, which cost more the less of them the caches hold.",
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
