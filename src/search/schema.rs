//! The index schema. Bump [`SCHEMA_VERSION`] whenever the schema or the analyzer changes: an
//! index with another version is rebuilt from the store on open.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::tokenizer::ANALYZER;

pub const SCHEMA_VERSION: u32 = 2;

/// The fields, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The entity id (`rec_…`, `pty_…`): the document's identity, stored.
    pub id: Field,
    /// `recording` or `party`.
    pub kind: Field,
    /// Recording title, or party name.
    pub title: Field,
    /// Display artist for recordings; aliases, sort name and disambiguation for parties.
    pub names: Field,
    /// Exact codes (ISRC, ISNI, IPI), as typed after normalising.
    pub code: Field,
    /// Party ids credited on the recording.
    pub party: Field,
    /// Roles credited on the recording (`producer`). Role and party are separate terms: a
    /// `role/party` pair per credit doubled the index when measured.
    pub role: Field,
    pub popularity: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Frequencies for BM25, no positions: queries are term sets, and positions would double
    // the postings.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING),
        title: b.add_text_field("title", text.clone()),
        names: b.add_text_field("names", text),
        code: b.add_text_field("code", STRING),
        party: b.add_text_field("party", STRING),
        role: b.add_text_field("role", STRING),
        popularity: b.add_f64_field("popularity", FAST | INDEXED),
    };
    (b.build(), fields)
}
