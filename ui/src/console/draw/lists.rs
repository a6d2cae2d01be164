//! History, a party's credits, the outbox and the conflict resolver.

use std::collections::HashMap;

use liner::store::OutboxState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};
use serde_json::Value;

use super::search::column_widths;
use super::{Theme, fit, mark, select, when};
use crate::console::app::ListArea;
use crate::console::outcome;
use crate::console::screens::{
    ConflictScreen, HistoryScreen, OutboxScreen, PartyRow, PartyScreen, Pick,
};

/// A value as one line: credits and writers as "role name" lists, the rest as compact JSON.
pub fn value_text(v: &Value, names: &HashMap<String, String>) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => names.get(s).cloned().unwrap_or_else(|| s.clone()),
        Value::Array(items) if items.iter().all(|i| i.get("party").is_some()) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| {
                    let party = i["party"].as_str().unwrap_or("?");
                    let name = names.get(party).map_or(party, String::as_str);
                    let mut s = format!(
                        "{} {name}",
                        i["role"].as_str().unwrap_or("?").replace('_', " ")
                    );
                    if let Some(share) = i.get("share").and_then(Value::as_u64) {
                        s.push_str(&format!(" {}", crate::console::edit::percent(share as u32)));
                    }
                    if let Some(inst) = i.get("instrument").and_then(Value::as_str) {
                        s.push_str(&format!(" ({inst})"));
                    }
                    if let Some(a) = i.get("credited_as").and_then(Value::as_str) {
                        s.push_str(&format!(" as “{a}”"));
                    }
                    s
                })
                .collect();
            if parts.is_empty() {
                "(none)".into()
            } else {
                parts.join("; ")
            }
        }
        other => other.to_string(),
    }
}

/// What changed in a list of credits, item by item: "+ producer Ann", "- mixer Bob".
fn list_diff(
    old: &Value,
    new: &Value,
    names: &HashMap<String, String>,
) -> Option<Vec<(char, String)>> {
    let (Some(o), Some(n)) = (old.as_array(), new.as_array()) else {
        return None;
    };
    if !o.iter().chain(n).all(|i| i.get("party").is_some()) {
        return None;
    }
    let mut out = Vec::new();
    for gone in o.iter().filter(|i| !n.contains(i)) {
        out.push(('-', value_text(&Value::Array(vec![gone.clone()]), names)));
    }
    for added in n.iter().filter(|i| !o.contains(i)) {
        out.push(('+', value_text(&Value::Array(vec![added.clone()]), names)));
    }
    Some(out)
}

pub fn draw_history(
    frame: &mut Frame,
    area: Rect,
    h: &mut HistoryScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let [title, top, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(45),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("history of {}", h.title), theme.heading()),
            Span::styled(
                format!(
                    "   {} revision{}",
                    h.revisions.len(),
                    if h.revisions.len() == 1 { "" } else { "s" }
                ),
                theme.dim(),
            ),
        ])),
        title,
    );
    if !h.loaded {
        frame.render_widget(Paragraph::new(Span::styled("loading…", theme.dim())), top);
        return 0;
    }
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(&mut h.cursor, h.revisions.len(), inner, 1);
    let widths = [
        Constraint::Length(6),
        Constraint::Length(16),
        Constraint::Fill(2),
        Constraint::Length(14),
        Constraint::Fill(3),
    ];
    let cols = column_widths(inner.width, &widths);
    let rows: Vec<Row> = h.revisions[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let at = range.start + i;
            let row = Row::new(vec![
                format!("{}v{}", mark(at == h.cursor.selected), r.version),
                when(r.at),
                fit(&r.actor, cols[2]),
                r.source.kind.as_str().to_owned(),
                fit(&r.reason, cols[4]),
            ]);
            select(row, at == h.cursor.selected, theme)
        })
        .collect();
    let header = Row::new(vec![" ver", "when (UTC)", "who", "source", "why"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );

    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title(Span::styled(" changes ", theme.heading()));
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let mut lines = Vec::new();
    if let Some(r) = h.revisions.get(h.cursor.selected) {
        if let Some(reference) = &r.source.reference {
            lines.push(Line::from(Span::styled(
                format!("source reference: {reference}"),
                theme.dim(),
            )));
        }
        if r.diff.is_empty() {
            lines.push(Line::from(Span::styled(
                "no field changes recorded",
                theme.dim(),
            )));
        }
        for change in &r.diff {
            let field = change.path.trim_start_matches('/');
            let old = change.old.as_ref().map_or(Value::Null, |v| v.value());
            let new = change.new.as_ref().map_or(Value::Null, |v| v.value());
            match list_diff(&old, &new, &h.names) {
                Some(items) => {
                    lines.push(Line::from(Span::styled(
                        format!("{field}:"),
                        theme.heading(),
                    )));
                    for (sign, text) in items {
                        let style = if sign == '+' {
                            theme.good()
                        } else {
                            theme.bad()
                        };
                        lines.push(Line::from(Span::styled(format!("  {sign} {text}"), style)));
                    }
                }
                None => lines.push(Line::from(vec![
                    Span::styled(format!("{field}: "), theme.heading()),
                    Span::styled(format!("- {}", value_text(&old, &h.names)), theme.bad()),
                    Span::raw("  "),
                    Span::styled(format!("+ {}", value_text(&new, &h.names)), theme.good()),
                ])),
            }
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    height
}

pub fn draw_party(
    frame: &mut Frame,
    area: Rect,
    p: &mut PartyScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let Some(view) = &p.view else {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("loading {}…", p.id), theme.dim())),
            area,
        );
        return 0;
    };
    let party = &view.party;
    let total: usize = view.by_role.iter().map(|g| g.credits.len()).sum();
    let counts: Vec<String> = view
        .by_role
        .iter()
        .map(|g| format!("{} {}", g.role.label(), g.credits.len()))
        .collect();
    let mut ids = vec![format!("{:?}", party.kind).to_lowercase()];
    if let Some(i) = &party.isni {
        ids.push(format!("ISNI {i}"));
    }
    if let Some(i) = &party.ipi {
        ids.push(format!("IPI {i}"));
    }
    if let Some(d) = &party.disambiguation {
        ids.push(d.clone());
    }
    let [info, rest] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(party.name.clone(), theme.heading())),
            Line::from(Span::styled(ids.join(" · "), theme.dim())),
            Line::from(format!("{total} credits: {}", counts.join(" · "))),
        ]),
        info,
    );
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(rest);
    frame.render_widget(block, rest);
    let height = inner.height as usize;
    let range = list.place(&mut p.cursor, p.rows.len(), inner, 0);
    let width = inner.width as usize;
    let lines: Vec<Line> = p.rows[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let at = range.start + i;
            let mark = mark(at == p.cursor.selected);
            let line = match row {
                PartyRow::Heading { label, count } => Line::from(Span::styled(
                    format!("{mark}{label} ({count})"),
                    theme.heading(),
                )),
                PartyRow::Credit {
                    title,
                    artist,
                    extra,
                    ..
                } => {
                    let text = if extra.is_empty() {
                        format!("{mark}  {title} — {artist}")
                    } else {
                        format!("{mark}  {title} — {artist} · {extra}")
                    };
                    Line::raw(fit(&text, width))
                }
                PartyRow::Work {
                    title, role, share, ..
                } => Line::raw(fit(
                    &format!(
                        "{mark}  {title} — {role} {}",
                        share.as_deref().unwrap_or("share hidden")
                    ),
                    width,
                )),
            };
            select(line, at == p.cursor.selected, theme)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    height
}

fn state_words(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending => "● pending",
        OutboxState::Sent => "↑ sent",
        OutboxState::Accepted => "✓ accepted",
        OutboxState::Rejected => "✗ rejected",
        OutboxState::Conflicted => "⚠ conflicted",
    }
}

pub fn draw_outbox(
    frame: &mut Frame,
    area: Rect,
    o: &mut OutboxScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let entries: Vec<_> = o.visible().cloned().collect();
    let [title, table, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(4),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                if o.only_conflicts {
                    "conflicted edits"
                } else {
                    "outbox: every local edit, newest first"
                },
                theme.heading(),
            ),
            Span::styled(format!("   {}", entries.len()), theme.dim()),
        ])),
        title,
    );
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(table);
    frame.render_widget(block, table);
    if o.loaded && entries.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                if o.only_conflicts {
                    "no conflicts"
                } else {
                    "nothing here: no local edits"
                },
                theme.dim(),
            )),
            inner,
        );
        return 0;
    }
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(&mut o.cursor, entries.len(), inner, 1);
    let widths = [
        Constraint::Length(6),
        Constraint::Length(13),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(16),
    ];
    let cols = column_widths(inner.width, &widths);
    let rows: Vec<Row> = entries[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = range.start + i;
            let fields: Vec<&str> = e
                .patch
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let style = match e.state {
                OutboxState::Rejected | OutboxState::Conflicted => theme.bad(),
                OutboxState::Accepted => theme.good(),
                _ => theme.warn(),
            };
            let row = Row::new(vec![
                format!("{}{}", mark(at == o.cursor.selected), e.seq),
                state_words(e.state).to_owned(),
                fit(&format!("{} {}", fields.join(","), e.entity), cols[2]),
                fit(&e.reason, cols[3]),
                e.updated_at
                    .get(..16)
                    .unwrap_or(&e.updated_at)
                    .replace('T', " "),
            ]);
            if at == o.cursor.selected {
                row.style(theme.selected())
            } else {
                row.style(style)
            }
        })
        .collect();
    let header =
        Row::new(vec![" edit", "state", "what", "why", "updated (UTC)"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    if let Some(e) = entries.get(o.cursor.selected) {
        let text = match (e.state, e.outcome.as_ref()) {
            (OutboxState::Conflicted, Some(outcome)) => format!(
                "{}: Enter opens the resolver",
                outcome::outcome_words(outcome, &o.names)
            ),
            (_, Some(outcome)) => outcome::outcome_words(outcome, &o.names),
            (_, None) => format!("by {} against version {}", e.actor, e.base_version),
        };
        let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
        let inner = block.inner(detail);
        frame.render_widget(block, detail);
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
    }
    height
}

pub fn draw_conflict(
    frame: &mut Frame,
    area: Rect,
    c: &mut ConflictScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let [title, table, detail] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length((c.conflicts.len() as u16).min(8) + 2),
        Constraint::Min(5),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                format!(
                    "⚠ edit {} of {} conflicts with a change upstream",
                    c.entry.seq, c.entry.entity
                ),
                theme.bad(),
            )),
            Line::from(Span::styled(
                format!(
                    "made against version {} · upstream is at version {} · your reason: {}",
                    c.entry.base_version, c.their_version, c.entry.reason
                ),
                theme.dim(),
            )),
        ]),
        title,
    );
    if let Some(g) = &c.gone {
        frame.render_widget(
            Paragraph::new(format!("deleted upstream: {g}. Discard this edit with x.")),
            table,
        );
        return 0;
    }
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(table);
    frame.render_widget(block, table);
    let range = c
        .cursor
        .window(c.conflicts.len(), inner.height.saturating_sub(1) as usize);
    *list = ListArea {
        area: inner,
        header: 1,
        offset: range.start,
        also: None,
    };
    let rows: Vec<Row> = c.conflicts[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, (conflict, pick))| {
            let at = range.start + i;
            let pick = match pick {
                Pick::Mine => "→ mine",
                Pick::Theirs => "→ theirs",
                Pick::Base => "→ base",
            };
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(at == c.cursor.selected),
                    outcome::conflict_title(conflict, &c.names)
                ),
                pick.to_owned(),
            ]);
            select(row, at == c.cursor.selected, theme)
        })
        .collect();
    frame.render_widget(
        Table::new(rows, [Constraint::Fill(1), Constraint::Length(10)])
            .header(Row::new(vec![" conflict", "keep"]).style(theme.dim())),
        inner,
    );
    if let Some((f, picked)) = c.conflicts.get(c.cursor.selected) {
        let mark = |p: Pick| if *picked == p { "▶" } else { " " };
        let words = |v: Option<&Value>| outcome::value_words(v, &c.names);
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("{} base   ", mark(Pick::Base)), theme.dim()),
                Span::raw(words(f.base.as_ref())),
            ]),
            Line::from(vec![
                Span::styled(format!("{} mine   ", mark(Pick::Mine)), theme.warn()),
                Span::raw(words(f.mine.as_ref())),
            ]),
            Line::from(vec![
                Span::styled(format!("{} theirs ", mark(Pick::Theirs)), theme.good()),
                Span::raw(words(f.theirs.as_ref())),
            ]),
        ];
        if let Some(by) = &f.theirs_by {
            lines.push(Line::from(Span::styled(
                format!("  theirs: {}", outcome::author_words(by)),
                theme.dim(),
            )));
        }
        let block = Block::new()
            .borders(Borders::TOP)
            .border_style(theme.dim())
            .title(Span::styled(
                format!(" {} ", outcome::conflict_title(f, &c.names)),
                theme.heading(),
            ));
        let inner = block.inner(detail);
        frame.render_widget(block, detail);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
    range.len()
}
