//! An upstream that misbehaves (500s, the wrong content type, a snapshot cut short, a feed
//! page without its trailer): the daemon backs off, says what is wrong in its status, applies
//! nothing it should not, never crashes, and syncs once the upstream behaves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use liner::model::Cursor;
use liner::store::Store;
use liner_daemon::Config;
use liner_daemon::status::{self, State};
use tokio_util::sync::CancellationToken;

const SERVER_ERROR: usize = 0;
const WRONG_TYPE: usize = 1;
const CUT_SHORT: usize = 2;
const BAD_PAGE: usize = 3;
const GOOD: usize = 4;
/// Headers and half a line, then nothing, with the connection left open.
const STALLED: usize = 5;

fn party_line() -> String {
    let id = liner::generate::party_id(1, 1);
    format!(
        "{{\"entity\":\"party\",\"id\":\"{id}\",\"op\":\"upsert\",\"version\":1,\"data\":{{\"id\":\"{id}\",\"name\":\"Only Party\",\"sort_name\":\"Party, Only\",\"kind\":\"person\"}}}}\n"
    )
}

fn ndjson(body: String, cursor: &str) -> axum::response::Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(cursor) {
        headers.insert("x-liner-cursor", v);
    }
    (headers, body).into_response()
}

async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_upstream_gets_backoff_and_a_clear_status_never_a_bad_apply() {
    let mode = Arc::new(AtomicUsize::new(SERVER_ERROR));
    let cursor = Cursor::new("01JFAKEEPOCH0000000000000A", 1).token();
    let snapshot = {
        let mode = mode.clone();
        let cursor = cursor.clone();
        move || {
            let mode = mode.clone();
            let cursor = cursor.clone();
            async move {
                match mode.load(Ordering::SeqCst) {
                    SERVER_ERROR => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
                    WRONG_TYPE => ([(header::CONTENT_TYPE, "text/html")], "<html>login</html>")
                        .into_response(),
                    CUT_SHORT => ndjson(party_line(), &cursor),
                    STALLED => {
                        let half = futures_util::stream::once(async {
                            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"entity\":\"pa"))
                        });
                        let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(
                            half,
                            futures_util::stream::pending(),
                        ));
                        (
                            [
                                (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
                                (
                                    header::HeaderName::from_static("x-liner-cursor"),
                                    cursor.clone(),
                                ),
                            ],
                            body,
                        )
                            .into_response()
                    }
                    _ => ndjson(
                        format!(
                            "{}{{\"next\":\"{cursor}\",\"up_to_date\":true,\"count\":1}}\n",
                            party_line()
                        ),
                        &cursor,
                    ),
                }
            }
        }
    };
    let changes = {
        let mode = mode.clone();
        let cursor = cursor.clone();
        move || {
            let mode = mode.clone();
            let cursor = cursor.clone();
            async move {
                // A long-poll that finds nothing.
                tokio::time::sleep(Duration::from_millis(200)).await;
                if mode.load(Ordering::SeqCst) == BAD_PAGE {
                    return ndjson("{\"entity\":\"party\",\"id\":\"garbled".into(), &cursor);
                }
                ndjson(
                    format!("{{\"next\":\"{cursor}\",\"up_to_date\":true,\"behind\":0}}\n"),
                    &cursor,
                )
            }
        }
    };
    let app = Router::new()
        .route("/v1/snapshot", get(snapshot))
        .route("/v1/changes", get(changes));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    config.upstream.url = base;
    config.sync.max_backoff_seconds = 1;
    // Reads stall out after wait + 10 s.
    config.sync.wait_seconds = 1;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(config, "lnr_fake".into(), cancel.clone()));
    let status_path = data.path().join("status.json");
    let error_says = |needle: &'static str| {
        let status_path = status_path.clone();
        move || {
            status::read(&status_path).ok().is_some_and(|s| {
                s.state == State::Offline && s.last_error.is_some_and(|e| e.contains(needle))
            })
        }
    };
    let mirror_path = data.path().join("mirror.sqlite");
    let cursor_now = || {
        Store::open_read_only(&mirror_path)
            .ok()
            .and_then(|s| s.cursor().ok().flatten())
    };

    eventually("500 reported", error_says("500")).await;
    assert_eq!(cursor_now(), None);
    mode.store(WRONG_TYPE, Ordering::SeqCst);
    eventually("wrong content type reported", error_says("text/html")).await;
    assert_eq!(cursor_now(), None);
    mode.store(CUT_SHORT, Ordering::SeqCst);
    eventually("cut snapshot reported", error_says("without its trailer")).await;
    assert_eq!(
        cursor_now(),
        None,
        "a snapshot without its trailer never sets the cursor"
    );

    // A snapshot that stops mid-line with the connection open: the read times out, the
    // daemon says so and retries, instead of waiting forever.
    mode.store(STALLED, Ordering::SeqCst);
    eventually(
        "stalled snapshot reported",
        error_says("reading the snapshot"),
    )
    .await;
    assert_eq!(cursor_now(), None);

    mode.store(GOOD, Ordering::SeqCst);
    eventually("synced", || {
        status::read(&status_path).is_ok_and(|s| s.state == State::Synced)
    })
    .await;
    assert_eq!(cursor_now().map(|c| c.token()), Some(cursor.clone()));

    // A garbled feed page is refused whole and the cursor stays where it was.
    mode.store(BAD_PAGE, Ordering::SeqCst);
    eventually("garbled page reported", error_says("garbled")).await;
    assert_eq!(cursor_now().map(|c| c.token()), Some(cursor.clone()));
    let store = Store::open_read_only(&mirror_path).expect("mirror");
    assert_eq!(
        store.counts().expect("counts")[0],
        1,
        "exactly the one party"
    );
    assert_eq!(
        store.quarantine_count().expect("quarantine"),
        0,
        "nothing of the bad page was applied"
    );
    mode.store(GOOD, Ordering::SeqCst);
    eventually("synced again", || {
        status::read(&status_path).is_ok_and(|s| s.state == State::Synced)
    })
    .await;

    cancel.cancel();
    daemon
        .await
        .expect("join")
        .expect("the daemon never failed");
}
