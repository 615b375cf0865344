//! Who may call the API: bearer tokens, stored only as SHA-256 hashes, each granting one role to
//! one subject (docs/contract.md §2).
//!
//! A presented token is hashed and compared in constant time against every configured hash, so
//! neither the comparison nor which entry matched leaks through timing. Tokens themselves are
//! never stored or logged.

use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A sampling lab: posts results as its own `lab_id`.
    Lab,
    /// A ledger or traceability platform: posts shipments.
    Ledger,
    /// An official: units, dispositions, cases, everything.
    Admin,
    /// Regulator staff querying the lake.
    Analyst,
    /// The credit system reading disclosures.
    Feed,
    /// An official's field device or system: posts on-site inspections.
    Inspector,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Lab,
        Role::Ledger,
        Role::Admin,
        Role::Analyst,
        Role::Feed,
        Role::Inspector,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lab => "lab",
            Role::Ledger => "ledger",
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Feed => "feed",
            Role::Inspector => "inspector",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .iter()
            .copied()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                format!("unknown role '{text}': use lab, ledger, admin, analyst or feed")
            })
    }
}

/// One `[[token]]` entry of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Hex SHA-256 of the bearer token.
    pub sha256: String,
    pub role: Role,
    /// For a lab, the `lab_id` it may post as; otherwise a name for logs and audit.
    pub subject: String,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub subject: String,
}

/// Why a request was not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No token, or one no entry knows: 401.
    Unauthenticated,
    /// A known token whose role may not use the route: 403.
    Forbidden { role: Role },
}

/// Checks bearer tokens against the configured hashes.
#[derive(Debug, Clone)]
pub struct Authenticator {
    entries: Vec<([u8; 32], Caller)>,
}

impl Authenticator {
    /// Fails on a hash that is not 64 hex digits, naming the entry.
    pub fn new(entries: &[TokenEntry]) -> Result<Self, String> {
        let mut parsed = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(entry.sha256.trim(), &mut hash).map_err(|_| {
                format!(
                    "token entry {} ({}): sha256 must be 64 hex digits",
                    index + 1,
                    entry.subject
                )
            })?;
            parsed.push((
                hash,
                Caller {
                    role: entry.role,
                    subject: entry.subject.clone(),
                },
            ));
        }
        Ok(Self { entries: parsed })
    }

    /// The caller behind an `Authorization` header value, if its role is one of `allowed`.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        allowed: &[Role],
    ) -> Result<Caller, Denied> {
        let caller = authorization
            .and_then(bearer_token)
            .and_then(|token| self.caller_of(token))
            .ok_or(Denied::Unauthenticated)?;
        if allowed.contains(&caller.role) {
            Ok(caller)
        } else {
            Err(Denied::Forbidden { role: caller.role })
        }
    }

    /// The caller a raw token belongs to (also used by the Postgres-protocol front end).
    pub fn caller_of(&self, token: &str) -> Option<Caller> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        // Every entry is compared, whatever matched, so timing says nothing about which did.
        for (hash, caller) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(caller.clone());
            }
        }
        found
    }
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A new random token (256 bits, hex) and its SHA-256, for `spotcheck token new` and the dev config.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("sc_{}", hex::encode(bytes));
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    (token, hash)
}

/// The config line that grants a token, as docs/contract.md §2 writes it.
pub fn config_entry(hash: &str, role: Role, subject: &str) -> String {
    format!("[[token]]\nsha256 = \"{hash}\"\nrole = \"{role}\"\nsubject = {subject:?}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> (Authenticator, String) {
        let (token, hash) = new_token();
        let entry = TokenEntry {
            sha256: hash,
            role: Role::Lab,
            subject: "tj-lab-01".into(),
        };
        (Authenticator::new(&[entry]).unwrap(), token)
    }

    #[test]
    fn a_configured_token_names_its_caller() {
        let (auth, token) = authenticator();
        let caller = auth
            .authorize(Some(&format!("Bearer {token}")), &[Role::Lab])
            .unwrap();
        assert_eq!(caller.subject, "tj-lab-01");
    }

    #[test]
    fn a_missing_or_unknown_token_is_unauthenticated() {
        let (auth, token) = authenticator();
        assert_eq!(
            auth.authorize(None, &[Role::Lab]),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            auth.authorize(Some("Bearer sc_nope"), &[Role::Lab]),
            Err(Denied::Unauthenticated)
        );
        assert_eq!(
            auth.authorize(Some(&format!("Basic {token}")), &[Role::Lab]),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn a_known_token_with_another_role_is_forbidden() {
        let (auth, token) = authenticator();
        assert_eq!(
            auth.authorize(Some(&format!("Bearer {token}")), &[Role::Admin]),
            Err(Denied::Forbidden { role: Role::Lab })
        );
    }

    #[test]
    fn a_malformed_hash_is_refused_at_start() {
        let entry = TokenEntry {
            sha256: "abc".into(),
            role: Role::Feed,
            subject: "credit".into(),
        };
        assert!(
            Authenticator::new(&[entry])
                .unwrap_err()
                .contains("64 hex digits")
        );
    }
}
