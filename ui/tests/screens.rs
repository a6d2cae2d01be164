//! Every screen of the console, rendered into a `TestBackend` at 80×24 and 160×48 from a
//! generated mirror and driven by key events, as insta snapshots (ids, times and timings
//! scrubbed).

mod common;

use common::Console;
use liner::model::EntityId;
use liner::store::{OutboxState, Store};
use liner_console::cli::GenerateArgs;
use ratatui::crossterm::event::KeyCode;
use serde_json::json;

/// A generated mirror with a daemon status that says "synced".
fn mirror() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    liner_console::generate::run(
        GenerateArgs {
            recordings: 400,
            seed: 42,
            force: false,
        },
        dir.path(),
    )
    .expect("generate");
    let status = liner_daemon::status::Status {
        state: liner_daemon::status::State::Synced,
        upstream: "http://upstream.test".into(),
        // pid 1 always runs, and its width never shifts a snapshot.
        pid: 1,
        behind: Some(0),
        who: Some(liner_daemon::status::Who {
            name: "ed".into(),
            role: "editor".into(),
            parties: vec![],
            may_edit: true,
        }),
        ..Default::default()
    };
    std::fs::write(
        dir.path().join("status.json"),
        serde_json::to_vec(&status).expect("json"),
    )
    .expect("status");
    dir
}

fn snap(name: &str, width: u16, screen: &str) {
    insta::with_settings!({
        filters => vec![
            (r"(rec|pty|wrk|rel)_[0-9A-Z]+…?", "[id]"),
            (r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?Z?)?", "[time]"),
            (r"\d+\.\d ms", "[ms]"),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(format!("{name}_{width}"), screen);
    });
}

/// A conflicted edit as the pusher leaves one: base, mine and theirs per field.
fn conflicted_edit(dir: &std::path::Path, recording: EntityId) {
    let mut store = Store::open(dir.join("mirror.sqlite")).expect("store");
    let entry = store
        .enqueue_edit(
            recording,
            1,
            json!({"title": "Midnight Saudade Sunrise (Live)"}),
            "title on the live sleeve",
            "ed",
        )
        .expect("enqueue");
    store
        .set_outbox_state(entry.seq, OutboxState::Sent, None)
        .expect("sent");
    let detail = json!({
        "base_version": 1,
        "their_version": 2,
        "fields": [{"field": "title", "base": "Midnight Saudade Sunrise", "mine": "Midnight Saudade Sunrise (Live)", "theirs": "Midnight Saudade Sunrise (2024)"}],
    });
    store
        .set_outbox_state(
            entry.seq,
            OutboxState::Conflicted,
            Some(&detail.to_string()),
        )
        .expect("conflicted");
}

fn every_screen(width: u16, height: u16) {
    let dir = mirror();
    let mut c = Console::editor(dir.path(), width, height);
    snap("search_empty", width, &c.screen());

    c.typed("midnigt saudade");
    let screen = c.screen();
    assert!(
        screen.contains("Midnight"),
        "a typo still finds it:\n{screen}"
    );
    snap("search", width, &screen);

    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(screen.contains("credits"), "{screen}");
    snap("detail", width, &screen);

    c.key(KeyCode::Char('h'));
    snap("history", width, &c.screen());
    c.key(KeyCode::Esc);

    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("credits:"),
        "the party view counts credits:\n{screen}"
    );
    snap("party", width, &screen);
    c.key(KeyCode::Esc);

    c.key(KeyCode::Char('E'));
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('r'));
    c.typed("mix");
    snap("edit_credits_role_picker", width, &c.screen());
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("Mixing engineer") && screen.contains("unsaved"),
        "{screen}"
    );
    snap("edit_credits", width, &screen);
    c.key(KeyCode::Char('s'));
    snap("reason_prompt", width, &c.screen());
    c.typed("the sleeve credits the mix");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(screen.contains("pending"), "{screen}");
    snap("detail_pending_edit", width, &screen);

    c.key(KeyCode::Char('w'));
    c.key(KeyCode::Char('-'));
    let screen = c.screen();
    assert!(screen.contains("must total exactly 100.00%"), "{screen}");
    snap("edit_shares", width, &screen);
    c.key(KeyCode::Esc);
    snap("confirm_leave", width, &c.screen());
    // No is the default: Enter keeps the form and its changes.
    c.key(KeyCode::Enter);
    assert!(c.screen().contains("writer shares of"));
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('y'));

    let Some(liner_console::console::screens::Screen::Detail(d)) = c.app.screens.last() else {
        panic!("back on the detail");
    };
    conflicted_edit(dir.path(), EntityId::Recording(d.id));
    c.key(KeyCode::Char(':'));
    c.typed("outbox");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("⚠ conflicted") && screen.contains("● pending"),
        "{screen}"
    );
    snap("outbox", width, &screen);

    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("theirs") && screen.contains("Midnight Saudade Sunrise (2024)"),
        "{screen}"
    );
    snap("conflict", width, &screen);
    c.key(KeyCode::Esc);

    c.key(KeyCode::Char(':'));
    c.typed("status");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(
        screen.contains("✓ synced") && screen.contains("1 conflict"),
        "{screen}"
    );
    snap("status", width, &screen);

    c.key(KeyCode::Char('?'));
    snap("help", width, &c.screen());
}

#[test]
fn every_screen_at_80x24() {
    every_screen(80, 24);
}

#[test]
fn every_screen_at_160x48() {
    every_screen(160, 48);
}

#[test]
fn the_mouse_selects_opens_and_scrolls() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 100, 30);
    c.typed("night");
    let screen = c.screen();
    let rows: Vec<&str> = screen.lines().collect();
    let third = rows
        .iter()
        .position(|l| l.starts_with('›'))
        .expect("the selected first row")
        + 2;
    let mouse = |kind, row: usize| {
        liner_console::console::Msg::Mouse(MouseEvent {
            kind,
            column: 10,
            row: row as u16,
            modifiers: KeyModifiers::NONE,
        })
    };
    c.app
        .handle(mouse(MouseEventKind::Down(MouseButton::Left), third));
    let Some(liner_console::console::screens::Screen::Search(s)) = c.app.screens.first() else {
        panic!("search")
    };
    assert_eq!(s.cursor.selected, 2, "a click selects the row under it");
    c.app.handle(mouse(MouseEventKind::ScrollDown, third));
    let Some(liner_console::console::screens::Screen::Search(s)) = c.app.screens.first() else {
        panic!("search")
    };
    assert_eq!(s.cursor.selected, 5, "the wheel moves three rows");
    // A second click on the selected row opens it.
    c.app
        .handle(mouse(MouseEventKind::Down(MouseButton::Left), third + 3));
    c.app
        .handle(mouse(MouseEventKind::Down(MouseButton::Left), third + 3));
    c.settle();
    assert!(c.screen().contains(" credits "), "{}", c.screen());
}

#[test]
fn adding_a_credit_picks_a_party_by_search_then_a_role_and_removing_one_asks_first() {
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 100, 30);
    c.typed("midnigt saudade");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('E'));
    c.key(KeyCode::Char('a'));
    c.typed("bjork");
    let picker = c.screen();
    assert!(
        picker.contains("add a credit") && picker.contains("Björk"),
        "{picker}"
    );
    c.key(KeyCode::Enter);
    c.typed("background");
    c.key(KeyCode::Enter);
    let Some(liner_console::console::screens::Screen::EditCredits(form)) = c.app.screens.last()
    else {
        panic!("the credit form")
    };
    let added = form.credits.last().expect("a credit");
    assert_eq!(added.party_name, "Björk");
    assert_eq!(added.credit.role, liner::roles::Role::BackgroundVocalist);
    assert_eq!(form.credits.len(), 4);

    // Remove it: No is the default, so Enter keeps it; y removes it.
    c.key(KeyCode::Char('d'));
    assert!(c.screen().contains("remove Björk as background vocalist?"));
    c.key(KeyCode::Enter);
    let Some(liner_console::console::screens::Screen::EditCredits(form)) = c.app.screens.last()
    else {
        panic!("the credit form")
    };
    assert_eq!(form.credits.len(), 4, "Enter answers no");
    c.key(KeyCode::Char('d'));
    c.key(KeyCode::Char('y'));
    let Some(liner_console::console::screens::Screen::EditCredits(form)) = c.app.screens.last()
    else {
        panic!("the credit form")
    };
    assert_eq!(form.credits.len(), 3);

    // Saving needs a reason.
    c.key(KeyCode::Char('i'));
    c.typed("vocoder");
    c.key(KeyCode::Enter);
    c.key(KeyCode::Char('s'));
    c.key(KeyCode::Enter);
    assert!(
        c.screen().contains("a reason is required"),
        "{}",
        c.screen()
    );
}

#[test]
fn commands_open_what_they_name_and_a_late_answer_never_pushes_a_screen() {
    use liner_console::console::Msg;
    use liner_console::console::screens::Screen;
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 100, 30);
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char(':'));
    c.typed("isrc fr aaa 10 00019");
    c.key(KeyCode::Enter);
    assert!(
        c.screen().contains("Midnight Saudade Sunrise"),
        "{}",
        c.screen()
    );
    c.key(KeyCode::Char(':'));
    c.typed("party Beyoncé");
    c.key(KeyCode::Enter);
    assert!(
        matches!(c.app.screens.last(), Some(Screen::Party(_))),
        "{}",
        c.screen()
    );
    c.key(KeyCode::Char(':'));
    c.typed("isrc XX-NOT-AN-ISRC");
    c.key(KeyCode::Enter);
    assert!(c.screen().contains("is not an ISRC"), "{}", c.screen());

    // Open a result and leave before its answer arrives: the answer fills nothing and
    // opens nothing.
    c.key(KeyCode::Char('/'));
    c.typed("midnigt saudade");
    c.app
        .handle(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    c.app
        .handle(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    c.settle();
    assert_eq!(c.app.screens.len(), 1, "{}", c.screen());
}
