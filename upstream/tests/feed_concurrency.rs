//! The feed under concurrency: many writers at once (HTTP patches racing on the same
//! entities, long multi-thousand-entity transactions, and — on PostgreSQL — transactions that
//! take feed positions and then abort) while a reader pages the feed in small pages with
//! long-poll. Proves that no change is skipped or repeated, that each entity's versions arrive
//! in order, and that replaying the feed into a mirror reproduces the store.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Backend, Server, backends, json_of, party};
use liner::model::{Cursor, EntityId};
use liner_upstream::auth::Role;
use liner_upstream::store::{Expect, Write, WriteOp, WriteOutcome};
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

const ENTITIES: usize = 12;
const WRITERS: usize = 6;
const PATCHES_PER_WRITER: usize = 25;
const BIG_BATCHES: usize = 4;
const BIG_BATCH_SIZE: usize = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_misses_nothing_under_concurrent_writers() {
    for backend in backends().await {
        let name = backend.name();
        let s = Arc::new(Server::start(backend).await);
        race(&s).await;
        eprintln!("feed concurrency held on {name}");
        match Arc::try_unwrap(s) {
            Ok(s) => s.stop().await,
            Err(_) => panic!("server still shared"),
        }
    }
}

async fn race(s: &Arc<Server>) {
    let mut ids = Vec::new();
    for i in 0..ENTITIES {
        let r = s
            .send(
                Method::POST,
                Role::Editor,
                "/v1/parties",
                &json!({"reason": "setup", "data": party(None, &format!("Party {i}"))}),
            )
            .send()
            .await
            .expect("send");
        let (st, body) = json_of(r).await;
        assert_eq!(st, 201, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }

    let done = Arc::new(AtomicBool::new(false));
    // The reader: small pages, long-poll, until the writers are done and it is caught up.
    let reader = {
        let s = s.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut since: Option<String> = None;
            let mut lines: Vec<Value> = Vec::new();
            loop {
                let path = match &since {
                    Some(c) => format!("/v1/changes?since={c}&limit=7&wait=1s"),
                    None => "/v1/changes?limit=7&wait=1s".to_owned(),
                };
                let finished = done.load(Ordering::SeqCst);
                let text = s
                    .get(Role::Reader, &path)
                    .send()
                    .await
                    .expect("send")
                    .text()
                    .await
                    .expect("body");
                let mut page: Vec<Value> = text
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("json"))
                    .collect();
                let trailer = page.pop().expect("trailer");
                lines.extend(page);
                since = Some(trailer["next"].as_str().expect("next").to_owned());
                // Caught up after every writer finished: nothing more can come.
                if finished && trailer["up_to_date"] == true {
                    return (lines, since);
                }
            }
        })
    };

    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let s = s.clone();
        let ids = ids.clone();
        writers.spawn(async move {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(w as u64);
            let mut accepted = 0;
            while accepted < PATCHES_PER_WRITER {
                let id = &ids[rng.random_range(0..ids.len())];
                let path = format!("/v1/parties/{id}");
                let (_, current) = json_of(s.get(Role::Editor, &path).send().await.expect("send")).await;
                let version = current["version"].as_u64().expect("version");
                let r = s
                    .send(Method::PATCH, Role::Editor, &path, &json!({"reason": "race", "patch": {"disambiguation": format!("writer {w} edit {accepted}")}}))
                    .header("if-match", format!("\"{version}\""))
                    .header("idempotency-key", format!("w{w}-{accepted}"))
                    .send()
                    .await
                    .expect("send");
                match r.status().as_u16() {
                    200 => accepted += 1,
                    412 => {} // another writer got there first: read again and retry
                    other => panic!("writer {w}: unexpected {other}: {}", r.text().await.unwrap_or_default()),
                }
            }
        });
    }
    // Long transactions: thousands of creates in one write each.
    for b in 0..BIG_BATCHES {
        let s = s.clone();
        writers.spawn(async move {
            let writes: Vec<Write> = (0..BIG_BATCH_SIZE)
                .map(|i| {
                    let id = liner::ids::PartyId::new();
                    let data = json!({"id": id, "name": format!("Bulk {b}.{i}"), "sort_name": "Bulk", "kind": "group"});
                    Write {
                        id: EntityId::Party(id),
                        expect: Expect::Absent,
                        op: WriteOp::Upsert(data.to_string()),
                        references: Vec::new(),
                        identifiers: Vec::new(),
                        revision: liner::model::Revision { unknown: Default::default(),
                            version: 0,
                            actor: "bulk".into(),
                            source: liner::model::Source { kind: liner::model::SourceKind::Import, reference: Some(format!("batch-{b}")) },
                            reason: "bulk load".into(),
                            at: jiff::Timestamp::now(),
                            diff: Vec::new(),
                        },
                    }
                })
                .collect();
            match s.store.write(writes, None).await.expect("bulk write") {
                WriteOutcome::Committed { .. } => {}
                other => panic!("bulk batch {b}: {other:?}"),
            }
        });
    }
    // Aborted transactions that take feed positions (PostgreSQL: raw SQL on the same tables).
    if let Backend::Postgres { .. } = &s.backend {
        let url = s.backend.url();
        writers.spawn(async move {
            let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            for _ in 0..10 {
                let tx = client.transaction().await.expect("begin");
                let head: i64 = tx
                    .query_one(
                        "UPDATE feed_head SET position = position + 3 RETURNING position",
                        &[],
                    )
                    .await
                    .expect("take positions")
                    .get(0);
                for p in head - 2..=head {
                    tx.execute(
                        "INSERT INTO change (position, record) VALUES ($1, 'aborted')",
                        &[&p],
                    )
                    .await
                    .expect("insert");
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                tx.rollback().await.expect("rollback");
            }
        });
    }
    while let Some(r) = writers.join_next().await {
        r.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let (lines, since) = reader.await.expect("reader");

    // Every committed change exactly once, each entity's versions 1..=n in order.
    let head = s.store.head().await.expect("head");
    assert_eq!(
        lines.len() as u64,
        head,
        "the reader saw every position once"
    );
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    for l in &lines {
        assert_ne!(l.to_string(), "aborted");
        seen.entry(l["id"].as_str().expect("id").to_owned())
            .or_default()
            .push(l["version"].as_u64().expect("version"));
    }
    for (id, versions) in &seen {
        let expected: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(
            versions, &expected,
            "{id}: versions out of order or missing"
        );
        let stored = s
            .store
            .get(id.parse().expect("id"))
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            stored.version,
            versions.len() as u64,
            "{id}: feed ends at the stored version"
        );
    }
    let patched: usize = ids.iter().map(|id| seen[id].len() - 1).sum();
    assert_eq!(
        patched,
        WRITERS * PATCHES_PER_WRITER,
        "every accepted patch is in the feed once"
    );
    assert_eq!(seen.len(), ENTITIES + BIG_BATCHES * BIG_BATCH_SIZE);

    // Replaying the feed into a mirror reproduces the store.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut mirror = liner::store::Store::open(dir.path().join("m.sqlite")).expect("mirror");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let cursor = Cursor::parse_token(since.as_deref().expect("cursor")).expect("cursor");
    let report = mirror.apply_ndjson(&text, Some(&cursor)).expect("apply");
    assert_eq!(report.quarantined, 0);
    for id in &ids {
        let pid: liner::ids::PartyId = id.parse().expect("id");
        let (mirrored, version) = mirror.party(pid).expect("read").expect("mirrored");
        let stored = s
            .store
            .get(EntityId::Party(pid))
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(version, stored.version);
        let upstream: Value =
            serde_json::from_str(stored.data.as_deref().expect("data")).expect("json");
        assert_eq!(
            serde_json::to_value(&mirrored).expect("json"),
            upstream,
            "{id}"
        );
    }
}
