//! The query shapes that came back empty or wrong on real names (issue 18), one test each, on
//! small catalogs built so each shape's trap is there: a rare completion among frequent ones,
//! a rare word among frequent neighbours, a three-letter typo, one word nothing has, a near
//! word matched twice against an exact word matched once.

#[path = "../benches/support/real_names.rs"]
mod real_names;

use liner::model::{EntityId, EntityKind};
use liner::search::{SearchHit, SearchIndex, SearchRequest};
use real_names::{Catalog, Row};

struct Built {
    _dir: tempfile::TempDir,
    index: SearchIndex,
    rows: Vec<Row>,
    catalog: Catalog,
}

/// `rows` as (title, artist), each `n` times when given as (title, artist, n).
fn build(rows: &[(&str, &str, usize)]) -> Built {
    let rows: Vec<Row> = rows
        .iter()
        .flat_map(|(title, artist, n)| {
            std::iter::repeat_n(
                Row {
                    title: (*title).to_owned(),
                    artist: (*artist).to_owned(),
                },
                *n,
            )
        })
        .collect();
    let catalog = real_names::catalog(&rows);
    let (dir, index) = real_names::index(&catalog).expect("index");
    Built {
        _dir: dir,
        index,
        rows,
        catalog,
    }
}

impl Built {
    fn search(&self, q: &str) -> Vec<SearchHit> {
        let mut req = SearchRequest::new(q);
        req.kind = Some(EntityKind::Recording);
        req.limit = 100;
        self.index.search(&req).expect("search")
    }

    /// "title — artist" of each hit, best first.
    fn titles(&self, q: &str) -> Vec<String> {
        self.named(&self.search(q))
    }

    /// The same, asserting that every hit has every word: the shape is found by what it
    /// tests, not by the fallback to most of the words.
    fn strict_titles(&self, q: &str) -> Vec<String> {
        let hits = self.search(q);
        assert!(
            hits.iter().all(|h| !h.partial),
            "{q:?} matched partially: {hits:?}"
        );
        self.named(&hits)
    }

    fn named(&self, hits: &[SearchHit]) -> Vec<String> {
        hits.iter()
            .filter_map(|h| match h.id {
                EntityId::Recording(id) => self.catalog.recordings.iter().position(|r| *r == id),
                _ => None,
            })
            .map(|i| format!("{} — {}", self.rows[i].title, self.rows[i].artist))
            .collect()
    }
}

/// Frequent words sharing a start or within one edit of a rarer one, each on `n` albums.
fn crowd<'a>(words: &[&'a str], n: usize) -> Vec<(&'a str, &'a str, usize)> {
    words.iter().map(|w| (*w, "Various Artists", n)).collect()
}

#[test]
fn a_last_word_cut_to_two_letters_finds_its_rare_completion() {
    // Ten words starting "mo" on six albums each; "Moon" on one. Keeping the most frequent
    // completions of "mo" left Moon out, and "harvest mo" came back empty.
    let mut rows = crowd(
        &[
            "More Love",
            "Most Love",
            "Mob Love",
            "Mode Love",
            "Mom Love",
            "Moth Love",
            "Mole Love",
            "Mood Love",
            "Moss Love",
            "Money Love",
        ],
        6,
    );
    rows.push(("Harvest Moon", "Neil Young", 1));
    rows.push(("Mama Said Knock You Out", "LL Cool J", 1));
    rows.extend(crowd(
        &["Mama Said Lately", "Mama Said Later", "Mama Said Lies"],
        9,
    ));
    let b = build(&rows);
    assert_eq!(b.strict_titles("harvest mo"), ["Harvest Moon — Neil Young"]);
    assert_eq!(
        b.strict_titles("harvest moo"),
        ["Harvest Moon — Neil Young"]
    );
    // Every completion still matches where the other words do.
    assert_eq!(b.strict_titles("love mo").len(), 60);
    // One letter of a rare word among frequent ones starting with it.
    assert!(
        b.strict_titles("mama said knock you out l")
            .contains(&"Mama Said Knock You Out — LL Cool J".to_owned())
    );
    assert_eq!(
        b.strict_titles("harvest moon ne")[..1],
        ["Harvest Moon — Neil Young"]
    );
}

#[test]
fn a_last_word_cut_after_more_letters_than_the_index_keeps_finds_every_completion() {
    // Starts of up to four characters are terms of their own; a longer one is expanded from
    // the dictionary, non-ASCII words included, and past 64 completions its first four
    // characters stand for it.
    let mut rows = vec![
        ("Harvest Moonlight", "Neil Young", 1),
        ("Кинофильм", "Кино", 1),
        ("Ølstue Sange", "Kim Larsen", 1),
    ];
    let many: Vec<String> = (0..80).map(|i| format!("Moonbeam{i} Harvest")).collect();
    rows.extend(many.iter().map(|t| (t.as_str(), "Various Artists", 1)));
    let b = build(&rows);
    assert_eq!(
        b.strict_titles("harvest moonl"),
        ["Harvest Moonlight — Neil Young"]
    );
    assert_eq!(b.strict_titles("кино кинофи"), ["Кинофильм — Кино"]);
    assert_eq!(b.strict_titles("kim olstu"), ["Ølstue Sange — Kim Larsen"]);
    // "moonb" starts 80 words: "moon" stands for it, which keeps every one of them.
    assert_eq!(b.strict_titles("harvest moonb").len(), 81);
}

#[test]
fn a_three_letter_word_with_a_typo_finds_the_word_meant() {
    let b = build(&[
        ("Turn The Page", "Bob Seger", 1),
        ("Fun Song", "Fun", 1),
        ("Fan Club", "Various Artists", 1),
    ]);
    // "tun" is in no title or name: within one edit of "turn".
    assert_eq!(
        b.strict_titles("tun the page bob")[..1],
        ["Turn The Page — Bob Seger"]
    );
    // "fan" is a word of the catalog: taken as typed, it does not also find "Fun".
    assert_eq!(b.titles("fan club"), ["Fan Club — Various Artists"]);
    assert_eq!(b.titles("fan"), ["Fan Club — Various Artists"]);
}

#[test]
fn a_typo_whose_word_is_rarer_than_its_neighbours_finds_it() {
    // "rist" is within one edit of list, mist, fist, wrist, rest, risk, rise (frequent) and
    // rust (one album). Keeping its four most frequent neighbours left "rust" out.
    let mut rows = crowd(
        &[
            "List Never",
            "Mist Never",
            "Fist Never",
            "Wrist Never",
            "Rest Never",
            "Risk Never",
            "Rise Never",
        ],
        8,
    );
    rows.push(("Rust Never Sleeps", "Neil Young", 1));
    let b = build(&rows);
    assert_eq!(
        b.strict_titles("rist never sleeps neil")[..1],
        ["Rust Never Sleeps — Neil Young"]
    );
}

#[test]
fn a_query_with_one_word_nothing_has_finds_the_entries_with_the_others_marked_partial() {
    let b = build(&[
        ("Harvest Moon", "Neil Young", 1),
        ("Harvest", "Neil Young", 1),
        ("Moon Safari", "Air", 1),
    ]);
    let whole = b.search("harvest moon neil");
    assert!(!whole.is_empty() && whole.iter().all(|h| !h.partial));
    // "qzxv" is nowhere: the entries with all the other words, marked.
    let hits = b.search("harvest moon neil qzxv");
    assert!(
        !hits.is_empty() && hits.iter().all(|h| h.partial),
        "{hits:?}"
    );
    assert_eq!(
        b.titles("harvest moon neil qzxv"),
        ["Harvest Moon — Neil Young"]
    );
    // Two words nowhere of four: the entries with the other two, the rarer word's first.
    assert_eq!(
        b.titles("moon harvest zzqx qzxv")[..1],
        ["Harvest Moon — Neil Young"]
    );
    assert!(
        b.titles("moon neil zzqx qzxv")
            .contains(&"Harvest Moon — Neil Young".to_owned())
    );
    // Fewer than half the words matching is no answer.
    assert!(b.search("harvest qzxv wvvq").is_empty());
}

#[test]
fn an_exact_word_ranks_above_a_near_word_matched_in_title_and_artist() {
    // "love" is within one edit of "lone"; The Lone Bellow has it in both title and artist,
    // and "lone" is the rarer word. Summing every match made it outrank the album called
    // "Love" in a catalog where "love" and "the" are common words.
    let noise: Vec<(String, String)> = (0..400)
        .map(|i| (format!("Track{i} Mix"), format!("Band{i}")))
        .chain((0..20).map(|i| (format!("Song{i}"), "The Noise".to_owned())))
        .chain((0..7).map(|i| (format!("Love Song{i}"), format!("Singer{i}"))))
        .collect();
    let mut rows: Vec<(&str, &str, usize)> = noise
        .iter()
        .map(|(t, a)| (t.as_str(), a.as_str(), 1))
        .collect();
    rows.push(("The Lone Bellow", "The Lone Bellow", 1));
    rows.push(("Love", "The Cult", 1));
    let b = build(&rows);
    assert_eq!(b.titles("love the")[..1], ["Love — The Cult"]);
    assert_eq!(b.titles("love th")[..1], ["Love — The Cult"]);
}

#[test]
fn a_one_letter_whole_word_alone_matches_whole_words_and_a_script_gets_every_completion() {
    let b = build(&[("Halo", "Beyoncé", 1), ("X", "The xx", 1)]);
    let mut req = SearchRequest::new("x");
    req.one_letter_whole_word = true;
    let typed: Vec<EntityId> = b
        .index
        .search(&req)
        .expect("search")
        .iter()
        .map(|h| h.id)
        .collect();
    // "x" as a word: the album called X, not The xx (nor their party).
    assert_eq!(typed, [EntityId::Recording(b.catalog.recordings[1])]);
    req.text = "h".into();
    assert!(b.index.search(&req).expect("search").is_empty());
    // The same letter from a script (`liner search h`) starts words.
    assert_eq!(b.titles("h"), ["Halo — Beyoncé"]);
    // A second character: every word it starts, as you type.
    req.text = "ha".into();
    let hits = b.index.search(&req).expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, EntityId::Recording(b.catalog.recordings[0]));
}

#[test]
fn a_possessive_finds_the_name_it_belongs_to() {
    let b = build(&[
        ("Homogenic", "Björk", 1),
        ("Sander Songs", "Björn Sander", 1),
    ]);
    // "björk's": the "s" is not a word every hit must have.
    assert_eq!(b.strict_titles("björk's homogenic"), ["Homogenic — Björk"]);
}

#[test]
fn a_pasted_line_with_many_words_nothing_has_finds_the_entry_by_its_own_words() {
    let b = build(&[("Homogenic 1997", "Björk", 1), ("Post", "Björk", 1)]);
    // Three of eight words are the entry's; the rest are a shop's.
    let hits = b.search("björk homogenic 1997 remastered deluxe edition bonus tracks");
    assert!(hits.iter().all(|h| h.partial), "{hits:?}");
    assert_eq!(
        b.titles("björk homogenic 1997 remastered deluxe edition bonus tracks")[..1],
        ["Homogenic 1997 — Björk"]
    );
}

#[test]
fn an_exact_word_ranks_above_a_rarer_word_within_one_edit() {
    // "noel" is exact for twenty albums and one edit from "Nolé", which is rarer: its BM25
    // outscored the exact word's until near words scored a constant below exact ones.
    let noise: Vec<(String, String)> = (0..100)
        .map(|i| (format!("Track{i} Mix"), format!("Band{i}")))
        .chain((0..20).map(|i| (format!("Noël Song{i}"), format!("Singer{i}"))))
        .chain((0..2).map(|i| ("Nolé".to_owned(), format!("Rapper{i}"))))
        .collect();
    let rows: Vec<(&str, &str, usize)> = noise
        .iter()
        .map(|(t, a)| (t.as_str(), a.as_str(), 1))
        .collect();
    let b = build(&rows);
    let top: Vec<String> = b.strict_titles("noel").into_iter().take(20).collect();
    assert!(top.iter().all(|t| t.starts_with("Noël")), "{top:?}");
}
