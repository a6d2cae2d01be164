//! The key map: every key the console answers to, per screen, with the words that the footer
//! hints and the `?` help are drawn from. Keys that change the catalog are marked `edits`, so a
//! read-only session does not merely refuse them: it does not have them.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. `update` gives each its meaning on the active screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Back,
    FocusSearch,
    Command,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    History,
    PartyOfCredit,
    Outbox,
    Conflicts,
    Status,
    EditCredits,
    EditInEditor,
    EditShares,
    AddCredit,
    RemoveCredit,
    ChangeRole,
    SetInstrument,
    SetCreditedAs,
    ShareUp,
    ShareDown,
    Save,
    Discard,
    PickMine,
    PickTheirs,
    PickBase,
}

/// Where keys are looked up; `Global` applies everywhere below the active screen's own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    SearchInput,
    Results,
    Detail,
    History,
    Party,
    Work,
    Outbox,
    Conflict,
    EditCredits,
    EditShares,
    Status,
}

#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Changes the catalog: absent from read-only sessions.
    pub edits: bool,
    /// Shown in the footer (the rest only in `?`).
    pub hint: bool,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

macro_rules! bind {
    ($label:literal, $action:ident, $help:literal, [$($key:expr),+] $(, $flag:ident)*) => {
        Binding {
            keys: &[$($key),+],
            label: $label,
            action: Action::$action,
            help: $help,
            edits: bind!(@edits $($flag)*),
            hint: bind!(@hint $($flag)*),
        }
    };
    (@edits) => { false };
    (@edits edits $($rest:ident)*) => { true };
    (@edits hint $($rest:ident)*) => { bind!(@edits $($rest)*) };
    (@hint) => { false };
    (@hint hint $($rest:ident)*) => { true };
    (@hint edits $($rest:ident)*) => { bind!(@hint $($rest)*) };
}

const fn ch(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), NONE)
}

const MOVE: [Binding; 6] = [
    bind!("j/↓", Down, "next row", [ch('j'), (KeyCode::Down, NONE)]),
    bind!("k/↑", Up, "previous row", [ch('k'), (KeyCode::Up, NONE)]),
    bind!(
        "PgDn/^d",
        PageDown,
        "a page down",
        [(KeyCode::PageDown, NONE), (KeyCode::Char('d'), CTRL)]
    ),
    bind!(
        "PgUp/^u",
        PageUp,
        "a page up",
        [(KeyCode::PageUp, NONE), (KeyCode::Char('u'), CTRL)]
    ),
    bind!("g/Home", Top, "first row", [ch('g'), (KeyCode::Home, NONE)]),
    bind!(
        "G/End",
        Bottom,
        "last row",
        [(KeyCode::Char('G'), SHIFT), ch('G'), (KeyCode::End, NONE)]
    ),
];

const GLOBAL: &[Binding] = &[
    bind!("/", FocusSearch, "search (home)", [ch('/')], hint),
    bind!(
        ":",
        Command,
        "command: isrc, iswc, party, outbox, conflicts, status, history, quit",
        [ch(':')],
        hint
    ),
    bind!(
        "?",
        Help,
        "help: every key here, searchable",
        [ch('?')],
        hint
    ),
    bind!("Esc", Back, "back", [(KeyCode::Esc, NONE)], hint),
    bind!(
        "q",
        Quit,
        "quit",
        [ch('q'), (KeyCode::Char('c'), CTRL)],
        hint
    ),
];

const SEARCH_INPUT: &[Binding] = &[
    bind!(
        "Enter",
        Open,
        "open the selected result",
        [(KeyCode::Enter, NONE)],
        hint
    ),
    bind!(
        "↓/^n",
        Down,
        "next result",
        [(KeyCode::Down, NONE), (KeyCode::Char('n'), CTRL)],
        hint
    ),
    bind!(
        "↑/^p",
        Up,
        "previous result",
        [(KeyCode::Up, NONE), (KeyCode::Char('p'), CTRL)]
    ),
    bind!("PgDn", PageDown, "a page down", [(KeyCode::PageDown, NONE)]),
    bind!("PgUp", PageUp, "a page up", [(KeyCode::PageUp, NONE)]),
    bind!(
        "Esc",
        Back,
        "leave the query (j/k move, q quits)",
        [(KeyCode::Esc, NONE)],
        hint
    ),
    bind!("^c", Quit, "quit", [(KeyCode::Char('c'), CTRL)], hint),
];

const RESULTS: &[Binding] = &[
    bind!(
        "Enter",
        Open,
        "open the selected result",
        [(KeyCode::Enter, NONE), ch('l')],
        hint
    ),
    bind!(
        "/",
        FocusSearch,
        "type in the query",
        [ch('/'), ch('i')],
        hint
    ),
];

const DETAIL: &[Binding] = &[
    bind!(
        "E",
        EditCredits,
        "edit credits",
        [ch('E'), (KeyCode::Char('E'), SHIFT)],
        edits,
        hint
    ),
    bind!(
        "e",
        EditInEditor,
        "edit in $EDITOR (TOML)",
        [ch('e')],
        edits,
        hint
    ),
    bind!(
        "w",
        EditShares,
        "edit writer shares of the first work",
        [ch('w')],
        edits,
        hint
    ),
    bind!("h", History, "history of this recording", [ch('h')], hint),
    bind!(
        "Enter",
        PartyOfCredit,
        "every credit of the selected credit's party",
        [(KeyCode::Enter, NONE), ch('p')],
        hint
    ),
    bind!(
        "c",
        Conflicts,
        "resolve this recording's conflict",
        [ch('c')],
        edits
    ),
];

const HISTORY: &[Binding] = &[];

const PARTY: &[Binding] = &[
    bind!(
        "Enter",
        Open,
        "open the selected recording",
        [(KeyCode::Enter, NONE)],
        hint
    ),
    bind!("h", History, "history of this party", [ch('h')], hint),
];

const WORK: &[Binding] = &[
    bind!(
        "w",
        EditShares,
        "edit writer shares",
        [ch('w')],
        edits,
        hint
    ),
    bind!("h", History, "history of this work", [ch('h')], hint),
];

const OUTBOX: &[Binding] = &[
    bind!(
        "Enter",
        Open,
        "open: the resolver for a conflict, else the recording",
        [(KeyCode::Enter, NONE)],
        hint
    ),
    bind!(
        "x",
        Discard,
        "discard the selected edit (asks first)",
        [ch('x')],
        edits,
        hint
    ),
];

const CONFLICT: &[Binding] = &[
    bind!(
        "m",
        PickMine,
        "keep mine for the selected conflict",
        [ch('m')],
        edits,
        hint
    ),
    bind!(
        "t",
        PickTheirs,
        "take theirs for the selected conflict",
        [ch('t')],
        edits,
        hint
    ),
    bind!(
        "b",
        PickBase,
        "go back to the base for it",
        [ch('b')],
        edits,
        hint
    ),
    bind!(
        "s",
        Save,
        "resend with these choices (asks for a reason)",
        [ch('s'), (KeyCode::Char('s'), CTRL)],
        edits,
        hint
    ),
    bind!(
        "x",
        Discard,
        "discard this edit (asks first)",
        [ch('x')],
        edits
    ),
];

const EDIT_CREDITS: &[Binding] = &[
    bind!("r", ChangeRole, "change the role", [ch('r')], edits, hint),
    bind!(
        "a",
        AddCredit,
        "add a credit (pick a party, then a role)",
        [ch('a')],
        edits,
        hint
    ),
    bind!(
        "d",
        RemoveCredit,
        "remove the credit (asks first)",
        [ch('d'), (KeyCode::Delete, NONE)],
        edits,
        hint
    ),
    bind!("i", SetInstrument, "set the instrument", [ch('i')], edits),
    bind!(
        "n",
        SetCreditedAs,
        "set the name as credited",
        [ch('n')],
        edits
    ),
    bind!(
        "s",
        Save,
        "save (asks for a reason)",
        [ch('s'), (KeyCode::Char('s'), CTRL)],
        edits,
        hint
    ),
];

const EDIT_SHARES: &[Binding] = &[
    bind!(
        "+/l",
        ShareUp,
        "one percent more for the selected writer",
        [ch('+'), ch('l'), (KeyCode::Right, NONE)],
        edits,
        hint
    ),
    bind!(
        "-/h",
        ShareDown,
        "one percent less",
        [ch('-'), ch('h'), (KeyCode::Left, NONE)],
        edits,
        hint
    ),
    bind!(
        "s",
        Save,
        "save (asks for a reason; shares must total 100%)",
        [ch('s'), (KeyCode::Char('s'), CTRL)],
        edits,
        hint
    ),
];

const STATUS: &[Binding] = &[bind!("o", Outbox, "the outbox", [ch('o')], hint)];

const MOVE_CONTEXTS: [Context; 9] = [
    Context::Results,
    Context::Detail,
    Context::History,
    Context::Party,
    Context::Work,
    Context::Outbox,
    Context::Conflict,
    Context::EditCredits,
    Context::EditShares,
];

/// The screen's own bindings (without the movement keys and the global ones).
pub fn own(ctx: Context) -> &'static [Binding] {
    match ctx {
        Context::Global => GLOBAL,
        Context::SearchInput => SEARCH_INPUT,
        Context::Results => RESULTS,
        Context::Detail => DETAIL,
        Context::History => HISTORY,
        Context::Party => PARTY,
        Context::Work => WORK,
        Context::Outbox => OUTBOX,
        Context::Conflict => CONFLICT,
        Context::EditCredits => EDIT_CREDITS,
        Context::EditShares => EDIT_SHARES,
        Context::Status => STATUS,
    }
}

/// Every binding active in `ctx`, in lookup order: the screen's, movement, then global
/// (typing into the query has no global keys but Ctrl-C).
pub fn active(ctx: Context, read_only: bool) -> impl Iterator<Item = &'static Binding> {
    let movement: &'static [Binding] = if MOVE_CONTEXTS.contains(&ctx) {
        &MOVE
    } else {
        &[]
    };
    let global: &'static [Binding] = if ctx == Context::SearchInput {
        &[]
    } else {
        GLOBAL
    };
    own(ctx)
        .iter()
        .chain(movement)
        .chain(global)
        .filter(move |b| !(read_only && b.edits))
}

/// The action `key` has in `ctx`.
pub fn lookup(ctx: Context, key: KeyEvent, read_only: bool) -> Option<Action> {
    // Terminals differ on whether an upper-case letter carries SHIFT; compare without it.
    let mods = if matches!(key.code, KeyCode::Char(_)) {
        key.modifiers - KeyModifiers::SHIFT
    } else {
        key.modifiers
    };
    active(ctx, read_only)
        .find(|b| {
            b.keys.iter().any(|(code, m)| {
                let m = if matches!(code, KeyCode::Char(_)) {
                    *m - SHIFT
                } else {
                    *m
                };
                *code == key.code && m == mods
            })
        })
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_means_two_things_on_one_screen() {
        for ctx in [
            Context::SearchInput,
            Context::Results,
            Context::Detail,
            Context::History,
            Context::Party,
            Context::Work,
            Context::Outbox,
            Context::Conflict,
            Context::EditCredits,
            Context::EditShares,
            Context::Status,
        ] {
            let mut seen = Vec::new();
            for b in own(ctx)
                .iter()
                .chain(MOVE.iter())
                .filter(|_| MOVE_CONTEXTS.contains(&ctx))
            {
                for k in b.keys {
                    assert!(!seen.contains(k), "{ctx:?}: {k:?} bound twice");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn read_only_sessions_do_not_have_editing_keys() {
        let e = KeyEvent::new(KeyCode::Char('E'), KeyModifiers::SHIFT);
        assert_eq!(lookup(Context::Detail, e, false), Some(Action::EditCredits));
        assert_eq!(lookup(Context::Detail, e, true), None);
        assert!(active(Context::EditCredits, true).all(|b| !b.edits));
    }
}
