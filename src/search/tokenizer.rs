//! The one text analyzer of the index, registered in one place.
//!
//! Documents and queries go through the same chain, so "bjork" meets "Björk" and "BEYONCÉ"
//! meets "beyonce": split on anything that is not a letter or digit, lower-case, fold
//! diacritics to ASCII, and drop absurdly long tokens (garbage, not words).

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

/// The name the analyzer is registered under; the schema's text fields refer to it.
pub const ANALYZER: &str = "liner_fold";

pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analyzer on an index; every open goes through this.
pub fn register(index: &Index) {
    index.tokenizers().register(ANALYZER, analyzer());
}

/// The folded tokens of a text, as the index stores them. Every keystroke calls this, so each
/// thread builds the analyzer once.
pub fn tokens(text: &str) -> Vec<String> {
    thread_local! {
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(analyzer());
    }
    ANALYZER.with(|a| {
        let mut analyzer = a.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::tokens;

    #[test]
    fn folds_case_and_diacritics() {
        assert_eq!(tokens("Björk"), ["bjork"]);
        assert_eq!(
            tokens("BEYONCÉ feat. Sigur Rós"),
            ["beyonce", "feat", "sigur", "ros"]
        );
        assert_eq!(
            tokens("Mötley Crüe & Françoise"),
            ["motley", "crue", "francoise"]
        );
    }
}
