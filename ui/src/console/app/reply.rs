//! Mouse events and the worker's replies.

use liner::model::EntityId;
use ratatui::crossterm::event::{MouseEvent, MouseEventKind};

use super::*;
use crate::console::keymap::{Action, Context};
use crate::console::worker::{Reply, Request};

impl App {
    pub(super) fn mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollDown => {
                self.dirty = true;
                if let Some((c, len)) = self.top_mut().list() {
                    c.down(len, 3);
                }
            }
            MouseEventKind::ScrollUp => {
                self.dirty = true;
                if let Some((c, _)) = self.top_mut().list() {
                    c.up(3);
                }
            }
            MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left) => {
                if self.overlay.is_none()
                    && let Some(row) = self.list_area.row_at(m.column, m.row)
                    && let Some((c, len)) = self.top_mut().list()
                    && row < len
                {
                    let again = c.selected == row;
                    c.selected = row;
                    self.dirty = true;
                    // A second click on the selected row opens it.
                    if again {
                        match self.context() {
                            Context::Detail => self.act(Action::PartyOfCredit),
                            Context::Results
                            | Context::SearchInput
                            | Context::Party
                            | Context::Outbox => self.act(Action::Open),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn reply(&mut self, reply: Reply) {
        self.dirty = true;
        match reply {
            Reply::Search {
                generation,
                rows,
                micros,
                partial,
            } => {
                if let Some(Screen::Search(s)) = self.screens.first_mut()
                    && s.generation == generation
                {
                    if s.rows != rows {
                        s.party_offset = 0;
                    }
                    s.rows = rows;
                    s.partial = partial;
                    s.shown_generation = generation;
                    s.micros = Some(micros);
                    s.error = None;
                    s.cursor.clamp(s.rows.len());
                } else {
                    self.dirty = false;
                }
            }
            Reply::Superseded { .. } => self.dirty = false,
            Reply::PartyMatches {
                generation,
                rows: found,
                partial: found_partial,
            } => {
                if let Some(Overlay::PartyPicker {
                    rows,
                    generation: g,
                    cursor,
                    partial,
                    ..
                }) = &mut self.overlay
                    && *g == generation
                {
                    *rows = found;
                    *partial = found_partial;
                    cursor.clamp(rows.len());
                }
            }
            Reply::Recording(data) => {
                let id = data.detail.recording.id;
                // The saved edit the note speaks of is in the mirror now: say so.
                if let Some(Note {
                    edit: Some((seq, entity)),
                    ..
                }) = self.note
                    && entity == EntityId::Recording(id)
                    && !data.edits.iter().any(|e| e.entry.seq == seq)
                {
                    self.info(format!(
                        "edit {seq} synced: the mirror is at version {}",
                        data.detail.version
                    ));
                }
                let on_top = matches!(self.screens.last(), Some(Screen::Detail(d)) if d.id == id);
                for s in self.screens.iter_mut().rev() {
                    if let Screen::Detail(d) = s
                        && d.id == id
                    {
                        d.data = Some(data.clone());
                        let len = d.credits_len();
                        d.cursor.clamp(len);
                    }
                }
                // A lookup (`:isrc`) opens the recording even when it is already further down
                // the stack (a party opened from it): refreshing that one showed nothing.
                let opening = std::mem::take(&mut self.opening);
                if opening && !on_top {
                    self.screens.push(Screen::Detail(DetailScreen {
                        id,
                        data: Some(data),
                        cursor: Default::default(),
                    }));
                }
            }
            Reply::Matches { title, rows } => {
                self.opening = false;
                self.screens.push(Screen::Search(SearchScreen {
                    title: Some(title),
                    rows,
                    ..SearchScreen::default()
                }));
            }
            Reply::Party(view) => {
                let id = view.party.id;
                match self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Party(p) if p.id == id => Some(p),
                    _ => None,
                }) {
                    Some(p) => p.fill(view),
                    None if std::mem::take(&mut self.opening) => {
                        let mut p = PartyScreen {
                            id,
                            view: None,
                            rows: Vec::new(),
                            cursor: Default::default(),
                        };
                        p.fill(view);
                        self.screens.push(Screen::Party(p));
                    }
                    None => {}
                }
            }
            Reply::Work(view) => {
                let opening = std::mem::take(&mut self.opening);
                match self.screens.last_mut() {
                    Some(Screen::Work(w)) if w.view.work.id == view.work.id => w.view = view,
                    _ if opening => self.screens.push(Screen::Work(WorkScreen {
                        view,
                        cursor: Default::default(),
                    })),
                    _ => {}
                }
            }
            Reply::History {
                entity,
                title,
                mut revisions,
                names,
            } => {
                revisions.reverse();
                if let Some(Screen::History(h)) = self.screens.last_mut()
                    && h.entity == entity
                {
                    h.title = title;
                    h.revisions = revisions;
                    h.names = names;
                    h.loaded = true;
                }
            }
            Reply::Outbox(entries, names) => {
                for s in self.screens.iter_mut() {
                    if let Screen::Outbox(o) = s {
                        o.entries = entries.clone();
                        o.names = names.clone();
                        o.loaded = true;
                        let len = o.visible().count();
                        o.cursor.clamp(len);
                    }
                }
            }
            Reply::Status(snapshot) => {
                if let Some(who) = snapshot.daemon.as_ref().and_then(|d| d.who.clone()) {
                    self.session.who = Some(who);
                }
                if *snapshot == self.status {
                    self.dirty = false;
                }
                let index_moved = snapshot.index_position != self.status.index_position;
                self.status = *snapshot;
                // The index committed (or appeared): the query on screen may find more now.
                if index_moved {
                    self.research();
                }
            }
            Reply::Saved(entry) => {
                if matches!(
                    self.top(),
                    Screen::EditCredits(_) | Screen::EditShares(_) | Screen::Conflict(_)
                ) {
                    self.screens.pop();
                }
                self.note = Some(Note {
                    text: format!(
                        "edit {} saved: pending until linerd sends it and upstream confirms",
                        entry.seq
                    ),
                    kind: NoteKind::Info,
                    edit: Some((entry.seq, entry.entity)),
                });
                if let EntityId::Recording(id) = entry.entity {
                    self.ask(Request::Recording(id));
                }
                if let Some(id) = self.screens.iter().rev().find_map(|s| match s {
                    Screen::Detail(d) => Some(d.id),
                    _ => None,
                }) && EntityId::Recording(id) != entry.entity
                {
                    self.ask(Request::Recording(id));
                }
                self.ask(Request::Status { counts: false });
            }
            Reply::Discarded(seq) => {
                if matches!(self.top(), Screen::Conflict(_)) {
                    self.screens.pop();
                }
                self.info(format!("edit {seq} discarded"));
                if self.screens.iter().any(|s| matches!(s, Screen::Outbox(_))) {
                    self.ask(Request::Outbox);
                }
                self.ask(Request::Status { counts: false });
            }
            Reply::NotFound(text) => {
                self.opening = false;
                if let Screen::Detail(DetailScreen { data: None, .. })
                | Screen::Party(PartyScreen { view: None, .. }) = self.top()
                {
                    self.screens.pop();
                }
                self.info(text);
            }
            Reply::Failed(text) => {
                self.opening = false;
                let depth = self.screens.len();
                if let Some(Screen::Search(s)) = self.screens.first_mut()
                    && depth == 1
                {
                    s.error = Some(text.clone());
                }
                self.error(text);
            }
        }
    }
}
