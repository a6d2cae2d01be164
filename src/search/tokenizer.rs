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
    each_token(text, |_| true)
}

/// The words of a typed query: its tokens, less a lone letter right after an apostrophe (the
/// "s" of "björk's", the "t" of "don't"), which would otherwise have to be a word of its own
/// in every hit.
pub fn query_words(text: &str) -> Vec<String> {
    each_token(text, |token| {
        let after_apostrophe = text[..token.offset_from]
            .chars()
            .next_back()
            .is_some_and(|c| matches!(c, '\'' | '’' | '`'));
        !(after_apostrophe && token.text.chars().count() == 1)
    })
}

/// The tokens of `text` that `keep` keeps, through this thread's one analyzer.
fn each_token(text: &str, keep: impl Fn(&tantivy::tokenizer::Token) -> bool) -> Vec<String> {
    thread_local! {
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(analyzer());
    }
    ANALYZER.with(|a| {
        let mut analyzer = a.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            if keep(stream.token()) {
                out.push(stream.token().text.clone());
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::{query_words, tokens};

    #[test]
    fn a_possessive_s_is_not_a_word_to_find() {
        assert_eq!(query_words("björk's homogenic"), ["bjork", "homogenic"]);
        assert_eq!(query_words("Don’t Stop"), ["don", "stop"]);
        assert_eq!(query_words("s club 7"), ["s", "club", "7"]);
    }

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
