//! The console's state and `update`: key events become [`Action`]s through the key map,
//! actions and worker replies change state, and nothing here waits for I/O: lookups are
//! requests to the worker, whose replies arrive later as messages.

use std::sync::mpsc::Sender;

use liner::model::EntityId;
use liner::protocol::Me as Who;
use liner::roles::Role;
use liner::store::OutboxState;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde_json::Value;

use super::Msg;
use super::keymap::{self, Action, Context};
use super::screens::*;

mod editing;
mod list_area;
mod overlay;
pub use list_area::{ListArea, Section};
mod reply;
use super::worker::{Request, StatusSnapshot};

/// Who is at the keyboard.
#[derive(Debug, Clone)]
pub struct Session {
    /// Signs queued edits (the upstream records the token's holder as well).
    pub actor: String,
    /// From the daemon's last conversation with the upstream; `None` until it has had one.
    pub who: Option<Who>,
}

impl Session {
    /// Read-only when the upstream says the token may not edit. Unknown means editable: the
    /// upstream still refuses what the token may not do, and the refusal comes back.
    pub fn read_only(&self) -> bool {
        self.who.as_ref().is_some_and(|w| !w.may_edit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub text: String,
    pub kind: NoteKind,
    /// The saved edit this note is about (its outbox seq and entity): once the mirror shows
    /// it, the note says so instead of "pending".
    pub edit: Option<(i64, EntityId)>,
}

/// What a confirmation is for.
#[derive(Debug, Clone)]
pub enum ConfirmOp {
    RemoveCredit,
    DiscardEdit(i64),
    LeaveForm,
}

/// What a one-line prompt is for.
#[derive(Debug, Clone)]
pub enum PromptFor {
    Reason(SaveOp),
    Instrument,
    CreditedAs,
}

/// An edit ready to queue once it has a reason.
#[derive(Debug, Clone)]
pub enum SaveOp {
    New {
        entity: EntityId,
        base_version: u64,
        patch: Value,
    },
    Resolve {
        seq: i64,
        base_version: u64,
        patch: Value,
    },
}

#[derive(Debug, Clone)]
pub enum RoleFor {
    Change,
    Add {
        party: liner::ids::PartyId,
        name: String,
    },
}

#[derive(Debug)]
pub enum Overlay {
    Help {
        filter: String,
    },
    Command {
        input: String,
    },
    Confirm {
        question: String,
        op: ConfirmOp,
        yes: bool,
    },
    Prompt {
        title: String,
        input: String,
        purpose: PromptFor,
        error: Option<String>,
    },
    RolePicker {
        filter: String,
        cursor: super::list::ListCursor,
        purpose: RoleFor,
    },
    PartyPicker {
        query: String,
        rows: Vec<super::worker::ResultRow>,
        cursor: super::list::ListCursor,
        generation: u64,
        /// No party has every word of the query: the rows have most of them.
        partial: bool,
    },
}

/// An edit in `$EDITOR`, which the run loop performs with the terminal handed over.
#[derive(Debug, Clone)]
pub struct ExternalEdit {
    pub recording: liner::model::Recording,
    pub version: u64,
    pub text: String,
}

#[derive(Debug)]
pub struct App {
    pub session: Session,
    pub screens: Vec<Screen>,
    pub overlay: Option<Overlay>,
    pub status: StatusSnapshot,
    pub note: Option<Note>,
    pub color: bool,
    pub quit: bool,
    pub external: Option<ExternalEdit>,
    pub list_area: ListArea,
    /// Rows in the last drawn list: what a page is.
    pub page: usize,
    dirty: bool,
    generation: u64,
    requests: Sender<Request>,
    in_flight: usize,
    /// A lookup whose answer opens a screen (`:isrc`, `:party`…). Other answers only fill
    /// screens that are still there, so a late reply never pushes a screen the user left.
    opening: bool,
}

impl App {
    pub fn new(session: Session, requests: Sender<Request>, color: bool) -> App {
        let mut app = App {
            session,
            screens: vec![Screen::Search(SearchScreen {
                typing: true,
                ..SearchScreen::default()
            })],
            overlay: None,
            status: StatusSnapshot::default(),
            note: None,
            color,
            quit: false,
            external: None,
            list_area: ListArea::default(),
            page: 10,
            dirty: true,
            generation: 0,
            requests,
            in_flight: 0,
            opening: false,
        };
        app.ask(Request::Status { counts: false });
        app
    }

    /// Whether the screen changed since the last call (frames are drawn on change only).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Requests sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn read_only(&self) -> bool {
        self.session.read_only()
    }

    fn ask(&mut self, request: Request) {
        if self.requests.send(request).is_ok() {
            self.in_flight += 1;
        } else {
            self.error("the console's worker stopped; restart liner".into());
        }
    }

    /// Asks for something whose answer opens a screen.
    fn look_up(&mut self, request: Request) {
        self.opening = true;
        self.ask(request);
    }

    fn info(&mut self, text: String) {
        self.note = Some(Note {
            text,
            kind: NoteKind::Info,
            edit: None,
        });
    }

    fn error(&mut self, text: String) {
        self.note = Some(Note {
            text,
            kind: NoteKind::Error,
            edit: None,
        });
    }

    pub fn top(&self) -> &Screen {
        self.screens
            .last()
            .unwrap_or_else(|| unreachable!("the search screen is never popped"))
    }

    fn top_mut(&mut self) -> &mut Screen {
        self.screens
            .last_mut()
            .unwrap_or_else(|| unreachable!("the search screen is never popped"))
    }

    /// The key-map context of the active screen.
    pub fn context(&self) -> Context {
        match self.top() {
            Screen::Search(s) if s.typing => Context::SearchInput,
            Screen::Search(_) => Context::Results,
            Screen::Detail(_) => Context::Detail,
            Screen::History(_) => Context::History,
            Screen::Party(_) => Context::Party,
            Screen::Work(_) => Context::Work,
            Screen::Outbox(_) => Context::Outbox,
            Screen::Conflict(_) => Context::Conflict,
            Screen::EditCredits(_) => Context::EditCredits,
            Screen::EditShares(_) => Context::EditShares,
            Screen::Status => Context::Status,
        }
    }

    pub fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.key(key),
            Msg::Key(_) => {}
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize => self.dirty = true,
            Msg::Tick => self.tick(),
            Msg::Reply(reply) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.reply(*reply);
            }
        }
    }

    fn tick(&mut self) {
        let counts = matches!(self.top(), Screen::Status);
        self.ask(Request::Status { counts });
        // Follow a shown edit until the mirror has it, and a shown outbox as it moves.
        let refresh = match self.top() {
            Screen::Detail(d) if d.data.as_ref().is_some_and(|d| !d.edits.is_empty()) => {
                Some(Request::Recording(d.id))
            }
            Screen::Outbox(_) => Some(Request::Outbox),
            _ => None,
        };
        if let Some(r) = refresh {
            self.ask(r);
        }
    }

    fn key(&mut self, key: KeyEvent) {
        self.dirty = true;
        if self.overlay.is_some() {
            self.overlay_key(key);
            return;
        }
        let ctx = self.context();
        if ctx == Context::SearchInput && self.type_into_query(key) {
            return;
        }
        let Some(action) = keymap::lookup(ctx, key, self.read_only()) else {
            return;
        };
        self.note = None;
        self.act(action);
    }

    /// Asks again for the home screen's query, as a new generation.
    fn research(&mut self) {
        let Some(Screen::Search(s)) = self.screens.first() else {
            return;
        };
        if s.query.trim().is_empty() {
            return;
        }
        let text = s.query.clone();
        self.generation += 1;
        let generation = self.generation;
        if let Some(Screen::Search(s)) = self.screens.first_mut() {
            s.generation = generation;
        }
        self.ask(Request::Search { generation, text });
    }

    /// Text editing of the query; false when the key is not text editing.
    fn type_into_query(&mut self, key: KeyEvent) -> bool {
        let Screen::Search(s) = self.top_mut() else {
            return false;
        };
        if !edit_line(&mut s.query, key) {
            return false;
        }
        self.generation += 1;
        let generation = self.generation;
        if let Screen::Search(s) = self.top_mut() {
            s.generation = generation;
            s.cursor = Default::default();
            s.party_offset = 0;
            let text = s.query.clone();
            self.ask(Request::Search { generation, text });
        }
        true
    }

    pub fn act(&mut self, action: Action) {
        let page = self.page.max(1);
        match action {
            Action::Quit => self.quit = true,
            Action::Back => self.back(),
            Action::FocusSearch => {
                self.screens.truncate(1);
                if let Screen::Search(s) = self.top_mut() {
                    s.typing = true;
                }
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command {
                    input: String::new(),
                })
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help {
                    filter: String::new(),
                })
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                if let Some((cursor, len)) = self.top_mut().list() {
                    match action {
                        Action::Up => cursor.up(1),
                        Action::Down => cursor.down(len, 1),
                        Action::PageUp => cursor.up(page),
                        Action::PageDown => cursor.down(len, page),
                        Action::Top => cursor.top(),
                        _ => cursor.bottom(len),
                    }
                }
            }
            Action::Open => self.open(),
            Action::History => {
                let entity = match self.top() {
                    Screen::Detail(d) => Some(EntityId::Recording(d.id)),
                    Screen::Party(p) => Some(EntityId::Party(p.id)),
                    Screen::Work(w) => Some(EntityId::Work(w.view.work.id)),
                    _ => None,
                };
                match entity {
                    Some(e) => self.open_history(e),
                    None => {
                        self.info("history is of a recording, party or work: open one first".into())
                    }
                }
            }
            Action::PartyOfCredit => {
                if let Screen::Detail(d) = self.top()
                    && let Some(c) = d.shown_credits().and_then(|c| c.get(d.cursor.selected))
                {
                    let id = c.credit.party;
                    self.open_party(id);
                }
            }
            Action::Outbox => self.open_outbox(false),
            Action::Conflicts => self.open_conflict_here(),
            Action::Status => self.open_status(),
            Action::EditCredits => self.start_credit_edit(),
            Action::EditInEditor => self.start_external_edit(),
            Action::EditShares => self.start_share_edit(),
            Action::AddCredit => {
                self.overlay = Some(Overlay::PartyPicker {
                    query: String::new(),
                    rows: Vec::new(),
                    cursor: Default::default(),
                    generation: 0,
                    partial: false,
                });
            }
            Action::RemoveCredit => {
                if let Screen::EditCredits(f) = self.top_mut()
                    && let Some(c) = f.selected()
                {
                    let question = format!(
                        "remove {} as {}?",
                        c.party_name,
                        c.credit.role.label().to_lowercase()
                    );
                    self.overlay = Some(Overlay::Confirm {
                        question,
                        op: ConfirmOp::RemoveCredit,
                        yes: false,
                    });
                }
            }
            Action::ChangeRole => {
                if let Screen::EditCredits(f) = self.top_mut()
                    && let Some(credit) = f.selected()
                {
                    // The picker opens on the credit's own role: changing it is a step
                    // from there, and Enter right away keeps it.
                    let current = credit.credit.role;
                    let cursor = super::list::ListCursor {
                        selected: roles_matching("")
                            .iter()
                            .position(|r| *r == current)
                            .unwrap_or(0),
                        offset: 0,
                    };
                    self.overlay = Some(Overlay::RolePicker {
                        filter: String::new(),
                        cursor,
                        purpose: RoleFor::Change,
                    });
                }
            }
            Action::SetInstrument | Action::SetCreditedAs => {
                if let Screen::EditCredits(f) = self.top_mut()
                    && let Some(c) = f.selected()
                {
                    let (title, input, purpose) = if action == Action::SetInstrument {
                        (
                            "instrument (empty clears it)",
                            c.credit.instrument.clone(),
                            PromptFor::Instrument,
                        )
                    } else {
                        (
                            "name as credited (empty clears it)",
                            c.credit.credited_as.clone(),
                            PromptFor::CreditedAs,
                        )
                    };
                    self.overlay = Some(Overlay::Prompt {
                        title: title.into(),
                        input: input.unwrap_or_default(),
                        purpose,
                        error: None,
                    });
                }
            }
            Action::ShareUp | Action::ShareDown => {
                if let Screen::EditShares(f) = self.top_mut() {
                    f.nudge(if action == Action::ShareUp { 100 } else { -100 });
                }
            }
            Action::Save => self.save(),
            Action::Discard => {
                let entry = match self.top() {
                    Screen::Outbox(o) => o.selected().map(|e| (e.seq, e.state)),
                    Screen::Conflict(c) => Some((c.entry.seq, c.entry.state)),
                    _ => None,
                };
                // Only what has not reached the upstream can be discarded (the store's rule):
                // say so rather than ask a question whose yes would fail.
                let seq = match entry {
                    Some((seq, state @ (OutboxState::Accepted | OutboxState::Sent))) => {
                        let what = if state == OutboxState::Accepted {
                            "was accepted upstream"
                        } else {
                            "is on its way upstream"
                        };
                        self.info(format!(
                            "edit {seq} {what}: only pending, rejected or conflicted edits can be discarded"
                        ));
                        None
                    }
                    other => other.map(|e| e.0),
                };
                if let Some(seq) = seq {
                    self.overlay = Some(Overlay::Confirm {
                        question: format!("discard edit {seq}? it will not be sent"),
                        op: ConfirmOp::DiscardEdit(seq),
                        yes: false,
                    });
                }
            }
            Action::PickMine | Action::PickTheirs | Action::PickBase => {
                if let Screen::Conflict(c) = self.top_mut()
                    && let Some((_, pick)) = c.conflicts.get_mut(c.cursor.selected)
                {
                    *pick = match action {
                        Action::PickMine => Pick::Mine,
                        Action::PickTheirs => Pick::Theirs,
                        _ => Pick::Base,
                    };
                }
            }
        }
    }

    fn back(&mut self) {
        let depth = self.screens.len();
        match self.top_mut() {
            Screen::Search(s) if s.typing && depth == 1 => s.typing = false,
            Screen::EditCredits(f) if f.changed() => {
                self.overlay = Some(Overlay::Confirm {
                    question: "leave without saving? your changes are lost".into(),
                    op: ConfirmOp::LeaveForm,
                    yes: false,
                });
            }
            Screen::EditShares(f) if f.changed() => {
                self.overlay = Some(Overlay::Confirm {
                    question: "leave without saving? your changes are lost".into(),
                    op: ConfirmOp::LeaveForm,
                    yes: false,
                });
            }
            _ if depth > 1 => {
                self.screens.pop();
            }
            _ => {}
        }
    }

    fn open(&mut self) {
        enum Target {
            Entity(EntityId),
            Conflict(Box<ConflictScreen>),
        }
        let target = match self.top() {
            Screen::Search(s) => s.rows.get(s.cursor.selected).map(|r| Target::Entity(r.id)),
            Screen::Party(p) => match p.rows.get(p.cursor.selected) {
                Some(PartyRow::Credit { recording, .. }) => {
                    Some(Target::Entity(EntityId::Recording(*recording)))
                }
                Some(PartyRow::Work { work, .. }) => Some(Target::Entity(EntityId::Work(*work))),
                _ => None,
            },
            Screen::Outbox(o) => o.selected().map(|e| {
                if e.state == OutboxState::Conflicted {
                    Target::Conflict(Box::new(ConflictScreen::new(e.clone(), o.names.clone())))
                } else {
                    Target::Entity(e.entity)
                }
            }),
            _ => None,
        };
        match target {
            Some(Target::Entity(EntityId::Recording(id))) => self.open_recording(id),
            Some(Target::Entity(EntityId::Party(id))) => self.open_party(id),
            Some(Target::Entity(EntityId::Work(id))) => self.look_up(Request::Work(id)),
            Some(Target::Entity(EntityId::Release(_))) => {
                self.info("releases have no screen of their own yet".into())
            }
            Some(Target::Conflict(c)) => {
                if self.read_only() {
                    self.info("a read-only session cannot resolve conflicts".into());
                } else {
                    self.screens.push(Screen::Conflict(*c));
                }
            }
            None => {}
        }
    }

    pub fn open_recording(&mut self, id: liner::ids::RecordingId) {
        self.screens.push(Screen::Detail(DetailScreen {
            id,
            data: None,
            cursor: Default::default(),
        }));
        self.ask(Request::Recording(id));
    }

    fn open_party(&mut self, id: liner::ids::PartyId) {
        self.screens.push(Screen::Party(PartyScreen {
            id,
            view: None,
            rows: Vec::new(),
            cursor: Default::default(),
        }));
        self.ask(Request::Party(id));
    }

    fn open_history(&mut self, entity: EntityId) {
        self.screens.push(Screen::History(HistoryScreen {
            entity,
            title: entity.to_string(),
            revisions: Vec::new(),
            names: Default::default(),
            cursor: Default::default(),
            loaded: false,
        }));
        self.ask(Request::History(entity));
    }

    fn open_status(&mut self) {
        self.push_once(Screen::Status);
        self.ask(Request::Status { counts: true });
    }

    fn open_outbox(&mut self, only_conflicts: bool) {
        self.push_once(Screen::Outbox(OutboxScreen {
            only_conflicts,
            ..OutboxScreen::default()
        }));
        self.ask(Request::Outbox);
    }

    /// Opens a screen there is one of (status, outbox, conflicts): if it is already in the
    /// stack, back to it rather than a second copy on top, so the breadcrumb says where you
    /// are rather than every command you typed.
    fn push_once(&mut self, screen: Screen) {
        if let Some(at) = self.screens.iter().position(|s| s.name() == screen.name()) {
            self.screens.truncate(at);
        }
        self.screens.push(screen);
    }

    fn open_conflict_here(&mut self) {
        let Screen::Detail(d) = self.top() else {
            return self.open_outbox(true);
        };
        let found = d.data.as_ref().and_then(|data| {
            data.edits
                .iter()
                .find(|e| e.entry.state == liner::store::OutboxState::Conflicted)
                .map(|e| ConflictScreen::new(e.entry.clone(), data.names.clone()))
        });
        match found {
            Some(c) => self.screens.push(Screen::Conflict(c)),
            None => self.info("this recording has no conflicted edit".into()),
        }
    }
}

/// Roles whose name or label contains `filter`.
pub fn roles_matching(filter: &str) -> Vec<Role> {
    let f = filter.to_lowercase().replace(' ', "_");
    Role::ALL
        .into_iter()
        .filter(|r| r.as_str().contains(&f))
        .collect()
}

/// Line editing shared by every text field: characters, Backspace, Ctrl-U (clear), Ctrl-W
/// (last word). Returns whether the key was one of these.
pub fn edit_line(text: &mut String, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let trimmed = text.trim_end().len();
            text.truncate(trimmed);
            let cut = text.rfind(char::is_whitespace).map_or(0, |i| i + 1);
            text.truncate(cut);
        }
        KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => text.push(c),
        KeyCode::Backspace => {
            text.pop();
        }
        _ => return false,
    }
    true
}
