//! Two tiers on NATS's own machinery: publishers write to a hub server; a regional server,
//! a leaf node of the hub with a JetStream domain of its own, mirrors the channel's buckets;
//! relays follow the regional server. Every version crosses to the region once, whatever the
//! number of relays there.

mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mmap_sync_relay::nats::bucket_name;
use mmap_sync_relay::{Auth, Connection, Publisher};
use mmap_sync_schemas::RoutingTable;
use support::local_server::{ServerConfig, free_port};
use support::{Host, ServerBinary, TestDir, channel_type, run, runtime, start_configured};

const CONVERGE: Duration = Duration::from_secs(60);
const ROUTES: usize = 64;
const HOSTS: usize = 3;
const VERSIONS: u64 = 5;
/// The regional server's password for its clients.
const REGION_PASSWORD: &str = "region-pw";

fn main() -> ExitCode {
    support::run_scenarios(&[(
        "relays_on_a_regional_leaf_node_converge",
        relays_on_a_regional_leaf_node_converge,
    )])
}

fn relays_on_a_regional_leaf_node_converge(server: &ServerBinary) {
    let dir = TestDir::new("tiers");
    let leaf_port = free_port().unwrap();
    let hub = start_configured(
        server,
        &dir,
        "hub",
        ServerConfig {
            jetstream: "  domain: hub".into(),
            extra: format!("server_name: hub\nleafnodes {{ listen: \"127.0.0.1:{leaf_port}\" }}"),
        },
    );
    // The region's clients (relays, the mirror command) authenticate; its leaf node
    // connection to the hub is the server's own.
    let region = start_configured(
        server,
        &dir,
        "region",
        ServerConfig {
            jetstream: "  domain: region".into(),
            extra: format!(
                "server_name: region\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{leaf_port}\" }} ] }}\n\
                 authorization {{ users: [ {{ user: region, password: \"{REGION_PASSWORD}\" }} ] }}"
            ),
        },
    );
    let rt = runtime();
    // The channel exists on the hub (its first version), then the region mirrors it with the
    // command; the leaf node connection may still be coming up, which --wait covers.
    let routing = channel_type::<RoutingTable>();
    let mut publisher =
        rt.block_on(Publisher::connect(&hub.url(), "tiers", routing.clone())).unwrap();
    let first = rt.block_on(publisher.publish(&RoutingTable::example(1, ROUTES))).unwrap();
    let region_url = region.url();
    let mirror = |channel: &str, domain: &str, wait: &str| {
        run(&[
            "mirror",
            "--server",
            &region_url,
            "--user",
            "region",
            "--password",
            REGION_PASSWORD,
            "--channel",
            channel,
            "--hub-domain",
            domain,
            "--wait",
            wait,
        ])
    };
    let (code, out) = mirror("tiers", "hub", "60s");
    print!("{out}");
    assert_eq!(code, Some(0), "{out}");
    for stream in ["KV_mmap-sync-tiers", "OBJ_mmap-sync-tiers"] {
        let line = out.lines().find(|l| l.contains(stream)).unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("created, in contact with the hub"), "{out}");
    }
    // Again: nothing to do.
    let (code, out) = mirror("tiers", "hub", "60s");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("already there, in contact with the hub").count(), 2, "{out}");
    let auth = ["--user", "region", "--password", REGION_PASSWORD];
    let hosts = Host::start_many(HOSTS, dir.path(), &region_url, "tiers", &auth);
    for host in &hosts {
        host.wait_published(first.revision, CONVERGE);
    }

    // Versions published on the hub reach every relay on the region; each is timed from the
    // start of its publish to the last relay's publish into its channel.
    let mut times = Vec::new();
    for version in 2..=VERSIONS + 1 {
        let started = Instant::now();
        let receipt =
            rt.block_on(publisher.publish(&RoutingTable::example(version, ROUTES))).unwrap();
        for host in &hosts {
            host.wait_published(receipt.revision, CONVERGE);
        }
        times.push(started.elapsed());
    }
    let ms: Vec<String> =
        times.iter().map(|t| format!("{:.0}", t.as_secs_f64() * 1000.0)).collect();
    println!(
        "nats-server {}: {HOSTS} relays on the regional server converged on each of {VERSIONS} \
         versions in {} ms (hub publish to the last relay's channel)",
        server.version,
        ms.join(", ")
    );

    // The region holds one copy of each archive: its mirror of the object store has exactly
    // the hub's messages, however many relays downloaded them.
    let (hub_state, region_state) = rt.block_on(async {
        let stream = format!("OBJ_{}", bucket_name("tiers"));
        let hub_client = async_nats::connect(hub.url()).await.unwrap();
        let mut hub_stream =
            async_nats::jetstream::new(hub_client).get_stream(&stream).await.unwrap();
        let regional = async_nats::ConnectOptions::with_user_and_password(
            "region".into(),
            REGION_PASSWORD.into(),
        )
        .connect(region.url())
        .await
        .unwrap();
        let mut region_stream =
            async_nats::jetstream::new(regional).get_stream(&stream).await.unwrap();
        let hub = hub_stream.info().await.unwrap().state.clone();
        let region = region_stream.info().await.unwrap().state.clone();
        (hub, region)
    });
    assert_eq!(
        (region_state.messages, region_state.bytes),
        (hub_state.messages, hub_state.bytes),
        "the region's copy of the archives differs from the hub's"
    );
    for host in &hosts {
        let status = host.status().unwrap();
        assert_eq!(status.behind, 0, "{}: {status:#?}", host.name);
        assert!(status.source.contains(&region.url()), "{}: follows {}", host.name, status.source);
    }

    // A channel used on the regional server before its mirrors existed has plain buckets
    // there: the command leaves them as they are, says why, and exits 6.
    let local = rt.block_on(Publisher::connect_with(
        &Connection {
            auth: Auth::UserPassword { user: "region".into(), password: REGION_PASSWORD.into() },
            ..Connection::new(region.url())
        },
        "local",
        routing,
    ));
    drop(local.unwrap());
    let (code, out) = mirror("local", "hub", "60s");
    assert_eq!(code, Some(6), "{out}");
    assert!(
        out.contains(
            "stream KV_mmap-sync-local exists on this server as a stream that mirrors nothing"
        ),
        "{out}"
    );

    // Mirrors of a domain nobody serves are created, never hear from it, and the command says
    // so once its --wait is over (exit 8).
    let (code, out) = mirror("elsewhere", "nowhere", "2s");
    assert_eq!(code, Some(8), "{out}");
    assert_eq!(out.matches("created, no contact with the hub yet").count(), 2, "{out}");
    assert!(out.contains("had no contact with domain nowhere"), "{out}");

    // Any wait is valid input: one longer than the clock can count (10^19 s) waits on, without
    // a limit, instead of failing on the deadline's arithmetic.
    let mut forever = std::process::Command::new(support::RELAY)
        .args(["mirror", "--server", &region_url, "--user", "region", "--password"])
        .args([REGION_PASSWORD, "--channel", "forever", "--hub-domain", "nowhere"])
        .args(["--wait", "10000000000000000000s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the relay binary");
    std::thread::sleep(Duration::from_secs(3));
    let still_waiting = forever.try_wait().expect("the mirror command's status").is_none();
    let _ = forever.kill();
    let output = forever.wait_with_output().expect("the mirror command's output");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(still_waiting, "a --wait of 10^19 s ended within 3 s: {out}");
    assert!(!out.contains("panicked"), "{out}");
}
