//! What a careless or hostile client can send, through real HTTP against the service on port
//! 0: invented methods and paths that must not grow `/metrics`, entity tags that are almost
//! versions, bodies that name a member twice, cursors past any position. Each is refused with a
//! problem that says what, and nothing stored changes.

mod common;

use common::{Server, json_of, party};
use liner_upstream::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn server() -> Server {
    Server::start(common::Backend::Sqlite(
        tempfile::tempdir().expect("tempdir"),
    ))
    .await
}

/// The request series `/metrics` holds now, one line each.
async fn request_series(s: &Server) -> Vec<String> {
    s.metrics()
        .await
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(series, _)| series)
                .to_owned()
        })
        .collect()
}

/// A party to change, at version 1.
async fn a_party(s: &Server) -> String {
    let (status, body) = json_of(
        s.send(
            Method::POST,
            Role::Editor,
            "/v1/parties",
            &json!({"reason": "setup", "data": party(None, "Nina Simone")}),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// An editor's PATCH of a party with `if_match` as sent.
async fn patch_party(s: &Server, id: &str, if_match: &str, body: &Value) -> (u16, Value) {
    json_of(
        s.send(
            Method::PATCH,
            Role::Editor,
            &format!("/v1/parties/{id}"),
            body,
        )
        .header("if-match", if_match)
        .send()
        .await
        .expect("send"),
    )
    .await
}

async fn version_of(s: &Server, id: &str) -> (u64, Value) {
    let (status, body) = json_of(
        s.get(Role::Editor, &format!("/v1/parties/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (body["version"].as_u64().expect("version"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_invented_methods_and_paths_add_no_metrics_series() {
    let s = server().await;
    let send = |method: &str, path: String| {
        s.http
            .request(
                Method::from_bytes(method.as_bytes()).expect("a method token"),
                s.url(&path),
            )
            .bearer_auth(s.token(Role::Reader))
            .send()
    };
    let invented = |i: usize| match i % 3 {
        0 => (format!("M{i}X"), "/healthz".to_owned()),
        1 => ("GET".to_owned(), format!("/v1/invented{i}/{i}")),
        _ => (format!("Q{i}"), format!("/x{i}/{i}")),
    };
    // One of each kind first: the few series they fall into (`other` methods, `unmatched`
    // routes, a route template's refusals) exist from then on.
    let mut answered = std::collections::BTreeMap::new();
    for i in 0..3 {
        let (method, path) = invented(i);
        let status = send(&method, path).await.expect("send").status();
        *answered.entry(status.as_u16()).or_insert(0) += 1;
    }
    let before = request_series(&s).await;
    for i in 3..10_003 {
        let (method, path) = invented(i);
        let status = send(&method, path).await.expect("send").status();
        *answered.entry(status.as_u16()).or_insert(0) += 1;
    }
    // Refused, all of them: an invented method on a route is 405, an invented path 404.
    assert_eq!(
        answered.keys().copied().collect::<Vec<_>>(),
        vec![404, 405],
        "{answered:?}"
    );
    let after = request_series(&s).await;
    let new: Vec<&String> = after
        .iter()
        .filter(|l| l.starts_with("liner_http") && !before.contains(l))
        .collect();
    // `/metrics` itself was asked once more: its own series may appear, nothing else.
    assert!(
        new.iter().all(|l| l.contains("route=\"/metrics\"")),
        "series added by invented requests: {new:#?}"
    );
    assert!(
        after.len() <= before.len() + 20,
        "{} → {} lines",
        before.len(),
        after.len()
    );
    assert!(
        !after
            .iter()
            .any(|l| l.contains("M1X") || l.contains("invented")),
        "{after:#?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_takes_exactly_one_strong_version() {
    let s = server().await;
    let id = a_party(&s).await;
    let patch = json!({"reason": "spelling", "patch": {"name": "Nina Simone (singer)"}});
    for tag in [
        "W/\"1\"",
        "1",
        "\"01\"",
        "\"1",
        "\"1\", \"2\"",
        "*",
        "\"+1\"",
    ] {
        let (status, problem) = patch_party(&s, &id, tag, &patch).await;
        assert_eq!(status, 400, "If-Match {tag}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("strong entity tag")),
            "{problem}"
        );
        assert_eq!(version_of(&s, &id).await.0, 1, "If-Match {tag} changed it");
    }
    let (status, body) = patch_party(&s, &id, "\"1\"", &patch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(version_of(&s, &id).await.0, 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_named_twice_anywhere_in_a_body_is_refused_with_its_path() {
    let s = server().await;
    let id = a_party(&s).await;
    let (_, stored) = version_of(&s, &id).await;
    for (body, field) in [
        (
            r#"{"reason": "a", "reason": "b", "patch": {"name": "X"}}"#,
            "reason",
        ),
        (
            r#"{"reason": "spelling", "patch": {"name": "Nina", "name": "Eunice Waymon"}}"#,
            "patch.name",
        ),
        (
            r#"{"reason": "ids", "patch": {"aliases": ["Eunice"], "isni": "0000000121032683", "isni": "0000000121032683"}}"#,
            "patch.isni",
        ),
    ] {
        let (status, problem) = json_of(
            s.http
                .patch(s.url(&format!("/v1/parties/{id}")))
                .bearer_auth(s.token(Role::Editor))
                .header("content-type", "application/json")
                .header("if-match", "\"1\"")
                .body(body)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(
            problem["errors"][0]["rule"]
                .as_str()
                .is_some_and(|r| r.contains("more than once")),
            "{problem}"
        );
    }
    // The same key in two objects is no repetition; creating with a repeated key is refused.
    let (status, problem) = json_of(
        s.http
            .post(s.url("/v1/parties"))
            .bearer_auth(s.token(Role::Editor))
            .header("content-type", "application/json")
            .body(r#"{"reason": "new", "data": {"name": "A", "kind": "person", "name": "B"}}"#)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "data.name", "{problem}");
    assert_eq!(version_of(&s, &id).await.1, stored, "nothing changed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_past_any_position_is_a_bad_request() {
    let s = server().await;
    let (_, health) = json_of(s.http.get(s.url("/healthz")).send().await.expect("send")).await;
    let epoch = health["epoch"].as_str().expect("epoch").to_owned();
    for position in ["9223372036854775808", "18446744073709551615"] {
        let (status, problem) = json_of(
            s.get(
                Role::Reader,
                &format!("/v1/changes?since={epoch}.{position}"),
            )
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, 400, "{position}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("out of range")),
            "{problem}"
        );
    }
    // The largest position there can be is only past the head: 409, resync.
    let (status, problem) = json_of(
        s.get(
            Role::Reader,
            &format!("/v1/changes?since={epoch}.9223372036854775807"),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    s.stop().await;
}

/// Sends one request `n` times at once; their statuses, ETags and bodies.
async fn at_once(
    n: usize,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Vec<(u16, Option<String>, Value)> {
    let sent: Vec<_> = (0..n).map(|_| request().send()).collect();
    let mut answers = Vec::new();
    for r in futures_util::future::join_all(sent).await {
        let r = r.expect("send");
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, body) = json_of(r).await;
        answers.push((status, etag, body));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_sent_twenty_times_at_once_gets_the_first_answer_every_time() {
    let s = server().await;
    for round in 0..5 {
        let id = a_party(&s).await;
        let key = format!("rename-{round}");
        let answers = at_once(20, || {
            s.send(
                Method::PATCH,
                Role::Editor,
                &format!("/v1/parties/{id}"),
                &json!({"reason": "spelling", "patch": {"name": "Nina Simone (singer)"}}),
            )
            .header("if-match", "\"1\"")
            .header("idempotency-key", &key)
        })
        .await;
        for (status, etag, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
            assert_eq!(etag.as_deref(), Some("\"2\""), "round {round}: {body}");
            assert_eq!(body["version"], 2, "{body}");
        }
        let (version, _) = version_of(&s, &id).await;
        assert_eq!(version, 2, "one revision, whatever the retries");

        let key = format!("remove-{round}");
        let answers = at_once(20, || {
            s.send(
                Method::DELETE,
                Role::Editor,
                &format!("/v1/parties/{id}"),
                &json!({"reason": "duplicate"}),
            )
            .header("if-match", "\"2\"")
            .header("idempotency-key", &key)
        })
        .await;
        for (status, etag, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
            assert_eq!(etag.as_deref(), Some("\"3\""), "{body}");
            assert_eq!(body["deleted"], true, "{body}");
        }
    }
    // A create retried at once: one entity, one Location for all.
    let answers = at_once(10, || {
        s.send(
            Method::POST,
            Role::Editor,
            "/v1/parties",
            &json!({"reason": "new", "data": party(Some("pty_01JDEMPT0TENTXZ0000000000A"), "Odetta")}),
        )
        .header("idempotency-key", "create-odetta")
    })
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(statuses.iter().all(|&st| st == 201), "{statuses:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_belong_to_their_token() {
    let s = server().await;
    let a = a_party(&s).await;
    let b = a_party(&s).await;
    let rename = |id: &str, role: Role, name: &str| {
        s.send(
            Method::PATCH,
            role,
            &format!("/v1/parties/{id}"),
            &json!({"reason": "spelling", "patch": {"name": name}}),
        )
        .header("if-match", "\"1\"")
        .header("idempotency-key", "shared-key")
        .send()
    };
    let (status, first) = json_of(rename(&a, Role::Editor, "First").await.expect("send")).await;
    assert_eq!(status, 200, "{first}");
    // The admin's token uses the same key for another change: its own, not a clash, and not
    // the editor's answer.
    let (status, second) = json_of(rename(&b, Role::Admin, "Second").await.expect("send")).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["id"], b.as_str(), "{second}");
    assert_eq!(version_of(&s, &b).await.1["data"]["name"], "Second");
    // The editor retrying gets its first answer, replayed with its ETag.
    let again = rename(&a, Role::Editor, "First").await.expect("send");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["etag"], "\"2\"");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_would_hide_or_act_on_a_terminal_is_refused_and_names_are_stored_in_nfc() {
    let s = server().await;
    let id = a_party(&s).await;
    let (_, stored) = version_of(&s, &id).await;
    let rename = |patch: Value, reason: &str| {
        let body = json!({"reason": reason, "patch": patch});
        let id = id.clone();
        let s = &s;
        async move { patch_party(s, &id, "\"1\"", &body).await }
    };
    for (patch, reason, field) in [
        (json!({"name": "Nina\u{0}"}), "nul", "patch.name"),
        (
            json!({"name": "Nina\u{1b}]52;c;cm0gLXJmIH4=\u{7}"}),
            "osc 52",
            "patch.name",
        ),
        (json!({"name": "\u{202E}anin"}), "bidi", "patch.name"),
        (
            json!({"aliases": ["ok", "two\r\nlines"]}),
            "crlf",
            "patch.aliases[1]",
        ),
        (json!({"name": "N".repeat(1_001)}), "long", "patch.name"),
        (json!({"name": "Nina S."}), "\u{200B}", "reason"),
        (json!({"name": "Nina S."}), "why\u{1b}[2J", "reason"),
    ] {
        let (status, problem) = rename(patch, reason).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(version_of(&s, &id).await.1, stored, "nothing changed");

    // Decomposed "José" is stored composed; a ZWNJ in a Persian name stays.
    let (status, body) = rename(
        json!({"name": "Jose\u{301}", "aliases": ["می\u{200C}خواهم"]}),
        "spelling",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, now) = version_of(&s, &id).await;
    assert_eq!(now["data"]["name"], "Jos\u{e9}");
    assert_eq!(now["data"]["aliases"][0], "می\u{200C}خواهم");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_or_writer_named_twice_is_refused_where_the_second_is() {
    let s = server().await;
    let p = a_party(&s).await;
    let create = |coll: &'static str, data: Value| {
        s.send(
            Method::POST,
            Role::Editor,
            &format!("/v1/{coll}"),
            &json!({"reason": "delivery", "data": data}),
        )
        .send()
    };
    let recording = |credits: Value| {
        json!({"title": "Sinnerman", "display_artist": [{"party": p, "name": "Nina Simone"}],
               "credits": credits})
    };
    for (coll, data, field) in [
        (
            "recordings",
            recording(json!([
                {"party": p, "role": "main_artist"},
                {"party": p, "role": "producer"},
                {"party": p, "role": "main_artist"},
            ])),
            "data.credits[2]",
        ),
        (
            "recordings",
            recording(json!([
                {"party": p, "role": "instrumentalist", "instrument": "piano"},
                {"party": p, "role": "instrumentalist", "instrument": "Piano "},
            ])),
            "data.credits[1]",
        ),
        (
            "works",
            json!({"title": "Sinnerman", "writers": [
                {"party": p, "role": "composer", "share": 5000},
                {"party": p, "role": "composer", "share": 5000},
            ]}),
            "data.writers[1]",
        ),
    ] {
        let (status, problem) = json_of(create(coll, data).await.expect("send")).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // One party on piano and on vocals, or as composer and as lyricist, is two credits.
    for (coll, data) in [
        (
            "recordings",
            recording(json!([
                {"party": p, "role": "instrumentalist", "instrument": "piano"},
                {"party": p, "role": "instrumentalist", "instrument": "vocals"},
                {"party": p, "role": "vocalist"},
            ])),
        ),
        (
            "works",
            json!({"title": "Sinnerman", "writers": [
                {"party": p, "role": "composer", "share": 6000},
                {"party": p, "role": "lyricist", "share": 4000},
            ]}),
        ),
    ] {
        let (status, body) = json_of(create(coll, data).await.expect("send")).await;
        assert_eq!(status, 201, "{body}");
    }
    s.stop().await;
}
