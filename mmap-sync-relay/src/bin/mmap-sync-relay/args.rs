//! Arguments several commands share, and the parsers of durations, sizes and channel names.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use mmap_sync_relay::manifest::check_channel_name;
use mmap_sync_relay::{Auth, Connection, Tls};

/// Where a channel's versions are: the server and the channel's name there.
#[derive(Args, Debug)]
pub struct SourceArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Channel name on the server (letters, digits, '-', '_').
    #[arg(long, value_parser = parse_channel)]
    pub channel: String,
}

/// The server and how to authenticate to it.
#[derive(Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// NATS server URL.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub server: String,
    /// NATS credentials file (a user JWT and its seed).
    #[arg(long, value_name = "FILE", help_heading = "Authentication and TLS")]
    #[arg(conflicts_with_all = ["nkey", "token", "user"])]
    pub creds: Option<PathBuf>,
    /// File holding an NKey seed.
    #[arg(long, value_name = "FILE", help_heading = "Authentication and TLS")]
    #[arg(conflicts_with_all = ["token", "user"])]
    pub nkey: Option<PathBuf>,
    /// Token to authenticate with.
    #[arg(long, env = "NATS_TOKEN", hide_env_values = true, conflicts_with = "user")]
    #[arg(help_heading = "Authentication and TLS")]
    pub token: Option<String>,
    /// User to authenticate as (with --password).
    #[arg(long, env = "NATS_USER", requires = "password", help_heading = "Authentication and TLS")]
    pub user: Option<String>,
    /// Password of --user.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true, requires = "user")]
    #[arg(help_heading = "Authentication and TLS")]
    pub password: Option<String>,
    /// PEM file of certificate authorities to trust (requires TLS).
    #[arg(long, value_name = "FILE", help_heading = "Authentication and TLS")]
    pub tls_ca: Option<PathBuf>,
    /// PEM file of a client certificate, for mutual TLS (with --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        help_heading = "Authentication and TLS"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        help_heading = "Authentication and TLS"
    )]
    pub tls_key: Option<PathBuf>,
    /// Start TLS before the server's greeting (servers with `handshake_first`).
    #[arg(long, help_heading = "Authentication and TLS")]
    pub tls_first: bool,
}

impl ConnectionArgs {
    /// The connection these arguments describe, after checking that the files they name can
    /// be read.
    pub fn connection(&self) -> Result<Connection, String> {
        let connection = self.connection_unchecked();
        connection.check_files()?;
        Ok(connection)
    }

    /// The connection these arguments describe, files unchecked.
    pub fn connection_unchecked(&self) -> Connection {
        let auth = match (&self.creds, &self.nkey, &self.token, &self.user, &self.password) {
            (Some(creds), ..) => Auth::Credentials(creds.clone()),
            (_, Some(nkey), ..) => Auth::NKey(nkey.clone()),
            (_, _, Some(token), ..) => Auth::Token(token.clone()),
            (_, _, _, Some(user), Some(password)) => {
                Auth::UserPassword { user: user.clone(), password: password.clone() }
            }
            _ => Auth::None,
        };
        let tls = Tls {
            ca: self.tls_ca.clone(),
            client: self.tls_cert.clone().zip(self.tls_key.clone()),
            first: self.tls_first,
        };
        Connection { server: self.server.clone(), auth, tls }
    }
}

pub fn parse_channel(name: &str) -> Result<String, String> {
    check_channel_name(name).map(|()| name.to_owned())
}

/// "500ms", "5s", "2m", "1h", or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a duration like 500ms, 5s or 2m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("{text:?}: {err}"))
}

/// "4096", "64 KiB", "64MiB", "1 GB".
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a size like 4096, 64 KiB or 1 GiB"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => return Err(format!("unknown unit {other:?} in {text:?}")),
    };
    value.checked_mul(scale).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse_or_say_why_not() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1e400").is_err());
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("99999999999 GiB").unwrap_err().contains("too large"));
        assert!(parse_size("lots").is_err());
    }
}
