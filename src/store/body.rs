//! What each entity row keeps in its `data` column: the fields that have no column of their
//! own, in postcard (a compact binary serde format). Ids, codes, titles and names are columns;
//! tracks are a table; storing them again here would double the mirror
//! (JSON bodies made 1M recordings take 1.35 GB when measured). Ids inside bodies are stored
//! as 16-byte ULIDs. A recording's credits and a work's writers are packed in a column of
//! their own with party keys instead of ids: as rows of `credit` and `writer` tables with a
//! party index each they took 240 of a 1M mirror's 777 MB, measured. Field order is the format: append new fields at the end behind a schema
//! migration, never reorder.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use super::{Result, StoreError};
use crate::ident::{Ipi, Isni, Isrc, Iswc};
use crate::ids::{PartyId, RecordingId, ReleaseId, WorkId};
use crate::model::{
    AcousticFeatures, ArtistCredit, Party, PartyKind, Recording, Release, ReleaseType, Work,
    Writers,
};
use crate::roles::{Role, WriterRole};

fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| StoreError::Body {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// `what` names the row in an error; it is only formatted then, because decoding is on the
/// index's and the console's hot paths.
fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: impl Display) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Body {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

type StoredArtist = (PartyId, String, String);

fn store_artists(a: &[ArtistCredit]) -> Vec<StoredArtist> {
    a.iter()
        .map(|c| (c.party, c.name.clone(), c.join_phrase.clone()))
        .collect()
}

fn load_artists(a: Vec<StoredArtist>) -> Vec<ArtistCredit> {
    a.into_iter()
        .map(|(party, name, join_phrase)| ArtistCredit {
            unknown: Default::default(),
            party,
            name,
            join_phrase,
        })
        .collect()
}

#[derive(Serialize, Deserialize)]
struct RecordingBody {
    version_title: Option<String>,
    duration_ms: Option<u32>,
    display_artist: Vec<StoredArtist>,
    explicit: bool,
    language: Option<String>,
    genre: Option<String>,
    features: Option<AcousticFeatures>,
    works: Vec<WorkId>,
}

pub(crate) fn recording_body(r: &Recording) -> Result<Vec<u8>> {
    encode(
        &RecordingBody {
            version_title: r.version_title.clone(),
            duration_ms: r.duration_ms,
            display_artist: store_artists(&r.display_artist),
            explicit: r.explicit,
            language: r.language.clone(),
            genre: r.genre.clone(),
            features: r.features.clone(),
            works: r.works.clone(),
        },
        "recording body",
    )
}

/// The display artist line ("Jay-Z feat. Beyoncé") from a recording's body (empty for a row
/// without one); it is not a column of its own because the body holds the names already (a
/// copy cost 17 MB of a 1M mirror).
pub(crate) fn display_artist(body: Option<&[u8]>, what: impl Display) -> Result<String> {
    let Some(body) = body else {
        return Ok(String::new());
    };
    let b: RecordingBody = decode(body, what)?;
    Ok(crate::model::display_artist(&load_artists(
        b.display_artist,
    )))
}

/// A recording from its columns and body; credits are filled by the caller.
pub(crate) fn recording(
    id: RecordingId,
    isrc: Option<&str>,
    title: String,
    body: &[u8],
) -> Result<Recording> {
    let b: RecordingBody = decode(body, id)?;
    Ok(Recording {
        unknown: Default::default(),
        id,
        isrc: isrc
            .map(Isrc::parse)
            .transpose()
            .map_err(|e| StoreError::Body {
                what: id.to_string(),
                reason: e.to_string(),
            })?,
        title,
        version_title: b.version_title,
        duration_ms: b.duration_ms,
        display_artist: load_artists(b.display_artist),
        explicit: b.explicit,
        language: b.language,
        genre: b.genre,
        features: b.features,
        works: b.works,
        credits: Vec::new(),
    })
}

#[derive(Serialize, Deserialize)]
struct PartyBody {
    sort_name: String,
    kind: PartyKind,
    aliases: Vec<String>,
    isni: Option<String>,
    ipi: Option<String>,
    disambiguation: Option<String>,
}

pub(crate) fn party_body(p: &Party) -> Result<Vec<u8>> {
    encode(
        &PartyBody {
            sort_name: p.sort_name.clone(),
            kind: p.kind,
            aliases: p.aliases.clone(),
            isni: p.isni.as_ref().map(|i| i.as_str().to_owned()),
            ipi: p.ipi.as_ref().map(|i| i.as_str().to_owned()),
            disambiguation: p.disambiguation.clone(),
        },
        "party body",
    )
}

pub(crate) fn party(id: PartyId, name: String, body: &[u8]) -> Result<Party> {
    let b: PartyBody = decode(body, id)?;
    let bad = |e: crate::ident::IdentifierError| StoreError::Body {
        what: id.to_string(),
        reason: e.to_string(),
    };
    Ok(Party {
        unknown: Default::default(),
        id,
        name,
        sort_name: b.sort_name,
        kind: b.kind,
        aliases: b.aliases,
        isni: b
            .isni
            .as_deref()
            .map(Isni::parse)
            .transpose()
            .map_err(bad)?,
        ipi: b.ipi.as_deref().map(Ipi::parse).transpose().map_err(bad)?,
        disambiguation: b.disambiguation,
    })
}

/// A work is all columns and writer rows; it has no body.
pub(crate) fn work(
    id: WorkId,
    iswc: Option<&str>,
    title: String,
    writers: Writers,
) -> Result<Work> {
    Ok(Work {
        unknown: Default::default(),
        id,
        iswc: iswc
            .map(Iswc::parse)
            .transpose()
            .map_err(|e| StoreError::Body {
                what: id.to_string(),
                reason: e.to_string(),
            })?,
        title,
        writers,
    })
}

#[derive(Serialize, Deserialize)]
struct ReleaseBody {
    release_type: ReleaseType,
    label: Option<String>,
    release_date: Option<String>,
    display_artist: Vec<StoredArtist>,
}

pub(crate) fn release_body(r: &Release) -> Result<Vec<u8>> {
    encode(
        &ReleaseBody {
            release_type: r.release_type,
            label: r.label.clone(),
            release_date: r.release_date.clone(),
            display_artist: store_artists(&r.display_artist),
        },
        "release body",
    )
}

/// What the detail screen shows of a release a recording is on.
pub(crate) fn release_date(id: ReleaseId, body: &[u8]) -> Result<Option<String>> {
    let b: ReleaseBody = decode(body, id)?;
    Ok(b.release_date)
}

/// A credit as its recording's row keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyedCredit {
    pub(crate) party: i64,
    /// [`crate::roles::Role::code`].
    pub(crate) role: u8,
    pub(crate) instrument: Option<String>,
    pub(crate) credited_as: Option<String>,
}

/// A writer as its work's row keeps it; `share_bp` is `None` when hidden from this mirror's
/// token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyedWriter {
    pub(crate) party: i64,
    /// [`crate::roles::WriterRole::code`].
    pub(crate) role: u8,
    pub(crate) share_bp: Option<u16>,
}

impl KeyedCredit {
    pub(crate) fn role(&self, what: impl Display) -> Result<Role> {
        Role::from_code(i64::from(self.role)).ok_or_else(|| StoreError::Body {
            what: what.to_string(),
            reason: format!("role code {}", self.role),
        })
    }
}

impl KeyedWriter {
    pub(crate) fn role(&self, what: impl Display) -> Result<WriterRole> {
        WriterRole::from_code(i64::from(self.role)).ok_or_else(|| StoreError::Body {
            what: what.to_string(),
            reason: format!("writer role code {}", self.role),
        })
    }
}

pub(crate) fn credits_packed(credits: &[KeyedCredit]) -> Result<Vec<u8>> {
    encode(&credits, "credits")
}

/// A row's packed credits; a row without any (a placeholder, a tombstone) has none.
pub(crate) fn credits(bytes: Option<&[u8]>, what: impl Display) -> Result<Vec<KeyedCredit>> {
    bytes.map_or(Ok(Vec::new()), |b| decode(b, what))
}

pub(crate) fn writers_packed(writers: &[KeyedWriter]) -> Result<Vec<u8>> {
    encode(&writers, "writers")
}

/// A row's packed writers; a row without any has none.
pub(crate) fn writers(bytes: Option<&[u8]>, what: impl Display) -> Result<Vec<KeyedWriter>> {
    bytes.map_or(Ok(Vec::new()), |b| decode(b, what))
}
