//! Credits on a recording and display artist credits with their join phrases.

use serde::{Deserialize, Serialize};

use super::unknown::Unknown;
use crate::ids::PartyId;
use crate::roles::Role;

/// One party's part on a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub party: PartyId,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// The name printed on this release when it differs from the party's name
    /// ("Frida" for Anni-Frid Lyngstad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_as: Option<String>,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}

/// One name in a display artist credit: "Jay-Z" + " feat. " + …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtistCredit {
    pub party: PartyId,
    /// The name as shown in this credit.
    pub name: String,
    /// What follows the name: " feat. ", " & ", ", " or nothing for the last one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub join_phrase: String,
    /// Members this build does not know, kept as they came (see [`super::unknown`]).
    #[serde(flatten, skip_serializing_if = "Unknown::is_empty")]
    pub unknown: Unknown,
}

/// The display string of an artist credit: names joined by their join phrases.
pub fn display_artist(credits: &[ArtistCredit]) -> String {
    let mut out = String::new();
    for c in credits {
        out.push_str(&c.name);
        out.push_str(&c.join_phrase);
    }
    out
}
