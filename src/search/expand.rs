//! Bounded expansion of a typed word into index terms: the terms within one edit of it
//! (transpositions count as one) and the terms it is a prefix of.
//!
//! tantivy's own fuzzy and prefix queries collect every document of every matching term into
//! a bitset before the search starts, so a two-letter prefix or a common word cost
//! milliseconds on a million recordings when measured. Expanding the terms here instead, and
//! keeping only the most frequent few, turns each into an ordinary term query: posting lists
//! that skip, so the intersection of a query's words does the work only where they meet.

use std::collections::HashMap;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// How many terms one typed word may expand into, at most.
pub const MAX_FUZZY_TERMS: usize = 4;
pub const MAX_PREFIX_TERMS: usize = 8;
/// How many dictionary entries a prefix may scan before it stops looking for more frequent
/// ones; a one-letter prefix would otherwise walk a large part of the dictionary.
const PREFIX_SCAN_LIMIT: usize = 4_000;

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

/// Terms of `field` within one edit of `word` (the word itself excluded), most frequent first.
pub fn fuzzy(searcher: &Searcher, field: Field, word: &str) -> tantivy::Result<Vec<Term>> {
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
    Ok(top(field, found, MAX_FUZZY_TERMS))
}

/// Terms of `field` that start with `prefix` (the prefix itself excluded), most frequent first.
pub fn prefix(searcher: &Searcher, field: Field, prefix: &str) -> tantivy::Result<Vec<Term>> {
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    let start = prefix.as_bytes();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().range().ge(start).into_stream()?;
        let mut scanned = 0;
        while stream.advance() && scanned < PREFIX_SCAN_LIMIT {
            let key = stream.key();
            if !key.starts_with(start) {
                break;
            }
            scanned += 1;
            if key != start {
                *found.entry(key.to_vec()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
    }
    Ok(top(field, found, MAX_PREFIX_TERMS))
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
