//! The real `liner-upstream` binary as an operator uses it: seed, create and list tokens,
//! serve on a port it picks, answer, and stop gracefully on SIGTERM (a waiting long-poll is
//! answered at once and the process exits 0).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_liner-upstream"))
}

#[test]
fn an_operator_seeds_issues_a_token_serves_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("catalog.db").display());

    let out = bin()
        .args(["--db", &db, "seed", "--generate", "300"])
        .output()
        .expect("run seed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("seeded"));

    let out = bin()
        .args([
            "--db",
            &db,
            "token",
            "create",
            "--role",
            "editor",
            "--name",
            "Ada Editor",
        ])
        .output()
        .expect("run token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert!(token.starts_with("lnr_") && token.len() == 68, "{token}");

    let out = bin()
        .args([
            "--db", &db, "token", "create", "--role", "artist", "--name", "No Party",
        ])
        .output()
        .expect("run token create");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--party"));

    // An artist token for a party the catalog does not have is refused, with the id.
    let stranger = liner::ids::PartyId::new().to_string();
    let out = bin()
        .args([
            "--db", &db, "token", "create", "--role", "artist", "--name", "Nobody", "--party",
            &stranger,
        ])
        .output()
        .expect("run token create");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&stranger) && err.contains("no such party"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no token was made");

    let out = bin()
        .args(["--db", &db, "token", "list"])
        .output()
        .expect("run token list");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("editor\tAda Editor"), "{listing}");
    assert!(
        !listing.contains(&token),
        "the token itself is never shown again"
    );

    let out = bin()
        .args(["--db", "mysql://x/y", "token", "list"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));

    let mut server = bin()
        .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info,tower_http=debug")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut log = BufReader::new(server.stderr.take().expect("stderr"));
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        assert!(
            log.read_line(&mut line).expect("read log") > 0,
            "the service exited before serving"
        );
        if let Some(rest) = line.split("addr=").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let base = format!("http://{}", addr.expect("address"));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let http = reqwest::Client::new();
        let me: serde_json::Value = http
            .get(format!("{base}/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(me["name"], "Ada Editor");

        let head = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("send");
        let head: serde_json::Value = head.json().await.expect("json");
        let cursor = liner::model::Cursor::new(
            head["epoch"].as_str().expect("epoch"),
            head["head"].as_u64().expect("head"),
        )
        .token();
        // A long-poll waiting at the head, then SIGTERM: it is answered, and the process ends.
        let poll = tokio::spawn({
            let http = http.clone();
            let url = format!("{base}/v1/changes?since={cursor}&wait=60s");
            let token = token.clone();
            async move {
                http.get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("send")
                    .text()
                    .await
                    .expect("body")
            }
        });
        // The poll is in flight once the metrics count it… no: count requests by waiting for
        // the service to have accepted it, which a second request after it proves in order.
        let _ = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("send");
        let status = Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let body = poll.await.expect("poll");
        assert!(body.contains("\"up_to_date\":true"), "{body}");
    });
    let status = server.wait().expect("wait");
    assert!(status.success(), "graceful stop exits 0, got {status}");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut log, &mut rest);
    assert!(rest.contains("stopped"), "{rest}");
    // One line per request: method, route template, status, latency, the token's id and
    // never the token.
    let me = rest
        .lines()
        .find(|l| l.contains("route=/v1/me"))
        .unwrap_or_else(|| panic!("no request line for /v1/me in {rest}"));
    for part in ["method=GET", "token_id=", "status=200", "latency="] {
        assert!(me.contains(part), "{part} missing from {me}");
    }
    assert!(!rest.contains(&token), "the token was logged: {rest}");
}
