//! Search as you type: how a half-typed, misspelt query becomes a tantivy query, and how hits
//! are ranked.
//!
//! Every word must match (in the title or the names). A word matches exactly (scored by BM25,
//! boosted), or within one edit, transpositions included, when it has 4+ characters or is a
//! three-letter word the catalog does not hold; and the last word, while it is still being
//! typed, matches every word it starts (a constant score, less than a whole word's). Words
//! within one edit are expanded into real terms first (see [`expand`](super::expand)); when
//! other words must match too, nearly all of them are kept and the intersection keeps those
//! that co-occur. When no document matches every word, [`SearchIndex::search`] asks again for
//! most of them ([`Plan::at_least`]). Hits rank by relevance, in coarse steps so near-equal
//! scores count as equal, then by popularity.
//!
//! [`SearchIndex::search`]: super::SearchIndex::search

use tantivy::collector::{Collector, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, SegmentReader, TantivyDocument, Term};

use super::at_least::AtLeast;
use super::document;
use super::schema::{EDGE_MAX, Fields};
use super::sections::Sections;
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
    /// A query of one character alone matches it as a whole word only ("M", "X"), not every
    /// word it starts: for search as you type, where it is a first keystroke and a second comes
    /// next (walking the tenth of the index one letter starts took 10–15 ms at 1M, measured
    /// in the console). Scripts leave it off.
    pub one_letter_whole_word: bool,
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
    /// The hit matches only some of the words: no document matched them all.
    pub partial: bool,
}

/// Words shorter than this match within one edit only when the index does not hold them as
/// they are: a three-letter word that is a word of the catalog ("the", "you") is taken as
/// typed, one that is not ("yor", "wnd") is a typo.
pub const FUZZY_MIN_CHARS: usize = 4;
const EXACT_TITLE_BOOST: f32 = 3.0;
const EXACT_NAMES_BOOST: f32 = 2.0;
/// What a word still being typed scores when it starts a word of the title or the names: a
/// constant, so a rare completion ranks as well as a frequent one, and less than a whole word
/// typed unless that word is in most of the catalog (its boosted BM25 score falls to about 2
/// when half the documents hold it).
const PREFIX_TITLE_SCORE: f32 = 2.4;
const PREFIX_NAMES_SCORE: f32 = 1.6;
/// What a word within one edit of the typed one scores, times the field's boost: 1.5 in the
/// title, 1.0 in the names, under the prefix scores, so exact > word start > near word.
const FUZZY_BOOST: f32 = 0.5;
/// A word scores its best match plus this share of its other matches (the same word in the
/// other field, a second completion): matching loosely twice must not beat matching exactly.
const TIE: f32 = 0.1;
/// The words of a query that count (see `build`).
const MAX_WORDS: usize = 12;
/// Scores within one step count as equally relevant and are ordered by popularity.
const RELEVANCE_STEP: f32 = 2.0;

/// A typed query as tantivy queries: one per word (its alternatives: exact, within one edit,
/// as a word start, as an identifier), and the filters.
pub(crate) struct Plan {
    words: Vec<Box<dyn Query>>,
    filters: Vec<Box<dyn Query>>,
}

impl Plan {
    pub(crate) fn words(&self) -> usize {
        self.words.len()
    }

    /// Every word and every filter must match.
    pub(crate) fn strict(&self) -> Box<dyn Query> {
        let clauses = self
            .words
            .iter()
            .chain(&self.filters)
            .map(|q| (Occur::Must, q.box_clone()))
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    /// At least `k` of the words, and every filter.
    pub(crate) fn at_least(&self, k: usize) -> Box<dyn Query> {
        let words = AtLeast {
            words: self.words.iter().map(|q| q.box_clone()).collect(),
            k,
        };
        let clauses = std::iter::once(Box::new(words) as Box<dyn Query>)
            .chain(self.filters.iter().map(|q| q.box_clone()))
            .map(|q| (Occur::Must, q))
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }
}

pub(crate) fn build(
    searcher: &Searcher,
    f: &Fields,
    req: &SearchRequest,
) -> tantivy::Result<Option<Plan>> {
    let filter = |field: Field, value: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    };
    let mut filters: Vec<Box<dyn Query>> = Vec::new();
    if let Some(kind) = req.kind {
        filters.push(filter(f.kind, kind.as_str()));
    }
    if let Some(code) = whole_code(&req.text) {
        return Ok(Some(Plan {
            words: vec![filter(f.code, &code)],
            filters,
        }));
    }
    if let Some(role) = req.role {
        filters.push(filter(f.role, role.as_str()));
    }
    if let Some(party) = req.party {
        filters.push(Box::new(TermQuery::new(
            Term::from_field_u64(f.party, party as u64),
            IndexRecordOption::Basic,
        )));
    }
    // A pasted paragraph is searched on its first words: each word is a union to seek, and
    // the fallback walks all but three of them.
    let mut words = tokenizer::query_words(&req.text);
    words.truncate(MAX_WORDS);
    let still_typing = req.text.chars().last().is_some_and(char::is_alphanumeric);
    // A word's alternatives are sought by the others' when anything else must match too (see
    // seeking_union); one word alone is walked whole, which tantivy's own union does best.
    let intersected = words.len() + filters.len() > 1;
    let fuzzy_cap = if intersected {
        expand::MAX_FUZZY_TERMS
    } else {
        expand::MAX_FUZZY_TERMS_ALONE
    };
    let mut queries: Vec<Box<dyn Query>> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        // See `one_letter_whole_word`.
        let lone_letter =
            req.one_letter_whole_word && !intersected && word.chars().nth(1).is_none();
        let typing = still_typing && i + 1 == words.len() && !lone_letter;
        let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
        let chars = word.chars().count();
        // A three-letter word still being typed that starts a word of the catalog ("bey") is
        // not a typo either: its neighbours would outscore the completion being typed.
        let known_start = |searcher: &Searcher| -> tantivy::Result<bool> {
            Ok(expand::known(searcher, &[f.title, f.names], word)?
                || (typing && expand::known(searcher, &[f.title_prefix, f.names_prefix], word)?))
        };
        let fuzzy =
            chars >= FUZZY_MIN_CHARS || (chars + 1 == FUZZY_MIN_CHARS && !known_start(searcher)?);
        for (field, boost) in [(f.title, EXACT_TITLE_BOOST), (f.names, EXACT_NAMES_BOOST)] {
            alternatives.push(boosted(
                TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                ),
                boost,
            ));
            if fuzzy {
                // A near word scores a constant below what a word typed as it is scores: a
                // rare near word's BM25 outranked a common exact one ("noel" put nine "Nolé"
                // above every "Noël").
                for term in expand::fuzzy(searcher, field, word, fuzzy_cap)? {
                    alternatives.push(Box::new(ConstScoreQuery::new(
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                        boost * FUZZY_BOOST,
                    )));
                }
            }
        }
        if typing {
            for (field, starts, score) in [
                (f.title, f.title_prefix, PREFIX_TITLE_SCORE),
                (f.names, f.names_prefix, PREFIX_NAMES_SCORE),
            ] {
                let start = word_start(searcher, field, starts, word)?;
                alternatives.push(Box::new(ConstScoreQuery::new(start, score)));
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
        queries.push(if intersected {
            Box::new(SeekingUnion {
                alternatives,
                tie: TIE,
            })
        } else {
            Box::new(DisjunctionMaxQuery::with_tie_breaker(alternatives, TIE))
        });
    }
    if queries.is_empty() && req.party.is_none() && req.role.is_none() {
        return Ok(None);
    }
    Ok(Some(Plan {
        words: queries,
        filters,
    }))
}

/// Documents with a word of `field` that starts with `typed`: one term of the `starts` field
/// when the start is that short, else every completion in the dictionary, or, when there are
/// too many, the first [`EDGE_MAX`] characters' term (a few more documents than asked for).
fn word_start(
    searcher: &Searcher,
    field: Field,
    starts: Field,
    typed: &str,
) -> tantivy::Result<Box<dyn Query>> {
    let edge = |text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(starts, text),
            IndexRecordOption::Basic,
        ))
    };
    let Some((cut, _)) = typed.char_indices().nth(EDGE_MAX) else {
        return Ok(edge(typed));
    };
    Ok(
        match expand::completions(searcher, field, typed, expand::MAX_COMPLETIONS)? {
            Some(terms) => Box::new(SeekingUnion {
                alternatives: terms
                    .into_iter()
                    .map(|t| {
                        Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>
                    })
                    .collect(),
                tie: TIE,
            }),
            None => edge(&typed[..cut]),
        },
    )
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
    partial: bool,
) -> Result<Vec<SearchHit>> {
    let top = searcher.search(query, &ranked(limit))?;
    hits(searcher, f, top, partial)
}

/// Runs the query once and ranks each kind's hits apart, up to its own limit: a walk of the
/// postings serves every section of the console's answer.
pub(crate) fn run_sections(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    sections: &[(EntityKind, usize)],
    partial: bool,
) -> Result<Vec<Vec<SearchHit>>> {
    let collector = Sections {
        sections: sections
            .iter()
            .map(|(kind, limit)| (document::kind_tag(*kind), *limit))
            .collect(),
        step: RELEVANCE_STEP,
    };
    let found = searcher.search(query, &collector)?;
    found
        .into_iter()
        .map(|top| {
            let top = top
                .into_iter()
                .map(|(r, a)| ((r.step, r.popularity, r.score), a))
                .collect();
            hits(searcher, f, top, partial)
        })
        .collect()
}

type Ranked = ((f32, f32, f32), DocAddress);

fn ranked(limit: usize) -> impl Collector<Fruit = Vec<Ranked>> {
    let popularity_field = "popularity";
    TopDocs::with_limit(limit.max(1)).tweak_score(move |segment: &SegmentReader| {
        let column = segment.fast_fields().f64(popularity_field).ok();
        move |doc, score: f32| {
            let popularity = column.as_ref().and_then(|c| c.first(doc)).unwrap_or(0.0) as f32;
            // Relevance in coarse steps, so small BM25 differences (field length, a
            // credit name matching as well as the artist) give way to popularity.
            ((score / RELEVANCE_STEP).floor(), popularity, score)
        }
    })
}

fn hits(
    searcher: &Searcher,
    f: &Fields,
    top: Vec<Ranked>,
    partial: bool,
) -> Result<Vec<SearchHit>> {
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
            partial,
        });
    }
    Ok(hits)
}
