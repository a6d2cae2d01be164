//! The conformance story: one sequence of real HTTP calls, run against every backend this run
//! has (SQLite always, PostgreSQL when `LINER_TEST_PG_URL` is set). Whatever the backend, a
//! client sees the same statuses, bodies, feed and snapshot; and the feed, replayed into the
//! foundation's mirror store, reproduces the catalog.

mod common;

use common::{Server, backends, json_of, party};
use liner::model::Cursor;
use liner_upstream::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

const E: Role = Role::Editor;

async fn create(s: &Server, coll: &str, data: Value) -> Value {
    let r = s
        .send(
            Method::POST,
            E,
            &format!("/v1/{coll}"),
            &json!({"reason": "test setup", "data": data}),
        )
        .send()
        .await
        .expect("send");
    let (status, body) = json_of(r).await;
    assert_eq!(status, 201, "{coll}: {body}");
    body
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

async fn feed(s: &Server, since: Option<&str>, extra: &str) -> (Vec<Value>, Value) {
    let path = match since {
        Some(c) => format!("/v1/changes?since={c}{extra}"),
        None => format!("/v1/changes?limit=10000{extra}"),
    };
    let r = s.get(Role::Reader, &path).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let mut lines = ndjson(&r.text().await.expect("body"));
    let trailer = lines.pop().expect("a trailer line");
    (lines, trailer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_holds_on_every_backend() {
    for backend in backends().await {
        let name = backend.name();
        let s = Server::start(backend).await;
        story(&s).await;
        eprintln!("story passed on {name}");
        s.stop().await;
    }
}

async fn story(s: &Server) {
    // Health.
    let (status, health) = json_of(s.http.get(s.url("/healthz")).send().await.expect("send")).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["head"], 0);

    // Creates, with validation by the foundation model and normalised identifiers.
    let björk = create(s, "parties", party(None, "Björk")).await;
    let björk_id = björk["id"].as_str().expect("id").to_owned();
    assert!(björk_id.starts_with("pty_"));
    let sjón = create(s, "parties", party(None, "Sjón")).await;
    let sjón_id = sjón["id"].as_str().expect("id").to_owned();

    let off_by_one = json!({"title": "Oceania", "writers": [
        {"party": björk_id, "role": "composer", "share": 5000},
        {"party": sjón_id, "role": "lyricist", "share": 4999}]});
    let r = s
        .send(
            Method::POST,
            E,
            "/v1/works",
            &json!({"reason": "x", "data": off_by_one}),
        )
        .send()
        .await
        .expect("send");
    let (status, problem) = json_of(r).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["errors"][0]["field"]
            .as_str()
            .expect("field")
            .starts_with("data.writers"),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("10000")
            || problem["detail"].as_str().expect("detail").contains("100"),
        "{problem}"
    );

    let work = create(
        s,
        "works",
        json!({"title": "Oceania", "iswc": "T-010.432.491-5", "writers": [
        {"party": björk_id, "role": "composer", "share": 5000},
        {"party": sjón_id, "role": "lyricist", "share": 5000}]}),
    )
    .await;
    let work_id = work["id"].as_str().expect("id").to_owned();
    assert_eq!(
        work["data"]["iswc"], "T0104324915",
        "stored normalised: {work}"
    );

    let missing = liner::ids::PartyId::new().to_string();
    let r = s
        .send(Method::POST, E, "/v1/recordings", &json!({"reason": "x", "data": {
            "title": "Oceania", "display_artist": [{"party": björk_id, "name": "Björk"}],
            "credits": [{"party": björk_id, "role": "main_artist"}, {"party": missing, "role": "producer"}]}}))
        .send()
        .await
        .expect("send");
    let (status, problem) = json_of(r).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "data.credits[1].party",
        "{problem}"
    );

    let rec = create(
        s,
        "recordings",
        json!({
        "title": "Oceania", "isrc": "gb-aaa-04-00001",
        "display_artist": [{"party": björk_id, "name": "Björk"}],
        "works": [work_id],
        "credits": [{"party": björk_id, "role": "main_artist"},
                    {"party": sjón_id, "role": "lyricist", "credited_as": "Sjón Sigurdsson"}]}),
    )
    .await;
    let rec_id = rec["id"].as_str().expect("id").to_owned();
    assert_eq!(rec["version"], 1);
    assert_eq!(rec["data"]["isrc"], "GBAAA0400001");
    let rec_path = format!("/v1/recordings/{rec_id}");

    // Read with its version as the ETag.
    let r = s.get(Role::Reader, &rec_path).send().await.expect("send");
    assert_eq!(r.headers()["etag"], "\"1\"");
    let (_, got) = json_of(r).await;
    assert_eq!(got["data"]["credits"][1]["credited_as"], "Sjón Sigurdsson");

    // A patch, then the same patch again under the same key: one revision, the same answer.
    let patch =
        json!({"reason": "title had a typo on the delivery", "patch": {"title": "Oceanía"}});
    let send_patch = |version: &str, key: &str, body: &Value| {
        s.send(Method::PATCH, E, &rec_path, body)
            .header("if-match", format!("\"{version}\""))
            .header("idempotency-key", key)
            .send()
    };
    let (status, first) = json_of(send_patch("1", "edit-1", &patch).await.expect("send")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["version"], 2);
    let again = send_patch("1", "edit-1", &patch).await.expect("send");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (status, second) = json_of(again).await;
    assert_eq!((status, &second), (200, &first));
    let other = json!({"reason": "r", "patch": {"title": "Something else"}});
    let (status, problem) = json_of(send_patch("2", "edit-1", &other).await.expect("send")).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "header.Idempotency-Key");

    // A stale version gets 412 with the current record.
    let (status, problem) = json_of(send_patch("1", "edit-2", &other).await.expect("send")).await;
    assert_eq!(status, 412, "{problem}");
    assert_eq!(problem["current"]["version"], 2);
    assert_eq!(problem["current"]["data"]["title"], "Oceanía");

    // History: creation and the one patch, attributed, with the field diff.
    let (status, history) = json_of(
        s.get(Role::Support, &format!("{rec_path}/history"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let revisions = history["revisions"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 2, "{history}");
    assert_eq!(revisions[1]["actor"], "editor-tester");
    assert_eq!(revisions[1]["source"]["kind"], "editor");
    assert_eq!(revisions[1]["reason"], "title had a typo on the delivery");
    assert_eq!(
        revisions[1]["diff"],
        json!([{"path": "/title", "old": "Oceania", "new": "Oceanía"}])
    );

    // The feed: every change once, in order, ending with a cursor.
    let (lines, trailer) = feed(s, None, "").await;
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(trailer["up_to_date"], true);
    let versions: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap_or("").to_owned(),
                l["version"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(versions.last(), Some(&(rec_id.clone(), 2)));
    let next = trailer["next"].as_str().expect("next").to_owned();

    // Replayed into the foundation's mirror store, the feed reproduces the catalog.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut mirror = liner::store::Store::open(dir.path().join("m.sqlite")).expect("mirror");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report = mirror
        .apply_ndjson(&text, Some(&Cursor::parse_token(&next).expect("cursor")))
        .expect("apply");
    assert_eq!((report.applied, report.quarantined), (5, 0), "{report:?}");
    let rid: liner::ids::RecordingId = rec_id.parse().expect("id");
    let detail = mirror
        .recording_detail(rid)
        .expect("read")
        .expect("present");
    assert_eq!(detail.recording.title, "Oceanía");

    // Long-poll: a waiting reader gets the next change as soon as it commits.
    let poll = {
        let url = s.url(&format!("/v1/changes?since={next}&wait=20s"));
        let req = s.http.get(url).bearer_auth(s.token(Role::Reader));
        tokio::spawn(async move { req.send().await.expect("send").text().await.expect("body") })
    };
    let (status, third) = json_of(
        send_patch(
            "2",
            "edit-3",
            &json!({"reason": "explicit lyrics", "patch": {"explicit": true}}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{third}");
    let polled = ndjson(&poll.await.expect("poll"));
    assert_eq!(polled.len(), 2, "{polled:?}");
    assert_eq!(polled[0]["id"], rec_id.as_str());
    assert_eq!(polled[0]["version"], 3);

    // Snapshot: every entity once, consistent with a cursor the feed continues from.
    let r = s
        .get(Role::Reader, "/v1/snapshot")
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-liner-snapshot-count"], "4");
    let mut snap = ndjson(&r.text().await.expect("body"));
    let tail = snap.pop().expect("trailer");
    assert_eq!(snap.len(), 4, "two parties, a work, a recording");
    assert_eq!(tail["count"], 4);
    let at = tail["next"].as_str().expect("next");
    let (after, t) = feed(s, Some(at), "").await;
    assert!(after.is_empty(), "nothing after the snapshot: {after:?}");
    assert_eq!(t["up_to_date"], true);
    let snap_rec = snap
        .iter()
        .find(|l| l["id"] == rec_id.as_str())
        .expect("recording in snapshot");
    assert_eq!(snap_rec["version"], 3);
    // Resumed after its first entity: the rest, counted the other way.
    let first = snap[0]["id"].as_str().expect("id");
    let r = s
        .get(Role::Reader, &format!("/v1/snapshot?after={first}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-liner-snapshot-count"], "3");
    let mut rest = ndjson(&r.text().await.expect("body"));
    rest.pop().expect("trailer");
    assert_eq!(rest, snap[1..].to_vec());

    // Cursors: from another epoch 409 (resync), garbage 400.
    let foreign = Cursor::new("01JZZZZZZZZZZZZZZZZZZZZZZZ", 1).token();
    let r = s
        .get(Role::Reader, &format!("/v1/changes?since={foreign}"))
        .send()
        .await
        .expect("send");
    let (status, problem) = json_of(r).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["resync"], "/v1/snapshot");
    let r = s
        .get(Role::Reader, "/v1/changes?since=nonsense")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);

    // A work a recording still links cannot be deleted: 409 naming the recording, and nothing
    // changes.
    let delete_work = || {
        s.send(
            Method::DELETE,
            E,
            &format!("/v1/works/{work_id}"),
            &json!({"reason": "duplicate work"}),
        )
        .header("if-match", "\"1\"")
        .send()
    };
    let (status, problem) = json_of(delete_work().await.expect("send")).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["referenced_by"], json!([rec_id]), "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&rec_id)),
        "{problem}"
    );
    let (status, work_now) = json_of(
        s.get(Role::Reader, &format!("/v1/works/{work_id}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, &work_now["version"]), (200, &json!(1)));

    // Unlinked, it can: then it is gone and cannot be patched.
    let (status, unlinked) = json_of(
        send_patch(
            "3",
            "edit-3b",
            &json!({"reason": "the work was a duplicate", "patch": {"works": null}}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{unlinked}");
    let r = delete_work().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.get(Role::Reader, &format!("/v1/works/{work_id}"))
            .send()
            .await
            .expect("send")
            .status(),
        410
    );
    let r = s
        .send(
            Method::PATCH,
            E,
            &format!("/v1/works/{work_id}"),
            &json!({"reason": "r", "patch": {"title": "x"}}),
        )
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 410);
    // A recording can no longer link the deleted work.
    let (status, problem) = json_of(
        send_patch(
            "4",
            "edit-4",
            &json!({"reason": "r", "patch": {"works": [work_id]}}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "patch.works[0]", "{problem}");

    // Metrics count what happened.
    let metrics = s.metrics().await;
    assert!(metrics.contains("liner_http_requests_total{method=\"PATCH\",route=\"/v1/{collection}/{id}\",status=\"412\"}"), "{metrics}");
    assert!(metrics.contains("liner_feed_head_position"));
}
