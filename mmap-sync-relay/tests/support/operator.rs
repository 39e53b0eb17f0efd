//! Decentralized authentication made for one test: an operator, an account with JetStream, and
//! users, each an NKey generated here with a JWT its issuer signed; the credentials files a
//! client reads; and the server configuration that trusts the operator and knows the account
//! (`resolver: MEMORY` with the account's JWT preloaded). Nothing secret is checked in.
//!
//! A JWT here is what the NATS tools write (version 2 claims):
//! `base64url(header).base64url(claims).base64url(signature)`, unpadded, where the header is
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, the claims carry the issuer's and the subject's public
//! NKeys and a `nats` object whose `type` says what the subject is, and the signature is the
//! issuer's Ed25519 signature of the first two parts, dot included. `jti` is the unpadded
//! base32 of the SHA-512/256 digest of the claims without it, as the NATS tools compute it (the
//! server does not check it).

use std::path::{Path, PathBuf};

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::KeyPair;
use serde_json::{Value, json};

/// Signs `nats` claims about `subject`, issued by `issuer`.
fn encode(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let mut claims = json!({
        "iat": issued_at,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let digest = ring::digest::digest(&ring::digest::SHA512_256, claims.to_string().as_bytes());
    claims["jti"] = Value::String(BASE32_NOPAD.encode(digest.as_ref()));
    let header = json!({ "typ": "JWT", "alg": "ed25519-nkey" });
    let signed = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let signature = issuer.sign(signed.as_bytes()).expect("a seed signs");
    format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature))
}

/// An operator: the root of trust a server is configured with, and its system account (a
/// server with JetStream in operator mode will not start without one).
pub struct Operator {
    key: KeyPair,
    jwt: String,
    system: Account,
}

impl Operator {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::new_operator();
        let system = Account::signed_by(&key, "SYS", false);
        let nats = json!({
            "system_account": system.key.public_key(),
            "type": "operator",
            "version": 2,
        });
        // Self-signed: the server trusts it because its configuration names it.
        let jwt = encode(&key, &key.public_key(), name, nats);
        Operator { key, jwt, system }
    }

    /// An account this operator signs, with JetStream enabled and no limit.
    pub fn account(&self, name: &str) -> Account {
        Account::signed_by(&self.key, name, true)
    }

    /// Server configuration lines: trust this operator, and know its system account and
    /// `accounts`, no other.
    pub fn server_config(&self, accounts: &[&Account]) -> String {
        let preload: Vec<String> = [&self.system]
            .into_iter()
            .chain(accounts.iter().copied())
            .map(|a| format!("  {}: \"{}\"", a.key.public_key(), a.jwt))
            .collect();
        format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\n\
             resolver_preload: {{\n{}\n}}\n",
            self.jwt,
            self.system.key.public_key(),
            preload.join("\n")
        )
    }
}

/// An account: the users it signs may connect (when the server knows the account).
pub struct Account {
    key: KeyPair,
    jwt: String,
}

impl Account {
    /// A new account signed by `operator`, without limits; JetStream is enabled by storage
    /// limits other than 0 (-1: unlimited).
    fn signed_by(operator: &KeyPair, name: &str, jetstream: bool) -> Self {
        let key = KeyPair::new_account();
        let storage = if jetstream { -1 } else { 0 };
        let nats = json!({
            "limits": {
                "subs": -1, "data": -1, "payload": -1,
                "imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1,
                "mem_storage": storage, "disk_storage": storage, "streams": storage,
                "consumer": storage,
            },
            "default_permissions": { "pub": {}, "sub": {} },
            "type": "account",
            "version": 2,
        });
        let jwt = encode(operator, &key.public_key(), name, nats);
        Account { key, jwt }
    }

    /// A new user of this account, with no limits and every permission.
    pub fn user(&self, name: &str) -> User {
        let key = KeyPair::new_user();
        let jwt = self.sign_user(&key.public_key(), name);
        User { key, jwt }
    }

    fn sign_user(&self, user: &str, name: &str) -> String {
        let nats = json!({
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2,
        });
        encode(&self.key, user, name, nats)
    }
}

/// A user: its JWT and the key pair whose seed proves it is that user.
pub struct User {
    key: KeyPair,
    jwt: String,
}

impl User {
    /// The same JWT with the seed of another key: what a stolen JWT without its seed gives.
    pub fn with_key_of(&self, other: &User) -> User {
        let seed = other.key.seed().expect("a full key pair");
        User { key: KeyPair::from_seed(&seed).expect("a valid seed"), jwt: self.jwt.clone() }
    }

    /// Writes this user's credentials file, as the NATS tools do, into `dir/name`.
    pub fn write_creds(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let text = format!(
            "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            self.jwt,
            self.key.seed().expect("a full key pair")
        );
        std::fs::write(&path, text).expect("write a credentials file");
        path
    }
}
