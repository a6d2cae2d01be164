//! Identifiers one live entity holds at a time (issue 17, item 6), through real HTTP on port 0
//! and on every backend: an ISRC, ISWC, ISNI or IPI another entity holds is refused with 409
//! naming the field, the value and the holder, however the value is written; a deleted holder
//! frees it; an edit that keeps an entity's own identifier passes; of creates racing for one
//! value, one lands. One batch cannot take a value twice (the store's batches have no HTTP
//! route, so that one goes to the store), and values stored twice before the rule are listed
//! by the migration and the CLI, not dropped.

mod common;

use common::{Backend, Server, backends, json_of, party};
use liner::ident::{Ipi, Isni, Iswc};
use liner::model::{EntityId, EntityKind};
use liner_upstream::auth::{Principal, Role};
use liner_upstream::catalog;
use liner_upstream::store::identifiers::{Held, Scheme};
use liner_upstream::store::{self, Write, WriteOutcome};
use reqwest::Method;
use serde_json::{Value, json};

const E: Role = Role::Editor;
const ISRC: &str = "GBAYC1700598";

async fn post(s: &Server, coll: &str, data: Value) -> (u16, Value) {
    json_of(
        s.send(
            Method::POST,
            E,
            &format!("/v1/{coll}"),
            &json!({"reason": "delivery", "data": data}),
        )
        .send()
        .await
        .expect("send"),
    )
    .await
}

/// Creates and returns the new id.
async fn created(s: &Server, coll: &str, data: Value) -> String {
    let (status, body) = post(s, coll, data).await;
    assert_eq!(status, 201, "{coll}: {body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn change(
    s: &Server,
    method: Method,
    coll: &str,
    id: &str,
    version: u64,
    body: Value,
) -> (u16, Value) {
    json_of(
        s.send(method, E, &format!("/v1/{coll}/{id}"), &body)
            .header("if-match", format!("\"{version}\""))
            .send()
            .await
            .expect("send"),
    )
    .await
}

async fn patch(s: &Server, coll: &str, id: &str, version: u64, fields: Value) -> (u16, Value) {
    let body = json!({"reason": "correction", "patch": fields});
    change(s, Method::PATCH, coll, id, version, body).await
}

async fn delete(s: &Server, coll: &str, id: &str, version: u64) -> (u16, Value) {
    let body = json!({"reason": "duplicate"});
    change(s, Method::DELETE, coll, id, version, body).await
}

async fn read(s: &Server, coll: &str, id: &str) -> (u16, Value) {
    json_of(
        s.get(Role::Reader, &format!("/v1/{coll}/{id}"))
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// A valid ISNI from eight digits, compact.
fn isni(n: u32) -> String {
    let d = format!("0000000{n:08}");
    format!("{d}{}", Isni::check_char_for(d.as_bytes()))
}

/// A valid IPI name number from nine digits, with its leading zeros.
fn ipi(n: u32) -> String {
    let d = format!("{n:09}");
    format!("{d}{:02}", Ipi::check_digits_for(d.as_bytes()))
}

/// A valid ISWC from nine digits, compact.
fn iswc(n: u32) -> String {
    let d = format!("{n:09}");
    let mut nine = [0u8; 9];
    nine.copy_from_slice(d.as_bytes());
    format!("T{d}{}", Iswc::check_digit_for(&nine))
}

fn recording(artist: &str, title: &str, isrc: &str) -> Value {
    json!({"title": title, "isrc": isrc,
           "display_artist": [{"party": artist, "name": "Nina Simone"}]})
}

fn work(writer: &str, iswc: &str) -> Value {
    json!({"title": "Sinnerman", "iswc": iswc,
           "writers": [{"party": writer, "role": "composer", "share": 10000}]})
}

/// The answer is the 409 for `value` held by `holder`, naming `field`.
fn assert_taken(status: u16, problem: &Value, field: &str, value: &str, holder: &str) {
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    let scheme = field.rsplit('.').next().unwrap_or(field);
    let kind = match scheme {
        "isrc" => "recording",
        "iswc" => "work",
        _ => "party",
    };
    let said = format!("{scheme} {value} is already held by {kind} {holder}");
    assert_eq!(problem["errors"][0]["rule"], said.as_str(), "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with(&said)),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_another_entity_holds_is_refused_with_the_holder_on_every_backend() {
    for backend in backends().await {
        let s = Server::start(backend).await;
        let nina = created(&s, "parties", party(None, "Nina Simone")).await;

        // ISRC: the same code written as people write it is the same code.
        let first = created(&s, "recordings", recording(&nina, "Sinnerman", ISRC)).await;
        let again = "rec_01JDEMPT0TENTXZ0000000000A";
        let mut second = recording(&nina, "Sinnerman (live)", "gb-ayc-17-00598");
        second["id"] = json!(again);
        let (status, problem) = post(&s, "recordings", second).await;
        assert_taken(status, &problem, "data.isrc", ISRC, &first);
        assert_eq!(
            read(&s, "recordings", again).await.0,
            404,
            "nothing written"
        );

        // ISNI and IPI: parties, each scheme on its own.
        let mut holder = party(None, "Eunice Waymon");
        holder["isni"] = json!(isni(12_103_268));
        holder["ipi"] = json!(ipi(1_234_567));
        let eunice = created(&s, "parties", holder).await;
        let mut by_isni = party(None, "Eunice W.");
        let digits: Vec<char> = isni(12_103_268).chars().collect();
        let spaced: Vec<String> = digits.chunks(4).map(|c| c.iter().collect()).collect();
        by_isni["isni"] = json!(format!("ISNI {}", spaced.join(" ")));
        let (status, problem) = post(&s, "parties", by_isni).await;
        assert_taken(status, &problem, "data.isni", &isni(12_103_268), &eunice);
        let mut by_ipi = party(None, "E. Waymon");
        // Societies drop the leading zeros; the number is the same.
        by_ipi["ipi"] = json!(ipi(1_234_567).trim_start_matches('0'));
        let (status, problem) = post(&s, "parties", by_ipi).await;
        assert_taken(status, &problem, "data.ipi", &ipi(1_234_567), &eunice);

        // ISWC: works.
        let song = created(&s, "works", work(&nina, &iswc(34_524_680))).await;
        let hyphenated = {
            let c = iswc(34_524_680);
            format!("T-{}.{}.{}-{}", &c[1..4], &c[4..7], &c[7..10], &c[10..])
        };
        let (status, problem) = post(&s, "works", work(&nina, &hyphenated)).await;
        assert_taken(status, &problem, "data.iswc", &iswc(34_524_680), &song);

        // A patch that would take another's value is refused where the patch says it.
        let other = created(
            &s,
            "recordings",
            recording(&nina, "Ne me quitte pas", "USRC17607839"),
        )
        .await;
        let (status, problem) = patch(&s, "recordings", &other, 1, json!({"isrc": ISRC})).await;
        assert_taken(status, &problem, "patch.isrc", ISRC, &first);
        let (_, kept) = read(&s, "recordings", &other).await;
        assert_eq!(kept["version"], 1, "{kept}");
        assert_eq!(kept["data"]["isrc"], "USRC17607839");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_holder_frees_its_identifier_and_an_edit_keeping_one_passes() {
    for backend in backends().await {
        let s = Server::start(backend).await;
        let nina = created(&s, "parties", party(None, "Nina Simone")).await;
        let first = created(&s, "recordings", recording(&nina, "Sinnerman", ISRC)).await;

        // Edits that leave the ISRC alone, or send it again written differently, keep it.
        let (status, body) = patch(
            &s,
            "recordings",
            &first,
            1,
            json!({"title": "Sinnerman (1965)"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = patch(
            &s,
            "recordings",
            &first,
            2,
            json!({"title": "Sinnerman", "isrc": "GB-AYC-17-00598"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["isrc"], ISRC, "{body}");

        // Deleting the holder frees the value for another recording.
        let (status, body) = delete(&s, "recordings", &first, 3).await;
        assert_eq!(status, 200, "{body}");
        let second = created(&s, "recordings", recording(&nina, "Sinnerman", ISRC)).await;
        assert_ne!(second, first);

        // Giving an identifier up frees it too: the party's ISNI moves to another party.
        let mut holder = party(None, "Eunice Waymon");
        holder["isni"] = json!(isni(12_103_268));
        let eunice = created(&s, "parties", holder).await;
        let (status, body) = patch(&s, "parties", &eunice, 1, json!({"isni": null})).await;
        assert_eq!(status, 200, "{body}");
        let mut taker = party(None, "Eunice Kathleen Waymon");
        taker["isni"] = json!(isni(12_103_268));
        created(&s, "parties", taker).await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_twenty_creates_sent_at_once_with_one_isrc_one_lands() {
    for backend in backends().await {
        let s = Server::start(backend).await;
        let nina = created(&s, "parties", party(None, "Nina Simone")).await;
        // One artist per take: a write locks the rows it names, so takes crediting one party
        // would take turns on it and never race on the ISRC at all.
        let mut artists = Vec::new();
        for i in 0..20 {
            artists.push(created(&s, "parties", party(None, &format!("Player {i}"))).await);
        }
        for round in 0..3 {
            let isrc = format!("GBAYC17{:05}", 600 + round);
            // Held once and freed: the race is then over a value the store has seen before.
            let earlier = created(&s, "recordings", recording(&nina, "Demo", &isrc)).await;
            let (status, body) = delete(&s, "recordings", &earlier, 1).await;
            assert_eq!(status, 200, "{body}");
            let sent: Vec<_> = artists
                .iter()
                .map(|artist| post(&s, "recordings", recording(artist, "Take", &isrc)))
                .collect();
            let statuses: Vec<u16> = futures_util::future::join_all(sent)
                .await
                .into_iter()
                .map(|(status, _)| status)
                .collect();
            assert_eq!(
                statuses.iter().filter(|&&st| st == 201).count(),
                1,
                "{}: {statuses:?}",
                s.backend.name()
            );
            assert!(
                statuses.iter().all(|&st| st == 201 || st == 409),
                "{statuses:?}"
            );
        }
        assert_eq!(
            s.store.identifier_duplicates().await.expect("duplicates"),
            []
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_lists_the_409_where_an_identifier_can_be_taken() {
    let s = Server::start(Backend::Sqlite(tempfile::tempdir().expect("tempdir"))).await;
    let (status, doc) = json_of(
        s.http
            .get(s.url("/v1/openapi.json"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/v1/{collection}", "post"),
        ("/v1/{collection}/{id}", "patch"),
    ] {
        let described = doc["paths"][path][method]["responses"]["409"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(described.contains("isrc"), "{method} {path}: {described:?}");
    }
    s.stop().await;
}

fn principal() -> Principal {
    Principal {
        token_id: 0,
        name: "tester".into(),
        role: Role::Editor,
        parties: Vec::new(),
    }
}

/// A create as the catalog builds it, for writing batches straight to a store.
fn create(kind: EntityKind, data: Value) -> Write {
    catalog::create(
        &principal(),
        kind,
        data,
        "delivery".into(),
        catalog::editor_source(),
    )
    .expect("valid")
    .0
}

fn party_write(name: &str) -> (Write, String) {
    let w = create(EntityKind::Party, party(None, name));
    let id = w.id.to_string();
    (w, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creates_in_one_batch_cannot_take_one_isrc() {
    for backend in backends().await {
        let s = Server::start(backend).await;
        let (artist, nina) = party_write("Nina Simone");
        let a = create(EntityKind::Recording, recording(&nina, "Sinnerman", ISRC));
        let b = create(
            EntityKind::Recording,
            recording(&nina, "Sinnerman (live)", "gb-ayc-17-00598"),
        );
        let (a_id, b_id) = (a.id, b.id);
        let head = s.store.head().await.expect("head");
        let outcome = s
            .store
            .write(vec![artist, a, b], None)
            .await
            .expect("write");
        assert_eq!(
            outcome,
            WriteOutcome::IdentifierTaken {
                index: 2,
                scheme: Scheme::Isrc,
                value: ISRC.into(),
                holder: a_id,
            },
            "{}",
            s.backend.name()
        );
        assert_eq!(s.store.head().await.expect("head"), head, "nothing written");
        assert_eq!(s.store.get(a_id).await.expect("get"), None);
        assert_eq!(s.store.get(b_id).await.expect("get"), None);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_catalog_holds_its_identifiers_once_and_they_are_taken() {
    use liner::generate::{CatalogSpec, Generator};
    use liner::model::{ChangeOp, Entity};
    for backend in backends().await {
        let s = Server::start(backend).await;
        let spec = CatalogSpec::new(300, 11).with_history();
        liner_upstream::seed::seed(s.store.as_ref(), spec, |_| {})
            .await
            .expect("the generated catalog seeds");
        assert_eq!(
            s.store.identifier_duplicates().await.expect("duplicates"),
            []
        );
        // A generated recording's ISRC and a generated party's ISNI are taken now.
        let (mut isrc, mut isni_) = (None, None);
        for change in Generator::new(spec, 1_000).flat_map(|b| b.changes) {
            match change.op {
                ChangeOp::Upsert(Entity::Recording(r)) if isrc.is_none() => {
                    isrc = r
                        .isrc
                        .map(|i| (i.as_str().to_lowercase(), r.id.to_string()));
                }
                ChangeOp::Upsert(Entity::Party(p)) if isni_.is_none() => {
                    isni_ = p.isni.map(|i| (i.as_str().to_owned(), p.id.to_string()));
                }
                _ => {}
            }
        }
        let (isrc, recording_holder) = isrc.expect("a generated ISRC");
        let (isni, party_holder) = isni_.expect("a generated ISNI");
        let nina = created(&s, "parties", party(None, "Nina Simone")).await;
        let (status, problem) = post(&s, "recordings", recording(&nina, "Cover", &isrc)).await;
        assert_taken(
            status,
            &problem,
            "data.isrc",
            &isrc.to_uppercase(),
            &recording_holder,
        );
        let mut twin = party(None, "Namesake");
        twin["isni"] = json!(isni);
        let (status, problem) = post(&s, "parties", twin).await;
        assert_taken(status, &problem, "data.isni", &isni, &party_holder);
        s.stop().await;
    }
}

/// Two recordings stored with one ISRC, as a catalog from before the rule could hold them:
/// written with different ISRCs, then the second's data given the first's ISRC and the store
/// put back at schema version 4 (before the identifier index), so opening it migrates again.
async fn stored_twice(backend: &Backend) -> (EntityId, EntityId) {
    let store = store::open(&backend.url()).await.expect("open");
    let (artist, nina) = party_write("Nina Simone");
    let a = create(EntityKind::Recording, recording(&nina, "Sinnerman", ISRC));
    let b = create(
        EntityKind::Recording,
        recording(&nina, "Sinnerman (live)", "USRC17607839"),
    );
    let (a_id, b_id) = (a.id, b.id);
    let outcome = store.write(vec![artist, a, b], None).await.expect("write");
    assert!(
        matches!(outcome, WriteOutcome::Committed { .. }),
        "{outcome:?}"
    );
    let stored = store.get(b_id).await.expect("get").expect("stored");
    let mut data: Value =
        serde_json::from_str(stored.data.as_deref().expect("data")).expect("json");
    data["isrc"] = json!(ISRC);
    let data = data.to_string();
    drop(store);
    match backend {
        Backend::Sqlite(_) => {
            let url = backend.url();
            let path = url.strip_prefix("sqlite:").expect("a sqlite url");
            let conn = rusqlite::Connection::open(path).expect("open the file");
            conn.execute(
                "UPDATE entity SET data = ?1 WHERE id = ?2",
                rusqlite::params![data, b_id.to_string()],
            )
            .expect("update");
            conn.execute_batch("DROP TABLE identifier; PRAGMA user_version = 4;")
                .expect("back to version 4");
        }
        Backend::Postgres { .. } => {
            let (client, conn) = tokio_postgres::connect(&backend.url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .execute(
                    "UPDATE entity SET data = $1 WHERE id = $2",
                    &[&data, &b_id.to_string()],
                )
                .await
                .expect("update");
            client
                .batch_execute(
                    "DROP TABLE identifier; DROP TABLE identifier_claim;
                     DELETE FROM liner_migrations WHERE version > 4;",
                )
                .await
                .expect("back to version 4");
        }
    }
    (a_id, b_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_stored_twice_before_the_rule_are_listed_kept_and_stay_editable() {
    for backend in backends().await {
        let (a, b) = stored_twice(&backend).await;
        let holders = if a < b { [a, b] } else { [b, a] };

        // The operator's command opens (and so migrates) the store: the migration says what it
        // found in the log, and the command lists it, one line per value.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_liner-upstream"))
            .args(["--db", &backend.url(), "identifiers", "duplicates"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run identifiers duplicates");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("isrc {ISRC} is held by 2 live entities")),
            "{stderr}"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("isrc\t{ISRC}\t{},{}\n", holders[0], holders[1]),
            "{stderr}"
        );

        let s = Server::start(backend).await;
        let listed = s.store.identifier_duplicates().await.expect("duplicates");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].held, Held::new(Scheme::Isrc, ISRC));
        assert_eq!(listed[0].holders, holders);

        // Both are still there, and each stays editable while it keeps the shared value.
        for id in holders {
            let id = id.to_string();
            let (status, body) = read(&s, "recordings", &id).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["isrc"], ISRC, "{body}");
            let (status, body) = patch(&s, "recordings", &id, 1, json!({"explicit": true})).await;
            assert_eq!(status, 200, "{body}");
        }
        // A third may not join them.
        let nina = s
            .store
            .get(a)
            .await
            .expect("get")
            .and_then(|r| r.data)
            .and_then(|d| serde_json::from_str::<Value>(&d).ok())
            .and_then(|d| d["display_artist"][0]["party"].as_str().map(str::to_owned))
            .expect("the artist");
        let (status, problem) = post(&s, "recordings", recording(&nina, "Sinnerman", ISRC)).await;
        assert_taken(status, &problem, "data.isrc", ISRC, &holders[0].to_string());
        assert_eq!(
            s.store.identifier_duplicates().await.expect("duplicates"),
            listed,
            "nothing stored changed"
        );
        s.stop().await;
    }
}
