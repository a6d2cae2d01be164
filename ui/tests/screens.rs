//! Every screen of the console, rendered into a `TestBackend` at 80×24 and 160×48 from a
//! generated mirror and driven by key events, as insta snapshots (ids, times and timings
//! scrubbed).

mod common;

use common::Console;
use liner::model::{Author, Conflict, EntityId, ListField, Source, SourceKind};
use liner::protocol::EditOutcome;
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
    let status = liner::protocol::status::Status {
        state: liner::protocol::status::State::Synced,
        upstream: "http://upstream.test".into(),
        // pid 1 always runs, and its width never shifts a snapshot.
        pid: 1,
        behind: Some(0),
        who: Some(liner::protocol::Me {
            name: "ed".into(),
            role: liner::protocol::Role::Editor,
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

/// A conflicted edit as the pusher leaves one: base, mine and theirs per conflict (the title,
/// and one credit whose role both sides changed), with who made theirs.
fn conflicted_edit(dir: &std::path::Path, recording: EntityId) {
    let mut store = Store::open(dir.join("mirror.sqlite")).expect("store");
    let EntityId::Recording(rec) = recording else {
        panic!("a recording")
    };
    let detail = store
        .recording_detail(rec)
        .expect("read")
        .expect("recording");
    let credits: Vec<serde_json::Value> = detail
        .credits
        .iter()
        .map(|c| serde_json::to_value(&c.credit).expect("credit"))
        .collect();
    let with_role = |role: &str| {
        let mut c = credits[0].clone();
        c["role"] = json!(role);
        c
    };
    let mut mine = credits.clone();
    mine[0] = with_role("remixer");
    let entry = store
        .enqueue_edit(
            recording,
            1,
            json!({"title": "Midnight Saudade Sunrise (Live)", "credits": mine}),
            "title and credits from the live sleeve",
            "ed",
        )
        .expect("enqueue");
    store
        .set_outbox_state(entry.seq, OutboxState::Sent, None)
        .expect("sent");
    let by = Author {
        version: 2,
        actor: "bo.okafor".into(),
        source: Source {
            kind: SourceKind::Editor,
            reference: None,
        },
        reason: "session sheet from the studio".into(),
        at: "2026-11-30T10:15:00Z".parse().expect("time"),
    };
    let mut theirs = credits.clone();
    theirs[0] = with_role("mixing_engineer");
    let outcome = EditOutcome::Conflicted {
        base_version: 1,
        their_version: 2,
        conflicts: vec![
            Conflict {
                field: "title".into(),
                item: None,
                base: Some(json!("Midnight Saudade Sunrise")),
                mine: Some(json!("Midnight Saudade Sunrise (Live)")),
                theirs: Some(json!("Midnight Saudade Sunrise (2024)")),
                theirs_by: Some(by.clone()),
            },
            Conflict {
                field: "credits".into(),
                item: Some(ListField::Credits.key(&credits[0])),
                base: Some(credits[0].clone()),
                mine: Some(mine[0].clone()),
                theirs: Some(theirs[0].clone()),
                theirs_by: Some(by),
            },
        ],
        merged: json!({"title": "Midnight Saudade Sunrise (2024)", "credits": theirs})
            .as_object()
            .cloned()
            .expect("object"),
    };
    store
        .set_outbox_state(entry.seq, OutboxState::Conflicted, Some(&outcome))
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
    // The credit both sides changed: base, mine and theirs of that one credit, in words.
    c.key(KeyCode::Char('j'));
    let screen = c.screen();
    assert!(
        screen.contains("main artist")
            && screen.contains("remixer")
            && screen.contains("mixing engineer")
            && screen.contains("bo.okafor"),
        "{screen}"
    );
    assert!(!screen.contains("pty_"), "parties by name:\n{screen}");
    snap("conflict_credit", width, &screen);
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
fn a_name_shows_its_recordings_and_its_parties_in_two_sections_and_a_partial_match_says_so() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 120, 30);
    // Björk is a party and the artist of recordings: both show, each with its own columns.
    c.typed("bjork");
    let screen = c.screen();
    assert!(screen.contains("── parties ("), "{screen}");
    assert!(screen.contains("◆ Björk"), "{screen}");
    assert!(
        screen.contains("recordings") && screen.contains("kind") && screen.contains("ISNI · IPI"),
        "{screen}"
    );
    let lines: Vec<&str> = screen.lines().collect();
    let rule = lines
        .iter()
        .position(|l| l.starts_with("── parties"))
        .expect("the parties rule");
    assert!(
        lines[..rule]
            .iter()
            .any(|l| l.contains("Björk") && !l.contains('◆')),
        "a recording by Björk above the parties:\n{screen}"
    );
    assert!(!screen.contains("partial"), "{screen}");
    // A click on the first party (below the rule and the party header) selects it, and a
    // second click opens it.
    let first_party = rule + 2;
    let click = || {
        liner_console::console::Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 10,
            row: first_party as u16,
            modifiers: KeyModifiers::NONE,
        })
    };
    c.app.handle(click());
    let Some(liner_console::console::screens::Screen::Search(s)) = c.app.screens.first() else {
        panic!("search")
    };
    let selected = &s.rows[s.cursor.selected];
    assert!(
        matches!(selected.id, EntityId::Party(_)) && selected.title == "Björk",
        "{selected:?}"
    );
    c.app.handle(click());
    c.settle();
    assert!(
        matches!(
            c.app.screens.last(),
            Some(liner_console::console::screens::Screen::Party(_))
        ),
        "the party opens:\n{}",
        c.screen()
    );
    c.key(KeyCode::Esc);

    // One word no entry has: the entries with the others, and the screen says so.
    c.key(KeyCode::Char('/'));
    c.typed(" qqqqzzzz");
    let screen = c.screen();
    assert!(
        screen.contains("partial: no entry has every word"),
        "{screen}"
    );
    assert!(screen.contains("Björk"), "{screen}");
}

#[test]
fn the_role_picker_opens_on_the_credits_role_spelled_as_people_write_it() {
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 80, 24);
    c.typed("midnigt saudade");
    c.key(KeyCode::Enter);
    c.wait_for(" credits ", std::time::Duration::from_secs(10));
    c.key(KeyCode::Char('E'));
    // The second credit is a producer's: the picker opens on "Producer", not "Main artist".
    c.key(KeyCode::Char('j'));
    c.key(KeyCode::Char('r'));
    let screen = c.screen();
    assert!(screen.contains("│›Producer"), "{screen}");
    c.typed("dj");
    let screen = c.screen();
    assert!(screen.contains("DJ mixer"), "{screen}");
    c.key(KeyCode::Esc);
}

#[test]
fn enter_on_a_work_in_a_party_view_opens_the_work() {
    let dir = mirror();
    // A writer of some work in the mirror.
    let writer = {
        let store = Store::open_read_only(dir.path().join(liner_console::generate::DB_FILE))
            .expect("mirror");
        store
            .browse_recordings(None, 400)
            .expect("browse")
            .into_iter()
            .find_map(|r| {
                let detail = store.recording_detail(r.id).ok()??;
                let work = detail.works.into_iter().find(|w| !w.writers.is_empty())?;
                Some(work.writers[0].writer.party)
            })
            .expect("a recording with a written work")
    };
    let mut c = Console::editor(dir.path(), 120, 40);
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char(':'));
    c.typed(&format!("party {writer}"));
    c.key(KeyCode::Enter);
    c.wait_for("credits:", std::time::Duration::from_secs(10));
    // The works are the last rows: the last one is a work.
    c.key(KeyCode::Char('G'));
    let Some(liner_console::console::screens::Screen::Party(p)) = c.app.screens.last() else {
        panic!("the party view")
    };
    assert!(
        matches!(
            p.rows.get(p.cursor.selected),
            Some(liner_console::console::screens::PartyRow::Work { .. })
        ),
        "the last row is a work"
    );
    c.key(KeyCode::Enter);
    c.settle();
    let screen = c.screen();
    assert!(
        matches!(
            c.app.screens.last(),
            Some(liner_console::console::screens::Screen::Work(_))
        ),
        "Enter on a work row opens the work:\n{screen}"
    );
}

#[test]
fn x_on_an_accepted_edit_says_it_cannot_be_discarded_instead_of_asking() {
    let dir = mirror();
    let recording = {
        let store = Store::open_read_only(dir.path().join("mirror.sqlite")).expect("mirror");
        store.browse_recordings(None, 1).expect("browse")[0].id
    };
    {
        let mut store = Store::open(dir.path().join("mirror.sqlite")).expect("store");
        let entry = store
            .enqueue_edit(
                EntityId::Recording(recording),
                1,
                json!({"title": "A Title Fixed"}),
                "typo in the sleeve",
                "ed",
            )
            .expect("enqueue");
        store
            .set_outbox_state(entry.seq, OutboxState::Sent, None)
            .expect("sent");
        store
            .set_outbox_state(
                entry.seq,
                OutboxState::Accepted,
                Some(&EditOutcome::Accepted { version: 2 }),
            )
            .expect("accepted");
    }
    let mut c = Console::editor(dir.path(), 100, 30);
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char(':'));
    c.typed("outbox");
    c.key(KeyCode::Enter);
    c.wait_for("accepted", std::time::Duration::from_secs(10));
    c.key(KeyCode::Char('x'));
    let screen = c.screen();
    assert!(c.app.overlay.is_none(), "no question asked:\n{screen}");
    assert!(screen.contains("was accepted upstream"), "{screen}");
}

#[test]
fn every_command_works_from_every_screen_or_says_why_and_the_breadcrumb_says_where_you_are() {
    let dir = mirror();
    let mut c = Console::editor(dir.path(), 120, 30);
    let command = |c: &mut Console, text: &str| {
        c.key(KeyCode::Char(':'));
        c.typed(text);
        c.key(KeyCode::Enter);
        c.settle();
    };
    c.typed("midnigt saudade");
    c.key(KeyCode::Enter);
    let screen = c.wait_for(" credits ", std::time::Duration::from_secs(10));
    let isrc = screen
        .split_whitespace()
        .skip_while(|w| *w != "ISRC")
        .nth(1)
        .expect("the recording's ISRC")
        .to_owned();
    // Its first credit's party, then :isrc back to the recording, which is further down.
    c.key(KeyCode::Enter);
    c.wait_for("credits:", std::time::Duration::from_secs(10));
    command(&mut c, &format!("isrc {isrc}"));
    assert!(
        matches!(
            c.app.screens.last(),
            Some(liner_console::console::screens::Screen::Detail(_))
        ),
        ":isrc from the party view opens the recording:\n{}",
        c.screen()
    );
    // :history from the status screen says what it needs.
    command(&mut c, "status");
    command(&mut c, "history");
    let screen = c.screen();
    assert!(screen.contains("open one first"), "{screen}");
    // status, outbox, status, outbox: the breadcrumb holds each once.
    command(&mut c, "outbox");
    command(&mut c, "status");
    command(&mut c, "outbox");
    let names: Vec<&str> = c.app.screens.iter().map(|s| s.name()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "outbox").count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "status").count(),
        1,
        "{names:?}"
    );
    // :conflicts has its own name and says when there are none.
    command(&mut c, "conflicts");
    let screen = c.screen();
    assert!(
        screen.contains("conflicts") && screen.contains("no conflicts"),
        "{screen}"
    );
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
    let screen = c.screen();
    assert!(screen.contains("remove Björk as background vocalist?"));
    // The box is wide enough for its own hint.
    assert!(screen.contains("y/n, Enter = the marked one"), "{screen}");
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

/// Text a mirror holds from before the service refused control, bidirectional and invisible
/// format characters (or from an import) is shown without them: nothing in any cell can act on
/// the terminal or hide from the reader. (ratatui drops controls and lone format characters
/// itself; a tag character extends the grapheme before it, and only the console's own pass
/// takes it out.)
#[test]
fn text_stored_before_the_rules_reaches_the_terminal_without_its_controls() {
    let dir = mirror();
    let db = rusqlite::Connection::open(dir.path().join("mirror.sqlite")).expect("mirror");
    let hostile =
        "Midnight \u{202E}\u{1b}]52;c;aGk=\u{7}\u{200B}Saudade\r\n\u{0}\u{2066}X\u{E0041}";
    let changed = db
        .execute(
            "UPDATE recording SET title = ?1 WHERE title LIKE 'Midnight Saudade%'",
            [hostile],
        )
        .expect("update");
    assert!(changed > 0, "the generated mirror has a Midnight Saudade");
    drop(db);
    let mut c = Console::editor(dir.path(), 100, 30);
    c.typed("midnigt saudade");
    c.key(KeyCode::Enter);
    let screen = c.screen();
    assert!(screen.contains("Midnight"), "{screen}");
    assert!(screen.contains("Saudade"), "{screen}");
    let bad: Vec<char> = screen
        .chars()
        .filter(|&ch| ch != '\n' && (ch.is_control() || liner::text::forbidden(ch).is_some()))
        .collect();
    assert!(bad.is_empty(), "{bad:?} reached the screen:\n{screen}");
}
