//! Search as a person types it, over a small hand-made catalog mixed into a generated one:
//! folding, typos, half-typed words, same-name parties, filters, and the index as a projection
//! of the store (journal replay on open, rebuild when damaged).

mod common;

use liner::generate::{CatalogSpec, Generator};
use liner::ids::{PartyId, RecordingId};
use liner::model::{
    ArtistCredit, Change, ChangeOp, Credit, Entity, EntityId, EntityKind, Party, PartyKind,
    Recording,
};
use liner::roles::Role;
use liner::search::{SearchIndex, SearchRequest, WriterOptions};
use liner::store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: Store,
    index: SearchIndex,
    bjork: PartyId,
    smiths: [PartyId; 2],
    hyperballad: RecordingId,
    hoppipolla: RecordingId,
}

fn person(name: &str, disambiguation: Option<&str>) -> Party {
    Party {
        unknown: Default::default(),
        id: PartyId::new(),
        name: name.into(),
        sort_name: name.into(),
        kind: PartyKind::Person,
        aliases: Vec::new(),
        isni: None,
        ipi: None,
        disambiguation: disambiguation.map(str::to_owned),
    }
}

fn song(title: &str, by: &Party, crew: &[(&Party, Role)]) -> Recording {
    let mut credits = vec![Credit {
        unknown: Default::default(),
        party: by.id,
        role: Role::MainArtist,
        instrument: None,
        credited_as: None,
    }];
    credits.extend(crew.iter().map(|(p, role)| Credit {
        unknown: Default::default(),
        party: p.id,
        role: *role,
        instrument: None,
        credited_as: None,
    }));
    Recording {
        unknown: Default::default(),
        id: RecordingId::new(),
        isrc: None,
        title: title.into(),
        version_title: None,
        duration_ms: None,
        display_artist: vec![ArtistCredit {
            unknown: Default::default(),
            party: by.id,
            name: by.name.clone(),
            join_phrase: String::new(),
        }],
        explicit: false,
        language: None,
        genre: None,
        features: None,
        works: Vec::new(),
        credits,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("index");
    let mut store = Store::open(dir.path().join("mirror.sqlite")).expect("store");
    // Noise: a generated catalog around the hand-made entries.
    for batch in Generator::new(CatalogSpec::new(3_000, 3), 1_000) {
        store
            .apply_with_popularity(&batch.changes, &batch.popularity, None)
            .expect("apply");
    }
    let bjork = person("Björk", None);
    let beyonce = person("Beyoncé", None);
    let sigur = person("Sigur Rós", None);
    let smith_a = person("John Smith", Some("jazz drummer"));
    let smith_b = person("John Smith", Some("folk singer"));
    let mark = person("Mark Bell", None);
    let hyperballad = song("Hyperballad", &bjork, &[(&mark, Role::Producer)]);
    let joga = song("Jóga", &bjork, &[(&mark, Role::Producer)]);
    let halo = song("Halo", &beyonce, &[]);
    let hoppipolla = song("Hoppípolla", &sigur, &[]);
    let smith_song = song("Blue Harbour", &smith_a, &[(&smith_b, Role::Vocalist)]);
    let mut changes: Vec<Change> = [&bjork, &beyonce, &sigur, &smith_a, &smith_b, &mark]
        .into_iter()
        .map(|p| Change::upsert(Entity::Party(p.clone()), 1, None))
        .collect();
    for r in [&hyperballad, &joga, &halo, &hoppipolla, &smith_song] {
        changes.push(Change::upsert(Entity::Recording(r.clone()), 1, None));
    }
    store.apply(&changes, None).expect("apply");
    let index = SearchIndex::open_writer(&root, &store, WriterOptions::default()).expect("index");
    Fixture {
        _dir: dir,
        root,
        store,
        index,
        bjork: bjork.id,
        smiths: [smith_a.id, smith_b.id],
        hyperballad: hyperballad.id,
        hoppipolla: hoppipolla.id,
    }
}

fn ids(index: &SearchIndex, req: SearchRequest) -> Vec<EntityId> {
    index
        .search(&req)
        .expect("search")
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn text(q: &str) -> SearchRequest {
    SearchRequest::new(q)
}

#[test]
fn folding_typos_and_half_typed_words_find_what_was_meant() {
    let f = fixture();
    let parties = |q: &str| {
        ids(
            &f.index,
            SearchRequest {
                kind: Some(EntityKind::Party),
                ..text(q)
            },
        )
    };
    // The generated catalog has a Björk of its own: both are found, as two parties.
    let found = parties("bjork");
    assert!(
        found.contains(&EntityId::Party(f.bjork)),
        "bjork finds Björk: {found:?}"
    );
    assert_eq!(f.store.parties_named("Björk").expect("read").len(), 2);
    let beyonce = f.store.parties_named("Beyoncé").expect("read")[0].id;
    assert!(
        parties("beyonse").contains(&EntityId::Party(beyonce)),
        "beyonse finds Beyoncé"
    );
    // Both Sigur Rós parties (the generated catalog has one too) are found half-typed, and
    // so are the recordings of the hand-made one.
    let sigurs = f.store.parties_named("Sigur Rós").expect("read");
    assert_eq!(sigurs.len(), 2);
    let found = parties("sigur ro");
    for s in &sigurs {
        assert!(
            found.contains(&EntityId::Party(s.id)),
            "half-typed finds Sigur Rós: {found:?}"
        );
    }
    let hoppipolla_by = f
        .store
        .recording_detail(f.hoppipolla)
        .expect("read")
        .expect("present");
    let by = hoppipolla_by.credits[0].credit.party;
    let recordings = ids(
        &f.index,
        SearchRequest {
            party: f.store.party_key(by).expect("read"),
            ..text("sigur ro")
        },
    );
    assert_eq!(recordings, vec![EntityId::Recording(f.hoppipolla)]);
    // One letter wrong in a title still ranks the intended recording in the top 3.
    for q in ["hyperbalad", "hpyerballad", "hyperbalkad bjork"] {
        let top: Vec<_> = ids(&f.index, text(q)).into_iter().take(3).collect();
        assert!(
            top.contains(&EntityId::Recording(f.hyperballad)),
            "{q}: {top:?}"
        );
    }
    assert!(ids(&f.index, text("hoppipolla")).contains(&EntityId::Recording(f.hoppipolla)));
}

#[test]
fn short_words_are_not_fuzzy_and_unknown_words_find_nothing() {
    let f = fixture();
    // "halo" has four letters: exact and fuzzy; "hal" only as a prefix while typing.
    assert!(!ids(&f.index, text("halo")).is_empty());
    assert!(ids(&f.index, text("zzzzqqq")).is_empty());
    assert!(ids(&f.index, text("")).is_empty());
    assert!(ids(&f.index, text("   ")).is_empty());
}

#[test]
fn two_parties_with_the_same_name_stay_distinct() {
    let f = fixture();
    let found = ids(
        &f.index,
        SearchRequest {
            kind: Some(EntityKind::Party),
            ..text("john smith")
        },
    );
    for smith in f.smiths {
        assert!(found.contains(&EntityId::Party(smith)), "{found:?}");
    }
    assert_eq!(f.store.parties_named("John Smith").expect("read").len(), 2);
}

#[test]
fn role_and_party_filters_narrow_recordings() {
    let f = fixture();
    let mark = f.store.parties_named("Mark Bell").expect("read")[0].id;
    // The filter takes the party's mirror key, as the console and CLI look it up.
    let mark = f.store.party_key(mark).expect("read");
    assert!(mark.is_some());
    let produced = ids(
        &f.index,
        SearchRequest {
            role: Some(Role::Producer),
            party: mark,
            limit: 50,
            ..text("")
        },
    );
    assert_eq!(produced.len(), 2, "{produced:?}");
    let sung = ids(
        &f.index,
        SearchRequest {
            role: Some(Role::Vocalist),
            party: mark,
            ..text("")
        },
    );
    assert!(sung.is_empty());
    let by_bjork = ids(
        &f.index,
        SearchRequest {
            party: f.store.party_key(f.bjork).expect("read"),
            ..text("joga")
        },
    );
    assert_eq!(by_bjork.len(), 1);
}

#[test]
fn reopening_replays_the_journal_past_the_last_commit() {
    let mut f = fixture();
    let before = f.index.position();
    assert_eq!(f.index.lag(&f.store).expect("lag"), 0);
    // Changes applied while no index writer runs: a delete and a retitle.
    let detail = f
        .store
        .recording_detail(f.hoppipolla)
        .expect("read")
        .expect("present");
    let mut retitled = detail.recording.clone();
    retitled.title = "Hoppípolla (Live in Reykjavík)".into();
    f.store
        .apply(
            &[
                Change::upsert(Entity::Recording(retitled), 2, None),
                Change {
                    history: Vec::new(),
                    id: EntityId::Recording(f.hyperballad),
                    version: 2,
                    op: ChangeOp::Delete,
                    revision: None,
                },
            ],
            None,
        )
        .expect("apply");
    drop(f.index);
    let read_only = SearchIndex::open_read_only(&f.root).expect("open");
    assert_eq!(read_only.position(), before);
    assert!(
        read_only.lag(&f.store).expect("lag") >= 2,
        "the index says it lags"
    );
    assert!(ids(&read_only, text("hyperballad")).contains(&EntityId::Recording(f.hyperballad)));

    let index =
        SearchIndex::open_writer(&f.root, &f.store, WriterOptions::default()).expect("reopen");
    assert_eq!(index.lag(&f.store).expect("lag"), 0);
    assert!(!ids(&index, text("hyperballad")).contains(&EntityId::Recording(f.hyperballad)));
    assert!(ids(&index, text("reykjavik")).contains(&EntityId::Recording(f.hoppipolla)));
}

#[test]
fn a_damaged_index_is_rebuilt_from_the_store() {
    let f = fixture();
    let expected = f.index.all_ids().expect("ids");
    drop(f.index);
    let current = std::fs::read_to_string(f.root.join("CURRENT")).expect("CURRENT");
    let build = f.root.join(current.trim());
    for entry in std::fs::read_dir(&build).expect("build dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "meta.json") {
            std::fs::write(&path, b"{ not json").expect("damage");
        }
    }
    let index =
        SearchIndex::open_writer(&f.root, &f.store, WriterOptions::default()).expect("rebuild");
    assert_eq!(index.all_ids().expect("ids"), expected);
    let now = std::fs::read_to_string(f.root.join("CURRENT")).expect("CURRENT");
    assert_ne!(now.trim(), current.trim(), "rebuilt into a fresh directory");
    assert!(!build.exists(), "the damaged build was removed");
}

#[test]
fn an_index_found_beside_another_mirror_file_is_rebuilt_for_it() {
    let f = fixture();
    drop(f.index);
    // A mirror file made afresh (deleted by hand, restored from elsewhere) next to the old
    // index: its row keys, which documents go by, name other entities.
    let dir = tempfile::tempdir().expect("tmp");
    let mut other = Store::open(dir.path().join("mirror.sqlite")).expect("store");
    let kate = person("Kate Bush", None);
    other
        .apply(
            &[Change::upsert(Entity::Party(kate.clone()), 1, None)],
            None,
        )
        .expect("apply");
    let index = SearchIndex::open_writer(&f.root, &other, WriterOptions::default()).expect("open");
    assert_eq!(
        index.all_ids().expect("ids"),
        vec![EntityId::Party(kate.id).to_string()]
    );
    assert!(ids(&index, text("bjork")).is_empty());
}
