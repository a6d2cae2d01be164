//! Search relevance on real names: a catalog made of the Billboard 200's charted albums, the
//! queries people type for them, and how often the intended recording comes back in the top 3,
//! with SQLite FTS5 prefix queries over the same rows beside it.
//!
//! Shared by the relevance bench (the whole list) and the CI test that holds its thresholds on
//! a few thousand rows (included there with `#[path]`), so the two cannot drift apart.

#![allow(dead_code)] // Each includer uses its own part.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use liner::ids::{PartyId, RecordingId};
use liner::model::{
    ArtistCredit, Change, Credit, Entity, EntityId, EntityKind, Party, PartyKind, Recording,
};
use liner::roles::Role;
use liner::search::{SearchHit, SearchIndex, SearchRequest, WriterOptions};
use liner::store::Store;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization as _;

/// The list, as the repository keeps it (see `tests/fixtures/SOURCES.md`).
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/names/billboard200-albums.jsonl"
);

/// One charted album: a recording titled so, by the artist string as charted.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub title: String,
    pub artist: String,
}

/// Every row of the list, or every `step`-th one (a smaller catalog of the same shape).
pub fn rows(path: &Path, step: usize) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || i % step.max(1) != 0 {
            continue;
        }
        let row: Row = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        out.push(row);
    }
    Ok(out)
}

/// The parties of a charted artist string and what joins them: split only on "Featuring",
/// "Feat." and "With", so "Earth, Wind & Fire" and "Lil Nas X" stay whole.
pub fn split_artist(artist: &str) -> Vec<(String, String)> {
    const JOINS: [&str; 3] = [" Featuring ", " Feat. ", " With "];
    let mut out = Vec::new();
    let mut rest = artist;
    loop {
        let next = JOINS
            .iter()
            .filter_map(|j| rest.find(j).map(|at| (at, *j)))
            .min_by_key(|(at, _)| *at);
        match next {
            Some((at, join)) if at > 0 => {
                out.push((rest[..at].to_owned(), join.to_owned()));
                rest = &rest[at + join.len()..];
            }
            _ => {
                out.push((rest.to_owned(), String::new()));
                return out;
            }
        }
    }
}

/// The catalog: one party per distinct name, one recording per row whose display artist is
/// the whole charted string (main artist first, the others featured). Recording `i` is row `i`.
pub struct Catalog {
    pub changes: Vec<Change>,
    pub recordings: Vec<RecordingId>,
}

pub fn catalog(rows: &[Row]) -> Catalog {
    let mut parties: HashMap<String, PartyId> = HashMap::new();
    let mut changes = Vec::new();
    let mut recordings = Vec::with_capacity(rows.len());
    let mut recording_changes = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let mut display = Vec::new();
        let mut credits = Vec::new();
        for (n, (name, join)) in split_artist(&row.artist).into_iter().enumerate() {
            let next = parties.len() as u128;
            let party = *parties.entry(name.clone()).or_insert_with(|| {
                let id = PartyId::from_parts(1_700_000_000_000, next);
                changes.push(Change::upsert(
                    Entity::Party(Party {
                        unknown: Default::default(),
                        id,
                        name: name.clone(),
                        sort_name: name.clone(),
                        kind: PartyKind::Person,
                        aliases: Vec::new(),
                        isni: None,
                        ipi: None,
                        disambiguation: None,
                    }),
                    1,
                    None,
                ));
                id
            });
            let role = if n == 0 {
                Role::MainArtist
            } else {
                Role::FeaturedArtist
            };
            credits.push(Credit {
                party,
                role,
                instrument: None,
                credited_as: None,
                unknown: Default::default(),
            });
            display.push(ArtistCredit {
                party,
                name,
                join_phrase: join,
                unknown: Default::default(),
            });
        }
        let id = RecordingId::from_parts(1_700_000_000_000, i as u128);
        recordings.push(id);
        recording_changes.push(Change::upsert(
            Entity::Recording(Recording {
                id,
                isrc: None,
                title: row.title.clone(),
                version_title: None,
                duration_ms: None,
                display_artist: display,
                explicit: false,
                language: None,
                genre: None,
                features: None,
                works: Vec::new(),
                credits,
                unknown: Default::default(),
            }),
            1,
            None,
        ));
    }
    changes.extend(recording_changes);
    Catalog {
        changes,
        recordings,
    }
}

/// A mirror and a settled search index of `catalog` in a new temporary directory (dropped with
/// the first member).
pub fn index(catalog: &Catalog) -> Result<(tempfile::TempDir, SearchIndex)> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path().join("mirror.sqlite"))?;
    for chunk in catalog.changes.chunks(5_000) {
        store.apply(chunk, None)?;
    }
    let mut index =
        SearchIndex::open_writer(dir.path().join("index"), &store, WriterOptions::default())?;
    index.merge_all()?;
    Ok((dir, index))
}

/// How a query was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Exact,
    Typo,
    Cut,
    TypoCut,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Exact, Class::Typo, Class::Cut, Class::TypoCut];

    pub fn label(self) -> &'static str {
        match self {
            Class::Exact => "exact, lower-case, accents dropped half the time",
            Class::Typo => "one typo in a word of 4+ letters",
            Class::Cut => "last word cut to half its length",
            Class::TypoCut => "typo and cut",
        }
    }
}

/// A query and the row it was typed for.
#[derive(Debug, Clone)]
pub struct Query {
    pub class: Class,
    pub text: String,
    pub row: usize,
}

/// `per_class` rows drawn with `seed`, each typed four ways: the title's words and the
/// artist's first word, lower-case, accents dropped half the time; then one typo (a dropped,
/// swapped or substituted inner letter) in a word of 4+ letters; the last word cut to half its
/// length; both. Rows with no word of 4+ letters are not drawn.
pub fn queries(rows: &[Row], per_class: usize, seed: u64) -> Vec<Query> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut drawn = std::collections::HashSet::new();
    let mut tries = 0;
    while drawn.len() < per_class.min(rows.len()) && tries < rows.len() * 4 {
        tries += 1;
        let row = rng.random_range(0..rows.len());
        if drawn.contains(&row) {
            continue;
        }
        let Some(first) = rows[row].artist.split_whitespace().next() else {
            continue;
        };
        let mut exact = format!("{} {first}", rows[row].title).to_lowercase();
        if rng.random_bool(0.5) {
            exact = fold(&exact);
        }
        if liner::search::tokenizer::tokens(&exact).is_empty() {
            continue;
        }
        let Some(typo) = typo(&exact, &mut rng) else {
            continue;
        };
        drawn.insert(row);
        let typo_cut = cut(&typo);
        for (class, text) in [
            (Class::Exact, exact.clone()),
            (Class::Typo, typo),
            (Class::Cut, cut(&exact)),
            (Class::TypoCut, typo_cut),
        ] {
            out.push(Query { class, text, row });
        }
    }
    out
}

/// Drops accents: "Beyoncé" → "Beyonce".
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// One inner letter of a word of 4+ letters dropped, swapped with the next or replaced.
pub fn typo(q: &str, rng: &mut SmallRng) -> Option<String> {
    let words: Vec<&str> = q.split(' ').collect();
    let candidates: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].chars().filter(|c| c.is_alphabetic()).count() >= 4)
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let w = candidates[rng.random_range(0..candidates.len())];
    let mut chars: Vec<char> = words[w].chars().collect();
    let inner: Vec<usize> = (1..chars.len() - 1)
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    let i = *inner.get(rng.random_range(0..inner.len().max(1)))?;
    match rng.random_range(0..3) {
        0 => {
            chars.remove(i);
        }
        1 if i + 1 < chars.len() - 1 && chars[i] != chars[i + 1] => chars.swap(i, i + 1),
        _ => {
            let mut c = chars[i];
            while c == chars[i] {
                c = char::from(b'a' + rng.random_range(0..26u8));
            }
            chars[i] = c;
        }
    }
    let mut out: Vec<String> = words.iter().map(|s| (*s).to_owned()).collect();
    out[w] = chars.into_iter().collect();
    Some(out.join(" "))
}

/// The last word cut to half its length, rounded up: a query still being typed.
pub fn cut(q: &str) -> String {
    let mut words: Vec<String> = q.split(' ').map(str::to_owned).collect();
    if let Some(last) = words.last_mut() {
        let chars: Vec<char> = last.chars().collect();
        let keep = chars.len().div_ceil(2);
        *last = chars[..keep].iter().collect();
    }
    words.join(" ")
}

/// What one engine did on one class.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub queries: usize,
    pub top3: usize,
    pub empty: usize,
    pub latencies: Vec<Duration>,
    /// Queries that missed, with what came back first (for reading the misses).
    pub misses: Vec<(String, String)>,
}

impl Outcome {
    pub fn top3_pct(&self) -> f64 {
        100.0 * self.top3 as f64 / self.queries.max(1) as f64
    }

    pub fn empty_pct(&self) -> f64 {
        100.0 * self.empty as f64 / self.queries.max(1) as f64
    }
}

/// One empty outcome per class, in [`Class::ALL`]'s order.
fn outcomes() -> Vec<(Class, Outcome)> {
    Class::ALL
        .iter()
        .map(|c| (*c, Outcome::default()))
        .collect()
}

/// The outcome of `class` in `out`, with one more query of `took` counted.
fn counted(
    out: &mut [(Class, Outcome)],
    class: Class,
    took: Duration,
    empty: bool,
) -> &mut Outcome {
    let o = &mut out
        .iter_mut()
        .find(|(c, _)| *c == class)
        .expect("every class has an outcome")
        .1;
    o.queries += 1;
    o.latencies.push(took);
    if empty {
        o.empty += 1;
    }
    o
}

/// Whether the results hold the intended row's title and artist in the top 3; a result tied
/// with the third (same score and popularity) counts as in the top 3.
fn hit(rows: &[Row], by_id: &HashMap<RecordingId, usize>, want: usize, hits: &[SearchHit]) -> bool {
    let third = hits.get(2).map(|h| (h.score, h.popularity));
    hits.iter()
        .enumerate()
        .take_while(|(i, h)| *i < 3 || Some((h.score, h.popularity)) == third)
        .any(|(_, h)| match h.id {
            EntityId::Recording(id) => by_id.get(&id).is_some_and(|&r| {
                rows[r].title == rows[want].title && rows[r].artist == rows[want].artist
            }),
            _ => false,
        })
}

/// Runs every query on the index (recordings only, as the console's recordings section asks),
/// per class.
pub fn run_liner(
    index: &SearchIndex,
    rows: &[Row],
    catalog: &Catalog,
    queries: &[Query],
) -> Result<Vec<(Class, Outcome)>> {
    let by_id: HashMap<RecordingId, usize> = catalog
        .recordings
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut out = outcomes();
    for q in queries {
        let mut req = SearchRequest::new(q.text.clone());
        req.kind = Some(EntityKind::Recording);
        let t = Instant::now();
        let hits = index.search(&req)?;
        let took = t.elapsed();
        let o = counted(&mut out, q.class, took, hits.is_empty());
        if hit(rows, &by_id, q.row, &hits) {
            o.top3 += 1;
        } else {
            let first = hits
                .first()
                .and_then(|h| match h.id {
                    EntityId::Recording(id) => by_id.get(&id),
                    _ => None,
                })
                .map_or("nothing".to_owned(), |&r| {
                    format!("{} — {}", rows[r].title, rows[r].artist)
                });
            o.misses.push((q.text.clone(), first));
        }
    }
    Ok(out)
}

/// The same rows in an FTS5 table (title, display artist), as a user of SQLite would search
/// as they type: every word a prefix, ranked by bm25. FTS5 has no typo tolerance.
pub fn fts(rows: &[Row]) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE VIRTUAL TABLE names USING fts5(row UNINDEXED, title, artist,
             tokenize = 'unicode61 remove_diacritics 2');",
    )?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO names (row, title, artist) VALUES (?1, ?2, ?3)")?;
        for (i, row) in rows.iter().enumerate() {
            insert.execute(rusqlite::params![i as i64, row.title, row.artist])?;
        }
    }
    tx.commit()?;
    Ok(conn)
}

pub fn run_fts(
    conn: &rusqlite::Connection,
    rows: &[Row],
    queries: &[Query],
) -> Result<Vec<(Class, Outcome)>> {
    let mut out = outcomes();
    let mut stmt = conn.prepare_cached(
        "SELECT row, rank FROM names WHERE names MATCH ?1 ORDER BY rank LIMIT 20",
    )?;
    for q in queries {
        let expr: Vec<String> = liner::search::tokenizer::tokens(&q.text)
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect();
        let t = Instant::now();
        let found: Vec<(usize, f64)> = if expr.is_empty() {
            Vec::new()
        } else {
            stmt.query_map([expr.join(" ")], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get::<_, f64>(1)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let took = t.elapsed();
        let o = counted(&mut out, q.class, took, found.is_empty());
        let want = &rows[q.row];
        // The same rule as liner's: a row tied with the third (same rank) is in the top 3.
        let third = found.get(2).map(|f| f.1);
        if found
            .iter()
            .enumerate()
            .take_while(|(i, f)| *i < 3 || Some(f.1) == third)
            .any(|(_, &(r, _))| rows[r].title == want.title && rows[r].artist == want.artist)
        {
            o.top3 += 1;
        }
    }
    Ok(out)
}
