//! Attribution on every workstation, end to end against the real service: a mirror set up
//! after a recording was edited by several people holds the same history and shows the same
//! provenance per credit as one that followed all along; a mirror made before bootstraps
//! brought every revision backfills its history and keeps its pending edit; and two desks
//! editing one recording's credits merge credit by credit.

mod common;

use std::time::Duration;

use common::{Upstream, eventually};
use liner::model::{EntityId, ListField, Provenance, provenance};
use liner::protocol::EditOutcome;
use liner::store::{HISTORY_BACKFILL, OutboxState, Store};
use liner_daemon::Config;
use liner_daemon::status::{self, State};
use liner_upstream::auth::Role;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn config(dir: &std::path::Path, url: &str) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.upstream.url = url.to_owned();
    c.sync.page_size = 500;
    c.sync.snapshot_batch = 300;
    c.sync.wait_seconds = 2;
    c.sync.max_backoff_seconds = 1;
    c
}

async fn synced(dir: &std::path::Path) {
    let p = dir.join("status.json");
    eventually("synced", Duration::from_secs(60), || {
        status::read(&p).is_ok_and(|s| s.state == State::Synced)
    })
    .await;
}

async fn at_version(dir: &std::path::Path, id: EntityId, version: u64) {
    let path = dir.join("mirror.sqlite");
    eventually(
        &format!("{id} at version {version} in {}", dir.display()),
        Duration::from_secs(30),
        || {
            Store::open_read_only(&path)
                .ok()
                .and_then(|s| s.version_of(id).ok().flatten())
                == Some(version)
        },
    )
    .await;
}

/// A PATCH as a desk sends it; returns the new version.
async fn edit(
    up: &Upstream,
    token: &str,
    id: EntityId,
    version: u64,
    reason: &str,
    patch: Value,
) -> u64 {
    let r = reqwest::Client::new()
        .patch(format!("{}/v1/recordings/{id}", up.url()))
        .bearer_auth(token)
        .header("if-match", format!("\"{version}\""))
        .json(&json!({"reason": reason, "patch": patch}))
        .send()
        .await
        .expect("send");
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body["version"].as_u64().expect("version")
}

async fn current_credits(up: &Upstream, id: EntityId) -> Vec<Value> {
    let stored = up.store.get(id).await.expect("get").expect("exists");
    let data: Value = serde_json::from_str(stored.data.as_deref().expect("data")).expect("json");
    data["credits"].as_array().cloned().unwrap_or_default()
}

/// A recording's history and each credit's provenance, as a mirror shows them.
fn attribution(
    dir: &std::path::Path,
    id: EntityId,
) -> (Vec<liner::model::Revision>, Vec<Option<Provenance>>) {
    let store = Store::open_read_only(dir.join("mirror.sqlite")).expect("mirror");
    let EntityId::Recording(rec) = id else {
        panic!("a recording")
    };
    let history = store.history(id).expect("history");
    let detail = store
        .recording_detail(rec)
        .expect("read")
        .expect("mirrored");
    let credits: Vec<Value> = detail
        .credits
        .iter()
        .map(|c| serde_json::to_value(&c.credit).expect("credit"))
        .collect();
    let by = provenance(ListField::Credits, &credits, &history);
    (history, by)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_set_up_later_shows_the_same_history_and_provenance() {
    let up = Upstream::start("127.0.0.1:0", 300, 9).await;
    let (ann, bo, cam) = (
        up.token_for("ann", Role::Editor).await,
        up.token_for("bo", Role::Editor).await,
        up.token_for("cam", Role::Editor).await,
    );
    let cancel = CancellationToken::new();
    let early = tempfile::tempdir().expect("tempdir");
    let first = tokio::spawn(liner_daemon::run(
        config(early.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    synced(early.path()).await;

    // One recording edited four times by three people, each touching the credits.
    let rec = EntityId::Recording(liner::generate::recording_id(9, 17));
    let mut version = up
        .store
        .get(rec)
        .await
        .expect("get")
        .expect("exists")
        .version;
    let start = version;
    let mut credits = current_credits(&up, rec).await;
    let guest = json!({"party": credits[0]["party"], "role": "orchestrator"});
    credits.push(guest);
    version = edit(
        &up,
        &ann,
        rec,
        version,
        "ann: the orchestrator from the booklet",
        json!({"credits": credits}),
    )
    .await;
    credits[1]["role"] = json!("remixer");
    version = edit(
        &up,
        &bo,
        rec,
        version,
        "bo: it was a remix",
        json!({"credits": credits}),
    )
    .await;
    credits[1]["credited_as"] = json!("Kid Nova");
    version = edit(
        &up,
        &cam,
        rec,
        version,
        "cam: the printed name",
        json!({"credits": credits}),
    )
    .await;
    version = edit(
        &up,
        &ann,
        rec,
        version,
        "ann: title per the label",
        json!({"title": "Renamed Track"}),
    )
    .await;
    assert_eq!(version, start + 4);
    at_version(early.path(), rec, version).await;

    // A workstation set up now.
    let late = tempfile::tempdir().expect("tempdir");
    let second = tokio::spawn(liner_daemon::run(
        config(late.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    synced(late.path()).await;
    at_version(late.path(), rec, version).await;

    let (history_early, by_early) = attribution(early.path(), rec);
    let (history_late, by_late) = attribution(late.path(), rec);
    assert_eq!(
        history_late.len() as u64,
        version,
        "every revision: {history_late:?}"
    );
    assert_eq!(history_late, history_early, "the same history on both");
    assert_eq!(by_late, by_early, "the same provenance per credit on both");
    let who: Vec<Option<(u64, &str)>> = by_late
        .iter()
        .map(|p| p.as_ref().map(|a| (a.version, a.actor.as_str())))
        .collect();
    assert!(
        who.contains(&Some((start + 1, "ann"))),
        "the orchestrator is ann's: {who:?}"
    );
    assert!(
        who.contains(&Some((start + 3, "cam"))),
        "the remix credit was last made by cam: {who:?}"
    );
    let upstream_history = up.store.history(rec).await.expect("history");
    assert_eq!(
        history_late
            .iter()
            .map(|r| (r.version, r.actor.as_str(), r.reason.as_str()))
            .collect::<Vec<_>>(),
        upstream_history
            .iter()
            .map(|h| (
                h.revision.version,
                h.revision.actor.as_str(),
                h.revision.reason.as_str()
            ))
            .collect::<Vec<_>>(),
        "as upstream has it"
    );

    cancel.cancel();
    first.await.expect("join").expect("daemon");
    second.await.expect("join").expect("daemon");
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_made_before_full_history_backfills_it_and_keeps_its_pending_edit() {
    let up = Upstream::start("127.0.0.1:0", 300, 11).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(
        config(dir.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    synced(dir.path()).await;
    cancel.cancel();
    daemon.await.expect("join").expect("daemon");
    let full = Store::open_read_only(dir.path().join("mirror.sqlite"))
        .expect("mirror")
        .canonical_dump()
        .expect("dump");

    // As a bootstrap before full history left it: each entity's latest revision only (what
    // migration 6 marks for a backfill), and a pending edit of the desk's own.
    let rec = EntityId::Recording(liner::generate::recording_id(11, 5));
    let path = dir.path().join("mirror.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        for t in ["party", "recording", "work", "release"] {
            conn.execute_batch(&format!(
                "DELETE FROM {t}_revision WHERE version < (SELECT version FROM {t} WHERE key = entity_key)"
            ))
            .expect("strip");
        }
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('note:' || ?1, '{}')",
            [HISTORY_BACKFILL],
        )
        .expect("mark");
    }
    let stripped = Store::open_read_only(&path)
        .expect("mirror")
        .canonical_dump()
        .expect("dump");
    assert!(
        stripped.len() < full.len(),
        "the edited entities lost revisions"
    );
    let version = Store::open_read_only(&path)
        .expect("mirror")
        .version_of(rec)
        .expect("read")
        .expect("mirrored");
    let seq = Store::open(&path)
        .expect("mirror")
        .enqueue_edit(
            rec,
            version,
            json!({"genre": "desk genre"}),
            "genre per the desk",
            "ed",
        )
        .expect("enqueue")
        .seq;

    // The upstream moves on meanwhile: the backfill brings that too, and the feed agrees.
    let moved = EntityId::Recording(liner::generate::recording_id(11, 9));
    let moved_from = up
        .store
        .get(moved)
        .await
        .expect("get")
        .expect("exists")
        .version;
    let moved_to = edit(
        &up,
        &up.token,
        moved,
        moved_from,
        "moved during the backfill",
        json!({"title": "Moved On"}),
    )
    .await;

    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(
        config(dir.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    eventually("the backfill to end", Duration::from_secs(60), || {
        Store::open_read_only(&path)
            .ok()
            .is_some_and(|s| s.note(HISTORY_BACKFILL).ok().flatten().is_none())
    })
    .await;
    synced(dir.path()).await;
    let entry = Store::open_read_only(&path)
        .expect("mirror")
        .outbox_entry(seq)
        .expect("read")
        .expect("kept");
    eventually("the pending edit to land", Duration::from_secs(30), || {
        Store::open_read_only(&path)
            .ok()
            .and_then(|s| s.outbox_entry(seq).ok().flatten())
            .is_some_and(|e| e.state == OutboxState::Accepted)
    })
    .await;
    assert_eq!(entry.reason, "genre per the desk");
    cancel.cancel();
    daemon.await.expect("join").expect("daemon");

    // Every revision is back: the mirror's revisions are the full bootstrap's, plus the edit.
    let now = Store::open_read_only(&path)
        .expect("mirror")
        .canonical_dump()
        .expect("dump");
    let revisions = |d: &[String]| -> Vec<String> {
        d.iter()
            .filter(|l| {
                l.starts_with("revision|")
                    && !l.contains("genre per the desk")
                    && !l.contains("moved during the backfill")
            })
            .cloned()
            .collect()
    };
    assert_eq!(
        revisions(&now),
        revisions(&full),
        "the history is whole again"
    );
    let store = Store::open_read_only(&path).expect("mirror");
    assert_eq!(store.version_of(moved).expect("read"), Some(moved_to));
    assert_eq!(
        store.history(moved).expect("history").len() as u64,
        moved_to,
        "every revision of what moved meanwhile"
    );
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_desks_adding_different_credits_both_land_and_one_credit_changed_two_ways_conflicts_once()
 {
    let up = Upstream::start("127.0.0.1:0", 300, 13).await;
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let cancel = CancellationToken::new();
    let mut daemons = Vec::new();
    for dir in [&a, &b] {
        daemons.push(tokio::spawn(liner_daemon::run(
            config(dir.path(), &up.url()),
            up.token.clone(),
            cancel.clone(),
        )));
    }
    for dir in [&a, &b] {
        synced(dir.path()).await;
    }
    let rec = EntityId::Recording(liner::generate::recording_id(13, 21));
    let EntityId::Recording(rid) = rec else {
        unreachable!()
    };
    let base = up
        .store
        .get(rec)
        .await
        .expect("get")
        .expect("exists")
        .version;
    for dir in [&a, &b] {
        at_version(dir.path(), rec, base).await;
    }
    let credits_in = |dir: &tempfile::TempDir| -> Vec<Value> {
        Store::open_read_only(dir.path().join("mirror.sqlite"))
            .expect("mirror")
            .recording_detail(rid)
            .expect("read")
            .expect("mirrored")
            .credits
            .iter()
            .map(|c| serde_json::to_value(&c.credit).expect("credit"))
            .collect()
    };
    let queue = |dir: &tempfile::TempDir, version: u64, credits: &[Value], reason: &str| {
        Store::open(dir.path().join("mirror.sqlite"))
            .expect("mirror")
            .enqueue_edit(rec, version, json!({"credits": credits}), reason, "desk")
            .expect("enqueue")
            .seq
    };
    let settled = |dir: &tempfile::TempDir, seq: i64| {
        let path = dir.path().join("mirror.sqlite");
        move || {
            Store::open_read_only(&path)
                .ok()
                .and_then(|s| s.outbox_entry(seq).ok().flatten())
                .filter(|e| !matches!(e.state, OutboxState::Pending | OutboxState::Sent))
        }
    };

    // Each desk adds a different credit against the same version: both land, no conflict.
    let original = credits_in(&a);
    let party = original[0]["party"].clone();
    let mut with_a = original.clone();
    with_a.push(json!({"party": party, "role": "orchestrator"}));
    let mut with_b = original.clone();
    with_b.push(json!({"party": party, "role": "librettist"}));
    let (sa, sb) = (
        queue(&a, base, &with_a, "A: the orchestrator"),
        queue(&b, base, &with_b, "B: the librettist"),
    );
    let (mut ea, mut eb) = (None, None);
    eventually("both edits answered", Duration::from_secs(30), || {
        ea = settled(&a, sa)();
        eb = settled(&b, sb)();
        ea.is_some() && eb.is_some()
    })
    .await;
    for e in [&ea, &eb] {
        let e = e.as_ref().expect("answered");
        assert_eq!(e.state, OutboxState::Accepted, "{e:?}");
    }
    let landed = current_credits(&up, rec).await;
    let roles: Vec<&str> = landed.iter().filter_map(|c| c["role"].as_str()).collect();
    assert!(
        roles.contains(&"orchestrator") && roles.contains(&"librettist"),
        "{roles:?}"
    );
    assert_eq!(landed.len(), original.len() + 2, "{landed:?}");
    assert_eq!(
        up.store
            .get(rec)
            .await
            .expect("get")
            .expect("exists")
            .version,
        base + 2
    );

    // Both change the same credit's role against the same version: one lands, the other is
    // one conflict on that credit, saying who made theirs and why.
    let base = base + 2;
    for dir in [&a, &b] {
        at_version(dir.path(), rec, base).await;
    }
    let now = credits_in(&a);
    let mut to_a = now.clone();
    to_a[1]["role"] = json!("mastering_engineer");
    let mut to_b = now.clone();
    to_b[1]["role"] = json!("recording_engineer");
    let (sa, sb) = (
        queue(&a, base, &to_a, "A: mastering, per the invoice"),
        queue(&b, base, &to_b, "B: recording, per the session sheet"),
    );
    let (mut ea, mut eb) = (None, None);
    eventually("both edits answered", Duration::from_secs(30), || {
        ea = settled(&a, sa)();
        eb = settled(&b, sb)();
        ea.is_some() && eb.is_some()
    })
    .await;
    let (ea, eb) = (ea.expect("a"), eb.expect("b"));
    let (lost, won) = match (ea.state, eb.state) {
        (OutboxState::Conflicted, OutboxState::Accepted) => (ea, eb),
        (OutboxState::Accepted, OutboxState::Conflicted) => (eb, ea),
        other => panic!("one lands and one conflicts: {other:?}"),
    };
    let Some(EditOutcome::Conflicted { conflicts, .. }) = &lost.outcome else {
        panic!("{lost:?}");
    };
    assert_eq!(
        conflicts.len(),
        1,
        "one conflict, on that credit: {conflicts:?}"
    );
    let c = &conflicts[0];
    assert_eq!(c.field, "credits");
    assert_eq!(
        c.item.as_ref().map(|k| k.role.as_str()),
        Some(now[1]["role"].as_str().expect("role"))
    );
    let by = c.theirs_by.as_ref().expect("who made theirs");
    assert_eq!(
        (by.version, by.reason.as_str()),
        (base + 1, won.reason.as_str())
    );
    assert!(c.mine.is_some() && c.theirs.is_some() && c.base.is_some());

    cancel.cancel();
    for d in daemons {
        d.await.expect("join").expect("daemon");
    }
    up.stop().await;
}
