//! Millions of (party, entity) key pairs in bounded memory, handed back sorted.
//!
//! Party links are written in (party, entity) order so their tables fill page after page,
//! but the pairs arrive in entity order. Sorting all of a 1M catalog's 7M pairs in one `Vec`
//! put linerd's peak at 405 MB (target 400), measured. Here pairs are sorted in runs of
//! [`RUN`] and each run is kept as varint deltas (about a third of its sorted size), then the
//! runs are merged on the way out.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Result, StoreError};

/// Pairs sorted in memory at a time: 2 MB per kind. Open runs of 8 MB put linerd's 1M
/// bootstrap over its 400 MB target when they were chosen; merging the 30-odd runs this makes
/// of 7M pairs costs little next to writing them.
const RUN: usize = 1 << 18;

/// Pairs gathered so far: an open run and the sealed, compressed ones.
#[derive(Debug, Default)]
pub(crate) struct PairRuns {
    open: Vec<u64>,
    sealed: Vec<Vec<u8>>,
}

impl PairRuns {
    pub(crate) fn push(&mut self, party: i64, key: i64) -> Result<()> {
        self.open.push(pair(party, key)?);
        if self.open.len() >= RUN {
            self.seal();
        }
        Ok(())
    }

    fn seal(&mut self) {
        self.open.sort_unstable();
        self.open.dedup();
        let mut bytes = Vec::with_capacity(self.open.len() * 3);
        let mut last = 0;
        for &p in &self.open {
            put_varint(&mut bytes, p - last);
            last = p;
        }
        self.sealed.push(bytes);
        self.open.clear();
    }

    /// Every pair once, in (party, entity) order.
    pub(crate) fn into_sorted(mut self) -> impl Iterator<Item = (i64, i64)> {
        if !self.open.is_empty() {
            self.seal();
        }
        self.open = Vec::new();
        let mut runs: Vec<Run> = self
            .sealed
            .into_iter()
            .map(|bytes| Run {
                bytes,
                at: 0,
                last: 0,
            })
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(p) = run.next() {
                heap.push(Reverse((p, i)));
            }
        }
        let mut previous = None;
        std::iter::from_fn(move || {
            loop {
                let Reverse((p, i)) = heap.pop()?;
                if let Some(next) = runs[i].next() {
                    heap.push(Reverse((next, i)));
                }
                // Runs are deduplicated within themselves, not against each other.
                if previous != Some(p) {
                    previous = Some(p);
                    return Some(((p >> 32) as i64, (p & 0xffff_ffff) as i64));
                }
            }
        })
    }
}

/// One sealed run being read back.
struct Run {
    bytes: Vec<u8>,
    at: usize,
    last: u64,
}

impl Iterator for Run {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        let mut delta = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            delta |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        self.last += delta;
        Some(self.last)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Two keys in one word, party first, so sorting the words sorts by (party, entity).
fn pair(party: i64, key: i64) -> Result<u64> {
    let (Ok(p), Ok(k)) = (u32::try_from(party), u32::try_from(key)) else {
        return Err(StoreError::Body {
            what: format!("link ({party}, {key})"),
            reason: "a key beyond 2^32".into(),
        });
    };
    Ok(u64::from(p) << 32 | u64::from(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pairs_come_back_sorted_once_each_across_runs(
            pairs in proptest::collection::vec((0i64..5_000, 0i64..1_000_000), 0..3_000),
        ) {
            let mut runs = PairRuns::default();
            // Seal every few hundred pairs, so the merge of many runs is what is tested.
            for (i, (p, k)) in pairs.iter().enumerate() {
                runs.push(*p, *k).expect("push");
                if i % 257 == 256 {
                    runs.seal();
                }
            }
            let mut expected = pairs.clone();
            expected.sort_unstable();
            expected.dedup();
            let got: Vec<(i64, i64)> = runs.into_sorted().collect();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_key_beyond_32_bits_is_an_error_not_a_wrong_link() {
        let mut runs = PairRuns::default();
        assert!(runs.push(1 << 33, 1).is_err());
        assert!(runs.push(1, -1).is_err());
    }
}
