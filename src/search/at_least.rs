//! A query matching documents that match at least `k` of a query's words: what search falls
//! back to when no document matches every word, so one misspelt or half-remembered word does
//! not empty the answer.
//!
//! A document matching `k` of `n` words matches at least one of any `n - k + 1` of them, so
//! the smallest `n - k + 1` words lead (their union is walked) and the others are only sought
//! at the documents those lead to, as an intersection seeks. Documents that match more words
//! score higher whatever the words' own scores; among equals, the sum of what they match
//! (BM25: the rarer a word, the more it counts) decides.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// What each matched word adds to a document's score before the words' own scores: more than
/// any sum of those, so coverage ranks first.
pub(crate) const PER_WORD: Score = 1_000.0;

#[derive(Debug)]
pub(crate) struct AtLeast {
    pub(crate) words: Vec<Box<dyn Query>>,
    pub(crate) k: usize,
}

impl Clone for AtLeast {
    fn clone(&self) -> Self {
        AtLeast {
            words: self.words.iter().map(|q| q.box_clone()).collect(),
            k: self.k,
        }
    }
}

impl Query for AtLeast {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .words
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(AtLeastWeight {
            words: weights,
            k: self.k.max(1),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for q in &self.words {
            q.query_terms(visitor);
        }
    }
}

struct AtLeastWeight {
    words: Vec<Box<dyn Weight>>,
    k: usize,
}

impl Weight for AtLeastWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut words = Vec::with_capacity(self.words.len());
        for w in &self.words {
            let scorer = w.scorer(reader, boost)?;
            // A word this segment does not have can never count.
            if scorer.doc() != TERMINATED {
                words.push(scorer);
            }
        }
        if words.len() < self.k {
            return Ok(Box::new(tantivy::query::EmptyScorer));
        }
        words.sort_by_key(|s| s.size_hint());
        let rest = words.split_off(words.len() - self.k + 1);
        let mut scorer = AtLeastScorer {
            lead: words,
            rest,
            k: self.k,
            doc: TERMINATED,
            score: 0.0,
        };
        scorer.settle();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new(
            "words matched × 1000 + the sum of their scores",
            scorer.score(),
        ))
    }
}

struct AtLeastScorer {
    /// The smallest `n - k + 1` words, each at its first document at or after the last one
    /// looked at.
    lead: Vec<Box<dyn Scorer>>,
    /// The other `k - 1`, moved only to documents the lead proposes.
    rest: Vec<Box<dyn Scorer>>,
    k: usize,
    doc: DocId,
    score: Score,
}

impl AtLeastScorer {
    /// Moves to the first document at or after the leads' lowest that matches `k` words.
    fn settle(&mut self) {
        loop {
            let doc = self
                .lead
                .iter()
                .map(|s| s.doc())
                .min()
                .unwrap_or(TERMINATED);
            if doc == TERMINATED {
                self.doc = TERMINATED;
                return;
            }
            let mut matched = 0;
            let mut sum = 0.0;
            for s in self.lead.iter_mut().filter(|s| s.doc() == doc) {
                matched += 1;
                sum += s.score();
            }
            for s in &mut self.rest {
                if s.doc() < doc {
                    s.seek(doc);
                }
                if s.doc() == doc {
                    matched += 1;
                    sum += s.score();
                }
            }
            if matched >= self.k {
                self.doc = doc;
                self.score = matched as Score * PER_WORD + sum;
                return;
            }
            for s in self.lead.iter_mut().filter(|s| s.doc() == doc) {
                s.advance();
            }
        }
    }
}

impl DocSet for AtLeastScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let doc = self.doc;
        for s in self.lead.iter_mut().filter(|s| s.doc() == doc) {
            s.advance();
        }
        self.settle();
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for s in &mut self.lead {
            if s.doc() < target {
                s.seek(target);
            }
        }
        self.settle();
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.lead
            .iter()
            .fold(0u32, |sum, s| sum.saturating_add(s.size_hint()))
    }
}

impl Scorer for AtLeastScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}
