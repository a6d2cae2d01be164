//! Bearer tokens and roles.
//!
//! A token is shown once when created and stored only as its SHA-256: tokens are 256 random
//! bits, so a fast hash is enough (nothing to brute-force) and lookups stay one indexed read.
//! What each role may do is decided here, in one table of methods, so handlers ask
//! `principal.may(Action)` rather than comparing role names.

use liner::ids::PartyId;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The role vocabulary is the protocol's: the service, linerd and the console share it.
pub use liner::protocol::Role;

/// A stored token's metadata (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<PartyId>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// Who is asking, resolved from the bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub role: Role,
    pub parties: Vec<PartyId>,
}

impl From<TokenInfo> for Principal {
    fn from(t: TokenInfo) -> Self {
        Principal {
            token_id: t.id,
            name: t.name,
            role: t.role,
            parties: t.parties,
        }
    }
}

impl Principal {
    /// Whether this principal may change catalog data.
    pub fn may_edit(&self) -> bool {
        self.role.may_edit()
    }

    /// Whether writer shares must be hidden from this principal on a work with these writers.
    pub fn hides_shares(&self, writers: &[PartyId]) -> bool {
        self.role == Role::Artist && !writers.iter().any(|w| self.parties.contains(w))
    }

    /// The message a refused edit gets, which says what to do instead.
    pub fn edit_refusal(&self) -> String {
        match self.role {
            Role::Artist => {
                "artist tokens cannot edit the catalog; corrections go through an artist \
                             request, which an editor reviews"
                    .into()
            }
            role => format!("a {role} token cannot edit the catalog; ask an editor"),
        }
    }
}

/// A fresh token: `lnr_` and 256 random bits in hex.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("lnr_{}", hex(&bytes))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
