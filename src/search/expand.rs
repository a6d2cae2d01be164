//! Expansion of a typed word into index terms: the terms within one edit of it (transpositions
//! count as one) and the terms a long word start is a prefix of.
//!
//! tantivy's own fuzzy and prefix queries collect every document of every matching term into
//! a bitset before the search starts, so a two-letter prefix or a common word cost
//! milliseconds on a million recordings when measured. Expanding the terms here instead turns each
//! into an ordinary term query: posting lists that skip, so the intersection of a query's words
//! does the work only where they meet. Short word starts are not expanded at all: they are
//! terms of their own (`*_prefix` fields).

use std::collections::HashMap;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// How many terms within one edit a typed word may expand into: when other words must match
/// too, the intersection picks whichever of them co-occur with those, so nearly all are kept
/// (a typed word of 4 letters has 20–60 neighbours in a large vocabulary); a word alone is
/// walked whole, so only its most frequent neighbours are.
pub const MAX_FUZZY_TERMS: usize = 64;
pub const MAX_FUZZY_TERMS_ALONE: usize = 6;
/// How many completions a start longer than [`EDGE_MAX`](super::schema::EDGE_MAX) characters
/// may expand into before its first `EDGE_MAX` characters stand for it instead.
pub const MAX_COMPLETIONS: usize = 64;

struct Dfa<'a>(&'a DFA);

impl tantivy_fst::Automaton for Dfa<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

fn builder() -> &'static LevenshteinAutomatonBuilder {
    static BUILDER: std::sync::OnceLock<LevenshteinAutomatonBuilder> = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))
}

/// Terms of `field` within one edit of `word` (the word itself excluded), at most `n`, most
/// frequent first.
pub fn fuzzy(
    searcher: &Searcher,
    field: Field,
    word: &str,
    n: usize,
) -> tantivy::Result<Vec<Term>> {
    let dfa = builder().build_dfa(word);
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().search(Dfa(&dfa)).into_stream()?;
        while stream.advance() {
            if stream.key() != word.as_bytes() {
                *found.entry(stream.key().to_vec()).or_default() +=
                    u64::from(stream.value().doc_freq);
            }
        }
    }
    Ok(top(field, found, n))
}

/// Every term of `field` that starts with `prefix` (the prefix itself included), or `None`
/// when there are more than `n`.
pub fn completions(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
    n: usize,
) -> tantivy::Result<Option<Vec<Term>>> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    let start = prefix.as_bytes();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().range().ge(start).into_stream()?;
        while stream.advance() {
            let key = stream.key();
            if !key.starts_with(start) {
                break;
            }
            if !found.iter().any(|k| k == key) {
                if found.len() == n {
                    return Ok(None);
                }
                found.push(key.to_vec());
            }
        }
    }
    Ok(Some(
        found
            .into_iter()
            .filter_map(|bytes| String::from_utf8(bytes).ok())
            .map(|text| Term::from_field_text(field, &text))
            .collect(),
    ))
}

/// Whether any document has `word` in one of `fields`.
pub fn known(searcher: &Searcher, fields: &[Field], word: &str) -> tantivy::Result<bool> {
    for field in fields {
        if searcher.doc_freq(&Term::from_field_text(*field, word))? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

fn top(field: Field, found: HashMap<Vec<u8>, u64>, n: usize) -> Vec<Term> {
    let mut terms: Vec<(Vec<u8>, u64)> = found.into_iter().collect();
    terms.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    terms
        .into_iter()
        .take(n)
        .filter_map(|(bytes, _)| String::from_utf8(bytes).ok())
        .map(|text| Term::from_field_text(field, &text))
        .collect()
}
