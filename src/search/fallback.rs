//! What a search answers when no document has every word: the documents with most of them,
//! in passes that each walk only the rarest words' postings (see `at_least`).

use super::query::Plan;
use super::{Result, SearchHit};

/// Whatever `run` finds for every word; else for all but one word, then two, then three
/// ([`FALLBACK_PASSES`]), then half of them or three, whichever is fewer. Each pass walks only the rarest words' postings (see
/// `at_least`); one pass for every share at once walked the common words' too (a five-word
/// fallback took 8 ms at 1M when measured), and a pasted paragraph must not take a pass per
/// word.
pub(super) fn run<T: Found>(
    plan: &Plan,
    mut run: impl FnMut(&dyn tantivy::query::Query, bool) -> Result<T>,
) -> Result<T> {
    let found = run(plan.strict().as_ref(), false)?;
    let n = plan.words();
    if !found.is_empty() || n < 2 {
        return Ok(found);
    }
    // All but one, two, three words; then straight to half, or three of a long query (a
    // pasted track line matches on its artist and title words, not on the rest).
    let half = n.div_ceil(2).clamp(1, 3);
    let mut shares: Vec<usize> = (1..=FALLBACK_PASSES)
        .map(|d| n.saturating_sub(d))
        .take_while(|k| *k >= half && *k > 0)
        .collect();
    if shares.last().is_some_and(|k| *k > half) || shares.is_empty() {
        shares.push(half);
    }
    for k in shares {
        let found = run(plan.at_least(k).as_ref(), true)?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(found)
}

/// How many words the fallback drops one at a time before it tries half of them.
const FALLBACK_PASSES: usize = 3;

/// An answer that may be empty: one list of hits, or one per section.
pub(super) trait Found {
    fn is_empty(&self) -> bool;
}

impl Found for Vec<SearchHit> {
    fn is_empty(&self) -> bool {
        <[SearchHit]>::is_empty(self)
    }
}

impl Found for Vec<Vec<SearchHit>> {
    fn is_empty(&self) -> bool {
        self.iter().all(|s| s.is_empty())
    }
}
