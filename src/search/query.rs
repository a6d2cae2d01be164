//! Search as you type: how a half-typed, misspelt query becomes a tantivy query, and how hits
//! are ranked.
//!
//! Every word must match (in the title or the names). A word matches exactly (scored by BM25,
//! boosted), or within one edit, transpositions included, when it has 4+ characters (shorter
//! words would match half the dictionary and made p99 3.5× worse when measured), and the last
//! word, while it is still being typed, also matches as a prefix. Fuzzy and prefix matches are
//! expanded into a bounded set of real terms first (see [`expand`](super::expand)). Hits rank
//! by relevance, in coarse steps so near-equal scores count as equal, then by popularity.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, SegmentReader, TantivyDocument, Term};

use super::schema::Fields;
use super::seeking_union::SeekingUnion;
use super::{Result, SearchError};
use super::{expand, tokenizer};
use crate::model::{EntityId, EntityKind};
use crate::roles::Role;

/// A search as the console or CLI asks it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    /// Only recordings, or only parties.
    pub kind: Option<EntityKind>,
    /// Only recordings with a credit in this role.
    pub role: Option<Role>,
    /// Only recordings crediting this party, by its mirror key ([`Store::party_key`]). With
    /// `role` too, a recording matches when it credits the party and has a credit in the
    /// role (not necessarily the same credit).
    ///
    /// [`Store::party_key`]: crate::store::Store::party_key
    pub party: Option<i64>,
    pub limit: usize,
}

impl SearchRequest {
    pub fn new(text: impl Into<String>) -> Self {
        SearchRequest {
            text: text.into(),
            limit: 20,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: EntityId,
    pub score: f32,
    pub popularity: f32,
}

/// Words shorter than this only match exactly or as the typed prefix.
pub const FUZZY_MIN_CHARS: usize = 4;
const EXACT_TITLE_BOOST: f32 = 3.0;
const EXACT_NAMES_BOOST: f32 = 2.0;
const PREFIX_BOOST: f32 = 0.8;
const FUZZY_BOOST: f32 = 0.5;
/// Scores within one step count as equally relevant and are ordered by popularity.
const RELEVANCE_STEP: f32 = 2.0;

pub(crate) fn build(
    searcher: &Searcher,
    f: &Fields,
    req: &SearchRequest,
) -> tantivy::Result<Option<Box<dyn Query>>> {
    if let Some(code) = whole_code(&req.text) {
        let term = Term::from_field_text(f.code, &code);
        return Ok(Some(Box::new(TermQuery::new(
            term,
            IndexRecordOption::Basic,
        ))));
    }
    let words = tokenizer::tokens(&req.text);
    let still_typing = req.text.chars().last().is_some_and(char::is_alphanumeric);
    // A word's alternatives are sought by the others' when anything else must match too (see
    // seeking_union); one word alone is walked whole, which tantivy's own union does best.
    let intersected = words.len()
        + usize::from(req.kind.is_some())
        + usize::from(req.role.is_some())
        + usize::from(req.party.is_some())
        > 1;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
        for (field, boost) in [(f.title, EXACT_TITLE_BOOST), (f.names, EXACT_NAMES_BOOST)] {
            let mut add = |term: Term, boost: f32| {
                alternatives.push(boosted(
                    TermQuery::new(term, IndexRecordOption::WithFreqs),
                    boost,
                ));
            };
            add(Term::from_field_text(field, word), boost);
            if last && still_typing {
                for term in expand::prefix(searcher, field, word)? {
                    add(term, boost * PREFIX_BOOST);
                }
            }
            if word.chars().count() >= FUZZY_MIN_CHARS {
                for term in expand::fuzzy(searcher, field, word)? {
                    add(term, boost * FUZZY_BOOST);
                }
            }
        }
        // An identifier typed whole (ISNI, IPI) finds its party directly.
        let code = word.to_ascii_uppercase();
        alternatives.push(boosted(
            TermQuery::new(
                Term::from_field_text(f.code, &code),
                IndexRecordOption::Basic,
            ),
            10.0,
        ));
        let word: Box<dyn Query> = if intersected {
            Box::new(SeekingUnion(alternatives))
        } else {
            Box::new(BooleanQuery::new(
                alternatives
                    .into_iter()
                    .map(|q| (Occur::Should, q))
                    .collect(),
            ))
        };
        clauses.push((Occur::Must, word));
    }
    if clauses.is_empty() && req.party.is_none() && req.role.is_none() {
        return Ok(None);
    }
    let filter = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )),
        )
    };
    if let Some(kind) = req.kind {
        clauses.push(filter(f.kind, kind.as_str()));
    }
    if let Some(role) = req.role {
        clauses.push(filter(f.role, role.as_str()));
    }
    if let Some(party) = req.party {
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.party, party as u64),
                IndexRecordOption::Basic,
            )),
        ));
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

/// A query that is one identifier however it was typed (`US-RC1-76-07839`, `0000 0001 2146
/// 438X`), in its stored compact form.
fn whole_code(text: &str) -> Option<String> {
    use crate::ident::{Ipi, Isni, Isrc};
    let text = text.trim();
    if text.len() < 11 || !text.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    Isrc::parse(text)
        .map(|c| c.as_str().to_owned())
        .or_else(|_| Isni::parse(text).map(|c| c.as_str().to_owned()))
        .or_else(|_| Ipi::parse(text).map(|c| c.as_str().to_owned()))
        .ok()
}

fn boosted(q: impl Query, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(Box::new(q), boost))
}

/// Runs the query and ranks by (relevance step, popularity).
pub(crate) fn run(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let popularity_field = "popularity";
    let collector =
        TopDocs::with_limit(limit.max(1)).tweak_score(move |segment: &SegmentReader| {
            let column = segment.fast_fields().f64(popularity_field).ok();
            move |doc, score: f32| {
                let popularity = column.as_ref().and_then(|c| c.first(doc)).unwrap_or(0.0) as f32;
                // Relevance in coarse steps, so small BM25 differences (field length, a
                // credit name matching as well as the artist) give way to popularity.
                ((score / RELEVANCE_STEP).floor(), popularity, score)
            }
        });
    let top: Vec<((f32, f32, f32), DocAddress)> = searcher.search(query, &collector)?;
    let mut hits = Vec::with_capacity(top.len());
    for ((_, popularity, score), address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let id = doc
            .get_first(f.id)
            .and_then(|v| v.as_str())
            .ok_or_else(|| SearchError::Damaged("a document without an id".into()))?;
        let id: EntityId = id
            .parse()
            .map_err(|_| SearchError::Damaged(format!("a document with id {id:?}")))?;
        hits.push(SearchHit {
            id,
            score,
            popularity,
        });
    }
    Ok(hits)
}
