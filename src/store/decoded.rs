//! Decoding a page of change records before it is applied: parsing and validating needs no
//! store, so it runs on another thread beside the apply of the page before.

use crate::model::{Change, ChangeRecord, DecodeError};

/// A page of NDJSON change records, parsed and validated: decoding needs no store, so a
/// caller can decode the next page on another thread while this one is applied.
#[derive(Debug, Default)]
pub struct DecodedPage {
    pub(super) changes: Vec<Change>,
    /// Lines that did not parse or validate, with why.
    pub(super) refused: Vec<(DecodeError, String)>,
}

impl DecodedPage {
    pub fn parse(ndjson: &str) -> Self {
        Self::parse_lines(ndjson, ndjson.bytes().filter(|&b| b == b'\n').count() + 1)
    }

    /// [`DecodedPage::parse`] for a caller that has counted the `lines` already.
    pub fn parse_lines(ndjson: &str, lines: usize) -> Self {
        // Sized once: a snapshot page is thousands of changes, and growing the vector copied
        // them again at each doubling.
        let mut page = DecodedPage {
            changes: Vec::with_capacity(lines),
            refused: Vec::new(),
        };
        for (i, line) in ndjson.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match ChangeRecord::decode_line(line, i + 1) {
                Ok(change) => page.changes.push(change),
                Err(e) => page.refused.push((e, line.to_owned())),
            }
        }
        page
    }
}
