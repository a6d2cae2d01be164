//! Crash safety with the real binary: `linerd` is killed with SIGKILL at random moments during
//! bootstrap, live tail and pushing (while the upstream keeps changing and edits are queued),
//! 20 times (or `LINER_CRASH_KILLS`), then restarted. Every queued edit must reach the upstream
//! exactly once; the mirror must end equal to a mirror built cleanly from the upstream's feed
//! (same canonical dump), the search index must hold exactly the store's parties and
//! recordings, and a graceful stop must exit 0.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use liner::model::Cursor;
use liner::search::SearchIndex;
use liner::store::Store;
use liner_daemon::status::{self, State};

mod common;

use common::{Upstream, write_token_file};
use rand::{Rng, SeedableRng};
use serde_json::json;

/// Kills and catalog size: 20 kills of a 4,000-recording catalog in CI;
/// `LINER_CRASH_KILLS` and `LINER_CRASH_RECORDINGS` make a longer run, e.g.
/// `LINER_CRASH_KILLS=120 LINER_CRASH_RECORDINGS=20000 cargo test --release -p liner-daemon --test crash`.
fn scale() -> (usize, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
    };
    (
        var("LINER_CRASH_KILLS", 20) as usize,
        var("LINER_CRASH_RECORDINGS", 4_000),
    )
}

/// SIGKILLs the daemon and counts the state its status file said it was in.
fn kill(
    child: &mut Child,
    config: &std::path::Path,
    status_path: &std::path::Path,
    killed_in: &mut std::collections::BTreeMap<String, usize>,
) {
    if let Some(exit) = child.try_wait().expect("try_wait") {
        panic!(
            "linerd stopped by itself ({exit}) before its kill; it said:\n{}",
            log_tail(config)
        );
    }
    let state = status::read(status_path)
        .map(|s| format!("{:?}", s.state))
        .unwrap_or_else(|_| "starting".into());
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    *killed_in.entry(state).or_default() += 1;
}

/// Starts linerd; its warnings and errors go to `linerd.log` next to the config, across
/// restarts, so a failure below can say what the daemon said.
fn spawn(config: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(config))
        .expect("daemon log");
    Command::new(env!("CARGO_BIN_EXE_linerd"))
        .arg("--config")
        .arg(config)
        .env("LINER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn linerd")
}

fn log_path(config: &std::path::Path) -> std::path::PathBuf {
    config.with_file_name("linerd.log")
}

/// The daemon's last log lines, for a failure message.
fn log_tail(config: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log_path(config)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_nothing() {
    // The upstream, seeded, with a token for the daemon.
    let (kills, recordings) = scale();
    // The first fifth of the kills are aimed at the bootstrap.
    let bootstrap_kills = kills.div_ceil(5);
    let up = Upstream::start("127.0.0.1:0", recordings, 3).await;
    let (store, token, base) = (up.store.clone(), up.token.clone(), up.url());

    // The daemon's config and token file, as a user would write them.
    let home = tempfile::tempdir().expect("tempdir");
    let token_file = home.path().join("token");
    write_token_file(&token_file, &token);
    let data = home.path().join("data");
    let config = home.path().join("liner.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[upstream]\nurl = {base:?}\ntoken_file = {:?}\n[sync]\npage_size = 300\nsnapshot_batch = 700\nwait_seconds = 1\nmax_backoff_seconds = 1\n",
            data.display().to_string(),
            token_file.display().to_string()
        ),
    )
    .expect("config");

    // Meanwhile the catalog keeps changing upstream.
    let editing = Arc::new(AtomicBool::new(true));
    let editor = {
        let editing = editing.clone();
        let base = base.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
            let mut edits = 0;
            while editing.load(Ordering::SeqCst) {
                let rec = liner::generate::recording_id(3, rng.random_range(0..recordings));
                let url = format!("{base}/v1/recordings/{rec}");
                let current: serde_json::Value = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("get")
                    .json()
                    .await
                    .expect("json");
                let version = current["version"].as_u64().expect("version");
                let r = http
                    .patch(&url)
                    .bearer_auth(&token)
                    .header("if-match", format!("\"{version}\""))
                    .json(&json!({"reason": "churn", "patch": {"title": format!("Churn {edits}")}}))
                    .send()
                    .await
                    .expect("patch");
                assert!(r.status() == 200 || r.status() == 412, "{}", r.status());
                edits += 1;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            edits
        })
    };

    // Kill -9 at random moments: the first kills land in the bootstrap, later ones in the tail.
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    let status_path = data.join("status.json");
    let mut killed_in = std::collections::BTreeMap::<String, usize>::new();
    let mut queued = Vec::new();
    for round in 0..kills {
        let mut child = spawn(&config);
        if round < bootstrap_kills {
            // A catalog this small loads in less time than the pauses below, so these kills
            // wait for this daemon to say it is bootstrapping, then strike within a few
            // batches (or just after the last one).
            let pid = child.id();
            let started = Instant::now();
            while !status::read(&status_path)
                .is_ok_and(|s| s.pid == pid && s.state == State::Bootstrapping)
            {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "linerd never said it was bootstrapping\n{}",
                    log_tail(&config)
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..30))).await;
            kill(&mut child, &config, &status_path, &mut killed_in);
            continue;
        }
        // Once the mirror has data, queue an edit as the console would, on a field the churn
        // above never touches, so every one must land upstream exactly once.
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..300))).await;
        if let Ok(mut local) = Store::open(data.join("mirror.sqlite")) {
            let rec = liner::generate::recording_id(3, (100 + round as u64) % recordings);
            if let Ok(Some(version)) = local.version_of(liner::model::EntityId::Recording(rec)) {
                let reason = format!("crash edit {round}");
                local
                    .enqueue_edit(
                        liner::model::EntityId::Recording(rec),
                        version,
                        json!({"genre": format!("genre {round}")}),
                        &reason,
                        "tester",
                    )
                    .expect("enqueue");
                queued.push((rec, reason));
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(30..400))).await;
        kill(&mut child, &config, &status_path, &mut killed_in);
    }
    eprintln!("killed in: {killed_in:?}");
    assert!(
        killed_in.contains_key("Bootstrapping"),
        "no kill landed in the bootstrap: {killed_in:?}"
    );
    assert!(
        killed_in.contains_key("Synced") || killed_in.contains_key("CatchingUp"),
        "no kill landed in the tail: {killed_in:?}"
    );
    editing.store(false, Ordering::SeqCst);
    let edits = editor.await.expect("editor");
    assert!(
        edits > 20,
        "the upstream changed during the kills ({edits} edits)"
    );

    // Restarted, it converges on the upstream head.
    let mut child = spawn(&config);
    let started = Instant::now();
    // Every queued edit reached the upstream exactly once.
    assert!(
        queued.len() >= 10,
        "only {} edits were queued",
        queued.len()
    );
    loop {
        let local = Store::open_read_only(data.join("mirror.sqlite")).expect("mirror");
        let entries = local.outbox(None).expect("outbox");
        if entries
            .iter()
            .all(|e| e.state == liner::store::OutboxState::Accepted)
        {
            assert_eq!(entries.len(), queued.len());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "edits not all accepted: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (rec, reason) in &queued {
        let history = store
            .history(liner::model::EntityId::Recording(*rec))
            .await
            .expect("history");
        let times = history
            .iter()
            .filter(|h| &h.revision.reason == reason)
            .count();
        assert_eq!(
            times, 1,
            "{reason} is in the upstream history {times} times"
        );
    }

    let head = store.head().await.expect("head");
    let target = Cursor::new(store.epoch().await.expect("epoch"), head).token();
    loop {
        let st = status::read(&status_path).ok();
        if st.as_ref().is_some_and(|s| {
            s.pid == child.id()
                && s.state == State::Synced
                && s.cursor.as_deref() == Some(target.as_str())
        }) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "never caught up to {target}: {st:?}\nlinerd said:\n{}",
            log_tail(&config)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A graceful stop commits the index and exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(
        exit.success(),
        "graceful stop exits 0, got {exit}; linerd said:\n{}",
        log_tail(&config)
    );

    // The mirror equals one built cleanly from the whole feed.
    let mirror = Store::open_read_only(data.join("mirror.sqlite")).expect("mirror");
    let reference_dir = tempfile::tempdir().expect("tempdir");
    let mut reference = Store::open(reference_dir.path().join("ref.sqlite")).expect("reference");
    let mut since = 0;
    loop {
        let page = store.changes(since, 5_000).await.expect("feed");
        if page.count == 0 {
            break;
        }
        reference.apply_ndjson(&page.body, None).expect("apply");
        since = page.last;
    }
    // History is the exception: a snapshot carries each entity's latest revision only (the
    // rest stays upstream), so the mirror's revisions are a subset of the replay's.
    let split = |dump: Vec<String>| -> (Vec<String>, BTreeSet<String>) {
        let (rev, state): (Vec<String>, Vec<String>) =
            dump.into_iter().partition(|l| l.starts_with("revision|"));
        (state, rev.into_iter().collect())
    };
    let (ours, our_history) = split(mirror.canonical_dump().expect("dump"));
    let (theirs, their_history) = split(reference.canonical_dump().expect("dump"));
    assert_eq!(ours.len(), theirs.len());
    assert!(
        ours == theirs,
        "the mirror differs from a clean replay of the feed"
    );
    assert!(
        our_history.is_subset(&their_history),
        "the mirror holds history the upstream does not"
    );
    assert_eq!(mirror.quarantine_count().expect("quarantine"), 0);

    // The index holds exactly the store's parties and recordings.
    let index = SearchIndex::open_read_only(data.join("index")).expect("index");
    let indexed: BTreeSet<String> = index.all_ids().expect("ids").into_iter().collect();
    let expected: BTreeSet<String> = theirs
        .iter()
        .filter_map(|l| {
            let mut parts = l.split('|');
            match (parts.next(), parts.next()) {
                (Some("party" | "recording"), Some(id)) => Some(id.to_owned()),
                _ => None,
            }
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        indexed.len(),
        expected.len(),
        "index and store disagree on how many documents"
    );
    assert!(
        indexed == expected,
        "index and store disagree on which documents"
    );

    up.stop().await;
}
