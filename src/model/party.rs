//! Parties: people, groups and organisations.

use serde::{Deserialize, Serialize};

use super::unknown::Unknown;
use crate::ident::{Ipi, Isni};
use crate::ids::PartyId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    Person,
    Group,
    Organisation,
}

impl PartyKind {
    /// As people say it (and as the wire spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Person => "person",
            PartyKind::Group => "group",
            PartyKind::Organisation => "organisation",
        }
    }
}

/// A person, group or organisation. Same-name parties are normal; the id is the identity and
/// `disambiguation` is what tells people apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: PartyId,
    pub name: String,
    pub sort_name: String,
    pub kind: PartyKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isni: Option<Isni>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipi: Option<Ipi>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disambiguation: Option<String>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}
