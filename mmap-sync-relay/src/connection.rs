//! How to reach a NATS server: its address, the credentials to present, and TLS.
//!
//! A [`Connection`] is plain data (it can be compared, cloned and logged without its secrets)
//! that builds an `async_nats` client on demand. A relay keeps it rather than a client so that
//! it can connect again from scratch, reading credential files anew, and so that the failure
//! of a connection attempt (a wrong password, an unknown certificate authority) reaches its
//! status with the server's or the TLS library's own words.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::Event;

use crate::source::SourceError;

/// A server and how to authenticate to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// The server's URL, e.g. `nats://nats:4222` or `tls://nats:4222`.
    pub server: String,
    /// What to authenticate with.
    pub auth: Auth,
    /// TLS settings beyond what the URL implies.
    pub tls: Tls,
}

/// What a client authenticates with. The server decides which it accepts.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Nothing (or what the URL carries, `nats://user:password@host`).
    #[default]
    None,
    /// A token (`authorization { token: .. }` on the server).
    Token(String),
    /// A user and password.
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// A credentials file (a user JWT and its NKey seed), as `nsc` writes them.
    Credentials(PathBuf),
    /// A file holding an NKey seed (`SU…`), for servers that list users by public NKey.
    NKey(PathBuf),
}

/// TLS settings. A server that requires TLS gets it in any case; these add trust and identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// PEM file of the certificate authorities to trust besides the system's; setting it
    /// requires TLS.
    pub ca: Option<PathBuf>,
    /// PEM files of a client certificate and its private key, for servers that verify
    /// clients (mutual TLS); setting them requires TLS.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Start TLS before the server's greeting, for servers configured with
    /// `handshake_first` (nats-server 2.10.4 and later).
    pub first: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("server", &without_credentials(&self.server))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Never shows a secret: tokens and passwords print as `***`, files by their path.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token(_) => f.write_str("Token(***)"),
            Auth::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .field("password", &"***")
                .finish(),
            Auth::Credentials(path) => f.debug_tuple("Credentials").field(path).finish(),
            Auth::NKey(path) => f.debug_tuple("NKey").field(path).finish(),
        }
    }
}

/// How long one attempt to reach the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Connection {
    /// A connection to `server` without credentials or TLS settings.
    pub fn new(server: impl Into<String>) -> Self {
        Connection { server: server.into(), ..Connection::default() }
    }

    /// The server's URL with any user and password it carries replaced by `***`, for logs and
    /// status files.
    pub fn describe(&self) -> String {
        without_credentials(&self.server)
    }

    /// Checks that every file these settings name can be read, with an error naming the file
    /// and what it is for. Connecting reads them again: this is for finding a mistyped path
    /// when a program starts, rather than at each attempt to connect.
    pub fn check_files(&self) -> Result<(), String> {
        let mut files: Vec<(&str, &Path)> = Vec::new();
        match &self.auth {
            Auth::Credentials(path) => files.push(("credentials file", path)),
            Auth::NKey(path) => files.push(("NKey seed file", path)),
            _ => {}
        }
        if let Some(ca) = &self.tls.ca {
            files.push(("TLS CA file", ca));
        }
        if let Some((cert, key)) = &self.tls.client {
            files.push(("TLS client certificate", cert));
            files.push(("TLS client key", key));
        }
        for (what, path) in files {
            std::fs::File::open(path).map_err(|err| format!("{what} {}: {err}", path.display()))?;
        }
        Ok(())
    }

    /// Connects, once: fails at once, with the reason, if the server cannot be reached or
    /// refuses the credentials. Once connected, the client reconnects by itself after a lost
    /// connection, for as long as it lives.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, SourceError> {
        self.connect_watched(name, Arc::default()).await
    }

    /// Like [`connect`](Self::connect); `problem` then holds the client's last complaint about
    /// its connection (an error event of the client or the server), and `None` while it is
    /// connected.
    pub(crate) async fn connect_watched(
        &self,
        name: &str,
        problem: Arc<Mutex<Option<String>>>,
    ) -> Result<async_nats::Client, SourceError> {
        let server = self.describe();
        let fail = |what: String| SourceError::Unavailable(format!("{server}: {what}"));
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(CONNECT_TIMEOUT)
            // Reconnect for ever: a relay outlives any outage.
            .max_reconnects(None)
            .event_callback(move |event| {
                let problem = problem.clone();
                async move {
                    let complaint = match event {
                        Event::Connected => None,
                        Event::Disconnected => Some("disconnected".to_owned()),
                        Event::ServerError(err) => Some(format!("server error: {err}")),
                        Event::ClientError(err) => Some(format!("client error: {err}")),
                        _ => return,
                    };
                    if let Ok(mut problem) = problem.lock() {
                        *problem = complaint;
                    }
                }
            });
        options = match &self.auth {
            Auth::None => options,
            Auth::Token(token) => options.token(token.clone()),
            Auth::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            Auth::Credentials(path) => options
                .credentials_file(path)
                .await
                .map_err(|err| fail(format!("credentials file {}: {err}", path.display())))?,
            Auth::NKey(path) => {
                let seed = std::fs::read_to_string(path)
                    .map_err(|err| fail(format!("NKey seed file {}: {err}", path.display())))?;
                options.nkey(seed.trim().to_owned())
            }
        };
        if let Some(ca) = &self.tls.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.tls.client {
            options = options.add_client_certificate(cert.clone(), key.clone()).require_tls(true);
        }
        if self.tls.first {
            options = options.tls_first();
        }
        options
            .connect(self.server.as_str())
            .await
            .map_err(|err| fail(format!("cannot connect: {err}")))
    }
}

/// `server` with any user and password in the URL replaced by `***`.
pub(crate) fn without_credentials(server: &str) -> String {
    let Some((scheme, rest)) = server.split_once("://") else { return server.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => server.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_logs_or_the_status_file() {
        assert_eq!(without_credentials("nats://u:secret@host:4222"), "nats://***@host:4222");
        assert_eq!(without_credentials("tls://token@host/x@y"), "tls://***@host/x@y");
        assert_eq!(without_credentials("nats://host:4222"), "nats://host:4222");
        assert_eq!(without_credentials("host:4222"), "host:4222");
        let connection = Connection {
            server: "nats://u:secret@host".into(),
            auth: Auth::UserPassword { user: "relay".into(), password: "hunter2".into() },
            tls: Tls::default(),
        };
        let shown = format!("{connection:?} {:?}", Auth::Token("t0k3n".into()));
        for secret in ["secret", "hunter2", "t0k3n"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn a_missing_file_is_named_with_what_it_is_for() {
        let connection = Connection {
            server: "nats://host".into(),
            auth: Auth::Credentials("/nonexistent/relay.creds".into()),
            tls: Tls { ca: Some("/nonexistent/ca.pem".into()), ..Tls::default() },
        };
        let err = connection.check_files().unwrap_err();
        assert!(err.starts_with("credentials file /nonexistent/relay.creds: "), "{err}");
        let connection = Connection { auth: Auth::None, ..connection };
        let err = connection.check_files().unwrap_err();
        assert!(err.starts_with("TLS CA file /nonexistent/ca.pem: "), "{err}");
    }
}
