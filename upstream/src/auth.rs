//! Bearer tokens and roles.
//!
//! A token is shown once when created and stored only as its SHA-256: tokens are 256 random
//! bits, so a fast hash is enough (nothing to brute-force) and lookups stay one indexed read.
//! What each role may do is decided here, in one table of methods, so handlers ask
//! `principal.may(Action)` rather than comparing role names.

use std::fmt;
use std::str::FromStr;

use liner::ids::PartyId;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including tokens.
    Admin,
    /// Reads and edits the catalog.
    Editor,
    /// Reads everything, including history, to investigate disputes; does not edit.
    Support,
    /// Bound to party ids: reads the catalog, sees shares only on its own works, proposes
    /// corrections instead of editing.
    Artist,
    /// Reads the catalog.
    Reader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Editor,
        Role::Support,
        Role::Artist,
        Role::Reader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Support => "support",
            Role::Artist => "artist",
            Role::Reader => "reader",
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
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; expected one of admin, editor, support, artist, reader"
                )
            })
    }
}

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
        matches!(self.role, Role::Admin | Role::Editor)
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
