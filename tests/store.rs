//! The mirror store through its public API: idempotent, order-independent apply; quarantine of
//! bad records with exact reasons; the reads the console needs; the outbox state machine.

mod common;

use liner::generate::{CatalogSpec, Generator, party, party_id, recording_id};
use liner::ident::Isrc;
use liner::model::{
    ArtistCredit, Change, ChangeOp, Credit, Cursor, Entity, EntityId, Recording, Revision, Source,
    SourceKind,
};
use liner::protocol::{EditOutcome, FieldError};
use liner::roles::Role;
use liner::search::{SearchIndex, WriterOptions};
use liner::store::{ApplyReport, OutboxState, Store, StoreError};
use rand::SeedableRng;
use rand::seq::SliceRandom;

const SEED: u64 = 7;

fn catalog(recordings: u64) -> (Vec<Change>, Vec<(liner::ids::RecordingId, f32)>) {
    let mut changes = Vec::new();
    let mut scores = Vec::new();
    for batch in Generator::new(CatalogSpec::new(recordings, SEED), 500) {
        changes.extend(batch.changes);
        scores.extend(batch.popularity);
    }
    (changes, scores)
}

fn revision(version: u64, reason: &str) -> Revision {
    Revision {
        unknown: Default::default(),
        version,
        actor: "editor@label".into(),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: reason.into(),
        at: "2026-11-26T10:00:00Z".parse().expect("time"),
        diff: Vec::new(),
    }
}

/// Later versions of some entities: an edited recording, a renamed party, a deletion.
fn edits(base: &[Change]) -> Vec<Change> {
    let mut out = Vec::new();
    for c in base {
        if let ChangeOp::Upsert(Entity::Recording(r)) = &c.op
            && out.len() < 3
        {
            let mut r2 = r.clone();
            r2.title = format!("{} (Corrected)", r.title);
            r2.credits.push(Credit {
                unknown: Default::default(),
                party: party_id(SEED, 3),
                role: Role::Producer,
                instrument: None,
                credited_as: Some("Bee".into()),
            });
            out.push(Change::upsert(
                Entity::Recording(r2),
                2,
                Some(revision(2, "credit fix")),
            ));
        }
    }
    let mut p = party(SEED, 20);
    p.name = "Renamed Party".into();
    out.push(Change::upsert(
        Entity::Party(p),
        2,
        Some(revision(2, "rename")),
    ));
    out.push(Change {
        id: EntityId::Recording(recording_id(SEED, 10)),
        version: 2,
        op: ChangeOp::Delete,
        revision: Some(revision(2, "duplicate of another recording")),
        history: Vec::new(),
    });
    out
}

/// Compares two canonical dumps and names the lines that differ, not all 10,000 of them.
fn assert_same(got: &[String], expected: &[String], what: &str) {
    let missing: Vec<&String> = expected
        .iter()
        .filter(|l| got.binary_search(l).is_err())
        .take(5)
        .collect();
    let extra: Vec<&String> = got
        .iter()
        .filter(|l| expected.binary_search(l).is_err())
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && got.len() == expected.len(),
        "{what} mirror differs: missing {missing:#?}, extra {extra:#?}"
    );
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("mirror.sqlite")).expect("open store")
}

fn index_ids(dir: &tempfile::TempDir, store: &Store) -> Vec<String> {
    let index = SearchIndex::open_writer(dir.path().join("index"), store, WriterOptions::default())
        .expect("index");
    index.all_ids().expect("ids")
}

#[test]
fn replaying_batches_three_times_and_shuffled_matches_one_in_order_apply() {
    let (base, scores) = catalog(400);
    let updates = edits(&base);
    let all: Vec<Change> = base.iter().chain(&updates).cloned().collect();

    let once_dir = tempfile::tempdir().expect("tmp");
    let mut once = open(&once_dir);
    let report = once
        .apply_with_popularity(&all, &scores, Some(&Cursor::new("e1", 9)))
        .expect("apply");
    assert_eq!(report.applied, all.len());
    assert_eq!(report.stale, 0);

    let replay_dir = tempfile::tempdir().expect("tmp");
    let mut replay = open(&replay_dir);
    for _ in 0..3 {
        for chunk in all.chunks(97) {
            replay
                .apply_with_popularity(chunk, &scores, None)
                .expect("apply");
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    for _ in 0..2 {
        let mut shuffled = all.clone();
        shuffled.shuffle(&mut rng);
        let report = replay
            .apply_with_popularity(&shuffled, &scores, None)
            .expect("apply");
        assert_eq!(report.applied, 0, "a replay changes nothing");
        assert_eq!(report.stale, all.len());
    }
    replay
        .apply(&[], Some(&Cursor::new("e1", 9)))
        .expect("cursor");

    let expected = once.canonical_dump().expect("dump");
    assert!(expected.len() > 4_000, "a real catalog, not an empty one");
    assert_same(
        &replay.canonical_dump().expect("dump"),
        &expected,
        "replayed",
    );
    assert_eq!(replay.cursor().expect("cursor"), Some(Cursor::new("e1", 9)));

    // Fresh mirrors fed only shuffled orders (deletes before creations, edits before
    // originals) end in the same state.
    let mut shuffled_dirs = Vec::new();
    for seed in 1..=4 {
        let dir = tempfile::tempdir().expect("tmp");
        let mut store = open(&dir);
        let mut shuffled = all.clone();
        shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        for chunk in shuffled.chunks(50) {
            store
                .apply_with_popularity(chunk, &scores, None)
                .expect("apply");
        }
        store
            .apply(&[], Some(&Cursor::new("e1", 9)))
            .expect("cursor");
        assert_same(
            &store.canonical_dump().expect("dump"),
            &expected,
            &format!("shuffle {seed}"),
        );
        shuffled_dirs.push((dir, store));
    }

    let ids = index_ids(&once_dir, &once);
    assert!(
        !ids.contains(&recording_id(SEED, 10).to_string()),
        "deleted recording left the index"
    );
    assert_eq!(index_ids(&replay_dir, &replay), ids);
    for (dir, store) in &shuffled_dirs {
        assert_eq!(index_ids(dir, store), ids);
    }
}

fn index_names(dir: &tempfile::TempDir) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.path().join("mirror.sqlite")).expect("sqlite");
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_bulk_load_ends_like_a_plain_apply_with_its_indexes_back_and_its_log_folded() {
    let (base, scores) = catalog(300);
    let updates = edits(&base);
    let all: Vec<Change> = base.iter().chain(&updates).cloned().collect();

    let plain_dir = tempfile::tempdir().expect("tmp");
    let mut plain = open(&plain_dir);
    plain
        .apply_with_popularity(&all, &scores, Some(&Cursor::new("e1", 9)))
        .expect("apply");

    let bulk_dir = tempfile::tempdir().expect("tmp");
    let mut bulk = open(&bulk_dir);
    bulk.begin_bulk_load().expect("begin");
    assert!(
        index_names(&bulk_dir).len() < index_names(&plain_dir).len(),
        "a bulk load drops the secondary indexes"
    );
    for chunk in all.chunks(64) {
        bulk.apply_with_popularity(chunk, &scores, None)
            .expect("apply");
    }
    bulk.apply(&[], Some(&Cursor::new("e1", 9)))
        .expect("cursor");
    bulk.end_bulk_load().expect("end");

    assert_same(
        &bulk.canonical_dump().expect("dump"),
        &plain.canonical_dump().expect("dump"),
        "bulk-loaded",
    );
    assert_eq!(index_names(&bulk_dir), index_names(&plain_dir));
    let wal = std::fs::metadata(bulk_dir.path().join("mirror.sqlite-wal")).map_or(0, |m| m.len());
    assert_eq!(
        wal, 0,
        "the load's write-ahead log is folded back and truncated"
    );
    // The party reads go through the rebuilt index and still find every credit.
    let party = party_id(SEED, 3);
    let view = bulk.party_view(party).expect("bulk").expect("party 3");
    assert!(
        view.by_role.iter().map(|g| g.credits.len()).sum::<usize>() >= 3,
        "party 3 produces the three edited recordings"
    );
    assert_eq!(Some(view), plain.party_view(party).expect("plain"));
}

#[test]
fn a_bulk_load_cut_short_gets_its_party_links_on_the_next_open() {
    let (base, scores) = catalog(200);
    let plain_dir = tempfile::tempdir().expect("tmp");
    let mut plain = open(&plain_dir);
    plain
        .apply_with_popularity(&base, &scores, None)
        .expect("apply");

    let cut_dir = tempfile::tempdir().expect("tmp");
    {
        let mut cut = open(&cut_dir);
        cut.begin_bulk_load().expect("begin");
        cut.apply_with_popularity(&base, &scores, None)
            .expect("apply");
        // Dropped without end_bulk_load, as a killed daemon leaves it.
    }
    let cut = open(&cut_dir);
    assert_same(
        &cut.canonical_dump().expect("dump"),
        &plain.canonical_dump().expect("dump"),
        "reopened after a cut-short load",
    );
    let party = party_id(SEED, 1);
    let view = cut.party_view(party).expect("view").expect("party 1");
    assert!(!view.by_role.is_empty(), "party 1 is credited somewhere");
    assert_eq!(Some(view), plain.party_view(party).expect("plain"));
}

/// Starts a bulk load and applies `changes` in batches of 50, as a bootstrap does; the caller
/// ends it, or drops the store to leave it cut short.
fn bulk_apply(store: &mut Store, changes: &[Change], scores: &[(liner::ids::RecordingId, f32)]) {
    store.begin_bulk_load().expect("begin");
    for chunk in changes.chunks(50) {
        store
            .apply_with_popularity(chunk, scores, None)
            .expect("apply");
    }
}

#[test]
fn a_bulk_load_of_new_rows_and_one_resumed_after_a_kill_both_end_like_a_plain_apply() {
    let (base, scores) = catalog(300);
    let plain_dir = tempfile::tempdir().expect("tmp");
    let mut plain = open(&plain_dir);
    plain
        .apply_with_popularity(&base, &scores, None)
        .expect("apply");
    let expected = plain.canonical_dump().expect("dump");

    // Only inserts into an empty mirror: the links come from what the load gathered.
    let fresh_dir = tempfile::tempdir().expect("tmp");
    let mut fresh = open(&fresh_dir);
    bulk_apply(&mut fresh, &base, &scores);
    fresh.end_bulk_load().expect("end");
    assert_same(
        &fresh.canonical_dump().expect("dump"),
        &expected,
        "bulk-loaded into an empty mirror",
    );

    // Killed half-way, then loaded on from where it stopped: the rows of the first part
    // were never gathered by the second, and still get their links.
    let (first, rest) = base.split_at(base.len() / 2);
    let resumed_dir = tempfile::tempdir().expect("tmp");
    // Dropped without end_bulk_load, as a killed daemon leaves it.
    bulk_apply(&mut open(&resumed_dir), first, &scores);
    let mut resumed = open(&resumed_dir);
    bulk_apply(&mut resumed, rest, &scores);
    resumed.end_bulk_load().expect("end");
    assert_same(
        &resumed.canonical_dump().expect("dump"),
        &expected,
        "a bulk load resumed after a kill",
    );
}

#[test]
fn documents_handed_to_the_index_are_what_it_would_read_back() {
    let (base, scores) = catalog(300);
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let mut handoff = store.hand_off_documents();
    for chunk in base.chunks(200) {
        // Each batch with its own recordings' scores, as the feed sends them.
        let ids: std::collections::HashSet<EntityId> = chunk.iter().map(|c| c.id).collect();
        let own: Vec<_> = scores
            .iter()
            .filter(|(id, _)| ids.contains(&EntityId::Recording(*id)))
            .copied()
            .collect();
        store
            .apply_with_popularity(chunk, &own, None)
            .expect("apply");
    }
    let by_entity = |mut entries: Vec<liner::store::JournalEntry>| {
        entries.sort_by_key(|e| (e.kind.as_str(), e.key));
        entries
    };
    let head = store.journal_head().expect("head");
    let waiting = handoff.waiting();
    assert!(
        waiting > 300,
        "new parties and recordings were handed over: {waiting}"
    );
    let (handed, upto) = store
        .journal_entries_handed(0, 100_000, &mut handoff)
        .expect("handed");
    assert_eq!(upto, head);
    assert_eq!(handoff.waiting(), 0, "served from what was handed over");
    let (read, _) = store.journal_entries(0, 100_000).expect("read");
    assert_eq!(by_entity(handed), by_entity(read));

    // A change that hands nothing over (a popularity score) is read from the mirror, even
    // though the recording's earlier document was handed over in the same stretch.
    let after = store.journal_head().expect("head");
    let recording = recording_id(SEED, 5);
    store.set_popularity(&[(recording, 0.75)]).expect("score");
    let (entries, _) = store
        .journal_entries_handed(after, 100, &mut handoff)
        .expect("handed");
    assert!(matches!(
        &entries[..],
        [e] if matches!(&e.doc, liner::store::EntityDoc::Recording(r) if r.popularity == 0.75)
    ));
}

#[test]
fn a_credit_taken_off_a_recording_leaves_that_party_s_view() {
    let (base, scores) = catalog(100);
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    store
        .apply_with_popularity(&base, &scores, None)
        .expect("apply");
    let recording = base
        .iter()
        .find_map(|c| match &c.op {
            ChangeOp::Upsert(Entity::Recording(r)) if r.credits.len() >= 2 => Some(r.clone()),
            _ => None,
        })
        .expect("a recording with two credits");
    let gone = recording.credits[0].party;
    let listed = |store: &Store| {
        store
            .party_view(gone)
            .expect("view")
            .expect("party")
            .by_role
            .iter()
            .flat_map(|g| &g.credits)
            .any(|c| c.recording == recording.id)
    };
    assert!(
        listed(&store),
        "before the edit the party lists the recording"
    );

    let mut edited = recording.clone();
    edited.credits.retain(|c| c.party != gone);
    store
        .apply(
            &[Change::upsert(
                Entity::Recording(edited),
                2,
                Some(revision(2, "credit was wrong")),
            )],
            None,
        )
        .expect("apply the edit");
    assert!(!listed(&store), "after it the party no longer does");
    let detail = store
        .recording_detail(recording.id)
        .expect("detail")
        .expect("recording");
    assert!(detail.credits.iter().all(|c| c.credit.party != gone));
}

#[test]
fn bad_records_are_quarantined_with_record_field_and_rule_and_the_rest_applies() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let p = party(SEED, 0);
    let good = Change::upsert(Entity::Party(p.clone()), 3, Some(revision(3, "load")));
    let good_line = serde_json::to_string(&good.to_record().expect("record")).expect("json");
    let rec_id = recording_id(SEED, 1);
    let recording = |isrc: &str, role: &str| {
        format!(
            r#"{{"entity":"recording","id":"{rec_id}","op":"upsert","version":1,"data":{{"id":"{rec_id}","isrc":"{isrc}","title":"Jóga","display_artist":[{{"party":"{}","name":"Björk"}}],"credits":[{{"party":"{}","role":"{role}"}}]}}}}"#,
            p.id, p.id
        )
    };
    let work = format!(
        r#"{{"entity":"work","id":"wrk_01HZZZZZZZZZZZZZZZZZZZZZZZ","op":"upsert","version":1,"data":{{"id":"wrk_01HZZZZZZZZZZZZZZZZZZZZZZZ","title":"Jóga","writers":[{{"party":"{}","role":"composer","share":5000}},{{"party":"{}","role":"lyricist","share":4999}}]}}}}"#,
        p.id, p.id
    );
    let stale = good_line.replace("\"version\":3", "\"version\":2");
    let ndjson = [
        good_line.clone(),
        recording("USRC1760783", "main_artist"),
        recording("USRC17607839", "caterer"),
        work,
        "{\"entity\":\"party\",\"id\":".to_owned(),
        stale,
    ]
    .join("\n");
    let report = store
        .apply_ndjson(&ndjson, Some(&Cursor::new("e", 6)))
        .expect("apply");
    assert_eq!(
        report,
        ApplyReport {
            applied: 1,
            stale: 1,
            quarantined: 4
        }
    );

    let q = store.quarantine(10).expect("quarantine");
    let reasons: Vec<(String, String, String)> = q
        .iter()
        .rev()
        .map(|e| (e.record.clone(), e.field.clone(), e.rule.clone()))
        .collect();
    assert_eq!(reasons[0].0, format!("recording {rec_id}"));
    assert_eq!(reasons[0].1, "data.isrc");
    assert!(
        reasons[0]
            .2
            .contains("it must have 12 characters, found 11"),
        "{:?}",
        reasons[0]
    );
    assert_eq!(reasons[1].1, "data.credits[0].role");
    assert!(
        reasons[1].2.contains("unknown variant `caterer`"),
        "{:?}",
        reasons[1]
    );
    assert_eq!(reasons[2].1, "data.writers");
    assert!(reasons[2].2.contains("total 9999 bp"), "{:?}", reasons[2]);
    assert_eq!(reasons[3].0, "line 5");
    // Nothing of a refused record was written; the good one was.
    assert!(store.recording_detail(rec_id).expect("read").is_none());
    assert_eq!(
        store.version_of(EntityId::Party(p.id)).expect("read"),
        Some(3)
    );
    assert_eq!(store.cursor().expect("cursor"), Some(Cursor::new("e", 6)));
    assert!(q.iter().all(|e| !e.raw.is_empty()));
}

#[test]
fn reads_give_the_console_what_it_shows() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let (base, scores) = catalog(300);
    store
        .apply_with_popularity(&base, &scores, None)
        .expect("apply");

    // Recording detail: credits with party names, works with writers and shares, releases.
    let id = recording_id(SEED, 5);
    let detail = store.recording_detail(id).expect("read").expect("present");
    assert!((2..=8).contains(&detail.credits.len()));
    assert!(detail.credits.iter().all(|c| !c.party_name.is_empty()));
    assert_eq!(detail.recording.credits.len(), detail.credits.len());
    assert_eq!(detail.releases.len(), 1);
    for w in &detail.works {
        assert_eq!(w.work.writers.total(), 10_000);
        assert!(w.writers.iter().all(|x| !x.party_name.is_empty()));
    }
    let original = base.iter().find_map(|c| match &c.op {
        ChangeOp::Upsert(Entity::Recording(r)) if r.id == id => Some(r.clone()),
        _ => None,
    });
    assert_eq!(
        Some(detail.recording.clone()),
        original,
        "the mirror returns what it was given"
    );

    // Party view: every credit grouped by role.
    let main = detail.credits[0].credit.party;
    let view = store.party_view(main).expect("read").expect("party");
    let total: usize = view.by_role.iter().map(|g| g.credits.len()).sum();
    assert!(total >= 1);
    assert!(
        view.by_role.windows(2).all(|w| w[0].role < w[1].role),
        "grouped and ordered"
    );
    assert!(
        view.by_role
            .iter()
            .any(|g| g.credits.iter().any(|c| c.recording == id))
    );

    // ISRC lookup, keyset browse over everything, history.
    if let Some(isrc) = &detail.recording.isrc {
        assert!(store.recordings_by_isrc(isrc).expect("read").contains(&id));
    }
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = store.browse_recordings(after, 64).expect("browse");
        let Some(last) = page.last() else { break };
        assert!(page.windows(2).all(|w| w[0].id < w[1].id));
        after = Some(last.id);
        seen += page.len();
    }
    assert_eq!(seen, 300);
    let history = store.history(EntityId::Recording(id)).expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source.kind, SourceKind::Import);
    assert_eq!(history[0].reason, "initial catalog load");
}

#[test]
fn same_name_parties_stay_distinct_in_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let mut a = party(SEED, 100);
    let mut b = party(SEED, 101);
    a.name = "John Smith".into();
    b.name = "John Smith".into();
    b.disambiguation = Some("jazz drummer".into());
    store
        .apply(
            &[
                Change::upsert(Entity::Party(a.clone()), 1, None),
                Change::upsert(Entity::Party(b.clone()), 1, None),
            ],
            None,
        )
        .expect("apply");
    let found = store.parties_named("John Smith").expect("read");
    assert_eq!(found.len(), 2);
    assert_ne!(found[0].id, found[1].id);
}

#[test]
fn a_recording_referencing_parties_not_yet_seen_gets_them_later() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let p = party(SEED, 1);
    let r = Recording {
        unknown: Default::default(),
        id: recording_id(SEED, 1),
        isrc: Isrc::parse("GBAHS1400099").ok(),
        title: "Dancing Queen".into(),
        version_title: None,
        duration_ms: Some(230_000),
        display_artist: vec![ArtistCredit {
            unknown: Default::default(),
            party: p.id,
            name: p.name.clone(),
            join_phrase: String::new(),
        }],
        explicit: false,
        language: None,
        genre: None,
        features: None,
        works: Vec::new(),
        credits: vec![Credit {
            unknown: Default::default(),
            party: p.id,
            role: Role::MainArtist,
            instrument: None,
            credited_as: None,
        }],
    };
    store
        .apply(
            &[Change::upsert(Entity::Recording(r.clone()), 1, None)],
            None,
        )
        .expect("apply");
    let detail = store
        .recording_detail(r.id)
        .expect("read")
        .expect("present");
    assert_eq!(
        detail.credits[0].party_name, "",
        "the party is not known yet"
    );
    store
        .apply(&[Change::upsert(Entity::Party(p.clone()), 1, None)], None)
        .expect("apply");
    let detail = store
        .recording_detail(r.id)
        .expect("read")
        .expect("present");
    assert_eq!(detail.credits[0].party_name, p.name);
}

#[test]
fn outbox_edits_move_only_along_allowed_edges() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let id = EntityId::Recording(recording_id(SEED, 1));
    let patch = serde_json::json!({"title": "Corrected"});
    assert!(matches!(
        store.enqueue_edit(id, 1, patch.clone(), "  ", "ed"),
        Err(StoreError::InvalidEdit(_))
    ));
    let e = store
        .enqueue_edit(id, 1, patch, "typo in title", "ed")
        .expect("enqueue");
    assert_eq!(e.state, OutboxState::Pending);
    assert_eq!(e.idempotency_key.len(), 26);
    let accepted = EditOutcome::Accepted { version: 2 };
    assert!(matches!(
        store.set_outbox_state(e.seq, OutboxState::Accepted, Some(&accepted)),
        Err(StoreError::Transition {
            from: "pending",
            to: "accepted",
            ..
        })
    ));
    store
        .set_outbox_state(e.seq, OutboxState::Sent, None)
        .expect("send");
    assert!(
        matches!(
            store.set_outbox_state(e.seq, OutboxState::Rejected, Some(&accepted)),
            Err(StoreError::InvalidEdit(_))
        ),
        "a rejected edit cannot hold an acceptance"
    );
    let refused = EditOutcome::Rejected {
        status: 422,
        detail: "isrc: bad check".into(),
        errors: vec![FieldError::new("patch.isrc", "bad check")],
    };
    store
        .set_outbox_state(e.seq, OutboxState::Rejected, Some(&refused))
        .expect("reject");
    let got = store.outbox_entry(e.seq).expect("read").expect("present");
    assert_eq!(
        (got.state, got.outcome.as_ref()),
        (OutboxState::Rejected, Some(&refused))
    );
    assert_eq!(
        got.idempotency_key, e.idempotency_key,
        "the key never changes"
    );
    assert_eq!(
        store
            .outbox(Some(OutboxState::Rejected))
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store.outbox_counts().expect("counts"),
        vec![(OutboxState::Rejected, 1)]
    );
}

#[test]
fn pruning_the_journal_never_hands_out_an_old_position_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = open(&dir);
    let first = party(SEED, 1);
    store
        .apply(&[Change::upsert(Entity::Party(first), 1, None)], None)
        .expect("apply");
    let head = store.journal_head().expect("head");
    assert!(head > 0);
    store.prune_journal(head).expect("prune");
    let second = party(SEED, 2);
    store
        .apply(
            &[Change::upsert(Entity::Party(second.clone()), 1, None)],
            None,
        )
        .expect("apply");
    assert!(
        store.journal_head().expect("head") > head,
        "positions only grow"
    );
    let (entries, _) = store.journal_entries(head, 10).expect("entries");
    assert_eq!(
        entries.len(),
        1,
        "the index sees the change after its last commit"
    );
    assert!(matches!(&entries[0].doc, liner::store::EntityDoc::Party(p) if p.id == second.id));
}

/// Every revision a snapshot brings is kept with its diff exactly as it came, whether its
/// credit lists were packed (party keys) or kept as JSON (a member this build does not know),
/// and two mirrors that got the same history in different orders dump the same.
#[test]
fn full_histories_come_back_as_they_were_given() {
    let mut changes = Vec::new();
    for batch in Generator::new(CatalogSpec::new(400, SEED).with_history(), 500) {
        changes.extend(batch.changes);
    }
    let edited: Vec<&Change> = changes.iter().filter(|c| !c.history.is_empty()).collect();
    assert!(edited.len() > 40, "a fifth of recordings are edited");
    // One revision with a credit member from a newer protocol: kept as JSON, whole.
    let mut odd = edited[0].clone();
    if let Some(rev) = odd.revision.as_mut()
        && let Some(c) = rev.diff.iter_mut().find(|c| c.field() == "credits")
        && let Some(raw) = c.new.as_mut()
    {
        let mut list = raw.value();
        list[0]["royalty_code"] = serde_json::json!("RC-9");
        *raw = list.into();
    }
    changes.retain(|c| c.id != odd.id);
    changes.push(odd);

    let (a, b) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let mut first = open(&a);
    first.apply(&changes, None).expect("apply");
    let mut shuffled = changes.clone();
    shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(3));
    let mut second = open(&b);
    for chunk in shuffled.chunks(97) {
        second.apply(chunk, None).expect("apply");
    }
    for c in changes.iter().filter(|c| !c.history.is_empty()) {
        let mut given: Vec<Revision> = c.history.clone();
        given.extend(c.revision.clone());
        assert_eq!(first.history(c.id).expect("history"), given, "{}", c.id);
    }
    assert_same(
        &second.canonical_dump().expect("dump"),
        &first.canonical_dump().expect("dump"),
        "the same history in any order",
    );
}
