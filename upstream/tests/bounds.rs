//! What no client may do to the others, through real sockets against the service on port 0:
//! hold snapshot readers or read transactions by reading slowly, hold connections with
//! half-sent requests or by sitting idle, open more connections than the cap, spend more
//! edits than its budget (kept in the store, so a second instance on the same database
//! counts them too), or keep a stopping service from stopping. Each is bounded in time here
//! by the service's limits, set small.

mod common;

use std::time::Duration;

use common::{Backend, Server, json_of, party};
use liner_upstream::Limits;
use liner_upstream::auth::Role;
use liner_upstream::budget::Budget;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Limits small enough that every bound is reached within a test.
fn tight() -> Limits {
    Limits {
        snapshot_streams: 2,
        snapshot_chunk_bytes: 8 * 1024,
        snapshot_min_rate: 64 * 1024,
        snapshot_chunk_floor: Duration::from_millis(1500),
        header_read_timeout: Duration::from_millis(600),
        // Past the chunk floor, so a stalled snapshot is the snapshot's to cut off.
        idle_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_millis(500),
        ..Limits::default()
    }
}

async fn seeded(backend: Backend, limits: Limits, recordings: u64) -> Server {
    let s = Server::start_with(backend, limits).await;
    liner_upstream::seed::seed(
        s.store.as_ref(),
        liner::generate::CatalogSpec::new(recordings, 9).with_history(),
        |_| {},
    )
    .await
    .expect("seed");
    s
}

/// A connection with a receive buffer of a few kilobytes, so a client that stops reading
/// stops the sender soon.
async fn narrow(s: &Server) -> TcpStream {
    let addr = s.base.trim_start_matches("http://").parse().expect("addr");
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    socket.connect(addr).await.expect("connect")
}

/// Sends a snapshot request and reads its status line and headers only.
async fn start_snapshot(s: &Server) -> (TcpStream, String) {
    let mut c = narrow(s).await;
    let request = format!(
        "GET /v1/snapshot?history=all HTTP/1.1\r\nhost: liner\r\nauthorization: Bearer {}\r\n\r\n",
        s.token(Role::Reader)
    );
    c.write_all(request.as_bytes()).await.expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = c.read(&mut byte).await.expect("read head");
        assert_eq!(
            n,
            1,
            "closed before the headers: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    (c, String::from_utf8_lossy(&head).into_owned())
}

/// Reads what is left of a connection, a kilobyte a second, until the service closes it;
/// what came, and whether it closed within `limit`.
async fn trickle(mut c: TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 1024];
    loop {
        if tokio::time::Instant::now() >= deadline {
            return (got, false);
        }
        match tokio::time::timeout_at(deadline, c.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0) | Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits for `holds` to come true, asking every 50 ms; fails with `what` after `limit`.
async fn until<F, Fut>(what: &str, limit: Duration, mut holds: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !holds().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of `liner_refused_total{reason}` now.
async fn refused(s: &Server, reason: &str) -> u64 {
    let needle = format!("liner_refused_total{{reason=\"{reason}\"}} ");
    s.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&needle)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {reason} series in /metrics"))
}

/// Read transactions open on the database now: for SQLite whether a full checkpoint can
/// complete (a reader holding an old snapshot stops it), for PostgreSQL the sessions idle in
/// a transaction.
async fn readers_holding(s: &Server) -> u64 {
    match &s.backend {
        Backend::Sqlite(dir) => {
            let path = dir.path().join("catalog.db");
            tokio::task::spawn_blocking(move || {
                let c = rusqlite::Connection::open(path).expect("open");
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, u64>(0)
                })
                .expect("checkpoint")
            })
            .await
            .expect("join")
        }
        Backend::Postgres { .. } => {
            let (client, conn) = tokio_postgres::connect(&s.backend.url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let n: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND state = 'idle in transaction'",
                    &[],
                )
                .await
                .expect("activity")
                .get(0);
            n as u64
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_snapshot_readers_hold_no_transaction_get_cut_off_and_never_starve_others() {
    for backend in common::backends().await {
        let name = backend.name();
        // Larger than the kernel's socket buffers (4 MB for the sender here), or a slow client
        // would simply get all of it queued there, holding nothing of the service's.
        let s = seeded(backend, tight(), 3_000).await;
        let (a, head_a) = start_snapshot(&s).await;
        let (b, head_b) = start_snapshot(&s).await;
        for head in [&head_a, &head_b] {
            assert!(head.starts_with("HTTP/1.1 200"), "{name}: {head}");
        }
        // The token has its two: a third of its own is refused for that.
        let (_, own) = json_of(
            s.get(Role::Reader, "/v1/snapshot")
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert!(
            own["detail"]
                .as_str()
                .is_some_and(|d| d.contains("this token already has 2")),
            "{name}: {own}"
        );
        // Both places are taken: another token is told to come back, and when.
        let third = s
            .get(Role::Support, "/v1/snapshot")
            .send()
            .await
            .expect("send");
        assert_eq!(third.status(), 503, "{name}");
        let retry: u64 = third.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!(retry >= 1, "{name}: Retry-After {retry}");
        let (_, problem) = json_of(third).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("snapshot")),
            "{name}: {problem}"
        );
        // Edits and reads go on, and nothing holds a read transaction while the readers stall.
        let (status, body) = json_of(
            s.send(
                Method::POST,
                Role::Editor,
                "/v1/parties",
                &json!({"reason": "while they stall", "data": party(None, "Alice Coltrane")}),
            )
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, 201, "{name}: {body}");
        assert_eq!(
            s.get(Role::Reader, "/v1/me")
                .send()
                .await
                .expect("me")
                .status(),
            200
        );
        // A chunk being read holds one for a moment; a stalled snapshot must hold none.
        until(
            &format!("{name}: a stalled snapshot holds a read transaction"),
            Duration::from_secs(10),
            || async { readers_holding(&s).await == 0 },
        )
        .await;
        // Read at a kilobyte a second, they are cut off: the service lets go of them (the
        // client may only learn it from a reset when it next writes).
        let readers: Vec<_> = [a, b]
            .into_iter()
            .map(|c| tokio::spawn(trickle(c, Duration::from_secs(60))))
            .collect();
        until(
            &format!("{name}: slow readers were never cut off"),
            Duration::from_secs(40),
            || async { refused(&s, "snapshot_slow").await >= 2 },
        )
        .await;
        for r in readers {
            r.abort();
        }
        assert!(refused(&s, "snapshot_busy").await >= 2, "{name}");
        // The places are free again, and a client that reads gets the whole snapshot.
        let whole = s
            .get(Role::Reader, "/v1/snapshot")
            .send()
            .await
            .expect("send");
        assert_eq!(whole.status(), 200, "{name}");
        let text = whole.text().await.expect("body");
        let trailer: Value =
            serde_json::from_str(text.lines().last().expect("lines")).expect("trailer");
        assert_eq!(
            trailer["count"].as_u64(),
            Some(text.lines().count() as u64 - 1),
            "{name}: the trailer counts the records sent"
        );
        s.stop().await;
    }
}

/// Entities and versions from NDJSON change records, the newest version of each winning:
/// what a mirror's version-gated apply keeps.
fn apply(state: &mut std::collections::HashMap<String, u64>, ndjson: &str) {
    for line in ndjson.lines() {
        let v: Value = serde_json::from_str(line).expect("record");
        if v.get("next").is_some() {
            continue;
        }
        let id = v["id"].as_str().expect("id").to_owned();
        let version = v["version"].as_u64().expect("version");
        let held = state.entry(id).or_default();
        *held = (*held).max(version);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_snapshot_taken_during_writes_and_the_feed_after_its_cursor_add_up_to_the_catalog()
 {
    for backend in common::backends().await {
        let name = backend.name();
        let limits = Limits {
            snapshot_chunk_bytes: 4 * 1024,
            ..Limits::default()
        };
        let s = seeded(backend, limits, 200).await;
        let (status, body) = json_of(
            s.send(
                Method::POST,
                Role::Editor,
                "/v1/parties",
                &json!({"reason": "to edit", "data": party(None, "Pharoah Sanders")}),
            )
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(status, 201, "{name}: {body}");
        let id = body["id"].as_str().expect("id").to_owned();
        // A writer changes an early entity and creates new ones while the snapshot streams.
        let writer = {
            let (http, base, token) = (
                s.http.clone(),
                s.base.clone(),
                s.token(Role::Editor).to_owned(),
            );
            let id = id.clone();
            tokio::spawn(async move {
                for i in 1..=20u64 {
                    let r = http
                        .patch(format!("{base}/v1/parties/{id}"))
                        .bearer_auth(&token)
                        .header("if-match", format!("\"{i}\""))
                        .json(
                            &json!({"reason": "during", "patch": {"name": format!("Pharoah {i}")}}),
                        )
                        .send()
                        .await
                        .expect("patch");
                    assert_eq!(r.status(), 200);
                    let r = http
                        .post(format!("{base}/v1/parties"))
                        .bearer_auth(&token)
                        .json(
                            &json!({"reason": "during", "data": party(None, &format!("New {i}"))}),
                        )
                        .send()
                        .await
                        .expect("create");
                    assert_eq!(r.status(), 201);
                }
            })
        };
        let mut response = s
            .get(Role::Reader, "/v1/snapshot")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{name}");
        let mut text = String::new();
        while let Some(piece) = response.chunk().await.expect("chunk") {
            text.push_str(std::str::from_utf8(&piece).expect("utf-8"));
            // Slow enough that the writer gets in between chunks.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        writer.await.expect("writer");
        let trailer: Value =
            serde_json::from_str(text.lines().last().expect("lines")).expect("trailer");
        let mut mirror = std::collections::HashMap::new();
        apply(&mut mirror, &text);
        // Tail the feed from the trailer's cursor until caught up.
        let mut next = trailer["next"].as_str().expect("next").to_owned();
        loop {
            let page = s
                .get(Role::Reader, &format!("/v1/changes?since={next}"))
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("page");
            apply(&mut mirror, &page);
            let t: Value =
                serde_json::from_str(page.lines().last().expect("trailer")).expect("json");
            next = t["next"].as_str().expect("next").to_owned();
            if t["up_to_date"] == true {
                break;
            }
        }
        // A snapshot taken now, with nothing writing, is the catalog.
        let now = s
            .get(Role::Reader, "/v1/snapshot")
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("body");
        let mut catalog = std::collections::HashMap::new();
        apply(&mut catalog, &now);
        assert_eq!(mirror.len(), catalog.len(), "{name}: entities");
        assert_eq!(mirror, catalog, "{name}: versions");
        assert_eq!(catalog[&id], 21, "{name}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_silent_and_idle_connections_are_closed() {
    let s = Server::start_with(
        Backend::Sqlite(tempfile::tempdir().expect("tempdir")),
        tight(),
    )
    .await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    // Slowloris: a request line and one header, then a byte now and then, never the end.
    let mut loris = TcpStream::connect(&addr).await.expect("connect");
    loris
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: liner\r\n")
        .await
        .expect("send");
    // Silent: connects and sends nothing.
    let silent = TcpStream::connect(&addr).await.expect("connect");
    // Idle: one whole request answered, then nothing.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: liner\r\n\r\n")
        .await
        .expect("send");
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).await.expect("answer");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    let drip = tokio::spawn(async move {
        for _ in 0..40 {
            if loris.write_all(b"x").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut rest = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), loris.read(&mut rest)).await,
            Ok(Ok(0) | Err(_))
        )
    });
    for (what, c) in [("silent", silent), ("idle", idle)] {
        let (_, closed) = trickle(c, Duration::from_secs(10)).await;
        assert!(closed, "a {what} connection was never closed");
    }
    assert!(
        drip.await.expect("drip"),
        "a half-sent request kept its connection"
    );
    // The silent one and the kept-alive one waiting for its next request are both past the
    // header timeout, which is shorter than the idle one here.
    assert!(refused(&s, "header_timeout").await >= 2);
    // Whoever sends a whole request is served as ever.
    assert_eq!(
        s.get(Role::Reader, "/v1/me")
            .send()
            .await
            .expect("me")
            .status(),
        200
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_is_told_503_and_the_cap_frees_as_they_close() {
    let limits = Limits {
        max_connections: 3,
        header_read_timeout: Duration::from_secs(30),
        ..tight()
    };
    let s = Server::start_with(
        Backend::Sqlite(tempfile::tempdir().expect("tempdir")),
        limits,
    )
    .await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // The accept loop takes them in order; give it the three before the fourth.
    let mut fourth = None;
    for _ in 0..50 {
        let mut c = TcpStream::connect(&addr).await.expect("connect");
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: liner\r\n\r\n")
            .await
            .expect("send");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        if text.starts_with("HTTP/1.1 503") {
            fourth = Some(text);
            break;
        }
    }
    let text = fourth.expect("a fourth connection was never turned away");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("too many connections"), "{text}");
    drop(held);
    until(
        "the cap never freed after the connections closed",
        Duration::from_secs(2),
        || async {
            s.get(Role::Reader, "/v1/me")
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        },
    )
    .await;
    assert!(refused(&s, "connections_full").await >= 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_service_stops_within_its_grace_whatever_the_clients_do() {
    for backend in common::backends().await {
        let name = backend.name();
        let s = seeded(backend, tight(), 300).await;
        let addr = s.base.trim_start_matches("http://").to_owned();
        let (stalled, head) = start_snapshot(&s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{name}: {head}");
        let mut loris = TcpStream::connect(&addr).await.expect("connect");
        loris
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("send");
        let poll = s.get(Role::Reader, "/v1/changes?wait=60s&since=").send();
        let poll = tokio::spawn(poll);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), s.stop())
            .await
            .unwrap_or_else(|_| panic!("{name}: the service did not stop within 5 s"));
        let took = started.elapsed();
        drop((stalled, loris));
        // The long-poll was answered, not cut: it had what it had.
        let answered = poll.await.expect("join");
        assert!(
            answered.is_ok_and(|r| r.status() == 200),
            "{name}: a waiting long-poll is answered on shutdown"
        );
        eprintln!("{name}: stopped in {took:?}");
    }
}

/// An editor's new party, answered with its status.
async fn create(http: &reqwest::Client, base: &str, token: &str, n: u32) -> reqwest::Response {
    http.post(format!("{base}/v1/parties"))
        .bearer_auth(token)
        .json(&json!({"reason": "budget", "data": party(None, &format!("Budget {n}"))}))
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_its_edit_budget_gets_429_with_when_and_a_second_instance_counts_it_too() {
    for backend in common::backends().await {
        let name = backend.name();
        let limits = Limits {
            edit_budget: Budget {
                per_second: 1.0,
                burst: 3,
            },
            ..Limits::default()
        };
        let s = Server::start_with(backend, limits.clone()).await;
        // A second instance on the same database.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let other = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let second = tokio::spawn(liner_upstream::serve(
            s.store.clone(),
            limits,
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        let token = s.token(Role::Editor).to_owned();
        let bases = [s.base.clone(), other.clone()];
        let mut statuses = Vec::new();
        for n in 0..4u32 {
            let r = create(&s.http, &bases[n as usize % 2], &token, n).await;
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                let retry: u64 = r.headers()["retry-after"]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("seconds");
                assert!((1..=2).contains(&retry), "{name}: Retry-After {retry}");
                let (_, problem) = json_of(r).await;
                assert!(
                    problem["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("budget")),
                    "{name}: {problem}"
                );
                // Waiting as told is enough.
                tokio::time::sleep(Duration::from_secs(retry)).await;
                let again = create(&s.http, &bases[1], &token, 100 + n).await;
                assert_eq!(again.status(), 201, "{name}: after Retry-After");
            }
        }
        assert_eq!(
            statuses,
            [201, 201, 201, 429],
            "{name}: a burst of three, across both instances"
        );
        // Another token's budget is its own.
        let admin = create(&s.http, &s.base, s.token(Role::Admin), 7).await;
        assert_eq!(admin.status(), 201, "{name}");
        // Reads are not edits.
        assert_eq!(
            s.http
                .get(format!("{other}/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("me")
                .status(),
            200
        );
        let _ = stop.send(());
        second.await.expect("join").expect("second instance");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_its_client_stopped_reading_is_reset_after_the_idle_time() {
    let s = seeded(
        Backend::Sqlite(tempfile::tempdir().expect("tempdir")),
        Limits {
            idle_timeout: Duration::from_millis(800),
            ..tight()
        },
        12_000,
    )
    .await;
    // A feed page of 10,000 records is 8 MB here: more than the socket buffers take.
    let mut c = narrow(&s).await;
    let request = format!(
        "GET /v1/changes?limit=10000 HTTP/1.1\r\nhost: liner\r\naccept-encoding: identity\r\n\
         authorization: Bearer {}\r\n\r\n",
        s.token(Role::Reader)
    );
    c.write_all(request.as_bytes()).await.expect("send");
    let mut head = [0u8; 12];
    c.read_exact(&mut head).await.expect("status line");
    assert_eq!(&head, b"HTTP/1.1 200");
    // It reads nothing more; the service lets go of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while refused(&s, "stalled").await < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "a response nobody reads held its connection: {}",
            s.metrics().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused(&s, "idle").await, 0, "stalled, not idle");
    drop(c);
    s.stop().await;
}
