//! Many channels in one relay process (`follow --config`), each independent of the others,
//! reloaded on SIGHUP, shown by `status --config`, and measured on `--metrics`, against real
//! nats-server processes.

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use mmap_sync::rkyv::{self, rancor};
use mmap_sync_relay::status::{State, Status, status_path};
use mmap_sync_relay::{Manifest, Publisher};
use mmap_sync_schemas::HelloWorld;
use support::local_server::free_port;
use support::{Host, ServerBinary, TestDir, run, runtime, sample, scrape, start_server, wait_for};

const CONVERGE: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    support::run_scenarios(&[(
        "channels_of_one_process_are_independent_reloaded_and_measured",
        channels_of_one_process_are_independent_reloaded_and_measured,
    )])
}

fn status_of(path: &Path) -> Option<Status> {
    Status::load(&status_path(path)).ok().flatten()
}

fn wait_channel(what: &str, path: &Path, ready: impl Fn(&Status) -> bool) -> Status {
    wait_for(what, CONVERGE, || status_of(path).filter(|s| ready(s)))
}

fn channel_entry(name: &str, ty: &str, path: &Path, extra: &str) -> String {
    format!(
        "[[channel]]\nname = \"{name}\"\ntype = \"{ty}\"\npath = \"{}\"\n{extra}\n",
        path.display()
    )
}

/// Uploads version `version` of a hello-world channel, purges its chunks behind the Object
/// Store's back and points the manifest at it: a relay that downloads it waits for bytes that
/// never come. Returns the revision.
fn publish_stalled(url: &str, channel: &str, version: u64) -> u64 {
    runtime().block_on(async {
        let mut publisher = Publisher::<HelloWorld>::connect(url, channel).await.unwrap();
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
        let manifest = Manifest::describe::<HelloWorld>(&archive, object, base);
        channel_buckets.swap(base, &manifest).await.unwrap()
    })
}

fn publish_hello(url: &str, channel: &str, version: u64) -> u64 {
    runtime().block_on(async {
        let mut publisher = Publisher::<HelloWorld>::connect(url, channel).await.unwrap();
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
    // minutes. refused: a version of another type arrives.
    let first = format!(
        "[defaults]\nserver = \"{url}\"\nrecheck = \"1s\"\nretry_max = \"1s\"\n\n{}{}{}{}",
        channel_entry("alpha", "hello-world", &path("alpha"), ""),
        channel_entry("down", "hello-world", &path("down"), &format!("server = \"{nowhere}\"")),
        channel_entry("slow", "hello-world", &path("slow"), "inactivity_timeout = \"10m\""),
        channel_entry("refused", "routing-table", &path("refused"), ""),
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
        channel_entry("alpha", "hello-world", &path("alpha"), ""),
        channel_entry("slow", "hello-world", &path("slow"), "inactivity_timeout = \"10m\""),
        channel_entry("refused", "routing-table", &path("refused"), "recheck = \"2s\""),
        channel_entry("gamma", "hello-world", &path("gamma"), ""),
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
