//! `mmap-sync-relay mirror`: make a regional server a copy of channels of a hub, for the
//! second tier of a fleet.
//!
//! The command talks to the regional server only (`--server`, with its credentials and TLS):
//! the mirrors it creates there fetch from the hub's JetStream domain over the regional
//! server's own leaf node connection, so the command needs neither the hub's address nor its
//! credentials. Creating a mirror does not need the hub to be reachable (the mirror catches up
//! whenever it is); `--wait` makes the command also check that each mirror has heard from the
//! hub. Running it again changes nothing.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use mmap_sync_relay::{MirrorError, NatsChannel};

use crate::args::{ConnectionArgs, parse_channel, parse_duration};
use crate::exit::Exit;

#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// The regional server (--server) where the mirrors are created, and how to authenticate
    /// to it.
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Channel to mirror (repeat for several).
    #[arg(long = "channel", value_name = "NAME", value_parser = parse_channel, required = true)]
    channels: Vec<String>,
    /// JetStream domain of the hub the channels are published on; the regional server reaches
    /// it as a leaf node of the hub.
    #[arg(long, value_name = "DOMAIN", value_parser = parse_domain)]
    hub_domain: String,
    /// Wait up to this long for the regional server to answer and for each mirror to hear
    /// from the hub (exit code 8 if one has not). Without it, the mirrors are created and the
    /// command ends: a mirror catches up whenever the hub becomes reachable.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    wait: Duration,
}

/// JetStream domains are one subject token: letters, digits, '-' and '_' here.
fn parse_domain(domain: &str) -> Result<String, String> {
    let valid = !domain.is_empty()
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(domain.to_owned())
    } else {
        Err(format!("{domain:?} is not a JetStream domain (letters, digits, '-', '_')"))
    }
}

pub fn run(args: MirrorArgs) -> ExitCode {
    let connection = match args.connection.connection() {
        Ok(connection) => connection,
        Err(err) => {
            eprintln!("error: {err}");
            return Exit::Usage.into();
        }
    };
    let server = connection.describe();
    let domain = &args.hub_domain;
    crate::runtime().block_on(async move {
        // Any wait is valid: one beyond what the clock can count waits without limit.
        let deadline = Instant::now().checked_add(args.wait);
        let mut client = None;
        let mut exit = Exit::Ok;
        for channel in &args.channels {
            let mut created = HashSet::new();
            let mut delay = Duration::from_millis(200);
            let result = loop {
                let attempt = async {
                    let client = match &client {
                        Some(client) => client,
                        None => client.insert(connection.connect("mmap-sync-relay mirror").await?),
                    };
                    NatsChannel::create_mirror(client.clone(), channel, domain).await
                };
                let time_left = deadline.is_none_or(|d| Instant::now() + delay < d);
                match attempt.await {
                    Ok(mirrors) => {
                        created
                            .extend(mirrors.iter().filter(|m| m.created).map(|m| m.stream.clone()));
                        let in_contact = mirrors.iter().all(|m| m.contact.is_some());
                        if args.wait.is_zero() || in_contact || !time_left {
                            break Ok(mirrors);
                        }
                    }
                    Err(MirrorError::Source(err)) if time_left => {
                        tracing::warn!("{channel}: {err}; trying again in {delay:?}");
                    }
                    Err(err) => break Err(err),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            };
            let mirrors = match result {
                Ok(mirrors) => mirrors,
                Err(err) => {
                    eprintln!("error: channel {channel}: {err}");
                    let code = match err {
                        MirrorError::Conflict { .. } => Exit::Conflict,
                        _ => Exit::Unreachable,
                    };
                    exit = if exit == Exit::Ok { code } else { exit };
                    continue;
                }
            };
            println!("channel {channel} on {server}, from domain {domain}:");
            for mirror in &mirrors {
                let how =
                    if created.contains(&mirror.stream) { "created" } else { "already there" };
                let contact = if mirror.contact.is_some() {
                    format!("in contact with the hub, {} behind", mirror.lag)
                } else {
                    "no contact with the hub yet".into()
                };
                println!(
                    "  {:<40} {how}, {contact} ({} messages here)",
                    mirror.stream, mirror.messages
                );
            }
            if !args.wait.is_zero() && mirrors.iter().any(|m| m.contact.is_none()) {
                eprintln!(
                    "error: channel {channel}: the mirrors exist, but some had no contact with \
                     domain {domain} within --wait {:?}: is the regional server a leaf node of \
                     the hub, and is the hub's JetStream domain {domain}?",
                    args.wait
                );
                exit = if exit == Exit::Ok { Exit::Unreachable } else { exit };
            }
        }
        exit.into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_is_one_subject_token() {
        assert_eq!(parse_domain("hub-eu_1"), Ok("hub-eu_1".into()));
        for bad in ["", "hub.eu", "hub eu", "hub*", ">"] {
            assert!(parse_domain(bad).is_err(), "{bad:?}");
        }
    }
}
