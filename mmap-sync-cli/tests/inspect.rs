//! `mmap-sync inspect` and `watch` against live channels: a writer and readers in child
//! processes, one reader killed while it holds a pin. Golden output with `insta`, times, pids
//! and the test directory redacted.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ChannelDir, LONG, Peer, cli_at, regex_escape};
use serde_json::Value;

#[test]
#[ignore = "entry point of the peer processes the other tests spawn"]
fn peer_process() {
    common::peer_main();
}

/// Filters that make human output stable: the directory, times, ages, pids and tids.
fn text_settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(dir.to_str().unwrap()), "[dir]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", "[time]");
    settings
        .add_filter(r"\d+(\.\d+)? (µs|ms|s|min|h|d)( \d+ (s|min|h))? (ago|in the future)", "[age]");
    // An age followed by another column leaves padding that depends on its width.
    settings.add_filter(r"\[age\] +(\S)", "[age]  $1");
    settings.add_filter(r"PINNED GENERATION +CLAIMED", "PINNED GENERATION  CLAIMED");
    settings.add_filter(r"pid \d+", "pid [pid]");
    // Slot rows and their header: pid and tid columns vary in width with the pids.
    settings.add_filter(r"(?m)^SLOT +PID +TID +STATUS", "SLOT  PID    TID    STATUS");
    settings.add_filter(r"(?m)^(\d+) +\d+ +\d+ +(live|dead)", "$1     [pid]  [tid]  $2");
    settings
}

/// JSON output, parsed, with pids, tids, times and the directory replaced.
fn redacted_json(text: &str, dir: &Path) -> Value {
    let mut value: Value = serde_json::from_str(text).expect("one JSON object");
    redact(&mut value, dir.to_str().unwrap());
    value
}

fn redact(value: &mut Value, dir: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if matches!(key.as_str(), "pid" | "tid") && v.is_number() {
                    *v = Value::String("[pid]".into());
                } else {
                    redact(v, dir);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, dir)),
        Value::String(s) => {
            if s.len() == 30 && s.ends_with('Z') && s.as_bytes()[10] == b'T' {
                *s = "[time]".into();
            } else if s.contains(dir) {
                *s = s.replace(dir, "[dir]");
            }
        }
        _ => {}
    }
}

#[test]
fn inspect_shows_live_readers_a_killed_reader_as_dead_with_its_pid_and_the_schema() {
    let dir = ChannelDir::new("inspect-live");
    let prefix = dir.prefix("routing");
    let path = prefix.to_str().unwrap();

    let mut writer = Peer::spawn(&["writer", path, "2"]);
    assert_eq!(writer.expect("ready"), "ready 1");
    let live = Peer::spawn(&["reader", path]);
    assert_eq!(live.expect("pinned"), "pinned 1");
    let doomed = Peer::spawn(&["reader", path]);
    assert_eq!(doomed.expect("pinned"), "pinned 1");
    writer.send("publish");
    assert_eq!(writer.expect("published"), "published 2");
    let doomed_pid = doomed.pid();
    doomed.kill();

    let run = cli_at("inspect", &prefix, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    // The killed reader's slot is dead and shows its pid; the live one is live with its own.
    let row_of = |pid: u32| {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no slot row with pid {pid} in:\n{out}"))
            .to_owned()
    };
    assert!(row_of(doomed_pid).contains("dead"), "{out}");
    assert!(row_of(live.pid()).contains("live"), "{out}");
    assert!(out.contains(&format!("alive (holds the writer lock), pid {}", writer.pid())), "{out}");
    text_settings(dir.path()).bind(|| insta::assert_snapshot!("inspect_live", out));
    assert_readme_sample_is(out);

    let run = cli_at("inspect", &prefix, &["--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let json: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let slots = json["readers"]["slots"].as_array().expect("slots");
    let dead: Vec<_> = slots.iter().filter(|s| s["status"] == "dead").collect();
    assert_eq!(dead.len(), 1, "{json}");
    assert_eq!(dead[0]["pid"], doomed_pid, "{json}");
    assert_eq!(dead[0]["pin"]["generation"], 1);
    assert_eq!(json["writer"]["pid"], writer.pid());
    assert_eq!(json["writer"]["status"], "alive");
    let pretty = serde_json::to_string_pretty(&redacted_json(&run.stdout, dir.path())).unwrap();
    insta::assert_snapshot!("inspect_live_json", pretty);

    // With the writer gone, its lock is free.
    drop(writer);
    let run = cli_at("inspect", &prefix, &["--json"]);
    let json: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["writer"]["status"], "gone", "{json}");
    assert_eq!(json["writer"]["checked_by"], "lock", "{json}");
}

/// The README's sample of `inspect`: the lines after `$ mmap-sync inspect PATH`, up to the
/// `  ...` that stands for the rest of the schema.
fn readme_sample() -> Vec<&'static str> {
    let readme = include_str!("../README.md");
    let start = readme.find("$ mmap-sync inspect ").expect("the README's inspect sample");
    let lines = readme[start..].lines().skip(1);
    let sample: Vec<&str> = lines.take_while(|l| *l != "  ...").collect();
    assert!(!sample.iter().any(|l| l.starts_with("```")), "the sample ends with `  ...`");
    sample
}

/// `line` with what differs from run to run replaced (the channel's path, times, ages, pids,
/// thread ids) and runs of spaces made one, since column widths follow those values.
fn normalized(line: &str) -> String {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let bare = |t: &str| t.trim_start_matches('(').trim_end_matches([')', ',']).to_owned();
    let is_number = |t: &str| {
        let t = bare(t);
        !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    let is_unit = |t: &str| ["µs", "ms", "s", "min", "h", "d"].contains(&bare(t).as_str());
    let is_time = |t: &str| {
        let t = bare(t);
        t.len() >= 20 && t.as_bytes()[4] == b'-' && t.as_bytes()[10] == b'T' && t.ends_with('Z')
    };
    let slot_row =
        tokens.len() > 3 && is_number(tokens[0]) && ["live", "dead"].contains(&tokens[3]);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let masked = |with: &str| {
            let open = if t.starts_with('(') { "(" } else { "" };
            format!("{open}{with}")
        };
        if i == 1 && tokens[0] == "channel" {
            out.push("[channel]".into());
        } else if is_time(t) {
            out.push(t.replace(&bare(t), "[time]"));
        } else if slot_row && (i == 1 || i == 2) {
            out.push(if i == 1 { "[pid]" } else { "[tid]" }.into());
        } else if i > 0 && tokens[i - 1] == "pid" && is_number(t) {
            out.push(t.replace(&bare(t), "[pid]"));
        } else if is_number(t) && tokens.get(i + 1).is_some_and(|u| is_unit(u)) {
            // An age: `4.2 s ago`, `3 min 2 s ago`, `12 ms in the future`.
            let mut j = i + 2;
            if tokens.get(j).is_some_and(|t| is_number(t))
                && tokens.get(j + 1).is_some_and(|u| is_unit(u))
            {
                j += 2;
            }
            let last = match tokens.get(j).map(|t| bare(t)) {
                Some(word) if word == "ago" => j,
                Some(word) if word == "in" => j + 2,
                _ => {
                    out.push(t.to_owned());
                    i += 1;
                    continue;
                }
            };
            let end = tokens.get(last).map_or("", |t| t.trim_start_matches(char::is_alphabetic));
            out.push(format!("{}{end}", masked("[age]")));
            i = last + 1;
            continue;
        } else {
            out.push(t.to_owned());
        }
        i += 1;
    }
    out.join(" ")
}

/// Checks that the README's sample is what `inspect` prints now, up to where it stops.
fn assert_readme_sample_is(out: &str) {
    let sample = readme_sample();
    let printed: Vec<&str> = out.lines().collect();
    assert!(printed.len() > sample.len(), "the README shows more than inspect printed");
    for (at, (readme, now)) in sample.iter().zip(&printed).enumerate() {
        assert_eq!(
            normalized(readme),
            normalized(now),
            "line {} of the README's inspect sample is not what inspect prints now:\n{out}",
            at + 1
        );
    }
}

#[test]
fn readme_samples_are_compared_without_what_changes_from_run_to_run() {
    assert_eq!(
        normalized(
            "writer       alive (holds the writer lock), pid 15608, started 2026-11-27T15:14:31.621Z (3.3 s ago)"
        ),
        "writer alive (holds the writer lock), pid [pid], started [time] ([age])"
    );
    assert_eq!(
        normalized(
            "1     15701  15701  dead (reader died holding its pin)  1 exact  published 3 min 2 s ago, 1 generation behind  12 ms in the future"
        ),
        "1 [pid] [tid] dead (reader died holding its pin) 1 exact published [age], 1 generation behind [age]"
    );
    assert_eq!(normalized("channel      /dev/shm/routing_table"), "channel [channel]");
    assert_eq!(normalized("0     1           488    0x6d84"), "0 1 488 0x6d84");
}

#[test]
fn inspect_says_when_a_channel_carries_no_schema_description() {
    #[derive(rkyv::Archive, rkyv::Serialize)]
    struct Plain {
        id: u64,
        name: String,
    }
    let dir = ChannelDir::new("inspect-facade");
    let prefix = dir.prefix("plain");
    let mut sync = mmap_sync::synchronizer::Synchronizer::new(prefix.as_os_str());
    sync.write(&Plain { id: 7, name: "seven".into() }, Duration::from_secs(1)).unwrap();

    let run = cli_at("inspect", &prefix, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("schema: none recorded"), "{}", run.stdout);
    assert!(run.stdout.contains("layout only"), "{}", run.stdout);
    let run = cli_at("inspect", &prefix, &["--json"]);
    let json: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["schema"], Value::Null);
    assert_eq!(json["schema_error"], Value::Null);
    assert_eq!(json["fingerprint_source"], "layout");
}

#[test]
fn inspect_of_a_missing_channel_says_there_is_none_naming_the_file_and_exits_3() {
    let dir = ChannelDir::new("inspect-missing");
    let prefix = dir.prefix("nothing");
    let prefix_text = prefix.to_str().unwrap();
    for command in ["inspect", "verify", "watch"] {
        let run = cli_at(command, &prefix, &[]);
        assert_eq!(run.code, 3, "{command}: {run:?}");
        let said = format!("no channel at {prefix_text}: {prefix_text}_state does not exist\n");
        assert!(run.stderr.ends_with(&said), "{command}: {run:?}");
        assert!(!run.stderr.contains("nothing published"), "{command}: {run:?}");
        assert!(run.stdout.is_empty(), "{command}: {run:?}");

        let run = cli_at(command, &prefix, &["--json"]);
        assert_eq!(run.code, 3, "{command}: {run:?}");
        let json: Value = serde_json::from_str(&run.stdout).expect("JSON error");
        assert_eq!(json["error"]["kind"], "no_channel");
        assert!(json["error"]["file"].as_str().unwrap().ends_with("nothing_state"));
        assert_eq!(json["error"]["exit_code"], 3);
    }

    // The other files without the state file: a writer creating the channel, or a state file
    // removed by hand.
    let mut writer = mmap_sync::Writer::<mmap_sync_schemas::RoutingTable>::open(&prefix).unwrap();
    writer.write(&mmap_sync_schemas::RoutingTable::example(1, 2)).unwrap();
    std::fs::remove_file(&writer.paths().state).unwrap();
    let run = cli_at("inspect", &prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "no channel at {prefix_text}: {prefix_text}_state does not exist ({prefix_text}_readers does:"
        )),
        "{run:?}"
    );
}

#[test]
fn a_channel_file_given_instead_of_the_prefix_is_a_usage_error_naming_the_prefix() {
    let dir = ChannelDir::new("inspect-file-not-prefix");
    let prefix = dir.prefix("routing");
    let mut writer = mmap_sync::Writer::<mmap_sync_schemas::RoutingTable>::open(&prefix).unwrap();
    writer.write(&mmap_sync_schemas::RoutingTable::example(1, 2)).unwrap();
    let paths = writer.paths().clone();
    let prefix_text = prefix.to_str().unwrap();
    for file in [&paths.state, &paths.readers, &paths.data(0), &paths.data(1), &paths.writer] {
        for command in ["inspect", "verify", "watch"] {
            let run = cli_at(command, file, &[]);
            assert_eq!(run.code, 2, "{command} {}: {run:?}", file.display());
            let said = format!(
                "{} is one of a channel's files; PATH is the channel's prefix: did you mean \
                 {prefix_text}?\n",
                file.display()
            );
            assert!(run.stderr.ends_with(&said), "{command}: {run:?}");

            let run = cli_at(command, file, &["--json"]);
            assert_eq!(run.code, 2, "{command}: {run:?}");
            let json: Value = serde_json::from_str(&run.stdout).expect("JSON error");
            assert_eq!(json["error"]["kind"], "not_a_prefix", "{json}");
            assert_eq!(json["error"]["file"], file.to_str().unwrap(), "{json}");
        }
    }
    // A prefix that happens to end like a channel file is still a prefix when it is one.
    let odd = dir.prefix("odd_state");
    let mut odd_writer = mmap_sync::Writer::<mmap_sync_schemas::RoutingTable>::open(&odd).unwrap();
    odd_writer.write(&mmap_sync_schemas::RoutingTable::example(1, 2)).unwrap();
    assert_eq!(cli_at("inspect", &odd, &[]).code, 0);
}

#[test]
fn inspect_and_verify_of_a_channel_with_nothing_published_show_it_and_exit_3() {
    // The files are there and a writer holds them, but a reader would get NotPublished: as
    // for a state file without its magic yet, the exit code says there is nothing to read.
    let dir = ChannelDir::new("inspect-unpublished");
    let prefix = dir.prefix("routing");
    let writer = mmap_sync::Writer::<mmap_sync_schemas::RoutingTable>::open(&prefix).unwrap();

    let run = cli_at("inspect", &prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("published    nothing yet (generation 0)"), "{}", run.stdout);
    assert!(run.stdout.contains("writer       alive (holds the writer lock)"), "{}", run.stdout);
    let run = cli_at("inspect", &prefix, &["--json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json: Value = serde_json::from_str(&run.stdout).expect("the inspection, as JSON");
    assert_eq!(json["published"], Value::Null, "{json}");
    assert_eq!(json["writer"]["status"], "alive", "{json}");

    let run = cli_at("verify", &prefix, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("nothing published yet"), "{}", run.stdout);
    assert!(!run.stdout.contains("ok: no problem found"), "{}", run.stdout);
    let run = cli_at("verify", &prefix, &["--json"]);
    assert_eq!(run.code, 3, "{run:?}");
    let json: Value = serde_json::from_str(&run.stdout).expect("the verification, as JSON");
    assert_eq!((&json["ok"], &json["generation"]), (&Value::Bool(true), &Value::from(0)), "{json}");

    // Once something is published, both exit 0.
    let mut writer = writer;
    writer.write(&mmap_sync_schemas::RoutingTable::example(1, 2)).unwrap();
    assert_eq!(cli_at("inspect", &prefix, &[]).code, 0);
    assert_eq!(cli_at("verify", &prefix, &[]).code, 0);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(common::cli(&["inspect"]).code, 2);
    assert_eq!(common::cli(&["frobnicate", "/dev/shm/x"]).code, 2);
    let help = common::cli(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes"), "{}", help.stdout);
}

/// A `watch` process and its output lines.
struct Watch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    fn start(prefix: &Path, more: &[&str]) -> Watch {
        let mut child = Command::new(common::BIN)
            .arg("watch")
            .arg(prefix)
            .args(more)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn watch");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(LONG).expect("a line from watch")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_prints_one_line_per_publish_and_holds_no_slot() {
    let dir = ChannelDir::new("watch");
    let prefix = dir.prefix("routing");
    let mut writer = Peer::spawn(&["writer", prefix.to_str().unwrap(), "1"]);
    writer.expect("ready 1");

    let watch = Watch::start(&prefix, &["--json", "--count", "3"]);
    let start: Value = serde_json::from_str(&watch.line()).unwrap();
    assert_eq!(start["event"], "start");
    assert_eq!(start["generation"], 1);
    assert_eq!(start["type_name"], "RoutingTable");
    for generation in 2..=4u64 {
        writer.send("publish");
        writer.expect("published");
        let event: Value = serde_json::from_str(&watch.line()).unwrap();
        assert_eq!(event["event"], "publish", "{event}");
        assert_eq!(event["generation"], generation, "{event}");
        assert!(event["length"].as_u64().unwrap() > 0, "{event}");
        assert!(event["since_previous_ns"].is_u64(), "{event}");
        // While it waits, watch holds no reader slot.
        let table = mmap_sync::inspect::Channel::open(&prefix).unwrap().readers().unwrap();
        assert_eq!(table.slots.len(), 0, "{table:?}");
    }
    let mut child = watch;
    let status = child.child.wait().unwrap();
    assert!(status.success(), "watch --count 3 ends by itself: {status:?}");

    // Human output: a heading, then a row per publish.
    let watch = Watch::start(&prefix, &["--count", "1"]);
    assert!(watch.line().starts_with("watching "));
    assert!(watch.line().starts_with("GENERATION"));
    writer.send("publish");
    writer.expect("published 5");
    let row = watch.line();
    assert_eq!(row.split_whitespace().next(), Some("5"), "{row}");
}

#[test]
fn watch_reports_generations_overwritten_before_it_saw_them() {
    // Publishes faster than watch looks (it looks every 10 ms at most when nobody else
    // waits): with three copies, a burst of ten leaves the last three to show and says which
    // it missed, still one line per generation or range.
    let dir = ChannelDir::new("watch-burst");
    let prefix = dir.prefix("routing");
    let mut writer = Peer::spawn(&["writer", prefix.to_str().unwrap(), "1"]);
    writer.expect("ready 1");
    let watch = Watch::start(&prefix, &["--json", "--count", "10"]);
    watch.line(); // start
    let mut sent = String::new();
    for _ in 0..10 {
        sent.push_str("publish\n");
    }
    writer.send(sent.trim_end());
    for _ in 0..10 {
        writer.expect("published");
    }
    let mut covered = 1u64;
    while covered < 11 {
        let event: Value = serde_json::from_str(&watch.line()).unwrap();
        match event["event"].as_str() {
            Some("publish") => {
                assert_eq!(event["generation"], covered + 1, "{event}");
                covered += 1;
            }
            Some("missed") => {
                assert_eq!(event["from"], covered + 1, "{event}");
                covered = event["to"].as_u64().unwrap();
            }
            other => panic!("unexpected event {other:?}: {event}"),
        }
    }
    assert_eq!(covered, 11);
}

/// Stops `pid` (SIGSTOP) and waits until the kernel reports it stopped, so that it can look at
/// nothing until it is continued.
fn stop(pid: u32) {
    // SAFETY: kill with a signal number has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    let deadline = std::time::Instant::now() + LONG;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("its /proc stat");
        // The state follows the parenthesised command name.
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.as_bytes()[0]);
        if state == Some(b'T') {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{pid} did not stop: {stat}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Continues `pid` (SIGCONT).
fn resume(pid: u32) {
    // SAFETY: as in `stop`.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGCONT) }, 0);
}

/// Starts `watch --count 3` on a channel at generation 1, stops it, publishes generations 2 to
/// 11 (three copies keep 9 to 11), and lets it go on: it must report 2 to 8 as missed. Returns
/// everything it printed until it exited by itself.
fn watch_across_a_burst(name: &str, more: &[&str]) -> Vec<String> {
    let dir = ChannelDir::new(name);
    let prefix = dir.prefix("routing");
    let mut writer = Peer::spawn(&["writer", prefix.to_str().unwrap(), "1"]);
    writer.expect("ready 1");
    let mut args = vec!["--count", "3"];
    args.extend_from_slice(more);
    let mut watch = Watch::start(&prefix, &args);
    let mut lines = vec![watch.line()];
    if more.is_empty() {
        lines.push(watch.line()); // the column headings
    }
    stop(watch.child.id());
    writer.send(&["publish"; 10].join("\n"));
    for generation in 2..=11 {
        assert_eq!(writer.expect("published"), format!("published {generation}"));
    }
    resume(watch.child.id());
    let status = watch.child.wait().expect("wait for watch");
    assert!(status.success(), "watch --count 3 ends by itself: {status:?}");
    lines.extend(watch.lines.iter());
    lines
}

#[test]
fn watch_count_counts_the_publishes_it_shows_not_the_ones_it_missed() {
    let lines = watch_across_a_burst("watch-count", &["--json"]);
    let events: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "missed", "publish", "publish", "publish"], "{lines:#?}");
    assert_eq!((&events[1]["from"], &events[1]["to"]), (&Value::from(2), &Value::from(8)));
    let shown: Vec<&Value> = events[2..].iter().map(|e| &e["generation"]).collect();
    assert_eq!(shown, [9, 10, 11]);
}

/// Where each cell of `line` starts, in characters: cells are separated by two spaces or more.
fn cell_starts(line: &str) -> Vec<usize> {
    let chars: Vec<char> = line.chars().collect();
    (0..chars.len())
        .filter(|&i| chars[i] != ' ' && (i == 0 || (i >= 2 && chars[i - 2..i] == [' ', ' '])))
        .collect()
}

#[test]
fn watch_keeps_its_columns_aligned_across_missed_generations() {
    let lines = watch_across_a_burst("watch-columns", &[]);
    assert!(lines[0].starts_with("watching "), "{lines:#?}");
    let columns = cell_starts(&lines[1]);
    assert_eq!(columns.len(), 4, "GENERATION, BYTES, SINCE PREVIOUS, PUBLISHED: {lines:#?}");
    let (missed, rows) = (&lines[2], &lines[3..]);
    assert!(missed.starts_with("2 ") && missed.contains("missed"), "{lines:#?}");
    assert!(missed.contains('8'), "the range ends at 8: {missed}");
    assert_eq!(cell_starts(missed)[..2], columns[..2], "{lines:#?}");
    assert_eq!(rows.len(), 3, "{lines:#?}");
    for (row, generation) in rows.iter().zip(9..) {
        assert_eq!(row.split_whitespace().next(), Some(generation.to_string().as_str()));
        assert_eq!(cell_starts(row), columns, "{lines:#?}");
    }
}
