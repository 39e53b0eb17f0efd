//! `follow --config FILE`: the channels one relay process follows, from a TOML file.
//!
//! ```toml
//! # Settings for every channel (each may also be set per channel, which wins).
//! [defaults]
//! server = "tls://nats.internal:4222"
//! creds = "/etc/mmap-sync-relay/relay.creds"
//! tls_ca = "/etc/mmap-sync-relay/ca.pem"
//! recheck = "5s"
//!
//! [[channel]]
//! name = "routing"                  # the channel on the server
//! path = "/dev/shm/routing_table"   # the local channel
//!
//! [[channel]]
//! name = "features"
//! path = "/dev/shm/features"
//! expect_type = "FeatureTable"      # refuse versions (and a channel) of any other type
//! max_size = "512 MiB"
//! inactivity_timeout = "2m"
//! ```
//!
//! A channel's settings come from its own table, then `[defaults]`, then the command line
//! (`--server`, the authentication and TLS options, `--recheck` and the other timings). Local
//! paths must differ. Every mistake is reported with the file, the channel and the key. A
//! channel has no `type`: its versions carry it (the key is refused, saying so).

use std::path::{Path, PathBuf};
use std::time::Duration;

use mmap_sync_relay::manifest::check_channel_name;
use mmap_sync_relay::status::status_path;
use mmap_sync_relay::{Auth, Connection, RelayOptions, Tls};
use serde::Deserialize;

use crate::args::{ConnectionArgs, parse_duration, parse_size};

/// One channel, with every setting resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The channel's name on the server.
    pub name: String,
    /// The server and how to authenticate.
    pub connection: Connection,
    /// The relay's settings: the local path, its status file, limits and timings (the others
    /// stay [`RelayOptions::new`]'s), compared whole to tell a changed channel.
    pub options: RelayOptions,
}

/// The timings a command line gives (the lowest layer of settings).
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    pub inactivity_timeout: Duration,
    pub recheck: Duration,
    pub retry_max: Duration,
}

/// A `[defaults]` or `[[channel]]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    name: Option<String>,
    /// Gone (a channel's versions carry their type): read only to say so.
    #[serde(rename = "type")]
    ty: Option<toml::Value>,
    expect_type: Option<String>,
    path: Option<PathBuf>,
    status_file: Option<PathBuf>,
    max_size: Option<String>,
    server: Option<String>,
    creds: Option<PathBuf>,
    nkey: Option<PathBuf>,
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
    tls_ca: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_first: Option<bool>,
    inactivity_timeout: Option<String>,
    recheck: Option<String>,
    retry_max: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Table,
    #[serde(default)]
    channel: Vec<Table>,
}

/// Reads and checks the configuration file at `path`; `cli` and `timings` are the command
/// line's settings, beneath the file's.
pub fn load(
    path: &Path,
    cli: &ConnectionArgs,
    timings: Timings,
) -> Result<Vec<ChannelConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    parse(&text, cli, timings).map_err(|err| format!("{}: {err}", path.display()))
}

/// The status file of every channel the configuration file at `path` lists, with the
/// channel's name and path, without resolving (or reading) anything else: `status` needs no
/// access to the relay's secrets.
pub fn status_files(path: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let file: File = toml::from_str(&text)
        .map_err(|err| format!("{}: {}", path.display(), err.to_string().trim_end()))?;
    file.channel
        .into_iter()
        .enumerate()
        .map(|(index, table)| {
            let name = table.name.unwrap_or_default();
            let channel = table.path.ok_or_else(|| {
                format!("{}: channel {} ({name:?}): `path` is missing", path.display(), index + 1)
            })?;
            let status = table.status_file.unwrap_or_else(|| status_path(&channel));
            Ok((name, channel, status))
        })
        .collect()
}

fn parse(text: &str, cli: &ConnectionArgs, timings: Timings) -> Result<Vec<ChannelConfig>, String> {
    let file: File = toml::from_str(text).map_err(|err| err.to_string().trim_end().to_owned())?;
    for (key, set) in [
        ("name", file.defaults.name.is_some()),
        ("expect_type", file.defaults.expect_type.is_some()),
        ("path", file.defaults.path.is_some()),
        ("status_file", file.defaults.status_file.is_some()),
    ] {
        if set {
            return Err(format!("[defaults]: `{key}` belongs in a [[channel]] table"));
        }
    }
    let mut channels: Vec<ChannelConfig> = Vec::new();
    for (index, table) in file.channel.iter().enumerate() {
        let label = match &table.name {
            Some(name) => format!("channel {} ({name:?})", index + 1),
            None => format!("channel {}", index + 1),
        };
        let channel = resolve(table, &file.defaults, cli, timings)
            .map_err(|err| format!("{label}: {err}"))?;
        if let Some(other) = channels.iter().position(|c| c.options.path == channel.options.path) {
            return Err(format!(
                "{label}: path {} is already channel {}'s: each local channel has one writer",
                channel.options.path.display(),
                other + 1
            ));
        }
        channels.push(channel);
    }
    Ok(channels)
}

fn resolve(
    table: &Table,
    defaults: &Table,
    cli: &ConnectionArgs,
    timings: Timings,
) -> Result<ChannelConfig, String> {
    let name = table.name.clone().ok_or("`name` is missing (the channel's name on the server)")?;
    check_channel_name(&name).map_err(|err| format!("name: {err}"))?;
    if table.ty.is_some() || defaults.ty.is_some() {
        return Err("`type` is no setting any more: a relay takes the type each version \
                    carries; to accept only one, set `expect_type = \"TypeName\"` (its Rust \
                    name, e.g. \"RoutingTable\")"
            .into());
    }
    let path = table.path.clone().ok_or("`path` is missing (the local channel's path prefix)")?;
    if !path.is_absolute() {
        return Err(format!("path: {} is not an absolute path", path.display()));
    }
    let pick = |own: &Option<String>, default: &Option<String>| own.clone().or(default.clone());
    let duration =
        |key: &str, own: &Option<String>, default: &Option<String>, cli: Duration| match pick(
            own, default,
        ) {
            Some(text) => parse_duration(&text).map_err(|err| format!("{key}: {err}")),
            None => Ok(cli),
        };
    let max_size = pick(&table.max_size, &defaults.max_size)
        .map(|text| parse_size(&text).map_err(|err| format!("max_size: {err}")))
        .transpose()?;
    let options = RelayOptions {
        expect_type: table.expect_type.clone(),
        status_path: table.status_file.clone(),
        max_size,
        inactivity_timeout: duration(
            "inactivity_timeout",
            &table.inactivity_timeout,
            &defaults.inactivity_timeout,
            timings.inactivity_timeout,
        )?,
        recheck: duration("recheck", &table.recheck, &defaults.recheck, timings.recheck)?,
        retry_max: duration("retry_max", &table.retry_max, &defaults.retry_max, timings.retry_max)?,
        ..RelayOptions::new(path)
    };
    let connection = connection(table, defaults, cli)?;
    connection.check_files()?;
    Ok(ChannelConfig { name, connection, options })
}

/// The connection of a channel: its own table's settings, else `[defaults]`', else the
/// command line's. Authentication is taken whole from the first layer that sets any of it.
fn connection(table: &Table, defaults: &Table, cli: &ConnectionArgs) -> Result<Connection, String> {
    let auth_of = |t: &Table| -> Result<Option<Auth>, String> {
        let methods = [t.creds.is_some(), t.nkey.is_some(), t.token.is_some(), t.user.is_some()];
        if methods.iter().filter(|set| **set).count() > 1 {
            return Err("set one of creds, nkey, token, or user and password".into());
        }
        Ok(match (&t.creds, &t.nkey, &t.token, &t.user, &t.password) {
            (Some(creds), ..) => Some(Auth::Credentials(creds.clone())),
            (_, Some(nkey), ..) => Some(Auth::NKey(nkey.clone())),
            (_, _, Some(token), ..) => Some(Auth::Token(token.clone())),
            (_, _, _, Some(user), Some(password)) => {
                Some(Auth::UserPassword { user: user.clone(), password: password.clone() })
            }
            (_, _, _, Some(_), None) => return Err("`user` is set without `password`".into()),
            (_, _, _, None, Some(_)) => return Err("`password` is set without `user`".into()),
            _ => None,
        })
    };
    let from_cli = cli.connection_unchecked();
    let auth = match auth_of(table)? {
        Some(auth) => auth,
        None => {
            auth_of(defaults).map_err(|err| format!("[defaults]: {err}"))?.unwrap_or(from_cli.auth)
        }
    };
    let tls_client = |t: &Table| match (&t.tls_cert, &t.tls_key) {
        (Some(cert), Some(key)) => Ok(Some((cert.clone(), key.clone()))),
        (None, None) => Ok(None),
        _ => Err("set both tls_cert and tls_key, or neither".to_owned()),
    };
    let client = match tls_client(table)? {
        Some(client) => Some(client),
        None => tls_client(defaults)
            .map_err(|err| format!("[defaults]: {err}"))?
            .or(from_cli.tls.client),
    };
    let tls = Tls {
        ca: table.tls_ca.clone().or(defaults.tls_ca.clone()).or(from_cli.tls.ca),
        client,
        first: table.tls_first.or(defaults.tls_first).unwrap_or(from_cli.tls.first),
    };
    let server = table.server.clone().or(defaults.server.clone()).unwrap_or(from_cli.server);
    Ok(Connection { server, auth, tls })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        connection: ConnectionArgs,
    }

    fn parse_with(text: &str, args: &[&str]) -> Result<Vec<ChannelConfig>, String> {
        let cli = Cli::try_parse_from([&["test"], args].concat()).unwrap();
        let timings = Timings {
            inactivity_timeout: Duration::from_secs(30),
            recheck: Duration::from_secs(5),
            retry_max: Duration::from_secs(30),
        };
        parse(text, &cli.connection, timings)
    }

    #[test]
    fn channel_settings_win_over_defaults_over_the_command_line() {
        let text = r#"
            [defaults]
            server = "nats://hub:4222"
            token = "from-defaults"
            recheck = "2s"

            [[channel]]
            name = "a"
            path = "/dev/shm/a"

            [[channel]]
            name = "b"
            expect_type = "HelloWorld"
            path = "/dev/shm/b"
            server = "nats://other:4222"
            user = "u"
            password = "p"
            recheck = "250ms"
            max_size = "1 MiB"
        "#;
        let channels = parse_with(text, &["--server", "nats://cli:4222", "--tls-first"]).unwrap();
        let (a, b) = (&channels[0], &channels[1]);
        assert_eq!(a.connection.server, "nats://hub:4222");
        assert_eq!(a.connection.auth, Auth::Token("from-defaults".into()));
        assert!(a.connection.tls.first, "from the command line");
        assert_eq!(a.options.recheck, Duration::from_secs(2));
        assert_eq!(a.options.retry_max, Duration::from_secs(30));
        assert_eq!(b.connection.server, "nats://other:4222");
        assert_eq!(
            b.connection.auth,
            Auth::UserPassword { user: "u".into(), password: "p".into() }
        );
        assert_eq!(b.options.recheck, Duration::from_millis(250));
        assert_eq!(b.options.max_size, Some(1 << 20));
        assert_eq!(a.options.expect_type, None);
        assert_eq!(b.options.expect_type.as_deref(), Some("HelloWorld"));
    }

    #[test]
    fn mistakes_name_the_channel_and_the_key() {
        let channel = |body: &str| format!("[[channel]]\nname = \"a\"\n{body}");
        let cases = [
            (channel("expect_type = \"X\""), "channel 1 (\"a\"): `path` is missing"),
            (
                channel("type = \"routing-table\"\npath = \"/dev/shm/a\""),
                "channel 1 (\"a\"): `type` is no setting any more: a relay takes the type each \
                 version carries; to accept only one, set `expect_type",
            ),
            ("[defaults]\nexpect_type = \"X\"".into(), "`expect_type` belongs in a [[channel]]"),
            (
                channel("path = \"/dev/shm/a\"\nrecheck = \"soon\""),
                "channel 1 (\"a\"): recheck: \"soon\" is not a duration",
            ),
            (channel("path = \"/dev/shm/a\"\nuser = \"u\""), "`user` is set without `password`"),
            (
                channel("path = \"/dev/shm/a\"\ncreds = \"/nonexistent/x\""),
                "credentials file /nonexistent/x",
            ),
            (channel("path = \"relative\""), "is not an absolute path"),
            (channel("expect_tyep = \"HelloWorld\""), "unknown field `expect_tyep`"),
            ("[defaults]\npath = \"/dev/shm/a\"".into(), "`path` belongs in a [[channel]]"),
            (
                format!(
                    "{}\n{}",
                    channel("path = \"/dev/shm/a\""),
                    channel("path = \"/dev/shm/a\"")
                ),
                "channel 2 (\"a\"): path /dev/shm/a is already channel 1's",
            ),
            ("[[channel]\nname = 1".into(), "TOML parse error"),
        ];
        for (text, expected) in cases {
            let err = parse_with(&text, &[]).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        assert_eq!(parse_with("", &[]).unwrap(), vec![], "an empty file lists no channel");
    }
}
