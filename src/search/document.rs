//! Turning the store's view of an entity into an index document.

use tantivy::TantivyDocument;
use tantivy::schema::Field;

use super::schema::{EDGE_MAX, Fields};
use super::tokenizer;
use crate::model::{EntityKind, Party};
use crate::store::{EntityDoc, JournalEntry, RecordingSource};

/// The value of a document's `key` field: its kind and mirror key in one number, so recording
/// and party keys (separate tables, overlapping numbers) never collide.
/// The tag is the store's kind code, the one its search journal uses.
pub(crate) fn doc_key(kind: EntityKind, key: i64) -> u64 {
    (kind_tag(kind) << 56) | (key as u64 & ((1 << 56) - 1))
}

/// The kind as the `kind_code` fast field holds it.
pub(crate) fn kind_tag(kind: EntityKind) -> u64 {
    crate::store::kind_code(kind) as u64
}

pub(crate) fn from_entry(f: &Fields, entry: &JournalEntry) -> Option<TantivyDocument> {
    let mut doc = match &entry.doc {
        EntityDoc::Recording(r) => recording(f, r),
        EntityDoc::Party(p) => party(f, p),
        EntityDoc::Gone => return None,
    };
    doc.add_u64(f.key, doc_key(entry.kind, entry.key));
    doc.add_u64(f.kind_code, kind_tag(entry.kind));
    Some(doc)
}

fn recording(f: &Fields, r: &RecordingSource) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, r.id.to_string());
    doc.add_text(f.kind, "recording");
    doc.add_text(f.title, &r.title);
    doc.add_text(f.names, &r.artist);
    edges(&mut doc, f.title_prefix, [r.title.as_str()]);
    edges(&mut doc, f.names_prefix, [r.artist.as_str()]);
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
    edges(&mut doc, f.title_prefix, [p.name.as_str()]);
    let mut names: Vec<&str> = p.aliases.iter().map(String::as_str).collect();
    if p.sort_name != p.name {
        names.push(&p.sort_name);
    }
    if let Some(d) = &p.disambiguation {
        names.push(d);
    }
    for name in &names {
        doc.add_text(f.names, name);
    }
    edges(&mut doc, f.names_prefix, names);
    if let Some(isni) = &p.isni {
        doc.add_text(f.code, isni.as_str());
    }
    if let Some(ipi) = &p.ipi {
        doc.add_text(f.code, ipi.as_str());
    }
    doc.add_f64(f.popularity, 0.0);
    doc
}

/// Adds the start of every word of `texts`, 1 to [`EDGE_MAX`] characters, once each.
fn edges<'a>(doc: &mut TantivyDocument, field: Field, texts: impl IntoIterator<Item = &'a str>) {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for text in texts {
        for word in tokenizer::tokens(text) {
            for (at, c) in word.char_indices().take(EDGE_MAX) {
                let start = &word[..at + c.len_utf8()];
                if !seen.contains(start) {
                    seen.insert(start.to_owned());
                    doc.add_text(field, start);
                }
            }
        }
    }
}
