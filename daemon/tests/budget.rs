//! linerd against an upstream that limits how fast a token may edit: every queued edit lands,
//! and the pusher waits as long as the upstream's `Retry-After` says instead of hammering it
//! (or taking the refusal for an outage).

use std::time::Duration;

use liner::model::EntityId;
use liner::protocol::EditOutcome;
use liner::store::{OutboxState, Store};
use liner_daemon::Config;
use liner_daemon::status::{self, State};
use liner_upstream::Limits;
use liner_upstream::budget::Budget;
use serde_json::json;
use tokio_util::sync::CancellationToken;

mod common;

use common::{Upstream, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_past_the_tokens_budget_wait_as_told_and_all_land() {
    // One edit every two seconds, no burst beyond one: the pusher's own backoff (at most a
    // second here) would come back too soon and be refused twice per edit.
    let limits = Limits {
        edit_budget: Budget {
            per_second: 0.5,
            burst: 1,
        },
        ..Limits::default()
    };
    let up = Upstream::start_with("127.0.0.1:0", 50, 6, limits).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.upstream.url = up.url();
    config.sync.wait_seconds = 2;
    config.sync.max_backoff_seconds = 1;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(config, up.token.clone(), cancel.clone()));
    let status_path = dir.path().join("status.json");
    eventually("synced", Duration::from_secs(60), || {
        status::read(&status_path).is_ok_and(|s| s.state == State::Synced)
    })
    .await;
    let mirror = dir.path().join("mirror.sqlite");
    let edits = 4u64;
    for i in 0..edits {
        let rec = EntityId::Recording(liner::generate::recording_id(6, i));
        let mut store = Store::open(&mirror).expect("mirror");
        let base = store.version_of(rec).expect("read").expect("mirrored");
        store
            .enqueue_edit(
                rec,
                base,
                json!({"title": format!("Budgeted {i}")}),
                "a budgeted fix",
                "ann",
            )
            .expect("enqueue");
    }
    eventually("every edit answered", Duration::from_secs(60), || {
        Store::open_read_only(&mirror)
            .and_then(|s| s.outbox(None))
            .is_ok_and(|entries| {
                entries.len() == edits as usize
                    && entries.iter().all(|e| e.state == OutboxState::Accepted)
            })
    })
    .await;
    let entries = Store::open_read_only(&mirror)
        .expect("mirror")
        .outbox(None)
        .expect("outbox");
    assert!(
        entries
            .iter()
            .all(|e| matches!(e.outcome, Some(EditOutcome::Accepted { .. }))),
        "{entries:?}"
    );
    // Each edit after the first was refused once, and waited out exactly as told.
    let metrics = reqwest::get(format!("{}/metrics", up.url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let refused: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("liner_refused_total{reason=\"rate_limited\"} ")?
                .trim()
                .parse()
                .ok()
        })
        .expect("the rate_limited series");
    assert!(
        (1..edits).contains(&refused),
        "{refused} refusals for {edits} edits: the pusher did not wait as told"
    );
    cancel.cancel();
    daemon.await.expect("join").expect("daemon ran");
    up.stop().await;
}
