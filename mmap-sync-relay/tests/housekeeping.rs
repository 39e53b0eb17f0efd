//! Housekeeping against a real nats-server: the chunks of an upload whose publisher was killed
//! are collected once the grace period has passed, and a 256 MiB download less than half done
//! is abandoned when a newer version arrives (one more than half done is finished). The relay
//! reaches its server through a rate-limited TCP proxy, so that a download takes long enough to
//! be caught half way.

mod support;

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use mmap_sync::rkyv::{self, rancor};
use mmap_sync_relay::Publisher;
use mmap_sync_relay::nats::bucket_name;
use mmap_sync_schemas::FeatureTable;
use support::local_server::free_port;
use support::{
    Host, RELAY, ServerBinary, SlowLink, TestDir, channel_type, runtime, sample, scrape,
    start_server, wait_for, write_local,
};

const CONVERGE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    support::run_scenarios(&[
        (
            "chunks_of_a_killed_upload_are_collected_after_the_grace_period",
            chunks_of_a_killed_upload_are_collected_after_the_grace_period,
        ),
        (
            "a_newer_version_abandons_a_256_mib_download_less_than_half_done",
            a_newer_version_abandons_a_256_mib_download_less_than_half_done,
        ),
    ])
}

/// The chunk sets (nuids) in channel `channel`'s object stream, and the nuids object records
/// name.
async fn chunk_sets(url: &str, channel: &str) -> (Vec<String>, Vec<String>) {
    use futures_util::StreamExt;
    let bucket = bucket_name(channel);
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let stream = js.get_stream(format!("OBJ_{bucket}")).await.unwrap();
    let prefix = format!("$O.{bucket}.C.");
    let mut subjects = stream.info_with_subjects(format!("{prefix}>")).await.unwrap();
    let mut chunks = Vec::new();
    while let Some(subject) = subjects.next().await {
        chunks.push(subject.unwrap().0[prefix.len()..].to_owned());
    }
    let store = js.get_object_store(&bucket).await.unwrap();
    let mut named = Vec::new();
    let mut list = store.list().await.unwrap();
    while let Some(info) = list.next().await {
        named.push(info.unwrap().nuid);
    }
    (chunks, named)
}

fn chunks_of_a_killed_upload_are_collected_after_the_grace_period(server: &ServerBinary) {
    let dir = TestDir::new("orphans");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let rt = runtime();
    let ty = channel_type::<FeatureTable>();
    let mut publisher = rt.block_on(Publisher::connect(&url, "orphans", ty)).unwrap();
    rt.block_on(publisher.publish(&FeatureTable::synthetic(1, 4, 4))).unwrap();

    // A publisher process uploading a 128 MiB archive is killed once its first chunks are in.
    // It publishes a file, of the type a local feature table channel records.
    let local = dir.path().join("local_features");
    write_local(&local, &FeatureTable::synthetic(1, 4, 4));
    let archive =
        rkyv::to_bytes::<rancor::Error>(&FeatureTable::synthetic(2, 1024, 32768)).unwrap();
    let file = dir.path().join("large.rkyv");
    std::fs::write(&file, &archive).unwrap();
    drop(archive);
    let mut child = Command::new(RELAY)
        .args(["publish", "--server", &url, "--channel", "orphans", "--path"])
        .arg(&local)
        .arg("--file")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let orphan = wait_for("chunks of the upload", CONVERGE, || {
        let (chunks, named) = rt.block_on(chunk_sets(&url, "orphans"));
        chunks.into_iter().find(|nuid| !named.contains(nuid))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (chunks, named) = rt.block_on(chunk_sets(&url, "orphans"));
    assert!(chunks.contains(&orphan) && !named.contains(&orphan), "the upload was not cut short");
    println!("publisher killed mid-upload: chunks {orphan} belong to no object");

    // Within the grace period they stay: they may be an upload still on its way.
    let mut publisher = publisher.retention(3, Duration::from_secs(3600));
    let receipt = rt.block_on(publisher.publish(&FeatureTable::synthetic(3, 4, 4))).unwrap();
    assert!(receipt.collected.is_empty(), "{:?}", receipt.collected);
    assert!(rt.block_on(chunk_sets(&url, "orphans")).0.contains(&orphan));

    // Once it has passed, the next publish collects them.
    let grace = Duration::from_millis(500);
    std::thread::sleep(grace * 2);
    let mut publisher = publisher.retention(3, grace).orphan_min_age(grace);
    let receipt = rt.block_on(publisher.publish(&FeatureTable::synthetic(4, 4, 4))).unwrap();
    assert!(receipt.collected.contains(&format!("chunks {orphan}")), "{:?}", receipt.collected);
    let (chunks, named) = rt.block_on(chunk_sets(&url, "orphans"));
    assert!(chunks.iter().all(|nuid| named.contains(nuid)), "left: {chunks:?}, named: {named:?}");
}

/// Bytes per second the link between the relay and its server carries in the abandon test:
/// a 256 MiB download takes about 10 s.
const LINK_RATE: u64 = 25 << 20;

fn a_newer_version_abandons_a_256_mib_download_less_than_half_done(server: &ServerBinary) {
    const MIB: f64 = 1048576.0;
    let dir = TestDir::new("abandon");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let link = SlowLink::start(port, LINK_RATE);
    let metrics_port = free_port().unwrap();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let host = Host::start(
        dir.path(),
        "host-1",
        &link.url(),
        "abandon",
        &["--metrics", &metrics, "--max-size", "1 GiB"],
    );
    let path = host.path.display().to_string();
    let downloaded = || {
        let labels = [("channel", "abandon"), ("path", path.as_str())];
        sample(&scrape(metrics_port), "mmap_sync_relay_downloaded_bytes_total", &labels)
            .unwrap_or(0.0)
    };
    let rt = runtime();
    let ty = channel_type::<FeatureTable>();
    let mut publisher = rt.block_on(Publisher::connect(&url, "abandon", ty)).unwrap();
    let archive =
        rkyv::to_bytes::<rancor::Error>(&FeatureTable::synthetic(1, 1024, 65536)).unwrap();
    let total = archive.len() as f64;
    assert!(archive.len() >= 256 << 20);

    // A newer version arrives when a tenth of 256 MiB is in: the download is dropped.
    let large = rt.block_on(publisher.publish_archive(&archive)).unwrap().revision;
    let at = wait_for("a tenth downloaded", CONVERGE, || {
        let done = downloaded();
        (done >= total / 10.0).then_some(done)
    });
    let started = Instant::now();
    let small = rt.block_on(publisher.publish(&FeatureTable::synthetic(2, 4, 4))).unwrap();
    let status = host.wait_published(small.revision, CONVERGE);
    let visible = started.elapsed();
    assert_eq!(status.counters.abandoned, 1, "{status:#?}");
    assert_eq!(status.counters.published, 1, "revision {large} was published: {status:#?}");
    assert!(host.log().contains("abandoned at"), "{}", host.log());
    println!(
        "nats-server {}: a 256 MiB download over a {} MiB/s link, {:.0} MiB ({:.0}%) in when a \
         newer version was published, was abandoned; the newer version was visible {:.0} ms after its \
         publish began (the whole download takes {:.1} s at that rate)",
        server.version,
        LINK_RATE >> 20,
        at / MIB,
        at * 100.0 / total,
        visible.as_secs_f64() * 1000.0,
        total / LINK_RATE as f64
    );

    // One that arrives past half way waits: the large version is finished, then the newer one
    // follows.
    let before = downloaded();
    let large = rt.block_on(publisher.publish_archive(&archive)).unwrap().revision;
    wait_for("more than half downloaded", CONVERGE, || {
        (downloaded() - before >= total * 0.6).then_some(())
    });
    let newest = rt.block_on(publisher.publish(&FeatureTable::synthetic(3, 4, 4))).unwrap();
    let status = host.wait_published(newest.revision, CONVERGE);
    assert_eq!(status.counters.abandoned, 1, "abandoned past half way: {status:#?}");
    assert_eq!(status.counters.published, 3, "{status:#?}");
    let log = host.log();
    assert!(log.contains("more than half: finishing this one first"), "{log}");
    assert!(
        log.lines().any(|l| l.contains(&format!("revision={large} ")) && l.contains("published")),
        "{log}"
    );
}
