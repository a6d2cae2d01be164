//! An upstream that answers well-formed HTTP with the wrong body while an edit goes out: a 412
//! without the current record, a history without its revisions (or with a gap), a 200 without
//! the new version. The pusher never reads an absent member as a default: the edit stays sent,
//! its patch and base untouched (nothing is rebased onto a state it has not seen), the status
//! says what was wrong in words, and once the upstream answers properly the edit lands.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use common::{eventually, write_token_file};
use liner::generate::{CatalogSpec, Generator};
use liner::model::{
    Change, ChangeOp, Cursor, Entity, EntityId, FieldChange, Recording, Revision, Source,
    SourceKind,
};
use liner::store::{OutboxState, Store};
use liner_daemon::Config;
use liner_daemon::status::{self, State as SyncState};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 412 with a problem body but no `current`.
    NoCurrent,
    /// 412 with the current record; the history answer has no `revisions`.
    HistoryWithoutRevisions,
    /// 412 with the current record at version 3; the history lacks version 3.
    HistoryWithAGap,
    /// 200 whose entity answer has no `version`.
    AcceptedWithoutVersion,
    /// The proper answers: 412 with current at version 3, a full history, then 200.
    Good,
}

struct Fake {
    mode: Mutex<Mode>,
    recording: Recording,
    cursor: String,
}

fn revision(version: u64, reason: &str, diff: Vec<FieldChange>) -> Revision {
    Revision {
        version,
        actor: format!("actor {version}"),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: reason.into(),
        at: jiff::Timestamp::UNIX_EPOCH,
        diff,
        unknown: Default::default(),
    }
}

/// The recording's data at version 3: the genre changed upstream (not a field the edit
/// touches, so a proper merge rebases).
fn at_three(r: &Recording) -> Value {
    let mut v = serde_json::to_value(r).expect("json");
    v["genre"] = json!("upstream genre");
    v
}

fn problem(status: u16, detail: &str, current: Option<Value>) -> axum::response::Response {
    let mut body = json!({"type": "about:blank", "title": "x", "status": status, "detail": detail});
    if let Some(c) = current {
        body["current"] = c;
    }
    (
        StatusCode::from_u16(status).expect("status"),
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn snapshot(State(f): State<Arc<Fake>>) -> axum::response::Response {
    let mut change = Change::upsert(
        Entity::Recording(f.recording.clone()),
        2,
        Some(revision(2, "v2", Vec::new())),
    );
    change.history = vec![revision(1, "import", Vec::new())];
    let line = serde_json::to_string(&change.to_record().expect("record")).expect("json");
    let body = format!(
        "{line}\n{{\"next\":\"{}\",\"up_to_date\":true,\"count\":1}}\n",
        f.cursor
    );
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::HeaderName::from_static("x-liner-cursor"),
                f.cursor.clone(),
            ),
        ],
        body,
    )
        .into_response()
}

async fn changes(State(f): State<Arc<Fake>>) -> axum::response::Response {
    tokio::time::sleep(Duration::from_millis(200)).await;
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        format!(
            "{{\"next\":\"{}\",\"up_to_date\":true,\"behind\":0}}\n",
            f.cursor
        ),
    )
        .into_response()
}

async fn me() -> axum::Json<Value> {
    axum::Json(json!({"name": "fake", "role": "editor", "parties": [], "may_edit": true}))
}

async fn edit(
    State(f): State<Arc<Fake>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let mode = *f.mode.lock().expect("mode");
    let id = f.recording.id.to_string();
    let if_match = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let current =
        json!({"entity": "recording", "id": id, "version": 3, "data": at_three(&f.recording)});
    match (mode, if_match) {
        (Mode::NoCurrent, _) => problem(412, "stale", None),
        (Mode::AcceptedWithoutVersion, _) => (
            [(header::CONTENT_TYPE, "application/json")],
            json!({"entity": "recording", "id": id, "data": at_three(&f.recording)}).to_string(),
        )
            .into_response(),
        (Mode::Good, "\"3\"") => (
            [(header::CONTENT_TYPE, "application/json")],
            json!({"entity": "recording", "id": id, "version": 4, "data": at_three(&f.recording)})
                .to_string(),
        )
            .into_response(),
        _ => problem(412, "stale", Some(current)),
    }
}

async fn history(State(f): State<Arc<Fake>>) -> axum::response::Response {
    let mode = *f.mode.lock().expect("mode");
    let id = f.recording.id.to_string();
    let genre = FieldChange {
        path: "/genre".into(),
        old: f.recording.genre.clone().map(|g| Value::from(g).into()),
        new: Some(json!("upstream genre").into()),
    };
    let all = [
        revision(1, "import", Vec::new()),
        revision(2, "v2", Vec::new()),
        revision(3, "upstream genre", vec![genre]),
    ];
    let revisions: Vec<Value> = all
        .iter()
        .filter(|r| !(mode == Mode::HistoryWithAGap && r.version == 3))
        .map(|r| {
            let mut v = serde_json::to_value(r).expect("json");
            v["deleted"] = json!(false);
            v
        })
        .collect();
    let body = if mode == Mode::HistoryWithoutRevisions {
        json!({"entity": "recording", "id": id})
    } else {
        json!({"entity": "recording", "id": id, "revisions": revisions})
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bodies_leave_the_edit_sent_and_say_so_and_a_good_answer_lands_it() {
    let recording = Generator::new(CatalogSpec::new(20, 3), 100)
        .flat_map(|b| b.changes)
        .find_map(|c| match c.op {
            ChangeOp::Upsert(Entity::Recording(r)) => Some(r),
            _ => None,
        })
        .expect("a recording");
    let rec = EntityId::Recording(recording.id);
    let fake = Arc::new(Fake {
        mode: Mutex::new(Mode::NoCurrent),
        recording,
        cursor: Cursor::new("01JFAKEEPOCH0000000000000B", 1).token(),
    });
    let app = Router::new()
        .route("/v1/snapshot", get(snapshot))
        .route("/v1/changes", get(changes))
        .route("/v1/me", get(me))
        .route("/v1/recordings/{id}", patch(edit))
        .route("/v1/recordings/{id}/history", get(history))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let home = tempfile::tempdir().expect("tempdir");
    let token_file = home.path().join("token");
    write_token_file(&token_file, "lnr_fake");
    let data = home.path().join("data");
    let mut config = Config {
        data_dir: data.clone(),
        ..Default::default()
    };
    config.upstream.url = url;
    config.upstream.token_file = token_file;
    config.sync.max_backoff_seconds = 1;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(config, "lnr_fake".into(), cancel.clone()));
    let status_path = data.join("status.json");
    eventually("synced", Duration::from_secs(30), || {
        status::read(&status_path).is_ok_and(|s| s.state == SyncState::Synced)
    })
    .await;

    let mirror = data.join("mirror.sqlite");
    let patch = json!({"title": "Corrected title"});
    let seq = Store::open(&mirror)
        .expect("mirror")
        .enqueue_edit(rec, 2, patch.clone(), "title per the sleeve", "ed")
        .expect("enqueue")
        .seq;
    let entry = || {
        Store::open_read_only(&mirror)
            .expect("mirror")
            .outbox_entry(seq)
            .expect("read")
            .expect("entry")
    };

    for (mode, says) in [
        (Mode::NoCurrent, "a 412 without the current record"),
        (Mode::HistoryWithoutRevisions, "missing field `revisions`"),
        (Mode::HistoryWithAGap, "lacks revision 3"),
        (Mode::AcceptedWithoutVersion, "missing field `version`"),
    ] {
        *fake.mode.lock().expect("mode") = mode;
        eventually(
            &format!("the status to say {says:?}"),
            Duration::from_secs(30),
            || {
                status::read(&status_path)
                    .ok()
                    .and_then(|s| s.last_error)
                    .is_some_and(|e| e.contains(says) && e.contains("garbled"))
            },
        )
        .await;
        let e = entry();
        assert_eq!(
            (e.state, e.base_version, &e.patch, &e.outcome),
            (OutboxState::Sent, 2, &patch, &None),
            "{mode:?}: the edit stays as it was sent"
        );
    }

    *fake.mode.lock().expect("mode") = Mode::Good;
    eventually("the edit to land", Duration::from_secs(30), || {
        entry().state == OutboxState::Accepted
    })
    .await;
    let e = entry();
    assert_eq!(
        e.outcome,
        Some(liner::protocol::EditOutcome::Accepted { version: 4 })
    );
    assert_eq!(e.base_version, 3, "rebased once the history was whole");

    cancel.cancel();
    daemon.await.expect("join").expect("daemon");
    server.abort();
}
