//! The daemon end to end, in process, against the real upstream service on port 0: bootstrap
//! from the snapshot, live tail, the index following the store, the upstream going away and
//! coming back, the upstream's history being replaced (resync keeping local edits), and a
//! graceful stop.

use std::time::{Duration, Instant};

use liner::model::{EntityId, EntityKind};
use liner::protocol::EditOutcome;
use liner::search::{SearchIndex, SearchRequest};
use liner::store::Store;
use liner_daemon::Config;
use liner_daemon::status::{self, State};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod common;

use common::{Upstream, eventually, write_token_file};

fn config(dir: &std::path::Path, url: &str) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.upstream.url = url.to_owned();
    c.sync.page_size = 500;
    c.sync.snapshot_batch = 1_000;
    c.sync.wait_seconds = 2;
    c.sync.max_backoff_seconds = 1;
    c
}

/// Every entity of the upstream snapshot is in the mirror at the same version.
async fn assert_mirrors(up: &Upstream, mirror: &Store) {
    let http = reqwest::Client::new();
    let text = http
        .get(format!("{}/v1/snapshot", up.url()))
        .bearer_auth(&up.token)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        let Some(id) = v["id"].as_str() else { continue };
        let id: EntityId = id.parse().expect("id");
        assert_eq!(
            mirror.version_of(id).expect("read"),
            v["version"].as_u64(),
            "{id}"
        );
        n += 1;
    }
    let counts = up.store.counts().await.expect("counts");
    assert_eq!(n as u64, counts.iter().map(|(_, c)| c).sum::<u64>());
}

fn search_finds(data: &std::path::Path, text: &str, id: EntityId) -> bool {
    let Ok(index) = SearchIndex::open_read_only(data.join("index")) else {
        return false;
    };
    index
        .search(&SearchRequest::new(text.to_owned()))
        .map(|hits| hits.iter().take(5).any(|h| h.id == id))
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_follows_the_upstream_through_outages_and_a_replaced_history() {
    let up = Upstream::start("127.0.0.1:0", 2_000, 1).await;
    let data = tempfile::tempdir().expect("tempdir");
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(
        config(data.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    let status_path = data.path().join("status.json");
    let synced = || {
        status::read(&status_path)
            .map(|s| s.state == State::Synced)
            .unwrap_or(false)
    };

    // Bootstrap, then synced at the head.
    eventually("the first sync", Duration::from_secs(60), synced).await;
    let mirror = Store::open_read_only(data.path().join("mirror.sqlite")).expect("mirror");
    assert_mirrors(&up, &mirror).await;
    let head = up.store.head().await.expect("head");
    let st = status::read(&status_path).expect("status");
    assert_eq!(
        st.cursor.as_deref(),
        Some(
            liner::model::Cursor::new(up.store.epoch().await.expect("epoch"), head)
                .token()
                .as_str()
        )
    );
    assert_eq!(st.behind, Some(0));

    // An edit upstream reaches the mirror and the search index.
    let http = reqwest::Client::new();
    let rec = liner::generate::recording_id(1, 7);
    let r = http
        .patch(format!("{}/v1/recordings/{rec}", up.url()))
        .bearer_auth(&up.token)
        .header("if-match", "\"1\"")
        .json(&json!({"reason": "test", "patch": {"title": "Zyxwvut Unmistakable"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let rid = EntityId::Recording(rec);
    eventually("the edit in the mirror", Duration::from_secs(10), || {
        mirror.version_of(rid).ok().flatten() == Some(2)
    })
    .await;
    eventually("the edit in search", Duration::from_secs(10), || {
        search_finds(data.path(), "zyxwvut unmistakable", rid)
    })
    .await;

    // A local edit waiting in the outbox (the pusher comes later; it must survive a resync).
    {
        let mut local = Store::open(data.path().join("mirror.sqlite")).expect("open");
        local
            .enqueue_edit(rid, 2, json!({"title": "Mine"}), "local fix", "ada")
            .expect("enqueue");
    }

    // The upstream goes away: the status says offline, with the error in words.
    let token = up.token.clone();
    let addr = up.stop().await;
    eventually("offline", Duration::from_secs(15), || {
        status::read(&status_path)
            .map(|s| s.state == State::Offline && s.last_error.is_some())
            .unwrap_or(false)
    })
    .await;

    // It comes back as a restored copy with another history (another epoch, other data).
    let restored = Upstream::start(&addr.to_string(), 1_500, 2).await;
    // The daemon's token must work there too.
    restored.accept_token(&token).await;
    let epoch = restored.store.epoch().await.expect("epoch");
    eventually(
        "resynced to the restored upstream",
        Duration::from_secs(60),
        || {
            synced()
                && status::read(&status_path)
                    .ok()
                    .and_then(|s| s.cursor)
                    .is_some_and(|c| c.starts_with(&epoch))
        },
    )
    .await;
    let mirror = Store::open_read_only(data.path().join("mirror.sqlite")).expect("mirror");
    assert_mirrors(&restored, &mirror).await;
    assert_eq!(
        mirror.version_of(rid).expect("read"),
        None,
        "the old history is gone"
    );
    let outbox = mirror.outbox(None).expect("outbox");
    assert_eq!(outbox.len(), 1, "the local edit survived the resync");
    let party = liner::generate::party_id(2, 3);
    let name = mirror.party(party).expect("read").expect("mirrored").0.name;
    eventually("the rebuilt index", Duration::from_secs(20), || {
        search_finds(data.path(), &name, EntityId::Party(party))
    })
    .await;
    assert!(
        !search_finds(data.path(), "zyxwvut unmistakable", rid),
        "old documents are gone from search"
    );
    let [parties, recordings, ..] = mirror.counts().expect("counts");
    let counts: std::collections::HashMap<_, _> = restored
        .store
        .counts()
        .await
        .expect("counts")
        .into_iter()
        .collect();
    assert_eq!(recordings as u64, counts[&EntityKind::Recording]);
    assert_eq!(parties as u64, counts[&EntityKind::Party]);

    // A graceful stop: the run ends cleanly and says so.
    cancel.cancel();
    daemon.await.expect("join").expect("daemon ran cleanly");
    assert_eq!(
        status::read(&status_path).expect("status").state,
        State::Stopped
    );
    restored.stop().await;
}

/// Waits until every outbox entry of `store` has left pending and sent.
async fn settled(data: &std::path::Path) -> Vec<liner::store::OutboxEntry> {
    let path = data.join("mirror.sqlite");
    let start = Instant::now();
    loop {
        let store = Store::open_read_only(&path).expect("mirror");
        let entries = store.outbox(None).expect("outbox");
        if !entries.is_empty()
            && entries.iter().all(|e| {
                !matches!(
                    e.state,
                    liner::store::OutboxState::Pending | liner::store::OutboxState::Sent
                )
            })
        {
            return entries;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "edits never settled: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_editors_disjoint_fields_both_land_and_the_same_field_conflicts_once() {
    use liner::store::OutboxState;
    let up = Upstream::start("127.0.0.1:0", 300, 4).await;
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
        let p = dir.path().join("status.json");
        eventually("synced", Duration::from_secs(60), || {
            status::read(&p)
                .map(|s| s.state == State::Synced)
                .unwrap_or(false)
        })
        .await;
    }
    let rec = EntityId::Recording(liner::generate::recording_id(4, 11));
    let open = |d: &tempfile::TempDir| Store::open(d.path().join("mirror.sqlite")).expect("mirror");

    // Round 1: both edit the same recording at the same version, different fields.
    let base = open(&a).version_of(rec).expect("read").expect("mirrored");
    open(&a)
        .enqueue_edit(
            rec,
            base,
            json!({"title": "Title from A"}),
            "A fixes the title",
            "ann",
        )
        .expect("enqueue");
    open(&b)
        .enqueue_edit(
            rec,
            base,
            json!({"genre": "Genre from B"}),
            "B fixes the genre",
            "bob",
        )
        .expect("enqueue");
    for d in [&a, &b] {
        let entries = settled(d.path()).await;
        assert_eq!(entries[0].state, OutboxState::Accepted, "{entries:?}");
    }
    let got = up.store.get(rec).await.expect("get").expect("exists");
    let data: Value = serde_json::from_str(got.data.as_deref().expect("data")).expect("json");
    assert_eq!(
        (data["title"].as_str(), data["genre"].as_str()),
        (Some("Title from A"), Some("Genre from B"))
    );
    assert_eq!(got.version, base + 2);

    // Round 2: both change the title from the same version: one lands, the other conflicts.
    let base = got.version;
    eventually(
        "both mirrors at the new version",
        Duration::from_secs(10),
        || {
            [&a, &b].iter().all(|d| {
                Store::open_read_only(d.path().join("mirror.sqlite"))
                    .ok()
                    .and_then(|s| s.version_of(rec).ok().flatten())
                    == Some(base)
            })
        },
    )
    .await;
    open(&a)
        .enqueue_edit(
            rec,
            base,
            json!({"title": "A again"}),
            "A's second fix",
            "ann",
        )
        .expect("enqueue");
    open(&b)
        .enqueue_edit(
            rec,
            base,
            json!({"title": "B's idea"}),
            "B's second fix",
            "bob",
        )
        .expect("enqueue");
    let (ea, eb) = (settled(a.path()).await, settled(b.path()).await);
    let outcomes: Vec<(OutboxState, Option<EditOutcome>)> = [&ea[1], &eb[1]]
        .iter()
        .map(|e| (e.state, e.outcome.clone()))
        .collect();
    let conflicted: Vec<_> = outcomes
        .iter()
        .filter(|(s, _)| *s == OutboxState::Conflicted)
        .collect();
    assert_eq!(conflicted.len(), 1, "exactly one conflict: {outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|(s, _)| *s == OutboxState::Accepted)
            .count(),
        1,
        "{outcomes:?}"
    );
    let Some(EditOutcome::Conflicted { conflicts, .. }) = &conflicted[0].1 else {
        panic!("a conflicted edit holds its conflicts: {outcomes:?}");
    };
    let field = &conflicts[0];
    assert_eq!(field.field, "title");
    assert_eq!(field.base, Some(json!("Title from A")));
    let (mine, theirs) = (
        field.mine.as_ref().and_then(Value::as_str).expect("mine"),
        field
            .theirs
            .as_ref()
            .and_then(Value::as_str)
            .expect("theirs"),
    );
    assert!(
        matches!(
            (mine, theirs),
            ("A again", "B's idea") | ("B's idea", "A again")
        ),
        "{field:?}"
    );
    // Who made theirs, when and why: the other editor's revision.
    let by = field.theirs_by.as_ref().expect("who made theirs");
    let their_reason = if mine == "A again" {
        "B's second fix"
    } else {
        "A's second fix"
    };
    assert_eq!((by.reason.as_str(), by.version), (their_reason, base + 1));

    // Upstream history holds every accepted change once: creation + three edits.
    let history = up.store.history(rec).await.expect("history");
    assert_eq!(history.len(), 4, "{history:?}");
    let reasons: Vec<&str> = history.iter().map(|h| h.revision.reason.as_str()).collect();
    assert!(
        reasons.contains(&"A fixes the title") && reasons.contains(&"B fixes the genre"),
        "{reasons:?}"
    );

    cancel.cancel();
    for d in daemons {
        d.await.expect("join").expect("daemon ran cleanly");
    }
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_setting_an_isrc_another_recording_holds_is_rejected_not_retried() {
    use liner::model::{ChangeOp, Entity};
    use liner::store::OutboxState;
    let up = Upstream::start("127.0.0.1:0", 200, 5).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(
        config(dir.path(), &up.url()),
        up.token.clone(),
        cancel.clone(),
    ));
    let p = dir.path().join("status.json");
    eventually("synced", Duration::from_secs(60), || {
        status::read(&p)
            .map(|s| s.state == State::Synced)
            .unwrap_or(false)
    })
    .await;
    // Two generated recordings: the first's ISRC, set on the second.
    let with_isrc: Vec<(EntityId, String)> =
        liner::generate::Generator::new(liner::generate::CatalogSpec::new(200, 5), 1_000)
            .flat_map(|b| b.changes)
            .filter_map(|c| match c.op {
                ChangeOp::Upsert(Entity::Recording(r)) => r
                    .isrc
                    .map(|i| (EntityId::Recording(r.id), i.as_str().to_owned())),
                _ => None,
            })
            .take(2)
            .collect();
    let ((holder, isrc), (other, _)) = (&with_isrc[0], &with_isrc[1]);
    let mut mirror = Store::open(dir.path().join("mirror.sqlite")).expect("mirror");
    let base = mirror.version_of(*other).expect("read").expect("mirrored");
    mirror
        .enqueue_edit(
            *other,
            base,
            json!({"isrc": isrc}),
            "the label's sheet says so",
            "ann",
        )
        .expect("enqueue");
    drop(mirror);
    let entries = settled(dir.path()).await;
    assert_eq!(entries[0].state, OutboxState::Rejected, "{entries:?}");
    let Some(EditOutcome::Rejected { status, errors, .. }) = &entries[0].outcome else {
        panic!("a rejected edit says why: {entries:?}");
    };
    assert_eq!(*status, 409);
    assert_eq!(errors[0].field, "patch.isrc");
    assert!(errors[0].rule.contains(&holder.to_string()), "{errors:?}");
    assert_eq!(
        up.store.get(*other).await.expect("get").map(|s| s.version),
        Some(base),
        "nothing landed"
    );
    cancel.cancel();
    daemon.await.expect("join").expect("daemon ran cleanly");
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_file_is_picked_up_while_running() {
    let up = Upstream::start("127.0.0.1:0", 200, 6).await;
    let home = tempfile::tempdir().expect("tempdir");
    let token_file = home.path().join("token");
    write_token_file(&token_file, &up.token);
    let data = home.path().join("data");
    let file = home.path().join("liner.toml");
    let write = |url: &str| {
        std::fs::write(
            &file,
            format!(
                "data_dir = {:?}\n[upstream]\nurl = {url:?}\ntoken_file = {:?}\n[sync]\nwait_seconds = 1\nmax_backoff_seconds = 1\n",
                data.display().to_string(),
                token_file.display().to_string()
            ),
        )
        .expect("write config");
    };
    // First pointed at a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    write(&format!("http://{closed}"));
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run_watching(file.clone(), cancel.clone()));
    let status_path = data.join("status.json");
    eventually(
        "offline at the wrong address",
        Duration::from_secs(20),
        || {
            status::read(&status_path)
                .map(|s| s.state == State::Offline)
                .unwrap_or(false)
        },
    )
    .await;

    // A broken edit is reported and ignored.
    std::fs::write(&file, "this is [not toml").expect("write");
    eventually("the bad file reported", Duration::from_secs(20), || {
        status::read(&status_path)
            .ok()
            .and_then(|s| s.last_error)
            .is_some_and(|e| e.contains("config not reloaded"))
    })
    .await;

    // The fix is picked up without a restart.
    write(&up.url());
    eventually(
        "synced after the config fix",
        Duration::from_secs(30),
        || {
            status::read(&status_path)
                .map(|s| s.state == State::Synced && s.upstream == up.url())
                .unwrap_or(false)
        },
    )
    .await;
    cancel.cancel();
    daemon.await.expect("join").expect("daemon ran cleanly");
    up.stop().await;
}

/// Backoff against an upstream that is down, on tokio's paused clock: over ten virtual minutes
/// the daemon retries with growing pauses up to the cap (a few dozen attempts, not a hot
/// loop), and says it is offline.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_unreachable_upstream_is_retried_with_capped_backoff() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let data = tempfile::tempdir().expect("tempdir");
    let mut c = config(data.path(), &format!("http://{closed}"));
    c.sync.max_backoff_seconds = 30;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(c, "lnr_x".into(), cancel.clone()));
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(600)).await;
    let virtual_elapsed = started.elapsed();
    let st = status::read(&data.path().join("status.json")).expect("status");
    assert_eq!(st.state, State::Offline);
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains("unreachable")),
        "{st:?}"
    );
    // 0.5 + 1 + 2 + … + 16 s, then ≤ 30 s each (at least 15 s with jitter): 10 minutes hold
    // at most 6 + 600 / 15 = 46 attempts, and at least 600 / 30 = 20.
    eprintln!("{} attempts in ten virtual minutes", st.retries);
    assert!(virtual_elapsed >= Duration::from_secs(600));
    assert!(
        (15..=46).contains(&st.retries),
        "{} attempts in ten minutes",
        st.retries
    );
    cancel.cancel();
    daemon.await.expect("join").expect("clean stop");
}
