//! A `nats-server` with JetStream on a free loopback port, for the demo and the tests (which
//! include this file into their support module: it is no part of the library's API).
//!
//! Not for production: it runs the server binary it is given as a child process, with its
//! store in a directory of the caller's, and stops it when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped, restartable) local server.
#[derive(Debug)]
pub struct LocalServer {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    monitor_port: u16,
    config: ServerConfig,
    child: Option<Child>,
}

/// Settings beyond a plain JetStream server, in nats-server's configuration syntax.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Lines inside the `jetstream { .. }` block (e.g. `domain: hub`).
    pub jetstream: String,
    /// Top-level lines (e.g. an `authorization`, `tls` or `leafnodes` block).
    pub extra: String,
}

/// How long a server may take to report healthy.
const START_TIMEOUT: Duration = Duration::from_secs(15);

impl LocalServer {
    /// Starts `binary` with JetStream, its store in `dir/store` and its log in
    /// `dir/nats-server.log`, on free loopback ports; returns once it reports healthy.
    pub fn start(binary: &Path, dir: &Path) -> std::io::Result<Self> {
        Self::start_with(binary, dir, ServerConfig::default())
    }

    /// Like [`start`](Self::start), with `config` added to the server's configuration.
    pub fn start_with(binary: &Path, dir: &Path, config: ServerConfig) -> std::io::Result<Self> {
        let mut last_error = None;
        // A free port can be taken by someone else between our probe and the server's bind;
        // try a few pairs.
        for _ in 0..3 {
            let mut server = LocalServer {
                binary: binary.to_owned(),
                dir: dir.to_owned(),
                port: free_port()?,
                monitor_port: free_port()?,
                config: config.clone(),
                child: None,
            };
            match server.restart() {
                Ok(()) => return Ok(server),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.expect("three attempts"))
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("nats-server.log")
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s). Its store stays for [`restart`].
    ///
    /// [`restart`]: Self::restart
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(5));
        }
    }

    /// Starts the server again on the same ports with the same store (stopping it first if
    /// it runs); returns once it reports healthy.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        std::fs::create_dir_all(self.dir.join("store"))?;
        let config = self.dir.join("server.conf");
        std::fs::write(
            &config,
            format!(
                "listen: \"127.0.0.1:{}\"\nhttp: \"127.0.0.1:{}\"\n\
                 jetstream {{\n  store_dir: \"{}\"\n{}\n}}\n{}\n",
                self.port,
                self.monitor_port,
                self.dir.join("store").display(),
                self.config.jetstream,
                self.config.extra
            ),
        )?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path())?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.healthy() {
                return Ok(());
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                self.stop();
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                return Err(std::io::Error::other(format!(
                    "{} did not become healthy on port {} ({}); its log ends with:\n{}",
                    self.binary.display(),
                    self.port,
                    match exited {
                        Some(status) => format!("exited: {status}"),
                        None => format!("not healthy after {START_TIMEOUT:?}"),
                    },
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the monitoring endpoint reports the server healthy with JetStream enabled.
    pub fn healthy(&self) -> bool {
        let ask = || -> std::io::Result<bool> {
            let addr = ([127, 0, 0, 1], self.monitor_port).into();
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(
                b"GET /healthz?js-enabled-only=true HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
            )?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"))
        };
        ask().unwrap_or(false)
    }

    /// The version a server binary reports (`nats-server --version`), e.g. `2.9.10`.
    pub fn version_of(binary: &Path) -> std::io::Result<String> {
        let output = Command::new(binary).arg("--version").output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text.trim().rsplit(' ').next().unwrap_or("").trim_start_matches('v');
        if !output.status.success() || version.is_empty() {
            return Err(std::io::Error::other(format!(
                "{} --version did not report a version",
                binary.display()
            )));
        }
        Ok(version.to_owned())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The first file named `name` in a directory of the PATH (where `nats-server` is looked for
/// when no binary is given).
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Asks `child` to stop with SIGTERM and waits up to `grace` for it, then kills it.
pub fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
