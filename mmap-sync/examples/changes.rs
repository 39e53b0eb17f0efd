//! Many async tasks wait for new generations of one channel; one thread waits for all of them.
//!
//! ```text
//! cargo run -p mmap-sync --features tokio --example changes
//! ```
//!
//! A writer thread publishes five new versions of a small table, a tenth of a second apart.
//! A hundred tasks each hold a `Changes` and read every generation they are woken for; one
//! more task waits with a timeout inside `tokio::select!`, and stops when the writer is done.
//! However many tasks wait, the process runs one waiter thread for the channel.

use std::time::Duration;

use mmap_sync::changes::waiter_threads;
use mmap_sync::{Reader, SharedState, Writer};

#[derive(Debug, rkyv::Archive, rkyv::Serialize, SharedState)]
#[shared_state(path = "/dev/shm/mmap_sync_example_changes")]
pub struct Prices {
    pub version: u64,
    pub cents: Vec<u32>,
}

const GENERATIONS: u64 = 5;
const TASKS: usize = 100;

fn main() -> mmap_sync::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("mmap-sync-example-changes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|source| mmap_sync::Error::Io { path: dir.clone(), source })?;
    let path = dir.join("prices");

    let mut writer: Writer<Prices> = Writer::open(&path)?;
    writer.write(&Prices { version: 0, cents: vec![100, 250] })?;
    let reader: Reader<Prices> = Reader::open(&path)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .map_err(|source| mmap_sync::Error::Io { path: path.clone(), source })?;
    let result = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let reader = reader.clone();
            let mut changes = reader.changes()?;
            tasks.push(tokio::spawn(async move {
                let mut woken = 0u64;
                loop {
                    changes.changed().await?;
                    woken += 1;
                    // A ReadGuard is not Send: read in a block that ends before the next await.
                    let version = reader.read()?.version;
                    if version == GENERATIONS {
                        return mmap_sync::Result::Ok(woken);
                    }
                }
            }));
        }

        // One more task: waits with a timeout, next to a shutdown signal, in select!.
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
        let mut changes = reader.changes()?;
        let watcher = tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = tokio::time::timeout(Duration::from_millis(500), changes.changed()) => {
                        match changed {
                            Ok(generation) => println!("generation {} published", generation?),
                            Err(_elapsed) => println!("nothing new for 500 ms"),
                        }
                    }
                    _ = &mut done_rx => return mmap_sync::Result::Ok(()),
                }
            }
        });
        println!("{TASKS} tasks and one watcher wait; waiter threads: {}", waiter_threads());

        let publisher = std::thread::spawn(move || {
            for version in 1..=GENERATIONS {
                std::thread::sleep(Duration::from_millis(100));
                writer.write(&Prices { version, cents: vec![100 + version as u32, 250] })?;
            }
            mmap_sync::Result::Ok(())
        });

        let mut wakes = 0;
        for task in tasks {
            wakes += task.await.expect("task panicked")?;
        }
        publisher.join().expect("writer panicked")?;
        let _ = done_tx.send(());
        watcher.await.expect("watcher panicked")?;
        println!(
            "{TASKS} tasks read version {GENERATIONS} after {wakes} wakes in all (several \
             publishes can arrive as one wake)"
        );
        mmap_sync::Result::Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
