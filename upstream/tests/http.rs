//! Every status the API documents, bad input of every kind, and the role × endpoint matrix,
//! through real HTTP against the service on port 0 (SQLite; the story covers both backends).

mod common;

use common::{Server, artist_party, json_of, party};
use liner_upstream::Limits;
use liner_upstream::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn server() -> Server {
    Server::start(common::Backend::Sqlite(
        tempfile::tempdir().expect("tempdir"),
    ))
    .await
}

async fn post(s: &Server, role: Role, coll: &str, data: Value) -> (u16, Value) {
    json_of(
        s.send(
            Method::POST,
            role,
            &format!("/v1/{coll}"),
            &json!({"reason": "setup", "data": data}),
        )
        .send()
        .await
        .expect("send"),
    )
    .await
}

/// A catalog with the artist's own party, a stranger, a work of each, and a recording.
struct Fixture {
    own_work: String,
    other_work: String,
    recording: String,
}

async fn fixture(s: &Server) -> Fixture {
    let me = artist_party().to_string();
    let (st, _) = post(s, Role::Editor, "parties", party(Some(&me), "Artist Me")).await;
    assert_eq!(st, 201);
    let (_, other) = post(s, Role::Editor, "parties", party(None, "Somebody Else")).await;
    let other = other["id"].as_str().expect("id").to_owned();
    let split = |a: &str, b: &str| json!([{"party": a, "role": "composer", "share": 6000}, {"party": b, "role": "lyricist", "share": 4000}]);
    let (_, own) = post(
        s,
        Role::Editor,
        "works",
        json!({"title": "Mine", "writers": split(&me, &other)}),
    )
    .await;
    let (_, theirs) = post(s, Role::Editor, "works", json!({"title": "Theirs", "writers": [{"party": other, "role": "composer_lyricist", "share": 10000}]})).await;
    let (_, rec) = post(s, Role::Editor, "recordings", json!({"title": "Song", "display_artist": [{"party": me, "name": "Artist Me"}], "credits": [{"party": me, "role": "main_artist"}]})).await;
    Fixture {
        own_work: own["id"].as_str().expect("id").to_owned(),
        other_work: theirs["id"].as_str().expect("id").to_owned(),
        recording: rec["id"].as_str().expect("id").to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_problem_that_says_what_and_where_and_writes_nothing() {
    let s = server().await;
    let f = fixture(&s).await;
    let path = format!("/v1/recordings/{}", f.recording);
    let head_before = s.store.head().await.expect("head");

    let patch = |body: String, ctype: &'static str| {
        s.http
            .patch(s.url(&path))
            .bearer_auth(s.token(Role::Editor))
            .header("content-type", ctype)
            .header("if-match", "\"1\"")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "malformed JSON",
            "{\"reason\": \"x\", \"patch\": {".into(),
            "application/json",
            400,
            "not valid JSON",
        ),
        (
            "wrong type",
            r#"{"reason": "x", "patch": {"explicit": "yes"}}"#.into(),
            "application/json",
            422,
            "patch.explicit",
        ),
        (
            "unknown field in the envelope",
            r#"{"reason": "x", "patch": {}, "force": true}"#.into(),
            "application/json",
            422,
            "force",
        ),
        (
            "unknown field in the entity",
            r#"{"reason": "x", "patch": {"mood": "sad"}}"#.into(),
            "application/json",
            422,
            "mood",
        ),
        (
            "invalid ISRC",
            r#"{"reason": "x", "patch": {"isrc": "US-TEST-0000001"}}"#.into(),
            "application/json",
            422,
            "patch.isrc",
        ),
        (
            "unknown role",
            format!(
                r#"{{"reason": "x", "patch": {{"credits": [{{"party": "{}", "role": "caterer"}}]}}}}"#,
                artist_party()
            ),
            "application/json",
            422,
            "patch.credits[0].role",
        ),
        (
            "missing reason",
            r#"{"patch": {"title": "x"}}"#.into(),
            "application/json",
            422,
            "reason",
        ),
        (
            "blank reason",
            r#"{"reason": "  ", "patch": {"title": "x"}}"#.into(),
            "application/json",
            422,
            "reason",
        ),
        (
            "changing the id",
            format!(
                r#"{{"reason": "x", "patch": {{"id": "{}"}}}}"#,
                liner::ids::RecordingId::new()
            ),
            "application/json",
            422,
            "patch.id",
        ),
        (
            "a patch that changes nothing",
            r#"{"reason": "x", "patch": {"title": "Song"}}"#.into(),
            "application/json",
            422,
            "patch",
        ),
        (
            "not JSON at all",
            "title=x".into(),
            "application/x-www-form-urlencoded",
            415,
            "application/json",
        ),
    ];
    for (what, body, ctype, status, mentions) in cases {
        let r = patch(body, ctype).await.expect("send");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let (got, problem) = json_of(r).await;
        assert_eq!(got, status, "{what}: {problem}");
        assert!(
            problem.to_string().contains(mentions),
            "{what}: {problem} should mention {mentions}"
        );
    }

    // Shares off by one basis point, on a work.
    let (st, problem) = json_of(
        s.send(Method::PATCH, Role::Editor, &format!("/v1/works/{}", f.other_work),
            &json!({"reason": "x", "patch": {"writers": [{"party": artist_party(), "role": "composer", "share": 9999}]}}))
            .header("if-match", "\"1\"").send().await.expect("send"),
    ).await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "patch.writers", "{problem}");

    // A split without shares is what an artist's redacted copy looks like; it is never written.
    let (st, problem) = json_of(
        s.send(Method::PATCH, Role::Editor, &format!("/v1/works/{}", f.other_work),
            &json!({"reason": "x", "patch": {"writers": [{"party": artist_party(), "role": "composer"}]}}))
            .header("if-match", "\"1\"").send().await.expect("send"),
    ).await;
    assert_eq!(st, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "patch.writers[0].share",
        "{problem}"
    );

    // Oversize body: refused before it is parsed.
    let huge = format!(
        r#"{{"reason": "x", "patch": {{"title": "{}"}}}}"#,
        "a".repeat(2 << 20)
    );
    let (st, _) = json_of(patch(huge, "application/json").await.expect("send")).await;
    assert_eq!(st, 413);

    // Identifiers in the path, unknown collections, missing preconditions.
    let r = s
        .get(Role::Reader, "/v1/recordings/rec_nope")
        .send()
        .await
        .expect("send");
    let (st, problem) = json_of(r).await;
    assert_eq!(st, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "path.id");
    assert_eq!(
        s.get(
            Role::Reader,
            &format!("/v1/recordings/{}", liner::ids::RecordingId::new())
        )
        .send()
        .await
        .expect("send")
        .status(),
        404
    );
    assert_eq!(
        s.get(Role::Reader, "/v1/songs/x")
            .send()
            .await
            .expect("send")
            .status(),
        404
    );
    assert_eq!(
        s.get(Role::Reader, "/nowhere")
            .send()
            .await
            .expect("send")
            .status(),
        404
    );
    let r = s
        .send(
            Method::PATCH,
            Role::Editor,
            &path,
            &json!({"reason": "x", "patch": {"title": "y"}}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 428, "no If-Match");
    let r = s
        .send(
            Method::PATCH,
            Role::Editor,
            &path,
            &json!({"reason": "x", "patch": {"title": "y"}}),
        )
        .header("if-match", "three")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "unparseable If-Match");
    let (st, _) = json_of(
        s.send(
            Method::POST,
            Role::Editor,
            "/v1/parties",
            &json!({"reason": "x", "data": party(Some(&artist_party().to_string()), "Again")}),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(st, 409, "creating an id that exists");

    // Feed parameters.
    for q in [
        "limit=0",
        "limit=10001",
        "limit=ten",
        "wait=forever",
        "wait=61s",
        "since=abc",
        "color=blue",
    ] {
        let r = s
            .get(Role::Reader, &format!("/v1/changes?{q}"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{q}"
        );
    }
    let future =
        liner::model::Cursor::new(s.store.epoch().await.expect("epoch"), 1_000_000).token();
    let r = s
        .get(Role::Reader, &format!("/v1/changes?since={future}"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 409, "a cursor past the head");

    // Nothing above wrote anything, and the service still serves.
    assert_eq!(s.store.head().await.expect("head"), head_before);
    let (st, rec) = json_of(s.get(Role::Reader, &path).send().await.expect("send")).await;
    assert_eq!((st, rec["version"].as_u64()), (200, Some(1)));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_and_revocation_takes_effect() {
    // Without the token cache, so the revocation shows on the very next request.
    let limits = Limits {
        token_cache_ttl: std::time::Duration::ZERO,
        ..Limits::default()
    };
    let s = Server::start_with(
        common::Backend::Sqlite(tempfile::tempdir().expect("tempdir")),
        limits,
    )
    .await;
    let r = s.http.get(s.url("/v1/me")).send().await.expect("send");
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = s
        .http
        .get(s.url("/v1/me"))
        .bearer_auth("lnr_made_up")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let (st, me) = json_of(s.get(Role::Artist, "/v1/me").send().await.expect("send")).await;
    assert_eq!(st, 200);
    assert_eq!(me["role"], "artist");
    assert_eq!(me["parties"], json!([artist_party()]));
    assert_eq!(me["may_edit"], false);

    let tokens = s.store.list_tokens().await.expect("list");
    let reader = tokens
        .iter()
        .find(|t| t.role == Role::Reader)
        .expect("reader");
    assert!(s.store.revoke_token(reader.id).await.expect("revoke"));
    assert_eq!(
        s.get(Role::Reader, "/v1/me")
            .send()
            .await
            .expect("send")
            .status(),
        401
    );
    assert!(!s.store.revoke_token(reader.id).await.expect("revoke twice"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_what_it_may_on_every_endpoint() {
    let s = server().await;
    let f = fixture(&s).await;
    let rec = format!("/v1/recordings/{}", f.recording);
    // (endpoint, method, body, statuses for admin, editor, support, artist, reader)
    let roles = [
        Role::Admin,
        Role::Editor,
        Role::Support,
        Role::Artist,
        Role::Reader,
    ];
    let reads: Vec<(String, u16)> = vec![
        ("/v1/me".into(), 200),
        (rec.clone(), 200),
        (format!("{rec}/history"), 200),
        (format!("/v1/works/{}", f.own_work), 200),
        ("/v1/changes".into(), 200),
        ("/v1/snapshot".into(), 200),
    ];
    for (path, status) in &reads {
        for role in roles {
            let r = s.get(role, path).send().await.expect("send");
            assert_eq!(r.status().as_u16(), *status, "{role} GET {path}");
        }
    }
    for role in roles {
        let may = matches!(role, Role::Admin | Role::Editor);
        let title = format!("Song by {role}");
        let version = s
            .store
            .get(f.recording.parse().expect("id"))
            .await
            .expect("get")
            .expect("exists")
            .version;
        let r = s
            .send(
                Method::PATCH,
                role,
                &rec,
                &json!({"reason": "matrix", "patch": {"title": title}}),
            )
            .header("if-match", format!("\"{version}\""))
            .send()
            .await
            .expect("send");
        let (st, body) = json_of(r).await;
        assert_eq!(st, if may { 200 } else { 403 }, "{role} PATCH: {body}");
        if role == Role::Artist {
            assert!(
                body["detail"]
                    .as_str()
                    .expect("detail")
                    .contains("artist request"),
                "{body}"
            );
        }
        let (st, _) = post(&s, role, "parties", party(None, &format!("New {role}"))).await;
        assert_eq!(st, if may { 201 } else { 403 }, "{role} POST");
        let r = s
            .send(
                Method::DELETE,
                role,
                &format!("/v1/works/{}", f.other_work),
                &json!({"reason": "matrix"}),
            )
            .header("if-match", "\"1\"")
            .send()
            .await
            .expect("send");
        // Only the first permitted role deletes; the next gets 410.
        let expected: &[u16] = if may { &[200, 410] } else { &[403] };
        assert!(
            expected.contains(&r.status().as_u16()),
            "{role} DELETE: {}",
            r.status()
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artists_see_shares_only_on_their_own_works_everywhere() {
    let s = server().await;
    let f = fixture(&s).await;
    let shares = |v: &Value| -> Vec<Option<u64>> {
        v["writers"]
            .as_array()
            .expect("writers")
            .iter()
            .map(|w| w["share"].as_u64())
            .collect()
    };
    let (_, own) = json_of(
        s.get(Role::Artist, &format!("/v1/works/{}", f.own_work))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(shares(&own["data"]), vec![Some(6000), Some(4000)]);
    let (_, other) = json_of(
        s.get(Role::Artist, &format!("/v1/works/{}", f.other_work))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(shares(&other["data"]), vec![None]);
    let (_, other_as_editor) = json_of(
        s.get(Role::Editor, &format!("/v1/works/{}", f.other_work))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(shares(&other_as_editor["data"]), vec![Some(10000)]);

    for path in ["/v1/changes", "/v1/snapshot"] {
        let text = s
            .get(Role::Artist, path)
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("body");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let line_of = |id: &str| {
            lines
                .iter()
                .find(|l| l["id"] == id)
                .expect("present")
                .clone()
        };
        assert_eq!(
            shares(&line_of(&f.own_work)["data"]),
            vec![Some(6000), Some(4000)],
            "{path}"
        );
        let theirs = line_of(&f.other_work);
        assert_eq!(shares(&theirs["data"]), vec![None], "{path}");
        assert!(
            !theirs["revision"].to_string().contains("10000"),
            "{path}: the diff leaks the share: {theirs}"
        );
    }
    let (_, history) = json_of(
        s.get(Role::Artist, &format!("/v1/works/{}/history", f.other_work))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert!(
        !history.to_string().contains("10000"),
        "history leaks the share: {history}"
    );

    // Per version: the other work gains the artist as a writer. Its current split is the
    // artist's to see; the version it was not a writer of stays hidden, in the history, in
    // the snapshot's earlier revisions and in the feed alike.
    let me = artist_party().to_string();
    let r = s
        .send(
            Method::PATCH,
            Role::Editor,
            &format!("/v1/works/{}", f.other_work),
            &json!({"reason": "the artist co-wrote it", "patch": {"writers": [
                {"party": me, "role": "lyricist", "share": 2500},
                {"party": other_as_editor["data"]["writers"][0]["party"], "role": "composer", "share": 7500}
            ]}}),
        )
        .header("if-match", "\"1\"")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let first_split = |revision: &Value| -> Option<Value> {
        revision["diff"]
            .as_array()?
            .iter()
            .find(|c| c["path"] == "/writers")?
            .get("new")
            .cloned()
    };
    let (_, history) = json_of(
        s.get(Role::Artist, &format!("/v1/works/{}/history", f.other_work))
            .send()
            .await
            .expect("send"),
    )
    .await;
    let v1 = first_split(&history["revisions"][0]).expect("the creation's split");
    let v2 = first_split(&history["revisions"][1]).expect("the co-writing split");
    assert_eq!(shares(&json!({"writers": v1})), vec![None], "{history}");
    assert_eq!(
        shares(&json!({"writers": v2})),
        vec![Some(2500), Some(7500)],
        "{history}"
    );
    let text = s
        .get(Role::Artist, "/v1/snapshot?history=all")
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    let line: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|l| l["id"] == f.other_work.as_str())
        .expect("in the snapshot");
    assert_eq!(line["history"].as_array().map(Vec::len), Some(1), "{line}");
    assert_eq!(
        first_split(&line["history"][0]),
        Some(v1),
        "the snapshot's earlier revision is redacted as the history is: {line}"
    );
    assert_eq!(first_split(&line["revision"]), Some(v2), "{line}");
    let feed = s
        .get(Role::Artist, "/v1/changes?limit=10000")
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    let creation: Value = feed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|l| l["id"] == f.other_work.as_str() && l["version"] == 1)
        .expect("the creation in the feed");
    assert_eq!(
        first_split(&creation["revision"]),
        first_split(&line["history"][0]),
        "as the feed has it"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_compressed_when_asked() {
    let s = server().await;
    fixture(&s).await;
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .build()
        .expect("client");
    for enc in ["gzip", "zstd"] {
        let r = raw
            .get(s.url("/v1/snapshot"))
            .bearer_auth(s.token(Role::Reader))
            .header("accept-encoding", enc)
            .send()
            .await
            .expect("send");
        assert_eq!(r.headers()["content-encoding"], enc);
    }
    // And the decompressing client reads the same stream.
    let text = s
        .get(Role::Reader, "/v1/snapshot")
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    assert!(text.lines().last().expect("trailer").contains("\"next\""));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_body_limit_is_enforced() {
    let limits = Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    };
    let s = Server::start_with(
        common::Backend::Sqlite(tempfile::tempdir().expect("tempdir")),
        limits,
    )
    .await;
    let name = "n".repeat(2000);
    let (st, problem) = post(&s, Role::Editor, "parties", party(None, &name)).await;
    assert_eq!(st, 413, "{problem}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let s = server().await;
    let (st, doc) = json_of(
        s.http
            .get(s.url("/v1/openapi.json"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/v1/{collection}", &["post"][..]),
        ("/v1/{collection}/{id}", &["get", "patch", "delete"][..]),
        ("/v1/{collection}/{id}/history", &["get"][..]),
        ("/v1/me", &["get"][..]),
        ("/v1/snapshot", &["get"][..]),
        ("/v1/changes", &["get"][..]),
        ("/healthz", &["get"][..]),
        ("/metrics", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is not documented");
        }
    }
    assert!(paths["/v1/{collection}/{id}"]["patch"]["responses"]["412"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    s.stop().await;
}

/// 503 when the database goes away (PostgreSQL: its database is dropped under the service),
/// and the service keeps answering, with problems, instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_answers_503_not_500() {
    let Some(url) = common::pg_url() else {
        // SQLite cannot lose its file under open connections; the PostgreSQL run (CI sets
        // LINER_TEST_PG_URL) is where this is proven.
        common::not_run("a lost database answers 503");
        return;
    };
    let backend = common::pg_backend(&url).await;
    let s = Server::start(backend).await;
    let rec = format!("/v1/recordings/{}", liner::ids::RecordingId::new());
    assert_eq!(
        s.get(Role::Reader, &rec)
            .send()
            .await
            .expect("send")
            .status(),
        404
    );
    s.backend.drop().await;
    for path in [rec.as_str(), "/healthz"] {
        let r = s.get(Role::Reader, path).send().await.expect("send");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let (st, problem) = json_of(r).await;
        assert_eq!(st, 503, "{path}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("unavailable"),
            "{problem}"
        );
    }
    s.stop().await;
}

/// A party a recording still credits cannot be deleted: 409 naming the recording, nothing
/// changes; once uncredited, it can be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_party_still_credited_is_refused_naming_who_credits_it() {
    let s = server().await;
    let f = fixture(&s).await;
    let me = artist_party().to_string();
    let delete = |version: &str| {
        s.send(
            Method::DELETE,
            Role::Editor,
            &format!("/v1/parties/{me}"),
            &json!({"reason": "duplicate party"}),
        )
        .header("if-match", format!("\"{version}\""))
        .send()
    };
    let head = s.store.head().await.expect("head");
    let (status, problem) = json_of(delete("1").await.expect("send")).await;
    assert_eq!(status, 409, "{problem}");
    let by: Vec<&str> = problem["referenced_by"]
        .as_array()
        .expect("referenced_by")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(by.contains(&f.recording.as_str()), "{problem}");
    assert!(
        by.contains(&f.own_work.as_str()),
        "the work it writes on: {problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&f.recording)),
        "{problem}"
    );
    assert_eq!(
        s.store.head().await.expect("head"),
        head,
        "nothing was written"
    );
    let (status, party_now) = json_of(
        s.get(Role::Reader, &format!("/v1/parties/{me}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, &party_now["version"]), (200, &json!(1)));

    // Uncredited everywhere, it goes.
    for (coll, id, patch) in [
        (
            "recordings",
            &f.recording,
            json!({"credits": null, "display_artist": []}),
        ),
        ("works", &f.own_work, json!({"writers": null})),
    ] {
        let r = s
            .send(
                Method::PATCH,
                Role::Editor,
                &format!("/v1/{coll}/{id}"),
                &json!({"reason": "the party was a duplicate", "patch": patch}),
            )
            .header("if-match", "\"1\"")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
    let (status, gone) = json_of(delete("1").await.expect("send")).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["deleted"], true);
    s.stop().await;
}

/// What a newer client might send, a member this service does not know, is refused with its
/// path, at any depth: the service defines the protocol, readers keep what they do not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_the_service_does_not_know_are_refused_with_their_path() {
    let s = server().await;
    let f = fixture(&s).await;
    let me = artist_party().to_string();
    for (patch, field) in [
        (json!({"mood": "calm"}), "patch.mood"),
        (
            json!({"credits": [{"party": me, "role": "main_artist", "royalty_code": "X"}]}),
            "patch.credits[0].royalty_code",
        ),
        (
            json!({"features": {"tempo_deci_bpm": 1200, "key": 1, "minor": false, "energy": 1, "danceability": 1, "valence": 3}}),
            "patch.features.valence",
        ),
    ] {
        let (status, problem) = json_of(
            s.send(
                Method::PATCH,
                Role::Editor,
                &format!("/v1/recordings/{}", f.recording),
                &json!({"reason": "newer client", "patch": patch}),
            )
            .header("if-match", "\"1\"")
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(
            problem["errors"][0]["rule"]
                .as_str()
                .is_some_and(|r| r.contains("unknown field")),
            "{problem}"
        );
    }
    s.stop().await;
}
