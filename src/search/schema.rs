//! The index schema. Bump [`SCHEMA_VERSION`] whenever the schema or the analyzer changes: an
//! index with another version is rebuilt from the store on open.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::tokenizer::ANALYZER;

pub const SCHEMA_VERSION: u32 = 4;

/// The longest word start indexed whole in the `*_prefix` fields. Longer starts have few
/// completions, which are expanded from the dictionary. Measured at 1M recordings: see the
/// README's foundation table for what the fields add to the index.
pub const EDGE_MAX: usize = 4;

/// The name of the `kind_code` fast field (collectors find fast fields by name).
pub const KIND_CODE: &str = "kind_code";

/// The fields, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The entity id (`rec_…`, `pty_…`), stored for hits and not indexed: a million random
    /// ids made building and merging the term dictionary the largest part of indexing.
    pub id: Field,
    /// Kind and mirror key in one number (see `document::doc_key`): what replacing or
    /// removing a document goes by. Keys are dense, so their terms share most of their bytes.
    pub key: Field,
    /// `recording` or `party`.
    pub kind: Field,
    /// Recording title, or party name.
    pub title: Field,
    /// Display artist for recordings; aliases, sort name and disambiguation for parties.
    pub names: Field,
    /// The leading 1 to [`EDGE_MAX`] characters of every folded word of `title`, one term each:
    /// a word still being typed matches every completion through one posting list (see
    /// `query`), where expanding the completions themselves meant keeping only the most
    /// frequent few. Documents only, no frequencies or norms: it filters, it does not rank.
    pub title_prefix: Field,
    /// The same for `names`.
    pub names_prefix: Field,
    /// Exact codes (ISRC, ISNI, IPI), as typed after normalising.
    pub code: Field,
    /// Mirror keys of the parties credited on the recording.
    pub party: Field,
    /// Roles credited on the recording (`producer`). Role and party are separate terms: a
    /// `role/party` pair per credit doubled the index when measured.
    pub role: Field,
    /// Fast only: it ranks hits, and nothing searches by it.
    pub popularity: Field,
    /// Fast only: the kind as a small number (see `document::kind_tag`), so one walk of a
    /// query's postings can rank recordings and parties apart.
    pub kind_code: Field,
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
    let edges = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let fields = Fields {
        id: b.add_text_field("id", STORED),
        key: b.add_u64_field("key", INDEXED),
        kind: b.add_text_field("kind", STRING),
        title: b.add_text_field("title", text.clone()),
        names: b.add_text_field("names", text),
        title_prefix: b.add_text_field("title_prefix", edges.clone()),
        names_prefix: b.add_text_field("names_prefix", edges),
        code: b.add_text_field("code", STRING),
        party: b.add_u64_field("party", INDEXED),
        role: b.add_text_field("role", STRING),
        popularity: b.add_f64_field("popularity", FAST),
        kind_code: b.add_u64_field(KIND_CODE, FAST),
    };
    (b.build(), fields)
}
