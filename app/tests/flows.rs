//! Key-driven flows against a real upstream and daemon in this process (the same pieces
//! `liner demo` runs): an editor corrects a credit and sees upstream confirm it; a change made
//! upstream meanwhile turns the next edit into a conflict, which the resolver settles; a
//! read-only session has no editing keys at all.

#[path = "../../ui/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Console, eventually};
use liner::model::EntityId;
use liner::store::Store;
use liner_console::console::Session;
use liner_console::console::screens::Screen;
use ratatui::crossterm::event::KeyCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn history(
    client: &reqwest::blocking::Client,
    demo: &liner_app::demo::Demo,
    id: EntityId,
) -> Vec<Value> {
    let body: Value = client
        .get(format!("{}/v1/recordings/{id}/history", demo.upstream_url))
        .bearer_auth(&demo.token)
        .send()
        .and_then(|r| r.json())
        .expect("history");
    body["revisions"].as_array().cloned().unwrap_or_default()
}

fn mirrored_version(mirror: &std::path::Path, id: EntityId) -> u64 {
    Store::open_existing(mirror.join("mirror.sqlite"))
        .ok()
        .and_then(|s| s.version_of(id).ok().flatten())
        .unwrap_or(0)
}

/// A console on `mirror` once its daemon has made it searchable; the role comes from the
/// daemon's status, as in a real session.
fn console_when_searchable(
    mirror: &std::path::Path,
    actor: &str,
    width: u16,
    height: u16,
) -> Console {
    eventually("the mirror to be searchable", WAIT, || {
        liner::search::SearchIndex::open_read_only(mirror.join("index"))
            .is_ok_and(|i| i.num_docs() > 400)
    });
    let session = Session {
        actor: actor.into(),
        who: None,
    };
    Console::open(mirror, session, width, height)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn detail_id(c: &Console) -> liner::ids::RecordingId {
    match c.app.screens.last() {
        Some(Screen::Detail(d)) => d.id,
        _ => panic!("expected the recording detail on top"),
    }
}

#[test]
fn an_editor_corrects_a_credit_then_resolves_a_conflict_with_another_desk() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let demo = runtime
        .block_on(liner_app::demo::start(dir.path(), 400, 42, |_| {}))
        .expect("upstream and daemon");
    let mirror = demo.mirror_dir.clone();
    let mut c = console_when_searchable(&mirror, "ed", 100, 30);
    c.wait_for("✓ synced", WAIT);
    c.wait_for("editor demo editor", WAIT);

    // Search with a typo, open the recording.
    c.typed("midnigt saudade");
    assert!(
        c.screen().contains("Midnight Saudade Sunrise"),
        "{}",
        c.screen()
    );
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("version 1") && screen.contains("Producer"),
        "{screen}"
    );
    let id = detail_id(&c);

    // Make the producer the remixer, with a reason.
    c.key(KeyCode::Char('E'));
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('r'));
    c.typed("remixer");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('s'));
    c.typed("sleeve credits the remix");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("edit 1 of credits"),
        "the detail shows the pending value:\n{screen}"
    );
    assert!(screen.contains("Remixer"), "{screen}");

    // linerd pushes it, upstream accepts, the mirror follows: the detail says so.
    let screen = c.wait_for("version 2 ·", WAIT);
    assert!(
        !screen.contains("edit 1 of credits"),
        "confirmed edits leave the banner:\n{screen}"
    );
    assert!(
        screen.contains("v2 editor"),
        "provenance names the revision:\n{screen}"
    );
    let client = reqwest::blocking::Client::new();
    let revisions = history(&client, &demo, EntityId::Recording(id));
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert_eq!(revisions[1]["reason"], "sleeve credits the remix");

    // Open the form on version 2; another desk changes the credits upstream meanwhile.
    c.key(KeyCode::Char('E'));
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('r'));
    c.typed("producer");
    c.key(KeyCode::Enter);
    let current: Value = client
        .get(format!("{}/v1/recordings/{id}", demo.upstream_url))
        .bearer_auth(&demo.token)
        .send()
        .and_then(|r| r.json())
        .expect("read");
    let mut credits = current["data"]["credits"].clone();
    credits[1]["role"] = json!("mixing_engineer");
    let other = client
        .patch(format!("{}/v1/recordings/{id}", demo.upstream_url))
        .bearer_auth(&demo.token)
        .header("if-match", "\"2\"")
        .json(&json!({"reason": "other desk: the mix credit", "patch": {"credits": credits}}))
        .send()
        .expect("other desk");
    assert_eq!(other.status().as_u16(), 200);
    eventually("the mirror to have the other desk's version", WAIT, || {
        mirrored_version(&mirror, EntityId::Recording(id)) == 3
    });

    // Saving against version 2 now conflicts: the same credit changed two ways, one conflict
    // on that credit, naming who made theirs and why.
    c.key(KeyCode::Char('s'));
    c.typed("it was the producer after all");
    c.key(KeyCode::Enter);
    c.wait_for("1 conflict with changes by", WAIT);
    c.key(KeyCode::Char('c'));
    let screen = c.screen();
    assert!(
        screen.contains("theirs") && screen.contains("mixing engineer"),
        "{screen}"
    );
    assert!(screen.contains("producer"), "{screen}");
    assert!(
        screen.contains("“other desk: the mix credit”") && screen.contains("version 3 by"),
        "the resolver says who made theirs, when and why:\n{screen}"
    );
    c.key(KeyCode::Char('m'));
    c.key(KeyCode::Char('s'));
    c.key(KeyCode::Enter); // the reason is prefilled with the edit's own
    let screen = c.wait_for("version 4 ·", WAIT);
    assert!(!screen.contains("conflict"), "{screen}");

    let revisions = history(&client, &demo, EntityId::Recording(id));
    let reasons: Vec<&str> = revisions
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(
        reasons[1..],
        [
            "sleeve credits the remix",
            "other desk: the mix credit",
            "it was the producer after all"
        ],
        "upstream history holds every accepted change"
    );
    runtime.block_on(demo.stop()).expect("stop");
}

#[test]
fn an_artist_session_is_read_only_and_sees_shares_only_on_their_own_works() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let demo = runtime
        .block_on(liner_app::demo::start(
            &dir.path().join("desk"),
            400,
            42,
            |_| {},
        ))
        .expect("upstream and daemon");
    let editor_mirror = demo.mirror_dir.join("mirror.sqlite");
    eventually("the editor's mirror", WAIT, || {
        Store::open_existing(&editor_mirror)
            .is_ok_and(|s| s.parties_named("Beyoncé").is_ok_and(|p| p.len() == 1))
    });
    let beyonce = Store::open_existing(&editor_mirror)
        .expect("mirror")
        .parties_named("Beyoncé")
        .expect("party")[0]
        .id;

    // Beyoncé's own workstation: an artist token bound to her party, its own daemon and mirror.
    let token = runtime
        .block_on(demo.add_token("Beyoncé", liner_upstream::auth::Role::Artist, vec![beyonce]))
        .expect("artist token");
    let artist_dir = dir.path().join("artist");
    std::fs::create_dir_all(&artist_dir).expect("dir");
    let config = liner_daemon::Config {
        data_dir: artist_dir.clone(),
        upstream: liner_daemon::config::Upstream {
            url: demo.upstream_url.clone(),
            token_file: artist_dir.join("token"),
        },
        ..Default::default()
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let daemon = runtime.spawn(liner_daemon::run(config, token, cancel.clone()));
    let mut c = console_when_searchable(&artist_dir, "Beyoncé", 120, 30);
    let screen = c.wait_for("[read-only]", WAIT);
    assert!(screen.contains("artist Beyoncé"), "{screen}");
    c.key(KeyCode::Esc); // out of the query: `:` is a command again
    c.key(KeyCode::Char(':'));
    c.typed("status");
    c.key(KeyCode::Enter);
    let status = c.wait_for("quarantined records", WAIT);
    assert!(
        status.contains("quarantined records   0"),
        "redacted works are mirrored, not quarantined:\n{status}"
    );
    c.key(KeyCode::Char('/'));

    // Her own recording: she writes its work, so she sees the split.
    c.typed("midnigt saudade");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("Beyoncé composer lyricist 100.00%"),
        "{screen}"
    );
    assert!(
        !screen.contains("edit credits") && !screen.contains("$EDITOR"),
        "no editing hints:\n{screen}"
    );
    for key in ['E', 'e', 'w'] {
        c.key(KeyCode::Char(key));
        assert!(
            matches!(c.app.screens.last(), Some(Screen::Detail(_))),
            "{key} must do nothing"
        );
        assert!(c.app.external.is_none());
    }
    c.key(KeyCode::Char('?'));
    let help = c.screen();
    assert!(
        help.contains("history of this recording") && !help.contains("edit credits"),
        "{help}"
    );
    assert!(help.contains("this role cannot edit"), "{help}");
    c.key(KeyCode::Esc);

    // Someone else's: the work and its writers are there, the shares are not.
    c.key(KeyCode::Char('/'));
    c.key_with(
        KeyCode::Char('u'),
        ratatui::crossterm::event::KeyModifiers::CONTROL,
    );
    c.typed("gentle night");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("Gentle Night") && screen.contains("share hidden"),
        "{screen}"
    );
    assert!(
        !screen.contains('%'),
        "no share of a work she does not write:\n{screen}"
    );

    cancel.cancel();
    runtime
        .block_on(daemon)
        .expect("join")
        .expect("artist daemon");
    runtime.block_on(demo.stop()).expect("stop");
}
