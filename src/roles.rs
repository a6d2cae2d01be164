//! One role vocabulary for credits, mapped from DDEX ERN 3.x / 4.x and MusicBrainz.
//!
//! Label deliveries and MusicBrainz name the same job differently (`ComposerLyricist` vs
//! `writer`, `Mixer` vs `mix`, `instrument` + attribute `guitar` vs `Guitarist`), and payments
//! follow the role, so everything is mapped onto [`Role`] at the edge and an unknown role is an
//! error that names it, never a silent `other`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a party did on a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    MainArtist,
    FeaturedArtist,
    Performer,
    Vocalist,
    BackgroundVocalist,
    Instrumentalist,
    Soloist,
    Orchestra,
    Ensemble,
    Choir,
    Conductor,
    Producer,
    ExecutiveProducer,
    RecordingEngineer,
    MixingEngineer,
    MasteringEngineer,
    Engineer,
    Remixer,
    DjMixer,
    Programmer,
    Arranger,
    Orchestrator,
    Composer,
    Lyricist,
    ComposerLyricist,
    Librettist,
    Translator,
    Publisher,
}

/// A writer's role on a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriterRole {
    Composer,
    Lyricist,
    ComposerLyricist,
    Arranger,
    Publisher,
}

/// A role name that the vocabulary has no mapping for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {scheme} role {name:?}")]
pub struct UnknownRole {
    pub scheme: &'static str,
    pub name: String,
}

/// A mapped role with the instrument the source named, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRole {
    pub role: Role,
    pub instrument: Option<String>,
}

impl Role {
    pub const ALL: [Role; 28] = [
        Role::MainArtist,
        Role::FeaturedArtist,
        Role::Performer,
        Role::Vocalist,
        Role::BackgroundVocalist,
        Role::Instrumentalist,
        Role::Soloist,
        Role::Orchestra,
        Role::Ensemble,
        Role::Choir,
        Role::Conductor,
        Role::Producer,
        Role::ExecutiveProducer,
        Role::RecordingEngineer,
        Role::MixingEngineer,
        Role::MasteringEngineer,
        Role::Engineer,
        Role::Remixer,
        Role::DjMixer,
        Role::Programmer,
        Role::Arranger,
        Role::Orchestrator,
        Role::Composer,
        Role::Lyricist,
        Role::ComposerLyricist,
        Role::Librettist,
        Role::Translator,
        Role::Publisher,
    ];

    /// The wire name, as used in JSON, the store and search filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MainArtist => "main_artist",
            Role::FeaturedArtist => "featured_artist",
            Role::Performer => "performer",
            Role::Vocalist => "vocalist",
            Role::BackgroundVocalist => "background_vocalist",
            Role::Instrumentalist => "instrumentalist",
            Role::Soloist => "soloist",
            Role::Orchestra => "orchestra",
            Role::Ensemble => "ensemble",
            Role::Choir => "choir",
            Role::Conductor => "conductor",
            Role::Producer => "producer",
            Role::ExecutiveProducer => "executive_producer",
            Role::RecordingEngineer => "recording_engineer",
            Role::MixingEngineer => "mixing_engineer",
            Role::MasteringEngineer => "mastering_engineer",
            Role::Engineer => "engineer",
            Role::Remixer => "remixer",
            Role::DjMixer => "dj_mixer",
            Role::Programmer => "programmer",
            Role::Arranger => "arranger",
            Role::Orchestrator => "orchestrator",
            Role::Composer => "composer",
            Role::Lyricist => "lyricist",
            Role::ComposerLyricist => "composer_lyricist",
            Role::Librettist => "librettist",
            Role::Translator => "translator",
            Role::Publisher => "publisher",
        }
    }

    /// The code stored in the mirror: the position in [`Role::ALL`]. Append new roles at the
    /// end of `ALL` and never reorder it, or stored credits change meaning.
    pub fn code(self) -> u8 {
        Role::ALL.iter().position(|r| *r == self).unwrap_or(0) as u8
    }

    pub fn from_code(code: i64) -> Option<Role> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Role::ALL.get(i).copied())
    }

    /// Parses the wire name.
    pub fn from_wire(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Maps a DDEX ERN 3.x or 4.x role (`DisplayArtistRole`, `ArtistRole`, `Role`,
    /// `ResourceContributorRole`, `IndirectResourceContributorRole`). The comparison ignores
    /// case, spaces and hyphens, because deliveries differ in those.
    pub fn from_ddex(name: &str) -> Result<MappedRole, UnknownRole> {
        let key: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let plain = |role| {
            Ok(MappedRole {
                role,
                instrument: None,
            })
        };
        match key.as_str() {
            "mainartist" | "primaryartist" => plain(Role::MainArtist),
            "featuredartist" | "featuring" => plain(Role::FeaturedArtist),
            "artist" | "associatedperformer" | "performer" | "studiomusician" | "musician" => {
                plain(Role::Performer)
            }
            "vocalist" | "leadvocalist" | "singer" | "leadsinger" => plain(Role::Vocalist),
            "backgroundvocalist" | "backingvocalist" | "chorusvocalist" => {
                plain(Role::BackgroundVocalist)
            }
            "instrumentalist" => plain(Role::Instrumentalist),
            "soloist" => plain(Role::Soloist),
            "orchestra" => plain(Role::Orchestra),
            "ensemble" | "band" | "group" => plain(Role::Ensemble),
            "choir" | "chorus" => plain(Role::Choir),
            "conductor" | "choirmaster" | "chorusmaster" => plain(Role::Conductor),
            "producer" | "coproducer" | "recordingproducer" | "associateproducer" => {
                plain(Role::Producer)
            }
            "executiveproducer" => plain(Role::ExecutiveProducer),
            "recordingengineer" | "tonmeister" => plain(Role::RecordingEngineer),
            "mixer" | "mixingengineer" | "mixengineer" => plain(Role::MixingEngineer),
            "masteringengineer" => plain(Role::MasteringEngineer),
            "engineer" | "soundengineer" | "balanceengineer" | "audioengineer" => {
                plain(Role::Engineer)
            }
            "remixer" => plain(Role::Remixer),
            "djmixer" | "dj" | "mixdj" => plain(Role::DjMixer),
            "programmer" | "programming" => plain(Role::Programmer),
            "arranger" | "musicarranger" | "vocalarranger" => plain(Role::Arranger),
            "orchestrator" => plain(Role::Orchestrator),
            "composer" => plain(Role::Composer),
            "lyricist" | "author" | "textwriter" => plain(Role::Lyricist),
            "composerlyricist" | "writer" | "songwriter" => plain(Role::ComposerLyricist),
            "librettist" => plain(Role::Librettist),
            "translator" => plain(Role::Translator),
            "publisher" | "musicpublisher" | "originalpublisher" => plain(Role::Publisher),
            _ => Err(UnknownRole {
                scheme: "DDEX",
                name: name.to_owned(),
            }),
        }
    }

    /// Maps a MusicBrainz artist–recording (or artist–work) relationship type. `attributes`
    /// are the relationship's attributes: for `instrument` and `vocal` they name the
    /// instrument or voice, which is kept as the instrument.
    pub fn from_musicbrainz(kind: &str, attributes: &[String]) -> Result<MappedRole, UnknownRole> {
        let first = attributes
            .iter()
            .find(|a| {
                !matches!(
                    a.as_str(),
                    "additional" | "guest" | "solo" | "co" | "executive"
                )
            })
            .cloned();
        let has = |a: &str| attributes.iter().any(|x| x == a);
        let plain = |role| {
            Ok(MappedRole {
                role,
                instrument: None,
            })
        };
        match kind {
            "instrument" => Ok(MappedRole {
                role: if has("solo") {
                    Role::Soloist
                } else {
                    Role::Instrumentalist
                },
                instrument: first,
            }),
            "vocal" => Ok(MappedRole {
                role: if has("background vocals") {
                    Role::BackgroundVocalist
                } else {
                    Role::Vocalist
                },
                instrument: first,
            }),
            "performer" => plain(Role::Performer),
            "performing orchestra" => plain(Role::Orchestra),
            "conductor" | "chorus master" => plain(Role::Conductor),
            "producer" if has("executive") => plain(Role::ExecutiveProducer),
            "producer" => plain(Role::Producer),
            "recording" => plain(Role::RecordingEngineer),
            "mix" => plain(Role::MixingEngineer),
            "mastering" => plain(Role::MasteringEngineer),
            "engineer" | "sound" | "audio" => plain(Role::Engineer),
            "remixer" => plain(Role::Remixer),
            "mix-DJ" => plain(Role::DjMixer),
            "programming" => plain(Role::Programmer),
            "arranger" | "instrument arranger" | "vocal arranger" => plain(Role::Arranger),
            "orchestrator" => plain(Role::Orchestrator),
            "composer" => plain(Role::Composer),
            "lyricist" => plain(Role::Lyricist),
            "writer" => plain(Role::ComposerLyricist),
            "librettist" => plain(Role::Librettist),
            "translator" => plain(Role::Translator),
            "publishing" => plain(Role::Publisher),
            _ => Err(UnknownRole {
                scheme: "MusicBrainz",
                name: kind.to_owned(),
            }),
        }
    }

    /// The writer role this credit role implies on the recording's work, if any.
    pub fn writer_role(self) -> Option<WriterRole> {
        match self {
            Role::Composer => Some(WriterRole::Composer),
            Role::Lyricist | Role::Librettist => Some(WriterRole::Lyricist),
            Role::ComposerLyricist => Some(WriterRole::ComposerLyricist),
            Role::Arranger => Some(WriterRole::Arranger),
            Role::Publisher => Some(WriterRole::Publisher),
            _ => None,
        }
    }

    /// A short human label for headings ("Mixing engineer", "DJ mixer").
    pub fn label(self) -> String {
        if self == Role::DjMixer {
            // An abbreviation keeps its capitals.
            return "DJ mixer".to_owned();
        }
        let s = self.as_str().replace('_', " ");
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => s,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl WriterRole {
    /// Stored codes: append only, never reorder.
    pub const ALL: [WriterRole; 5] = [
        WriterRole::Composer,
        WriterRole::Lyricist,
        WriterRole::ComposerLyricist,
        WriterRole::Arranger,
        WriterRole::Publisher,
    ];

    pub fn code(self) -> u8 {
        WriterRole::ALL.iter().position(|r| *r == self).unwrap_or(0) as u8
    }

    pub fn from_code(code: i64) -> Option<WriterRole> {
        usize::try_from(code)
            .ok()
            .and_then(|i| WriterRole::ALL.get(i).copied())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WriterRole::Composer => "composer",
            WriterRole::Lyricist => "lyricist",
            WriterRole::ComposerLyricist => "composer_lyricist",
            WriterRole::Arranger => "arranger",
            WriterRole::Publisher => "publisher",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_and_codes_round_trip_for_every_role() {
        for role in Role::ALL {
            assert_eq!(Role::from_code(i64::from(role.code())), Some(role));
            assert_eq!(Role::from_wire(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).expect("role serialises");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }

    #[test]
    fn unknown_roles_are_named() {
        let err = Role::from_ddex("Caterer").expect_err("no such role");
        assert_eq!(err.to_string(), "unknown DDEX role \"Caterer\"");
        assert!(Role::from_musicbrainz("catering", &[]).is_err());
    }
}
