//! Many channels in one relay process (`follow --config`), each independent of the others,
//! reloaded on SIGHUP, shown by `status --config`, and measured on `--metrics`, against real
//! nats-server processes.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use mmap_sync::rkyv::{self, rancor};
use mmap_sync::{Reader, Writer};
use mmap_sync_relay::status::{State, Status, cannot_open_path, status_path};
use mmap_sync_relay::{Manifest, Publisher};
use mmap_sync_schemas::{HelloWorld, RoutingTable};
use support::local_server::free_port;
use support::{
    Host, ServerBinary, TestDir, channel_type, run, runtime, sample, scrape, start_server, wait_for,
};

const CONVERGE: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    support::run_scenarios(&[
        (
            "channels_of_one_process_are_independent_reloaded_and_measured",
            channels_of_one_process_are_independent_reloaded_and_measured,
        ),
        ("status_says_why_a_channel_cannot_be_opened", status_says_why_a_channel_cannot_be_opened),
        (
            "of_two_relays_for_one_new_channel_one_creates_it_and_the_other_says_why_not",
            of_two_relays_for_one_new_channel_one_creates_it_and_the_other_says_why_not,
        ),
    ])
}

fn status_of(path: &Path) -> Option<Status> {
    Status::load(&status_path(path)).ok().flatten()
}

fn wait_channel(what: &str, path: &Path, ready: impl Fn(&Status) -> bool) -> Status {
    wait_for(what, CONVERGE, || status_of(path).filter(|s| ready(s)))
}

fn channel_entry(name: &str, path: &Path, extra: &str) -> String {
    format!("[[channel]]\nname = \"{name}\"\npath = \"{}\"\n{extra}\n", path.display())
}

/// Uploads version `version` of a hello-world channel, purges its chunks behind the Object
/// Store's back and points the manifest at it: a relay that downloads it waits for bytes that
/// never come. Returns the revision.
fn publish_stalled(url: &str, channel: &str, version: u64) -> u64 {
    runtime().block_on(async {
        let hello = channel_type::<HelloWorld>();
        let mut publisher = Publisher::connect(url, channel, hello.clone()).await.unwrap();
        let value = HelloWorld { version: version as u32, messages: vec!["stalled".into()] };
        let archive = rkyv::to_bytes::<rancor::Error>(&value).unwrap();
        let channel_buckets = publisher.channel().clone();
        let object = format!("stalled-{version}");
        channel_buckets.upload(&object, &archive).await.unwrap();
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let bucket = mmap_sync_relay::nats::bucket_name(channel);
        let info = jetstream.get_object_store(&bucket).await.unwrap().info(&object).await.unwrap();
        let stream = jetstream.get_stream(format!("OBJ_{bucket}")).await.unwrap();
        stream.purge().filter(format!("$O.{bucket}.C.{}", info.nuid)).await.unwrap();
        let base = publisher.rebase().await.unwrap().map(|v| v.revision);
        let manifest = Manifest::describe(&hello, &archive, object, base);
        channel_buckets.swap(base, &manifest).await.unwrap()
    })
}

fn publish_hello(url: &str, channel: &str, version: u64) -> u64 {
    runtime().block_on(async {
        let hello = channel_type::<HelloWorld>();
        let mut publisher = Publisher::connect(url, channel, hello).await.unwrap();
        let value = HelloWorld { version: version as u32, messages: vec![format!("v{version}")] };
        publisher.publish(&value).await.unwrap().revision
    })
}

fn channels_of_one_process_are_independent_reloaded_and_measured(server: &ServerBinary) {
    let dir = TestDir::new("channels");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let nowhere = format!("nats://127.0.0.1:{}", free_port().unwrap());
    let path = |name: &str| -> PathBuf { dir.path().join(format!("{name}_channel")) };
    let config = dir.path().join("relay.toml");
    let metrics_port = free_port().unwrap();

    // alpha: healthy. down: its server does not exist. slow: its download stalls for ten
    // minutes. refused: a version of another type than it expects arrives.
    let first = format!(
        "[defaults]\nserver = \"{url}\"\nrecheck = \"1s\"\nretry_max = \"1s\"\n\n{}{}{}{}",
        channel_entry("alpha", &path("alpha"), ""),
        channel_entry("down", &path("down"), &format!("server = \"{nowhere}\"")),
        channel_entry("slow", &path("slow"), "inactivity_timeout = \"10m\""),
        channel_entry("refused", &path("refused"), "expect_type = \"RoutingTable\""),
    );
    std::fs::write(&config, &first).unwrap();
    let args: Vec<String> = [
        "follow",
        "--config",
        &config.display().to_string(),
        "--metrics",
        &format!("127.0.0.1:{metrics_port}"),
        "--log-level",
        "debug",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut relay = Host::spawn_with(dir.path(), "relay", path("alpha"), args, &[]);
    let pid = relay.pid().unwrap();

    // The slow channel starts a download that stalls; the refused one gets the wrong type.
    let stalled = publish_stalled(&url, "slow", 1);
    let slow = wait_channel("the slow channel downloading", &path("slow"), |s| {
        s.state == State::Applying && s.source_revision == Some(stalled)
    });
    let wrong_type = publish_hello(&url, "refused", 1);
    wait_channel("the refusal", &path("refused"), |s| {
        s.refused.as_ref().is_some_and(|r| r.revision == wrong_type)
    });
    wait_channel("the down channel failing", &path("down"), |s| {
        s.counters.retries >= 2
            && s.last_error.as_ref().is_some_and(|e| e.message.contains("cannot connect"))
    });

    // Meanwhile alpha follows every version, while the slow channel is still in its download.
    let mut alpha_revision = 0;
    for version in 1..=3 {
        alpha_revision = publish_hello(&url, "alpha", version);
        wait_channel("alpha following", &path("alpha"), |s| {
            s.published.as_ref().is_some_and(|p| p.revision == alpha_revision)
        });
    }
    let still = status_of(&path("slow")).unwrap();
    assert_eq!(still.state, State::Applying, "{still:#?}");
    assert_eq!(still.started_at_ms, slow.started_at_ms);
    assert_eq!(still.published, None);
    println!("alpha published 3 versions while slow's download stalled and down retried");

    // Metrics, scraped.
    let metrics = scrape(metrics_port);
    let alpha = path("alpha").display().to_string();
    let of = |channel: &str, p: &str| vec![("channel", channel.to_owned()), ("path", p.to_owned())];
    let get = |name: &str, labels: Vec<(&str, String)>| {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        sample(&metrics, name, &labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{metrics}"))
    };
    assert_eq!(
        get("mmap_sync_relay_published_revision", of("alpha", &alpha)),
        alpha_revision as f64
    );
    assert_eq!(get("mmap_sync_relay_source_revision", of("alpha", &alpha)), alpha_revision as f64);
    assert_eq!(get("mmap_sync_relay_revisions_behind", of("alpha", &alpha)), 0.0);
    assert_eq!(get("mmap_sync_relay_published_total", of("alpha", &alpha)), 3.0);
    assert_eq!(get("mmap_sync_relay_downloads_total", of("alpha", &alpha)), 3.0);
    assert!(get("mmap_sync_relay_downloaded_bytes_total", of("alpha", &alpha)) > 0.0);
    assert_eq!(get("mmap_sync_relay_publish_to_visible_seconds_count", of("alpha", &alpha)), 3.0);
    assert!(get("mmap_sync_relay_since_last_publish_seconds", of("alpha", &alpha)) >= 0.0);
    let slow_path = path("slow").display().to_string();
    assert_eq!(get("mmap_sync_relay_revisions_behind", of("slow", &slow_path)), 1.0);
    let down_path = path("down").display().to_string();
    assert!(get("mmap_sync_relay_retries_total", of("down", &down_path)) >= 2.0);
    let refused_path = path("refused").display().to_string();
    let mut refusal = of("refused", &refused_path);
    refusal.push(("reason", "type".to_owned()));
    assert_eq!(get("mmap_sync_relay_refusals_total", refusal), 1.0);
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");

    // `status --config` shows every channel; the worst verdict is the exit code (failing: 9).
    let (code, out) = run(&["status", "--config", &config.display().to_string()]);
    assert_eq!(code, Some(9), "{out}");
    for name in ["alpha", "down", "slow", "refused"] {
        assert!(out.contains(&format!("== {name} (")), "{name} missing from:\n{out}");
    }
    assert!(out.contains("cannot connect"), "{out}");

    // SIGHUP with a changed file: down removed, refused changed, gamma added; alpha and slow
    // unchanged and undisturbed (slow still in the same download).
    let before_alpha = status_of(&path("alpha")).unwrap();
    let before_refused = status_of(&path("refused")).unwrap();
    let second = format!(
        "[defaults]\nserver = \"{url}\"\nrecheck = \"1s\"\nretry_max = \"1s\"\n\n{}{}{}{}",
        channel_entry("alpha", &path("alpha"), ""),
        channel_entry("slow", &path("slow"), "inactivity_timeout = \"10m\""),
        channel_entry(
            "refused",
            &path("refused"),
            "expect_type = \"RoutingTable\"\nrecheck = \"2s\""
        ),
        channel_entry("gamma", &path("gamma"), ""),
    );
    std::fs::write(&config, &second).unwrap();
    relay.signal("HUP");
    let gamma_revision = publish_hello(&url, "gamma", 1);
    wait_channel("gamma started and following", &path("gamma"), |s| {
        s.published.as_ref().is_some_and(|p| p.revision == gamma_revision)
    });
    wait_channel("down stopped", &path("down"), |s| s.state == State::Stopped);
    let refused = wait_channel("refused restarted", &path("refused"), |s| {
        s.started_at_ms != before_refused.started_at_ms && s.state == State::Following
    });
    assert_eq!(refused.refused.map(|r| r.revision), Some(wrong_type), "the refusal survives");
    let after_alpha = status_of(&path("alpha")).unwrap();
    assert_eq!(after_alpha.started_at_ms, before_alpha.started_at_ms, "alpha was restarted");
    assert_eq!(after_alpha.counters, before_alpha.counters);
    let after_slow = status_of(&path("slow")).unwrap();
    assert_eq!((after_slow.state, after_slow.started_at_ms), (State::Applying, slow.started_at_ms));
    let metrics = scrape(metrics_port);
    assert!(!metrics.contains("channel=\"down\""), "removed channels leave the metrics");
    assert!(metrics.contains("channel=\"gamma\""), "{metrics}");
    assert!(relay.running() && relay.pid() == Some(pid));

    // A file that does not load: reported, and everything goes on as it was.
    std::fs::write(&config, "[[channel]]\nname = \"alpha\"\ntype = \"graph\"\n").unwrap();
    relay.signal("HUP");
    wait_for("the reload error in the log", CONVERGE, || {
        relay.log().contains("the channels go on as they were").then_some(())
    });
    assert!(relay.log().contains("relay.toml"), "the error names the file");
    let next = publish_hello(&url, "alpha", 4);
    wait_channel("alpha after a bad reload", &path("alpha"), |s| {
        s.published.as_ref().is_some_and(|p| p.revision == next)
    });

    // SIGTERM stops every channel, each recording it.
    assert_eq!(relay.stop(), Some(0), "{}", relay.log());
    for name in ["alpha", "slow", "refused", "gamma"] {
        assert_eq!(status_of(&path(name)).unwrap().state, State::Stopped, "{name}");
    }
}

/// A relay process of its own (no configuration) following channel `channel` into `path`.
fn relay_of_its_own(dir: &Path, name: &str, url: &str, channel: &str, path: PathBuf) -> Host {
    let local = path.display().to_string();
    let args = [
        "follow",
        "--server",
        url,
        "--channel",
        channel,
        "--path",
        &local,
        "--recheck",
        "1s",
        "--retry-max",
        "1s",
        "--log-level",
        "debug",
    ]
    .map(str::to_owned)
    .to_vec();
    Host::spawn_with(dir, name, path, args, &[])
}

/// The record beside `path`'s status file of a relay that cannot open the channel.
fn cannot_open_of(path: &Path) -> Option<Status> {
    Status::load(&cannot_open_path(&status_path(path))).ok().flatten()
}

/// Channels a `follow --config` process cannot open: one held by another program's writer
/// (this test process), one held by another relay process, one that holds another type than
/// the configuration expects. Each
/// says why in `status --config`, the channels' files are not touched, and a channel let go
/// is taken over. A single relay that exits because another writer holds its channel leaves
/// the reason for `status` too.
fn status_says_why_a_channel_cannot_be_opened(server: &ServerBinary) {
    let dir = TestDir::new("cannot-open");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let path = |name: &str| -> PathBuf { dir.path().join(format!("{name}_channel")) };
    let config = dir.path().join("relay.toml");

    // held: this process is its writer, with a value of its own in it.
    let mut holder = Writer::<HelloWorld>::open(path("held")).unwrap();
    let own = HelloWorld { version: 41, messages: vec!["the holder's".into()] };
    assert_eq!(holder.write(&own).unwrap().generation, 1);
    // other-type: a RoutingTable channel, its writer gone.
    {
        let mut writer = Writer::<RoutingTable>::open(path("other-type")).unwrap();
        writer.write(&RoutingTable::example(1, 4)).unwrap();
    }
    // relayed: another relay process follows it on its own.
    let other_relay = relay_of_its_own(dir.path(), "other-relay", &url, "relayed", path("relayed"));
    let relayed_revision = publish_hello(&url, "relayed", 1);
    other_relay.wait_published(relayed_revision, CONVERGE);

    std::fs::write(
        &config,
        format!(
            "[defaults]\nserver = \"{url}\"\nrecheck = \"1s\"\nretry_max = \"1s\"\n\n{}{}{}{}",
            channel_entry("held", &path("held"), ""),
            channel_entry("other-type", &path("other-type"), "expect_type = \"HelloWorld\""),
            channel_entry("relayed", &path("relayed"), ""),
            channel_entry("fine", &path("fine"), ""),
        ),
    )
    .unwrap();
    let args: Vec<String> =
        ["follow", "--config", &config.display().to_string(), "--log-level", "debug"]
            .map(str::to_owned)
            .to_vec();
    let mut relay = Host::spawn_with(dir.path(), "relay", path("fine"), args, &[]);
    let pid = relay.pid().unwrap();
    let fine_revision = publish_hello(&url, "fine", 1);
    relay.wait_published(fine_revision, CONVERGE);
    for (name, reason) in [
        ("held", "another writer holds this channel"),
        ("other-type", "holds RoutingTable"),
        ("relayed", "another writer holds this channel"),
    ] {
        let record = wait_for(&format!("{name}: the reason it cannot be opened"), CONVERGE, || {
            cannot_open_of(&path(name)).filter(|r| r.counters.retries >= 1)
        });
        assert_eq!((record.pid, record.state), (pid, State::CannotOpen), "{name}: {record:#?}");
        let message = &record.last_error.as_ref().unwrap().message;
        assert!(message.contains(reason), "{name}: {message}");
    }

    let (code, out) = run(&["status", "--config", &config.display().to_string()]);
    println!("{out}");
    assert_eq!(code, Some(9), "{out}");
    let section = |name: &str| -> String {
        let start = out.find(&format!("== {name} (")).unwrap_or_else(|| panic!("{name}: {out}"));
        let rest = &out[start + 3..];
        rest[..rest.find("\n== ").unwrap_or(rest.len())].to_owned()
    };
    let held = section("held");
    assert!(held.contains(&format!("relay      pid {pid} running (CannotOpen)")), "{held}");
    assert!(held.contains("CANNOT OPEN the channel"), "{held}");
    assert!(held.contains("another writer holds this channel"), "{held}");
    assert!(section("other-type").contains("expects HelloWorld"), "{out}");
    // The other relay holds "relayed" and writes its status file; this one's failure shows
    // beside it.
    let relayed = section("relayed");
    assert!(
        relayed.contains(&format!(
            "relay      pid {} running (Following)",
            other_relay.pid().unwrap()
        )),
        "{relayed}"
    );
    assert!(
        relayed.contains(&format!("also       relay pid {pid} running, cannot open")),
        "{relayed}"
    );
    assert!(section("fine").contains("lag        up to date"), "{out}");
    let (code, json) = run(&["status", "--config", &config.display().to_string(), "--json"]);
    assert_eq!(code, Some(9), "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entry = |name: &str| json.as_array().unwrap().iter().find(|e| e["name"] == name).unwrap();
    assert_eq!(entry("held")["status"]["state"], "cannot_open", "{json}");
    assert_eq!(entry("relayed")["cannot_open"]["pid"], pid, "{json}");
    assert_eq!(entry("fine")["exit_code"], 0, "{json}");

    // Nothing of the held channel was touched: no status file of the relay's, the holder's
    // value and generation as they were, and the holder still writes.
    assert!(!status_path(&path("held")).exists(), "the relay wrote the holder's status file");
    let reader = Reader::<HelloWorld>::open(path("held")).unwrap();
    {
        let guard = reader.read().unwrap();
        assert_eq!((guard.generation(), guard.version.to_native()), (1, 41));
    }
    assert_eq!(holder.write(&own).unwrap().generation, 2);

    // The holder lets go: the relay opens the channel, follows it, and its record of the
    // failure goes.
    drop(holder);
    let held_revision = publish_hello(&url, "held", 7);
    wait_channel("held taken over", &path("held"), |s| {
        s.published.as_ref().is_some_and(|p| p.revision == held_revision)
    });
    assert!(cannot_open_of(&path("held")).is_none(), "the record stays after the open");
    let (code, out) = run(&["status", "--path", &path("held").display().to_string()]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(reader.read().unwrap().version.to_native(), 7);

    // A relay on its own exits when another writer holds its channel (exit code 3), and
    // `status` then says why it is not running.
    let lone_holder = Writer::<HelloWorld>::open(path("lone")).unwrap();
    let mut lone = relay_of_its_own(dir.path(), "lone", &url, "lone", path("lone"));
    wait_for("the relay on its own to exit", CONVERGE, || (!lone.running()).then_some(()));
    assert_eq!(lone.stop(), Some(3), "{}", lone.log());
    let (code, out) = run(&["status", "--path", &path("lone").display().to_string()]);
    assert_eq!(code, Some(10), "{out}");
    assert!(out.contains("NOT RUNNING (CannotOpen)"), "{out}");
    assert!(out.contains("another writer holds this channel"), "{out}");
    drop(lone_holder);

    // SIGTERM: the relay stops trying, and its records of channels it could not open go.
    assert_eq!(relay.stop(), Some(0), "{}", relay.log());
    for name in ["other-type", "relayed"] {
        assert!(cannot_open_of(&path(name)).is_none(), "{name}: the record stays after a stop");
    }
}

/// Two relays on their own are started for one channel path where there is no channel yet, so
/// neither holds its writer lock until a version arrives. Then both try to create it: one
/// does and publishes; the other exits with code 3, says why in the record beside the status
/// file, and leaves the status file, which is the winner's, alone.
fn of_two_relays_for_one_new_channel_one_creates_it_and_the_other_says_why_not(
    server: &ServerBinary,
) {
    let dir = TestDir::new("two-new");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let path = dir.path().join("shared_channel");
    let mut first = relay_of_its_own(dir.path(), "first", &url, "shared", path.clone());
    let mut second = relay_of_its_own(dir.path(), "second", &url, "shared", path.clone());
    for relay in [&first, &second] {
        wait_for("both relays following", CONVERGE, || {
            relay.log().contains("following shared").then_some(())
        });
    }
    let revision = publish_hello(&url, "shared", 1);
    let first_lost =
        wait_for("one relay to give up", CONVERGE, || match (first.running(), second.running()) {
            (true, true) => None,
            (first_runs, _) => Some(!first_runs),
        });
    let (winner, loser) =
        if first_lost { (&mut second, &mut first) } else { (&mut first, &mut second) };
    assert_eq!(loser.stop(), Some(3), "{}", loser.log());
    let status = winner.wait_status("the winner following", CONVERGE, |s| {
        s.pid == winner.pid().unwrap() && s.state == State::Following
    });
    assert_eq!(status.published.as_ref().map(|p| p.revision), Some(revision), "{status:#?}");
    assert_eq!(status.type_name, "HelloWorld");
    let record = cannot_open_of(&path).expect("the loser's record");
    assert_eq!(record.state, State::CannotOpen, "{record:#?}");
    let message = &record.last_error.as_ref().unwrap().message;
    assert!(message.contains("another writer holds this channel"), "{message}");
    let (code, out) = run(&["status", "--path", &path.display().to_string()]);
    assert_eq!(code, Some(0), "the winner runs and is up to date: {out}");
    assert_eq!(Reader::<HelloWorld>::open(&path).unwrap().read().unwrap().version.to_native(), 1);
}
