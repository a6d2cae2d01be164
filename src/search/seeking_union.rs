//! A union of one typed word's alternatives (exact, prefix and fuzzy terms in each field) for
//! use inside an intersection, where it is sought rather than walked.
//!
//! tantivy's own union fills a window of 4,096 documents at a time by scoring every posting of
//! every alternative in it. That is the fast way to walk a union whole (a one-word query), but
//! a later word of a query is only asked "do you have this document?" at the documents the
//! rarest word leads to, and each such seek past the window refilled it: a common last word
//! ("Lullaby The", a band whose name starts with "The") scored the postings of "the" and its
//! completions across the whole index, 3.6 ms a query. This union moves each alternative's
//! postings only to the document asked for, with their skip lists, and scores only there.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// Matches a document when any of its queries does; scores it as tantivy's
/// `DisjunctionMaxQuery` does: the best alternative's score plus `tie` times the others'. A
/// word is worth what its best match is worth, so a word matching loosely in two fields does
/// not outrank the same word matched exactly in one.
#[derive(Debug)]
pub(crate) struct SeekingUnion {
    pub(crate) alternatives: Vec<Box<dyn Query>>,
    pub(crate) tie: Score,
}

impl Clone for SeekingUnion {
    fn clone(&self) -> Self {
        SeekingUnion {
            alternatives: self.alternatives.iter().map(|q| q.box_clone()).collect(),
            tie: self.tie,
        }
    }
}

impl Query for SeekingUnion {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .alternatives
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(UnionWeight(weights, self.tie)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for q in &self.alternatives {
            q.query_terms(visitor);
        }
    }
}

struct UnionWeight(Vec<Box<dyn Weight>>, Score);

impl Weight for UnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut children = Vec::with_capacity(self.0.len());
        for w in &self.0 {
            let scorer = w.scorer(reader, boost)?;
            // Terms this segment does not have match nothing; leave them out of every step.
            if scorer.doc() != TERMINATED {
                children.push(scorer);
            }
        }
        let mut union = UnionScorer {
            children,
            doc: TERMINATED,
            tie: self.1,
        };
        union.doc = union.lowest();
        Ok(Box::new(union))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new(
            "the best alternative that matches, plus a share of the others",
            scorer.score(),
        ))
    }
}

struct UnionScorer {
    /// Each positioned at its first document at or after `doc`.
    children: Vec<Box<dyn Scorer>>,
    doc: DocId,
    tie: Score,
}

impl UnionScorer {
    fn lowest(&self) -> DocId {
        self.children
            .iter()
            .map(|c| c.doc())
            .min()
            .unwrap_or(TERMINATED)
    }
}

impl DocSet for UnionScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        for c in &mut self.children {
            if c.doc() == self.doc {
                c.advance();
            }
        }
        self.doc = self.lowest();
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for c in &mut self.children {
            if c.doc() < target {
                c.seek(target);
            }
        }
        self.doc = self.lowest();
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    /// At most the sum of the alternatives' (an intersection leads with its smallest member).
    fn size_hint(&self) -> u32 {
        self.children
            .iter()
            .fold(0u32, |sum, c| sum.saturating_add(c.size_hint()))
    }
}

impl Scorer for UnionScorer {
    fn score(&mut self) -> Score {
        let doc = self.doc;
        let (mut max, mut sum): (Score, Score) = (0.0, 0.0);
        for c in self.children.iter_mut().filter(|c| c.doc() == doc) {
            let score = c.score();
            max = max.max(score);
            sum += score;
        }
        max + (sum - max) * self.tie
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, Query, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema, TEXT};
    use tantivy::{DocAddress, Index, TantivyDocument, Term};

    use super::SeekingUnion;

    /// Every hit and score of `query`, in a stable order.
    fn hits(searcher: &tantivy::Searcher, query: &dyn Query) -> Vec<(DocAddress, u32)> {
        let mut top: Vec<(f32, DocAddress)> = searcher
            .search(query, &TopDocs::with_limit(100_000))
            .expect("search");
        top.sort_by_key(|(_, a)| *a);
        // Scores compared to 1/1000: the two sum the same terms in another order.
        top.into_iter()
            .map(|(s, a)| (a, (s * 1000.0).round() as u32))
            .collect()
    }

    const TIE: f32 = 0.1;

    /// Intersected with other words, the seeking union matches and scores exactly what
    /// tantivy's disjunction-max of the same alternatives does, over dense and sparse words,
    /// boosts, and terms the index does not have.
    #[test]
    fn it_matches_and_scores_as_a_disjunction_max() {
        let mut builder = Schema::builder();
        let title = builder.add_text_field("title", TEXT);
        let names = builder.add_text_field("names", TEXT);
        let code = builder.add_text_field("code", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer(15_000_000).expect("writer");
        // Zipf-ish words: "w0" is in most documents, "w30" in few.
        let mut seed: u64 = 7;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let mut word = |n| format!("w{}", next(n).min(next(n)).min(next(n)));
        for _ in 0..20_000 {
            let mut doc = TantivyDocument::default();
            doc.add_text(title, format!("{} {} {}", word(40), word(40), word(40)));
            doc.add_text(names, format!("{} {}", word(40), word(40)));
            writer.add_document(doc).expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();

        let alternatives = |w: &str| -> Vec<Box<dyn Query>> {
            let term = |field, text: &str| {
                TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::WithFreqs,
                )
            };
            vec![
                Box::new(BoostQuery::new(Box::new(term(title, w)), 3.0)),
                Box::new(BoostQuery::new(Box::new(term(names, w)), 2.0)),
                Box::new(BoostQuery::new(
                    Box::new(term(title, &format!("{w}1"))),
                    0.8,
                )),
                Box::new(term(code, "NOT-THERE")),
            ]
        };
        let queries = [
            vec!["w0", "w1"],
            vec!["w25", "w0"],
            vec!["w0", "w25", "w3"],
            vec!["w12", "w2", "w0"],
            vec!["w39", "w38"],
        ];
        for words in queries {
            let boolean = BooleanQuery::new(
                words
                    .iter()
                    .map(|w| {
                        (
                            Occur::Must,
                            Box::new(DisjunctionMaxQuery::with_tie_breaker(alternatives(w), TIE))
                                as Box<dyn Query>,
                        )
                    })
                    .collect(),
            );
            let seeking = BooleanQuery::new(
                words
                    .iter()
                    .map(|w| {
                        (
                            Occur::Must,
                            Box::new(SeekingUnion {
                                alternatives: alternatives(w),
                                tie: TIE,
                            }) as Box<dyn Query>,
                        )
                    })
                    .collect(),
            );
            let expected = hits(&searcher, &boolean);
            assert_eq!(hits(&searcher, &seeking), expected, "{words:?}");
            // A union alone, walked whole rather than sought.
            let alone = SeekingUnion {
                alternatives: alternatives(words[0]),
                tie: TIE,
            };
            assert_eq!(
                hits(&searcher, &alone),
                hits(
                    &searcher,
                    &DisjunctionMaxQuery::with_tie_breaker(alternatives(words[0]), TIE)
                )
            );
        }
    }
}
