//! Keys while an overlay is open (help, the command line, confirmations, prompts, pickers) and
//! the `:` commands.

use liner::model::EntityId;
use liner::roles::Role;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::console::screens::Screen;
use crate::console::worker::Request;

impl App {
    pub(super) fn overlay_key(&mut self, key: KeyEvent) {
        let Some(overlay) = self.overlay.take() else {
            return;
        };
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.quit = true;
            return;
        }
        self.overlay = match overlay {
            Overlay::Help { mut filter } => match key.code {
                KeyCode::Esc | KeyCode::Enter => None,
                KeyCode::Char('?') if filter.is_empty() => None,
                _ => {
                    edit_line(&mut filter, key);
                    Some(Overlay::Help { filter })
                }
            },
            Overlay::Command { mut input } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    self.command(&input);
                    None
                }
                KeyCode::Backspace if input.is_empty() => None,
                _ => {
                    edit_line(&mut input, key);
                    Some(Overlay::Command { input })
                }
            },
            Overlay::Confirm { question, op, yes } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.confirmed(op);
                    None
                }
                KeyCode::Enter if yes => {
                    self.confirmed(op);
                    None
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Enter => None,
                KeyCode::Left
                | KeyCode::Right
                | KeyCode::Tab
                | KeyCode::Char('h')
                | KeyCode::Char('l') => Some(Overlay::Confirm {
                    question,
                    op,
                    yes: !yes,
                }),
                _ => Some(Overlay::Confirm { question, op, yes }),
            },
            Overlay::Prompt {
                title,
                mut input,
                purpose,
                error,
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => self.prompted(title, input, purpose),
                _ => {
                    edit_line(&mut input, key);
                    Some(Overlay::Prompt {
                        title,
                        input,
                        purpose,
                        error,
                    })
                }
            },
            Overlay::RolePicker {
                mut filter,
                mut cursor,
                purpose,
            } => {
                let roles = roles_matching(&filter);
                match key.code {
                    KeyCode::Esc => None,
                    KeyCode::Enter => {
                        if let Some(role) = roles.get(cursor.selected) {
                            self.role_picked(*role, purpose);
                        }
                        None
                    }
                    KeyCode::Down => {
                        cursor.down(roles.len(), 1);
                        Some(Overlay::RolePicker {
                            filter,
                            cursor,
                            purpose,
                        })
                    }
                    KeyCode::Up => {
                        cursor.up(1);
                        Some(Overlay::RolePicker {
                            filter,
                            cursor,
                            purpose,
                        })
                    }
                    _ => {
                        if edit_line(&mut filter, key) {
                            cursor = Default::default();
                        }
                        Some(Overlay::RolePicker {
                            filter,
                            cursor,
                            purpose,
                        })
                    }
                }
            }
            Overlay::PartyPicker {
                mut query,
                rows,
                mut cursor,
                mut generation,
                partial,
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => match rows.get(cursor.selected) {
                    Some(row) => match row.id {
                        EntityId::Party(party) => Some(Overlay::RolePicker {
                            filter: String::new(),
                            cursor: Default::default(),
                            purpose: RoleFor::Add {
                                party,
                                name: row.title.clone(),
                            },
                        }),
                        _ => None,
                    },
                    None => Some(Overlay::PartyPicker {
                        query,
                        rows,
                        cursor,
                        generation,
                        partial,
                    }),
                },
                KeyCode::Down => {
                    cursor.down(rows.len(), 1);
                    Some(Overlay::PartyPicker {
                        query,
                        rows,
                        cursor,
                        generation,
                        partial,
                    })
                }
                KeyCode::Up => {
                    cursor.up(1);
                    Some(Overlay::PartyPicker {
                        query,
                        rows,
                        cursor,
                        generation,
                        partial,
                    })
                }
                _ => {
                    if edit_line(&mut query, key) {
                        self.generation += 1;
                        generation = self.generation;
                        cursor = Default::default();
                        self.ask(Request::PartySearch {
                            generation,
                            text: query.clone(),
                        });
                    }
                    Some(Overlay::PartyPicker {
                        query,
                        rows,
                        cursor,
                        generation,
                        partial,
                    })
                }
            },
        };
    }

    fn confirmed(&mut self, op: ConfirmOp) {
        match op {
            ConfirmOp::RemoveCredit => {
                if let Screen::EditCredits(f) = self.top_mut()
                    && let Some(gone) = f.remove_selected()
                {
                    let text = format!(
                        "removed {} as {} (not saved yet)",
                        gone.party_name,
                        gone.credit.role.label().to_lowercase()
                    );
                    self.info(text);
                }
            }
            ConfirmOp::DiscardEdit(seq) => self.ask(Request::Discard(seq)),
            ConfirmOp::LeaveForm => {
                self.screens.pop();
            }
        }
    }

    fn prompted(&mut self, title: String, input: String, purpose: PromptFor) -> Option<Overlay> {
        let value = input.trim().to_owned();
        match purpose {
            PromptFor::Reason(op) => {
                if value.is_empty() {
                    return Some(Overlay::Prompt {
                        title,
                        input,
                        purpose: PromptFor::Reason(op),
                        error: Some(
                            "a reason is required: every change to a credit says why".into(),
                        ),
                    });
                }
                let request = match op {
                    SaveOp::New {
                        entity,
                        base_version,
                        patch,
                    } => Request::Enqueue {
                        entity,
                        base_version,
                        patch,
                        reason: value,
                        actor: self.session.actor.clone(),
                    },
                    SaveOp::Resolve {
                        seq,
                        base_version,
                        patch,
                    } => Request::Revise {
                        seq,
                        base_version,
                        patch,
                        reason: value,
                    },
                };
                self.ask(request);
            }
            PromptFor::Instrument | PromptFor::CreditedAs => {
                if let Screen::EditCredits(f) = self.top_mut()
                    && let Some(c) = f.selected()
                {
                    let v = (!value.is_empty()).then_some(value);
                    if matches!(purpose, PromptFor::Instrument) {
                        c.credit.instrument = v;
                    } else {
                        c.credit.credited_as = v;
                    }
                }
            }
        }
        None
    }

    fn role_picked(&mut self, role: Role, purpose: RoleFor) {
        if let Screen::EditCredits(f) = self.top_mut() {
            match purpose {
                RoleFor::Change => {
                    if let Some(c) = f.selected() {
                        c.credit.role = role;
                    }
                }
                RoleFor::Add { party, name } => f.add(party, name, role),
            }
        }
    }

    pub(super) fn command(&mut self, input: &str) {
        let input = input.trim();
        let (cmd, arg) = input
            .split_once(char::is_whitespace)
            .map_or((input, ""), |(c, a)| (c, a.trim()));
        match (cmd, arg) {
            ("isrc", code) if !code.is_empty() => self.look_up(Request::Isrc(code.to_owned())),
            ("iswc", code) if !code.is_empty() => self.look_up(Request::Iswc(code.to_owned())),
            ("party", name) if !name.is_empty() => {
                self.look_up(Request::PartyNamed(name.to_owned()))
            }
            ("outbox", _) => self.open_outbox(false),
            ("conflicts", _) => self.open_outbox(true),
            ("status", _) => self.open_status(),
            ("history", _) => self.act(Action::History),
            ("q" | "quit", _) => self.quit = true,
            ("help", _) => self.overlay = Some(Overlay::Help { filter: String::new() }),
            ("isrc" | "iswc" | "party", _) => self.error(format!(":{cmd} needs an argument, e.g. :{cmd} {}", match cmd {
                "isrc" => "GBAYE6500011",
                "iswc" => "T-070.124.643-7",
                _ => "Björk",
            })),
            ("", _) => {}
            _ => self.error(format!("unknown command :{cmd}; commands: isrc, iswc, party, outbox, conflicts, status, history, quit")),
        }
    }
}
