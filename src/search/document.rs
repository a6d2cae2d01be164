//! Turning the store's view of an entity into an index document.

use tantivy::TantivyDocument;

use super::schema::Fields;
use crate::model::{EntityKind, Party};
use crate::store::{EntityDoc, JournalEntry, RecordingSource};

/// The value of a document's `key` field: its kind and mirror key in one number, so recording
/// and party keys (separate tables, overlapping numbers) never collide.
/// The tag is the store's kind code, the one its search journal uses.
pub(crate) fn doc_key(kind: EntityKind, key: i64) -> u64 {
    let tag = crate::store::kind_code(kind) as u64;
    (tag << 56) | (key as u64 & ((1 << 56) - 1))
}

pub(crate) fn from_entry(f: &Fields, entry: &JournalEntry) -> Option<TantivyDocument> {
    let mut doc = match &entry.doc {
        EntityDoc::Recording(r) => recording(f, r),
        EntityDoc::Party(p) => party(f, p),
        EntityDoc::Gone => return None,
    };
    doc.add_u64(f.key, doc_key(entry.kind, entry.key));
    Some(doc)
}

fn recording(f: &Fields, r: &RecordingSource) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, r.id.to_string());
    doc.add_text(f.kind, "recording");
    doc.add_text(f.title, &r.title);
    doc.add_text(f.names, &r.artist);
    if let Some(isrc) = &r.isrc {
        doc.add_text(f.code, isrc);
    }
    // Credited names beyond the display artist are not searchable text on the recording: a
    // recording is found by its title and artist, and a producer or engineer by their own
    // party document (then the party filter). Indexing every credited name made each typed
    // word match five times as many recordings, slowing every search and pushing the
    // intended recording out of the top three.
    for c in &r.credits {
        doc.add_text(f.role, c.role.as_str());
        doc.add_u64(f.party, c.party_key as u64);
    }
    doc.add_f64(f.popularity, f64::from(r.popularity));
    doc
}

fn party(f: &Fields, p: &Party) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, p.id.to_string());
    doc.add_text(f.kind, "party");
    doc.add_text(f.title, &p.name);
    for alias in &p.aliases {
        doc.add_text(f.names, alias);
    }
    if p.sort_name != p.name {
        doc.add_text(f.names, &p.sort_name);
    }
    if let Some(d) = &p.disambiguation {
        doc.add_text(f.names, d);
    }
    if let Some(isni) = &p.isni {
        doc.add_text(f.code, isni.as_str());
    }
    if let Some(ipi) = &p.ipi {
        doc.add_text(f.code, ipi.as_str());
    }
    doc.add_f64(f.popularity, 0.0);
    doc
}
