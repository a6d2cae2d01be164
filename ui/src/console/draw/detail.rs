//! A recording's detail, a work, and the two edit forms.

use liner::protocol::EditOutcome;
use liner::store::{CreditView, OutboxState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::search::column_widths;
use super::{Theme, fit, mark, select, when};
use crate::console::app::ListArea;
use crate::console::edit::{CreditForm, SharesForm, percent, share_text};
use crate::console::outcome;
use crate::console::screens::{DetailScreen, WorkScreen};
use crate::console::worker::{LocalEdit, Provenance};

/// How a queued edit stands, in words and a symbol.
pub fn edit_state(e: &LocalEdit, names: &outcome::Names) -> (String, bool) {
    let seq = e.entry.seq;
    let fields: Vec<&str> = e
        .entry
        .patch
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let what = fields.join(", ");
    let problem = matches!(
        e.entry.state,
        OutboxState::Conflicted | OutboxState::Rejected
    );
    let text = match e.entry.state {
        OutboxState::Pending => {
            format!("● edit {seq} of {what}: pending, linerd has not sent it yet")
        }
        OutboxState::Sent => format!("↑ edit {seq} of {what}: sent, waiting for upstream"),
        OutboxState::Accepted => format!(
            "✓ edit {seq} of {what}: {}, waiting for the mirror",
            e.entry
                .outcome
                .as_ref()
                .map_or("accepted".into(), |o| outcome::outcome_words(o, names))
        ),
        OutboxState::Conflicted if matches!(e.entry.outcome, Some(EditOutcome::Gone { .. })) => {
            format!(
                "⚠ edit {seq} of {what}: {}; press c, then x to discard it",
                e.entry
                    .outcome
                    .as_ref()
                    .map_or(String::new(), |o| outcome::outcome_words(o, names))
            )
        }
        OutboxState::Conflicted => format!(
            "⚠ edit {seq} of {what}: {}; press c to resolve",
            e.entry
                .outcome
                .as_ref()
                .map_or("conflicts with a change upstream".into(), |o| {
                    outcome::outcome_words(o, names)
                })
        ),
        OutboxState::Rejected => format!(
            "✗ edit {seq} of {what}: {}",
            e.entry
                .outcome
                .as_ref()
                .map_or("rejected, no reason given".into(), |o| {
                    outcome::outcome_words(o, names)
                })
        ),
    };
    (text, problem)
}

fn provenance_text(p: &Provenance) -> String {
    format!(
        "v{} {} · {} · {}",
        p.version,
        p.source.kind.as_str().replace('_', " "),
        p.actor,
        when(p.at)
    )
}

fn credit_detail(c: &CreditView) -> String {
    let mut parts = Vec::new();
    if let Some(i) = &c.credit.instrument {
        parts.push(i.clone());
    }
    if let Some(a) = &c.credit.credited_as {
        parts.push(format!("as “{a}”"));
    }
    parts.join(", ")
}

fn party_label(c: &CreditView) -> String {
    match &c.party_disambiguation {
        Some(d) => format!("{} ({d})", c.party_name),
        None => c.party_name.clone(),
    }
}

pub fn draw_detail(
    frame: &mut Frame,
    area: Rect,
    d: &mut DetailScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let DetailScreen { id, data, cursor } = d;
    let Some(data) = data.as_deref() else {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("loading {id}…"), theme.dim())),
            area,
        );
        return 0;
    };
    let det = &data.detail;
    let r = &det.recording;
    let mut info = vec![
        Line::from(vec![
            Span::styled(
                match &r.version_title {
                    Some(v) => format!("{} ({v})", r.title),
                    None => r.title.clone(),
                },
                theme.heading(),
            ),
            Span::styled(
                format!(
                    "   version {} · popularity {:.0}",
                    det.version, det.popularity
                ),
                theme.dim(),
            ),
        ]),
        Line::from(vec![
            Span::raw(format!("by {}", r.display_artist())),
            Span::styled(
                format!(
                    "   ISRC {}{}{}{}",
                    r.isrc.as_ref().map_or("—".into(), |i| i.to_string()),
                    r.duration_ms.map_or(String::new(), |ms| format!(
                        " · {}:{:02}",
                        ms / 60_000,
                        ms / 1000 % 60
                    )),
                    r.genre
                        .as_ref()
                        .map_or(String::new(), |g| format!(" · {g}")),
                    if r.explicit { " · explicit" } else { "" },
                ),
                theme.dim(),
            ),
        ]),
    ];
    for e in &data.edits {
        let (text, problem) = edit_state(e, &data.names);
        info.push(Line::from(Span::styled(
            text,
            if problem { theme.bad() } else { theme.warn() },
        )));
    }
    let mut below: Vec<Line> = Vec::new();
    for w in &det.works {
        let writers: Vec<String> = w
            .writers
            .iter()
            .map(|wr| {
                format!(
                    "{} {} {}",
                    wr.party_name,
                    wr.writer.role.as_str().replace('_', " "),
                    share_text(wr.writer.share)
                )
            })
            .collect();
        below.push(Line::from(vec![
            Span::styled("work ", theme.dim()),
            Span::raw(w.work.title.clone()),
            Span::styled(
                format!(
                    " {} ",
                    w.work
                        .iswc
                        .as_ref()
                        .map_or("no ISWC".into(), |i| i.to_string())
                ),
                theme.dim(),
            ),
            Span::raw(writers.join(" · ")),
        ]));
    }
    for rel in &det.releases {
        below.push(Line::from(vec![
            Span::styled("release ", theme.dim()),
            Span::raw(rel.title.clone()),
            Span::styled(
                format!(
                    " {} · {} · track {}-{}",
                    rel.upc.as_ref().map_or("no UPC".into(), |u| u.to_string()),
                    rel.release_date.clone().unwrap_or_else(|| "undated".into()),
                    rel.disc,
                    rel.position
                ),
                theme.dim(),
            ),
        ]));
    }
    let below_h = (below.len() as u16 + 1)
        .min(area.height / 3)
        .max(if below.is_empty() { 0 } else { 2 });
    let [info_area, credits_area, below_area] = Layout::vertical([
        Constraint::Length(info.len() as u16),
        Constraint::Min(3),
        Constraint::Length(below_h),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(info), info_area);
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title(Span::styled(" credits ", theme.heading()));
    let inner = block.inner(credits_area);
    frame.render_widget(block, credits_area);

    let pending = data
        .edits
        .iter()
        .rev()
        .find_map(|e| e.credits.as_ref().map(|c| (e, c)));
    let credits: &[CreditView] = pending.map(|(_, c)| c.as_slice()).unwrap_or(&det.credits);
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(cursor, credits.len(), inner, 1);
    let widths = [
        Constraint::Length(18),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(3),
    ];
    let cols = column_widths(inner.width, &widths);
    let rows: Vec<Row> = credits[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = range.start + i;
            let origin = match pending {
                Some((edit, _)) if !det.credits.contains(c) => {
                    format!("edit {} ({})", edit.entry.seq, edit.entry.state.as_str())
                }
                _ => det
                    .credits
                    .iter()
                    .position(|m| m == c)
                    .and_then(|p| data.provenance.get(p).cloned().flatten())
                    .map(|p| provenance_text(&p))
                    .unwrap_or_default(),
            };
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(at == cursor.selected),
                    fit(&c.credit.role.label(), 17)
                ),
                fit(&party_label(c), cols[1]),
                fit(&credit_detail(c), cols[2]),
                fit(&origin, cols[3]),
            ]);
            select(row, at == cursor.selected, theme)
        })
        .collect();
    let header = Row::new(vec![" role", "party", "instrument / as", "added"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    if !below.is_empty() {
        let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
        let inner = block.inner(below_area);
        frame.render_widget(block, below_area);
        frame.render_widget(Paragraph::new(below), inner);
    }
    height
}

pub fn draw_work(
    frame: &mut Frame,
    area: Rect,
    w: &mut WorkScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let v = &w.view;
    let [info, rest] = Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(v.work.title.clone(), theme.heading())),
            Line::from(Span::styled(
                format!(
                    "ISWC {} · version {}",
                    v.work.iswc.as_ref().map_or("—".into(), |i| i.to_string()),
                    v.version
                ),
                theme.dim(),
            )),
        ]),
        info,
    );
    let rows = v.writers.iter().map(|wr| {
        (
            wr.party_name.clone(),
            wr.writer.role.as_str().replace('_', " "),
            share_text(wr.writer.share),
        )
    });
    writer_table(frame, rest, rows.collect(), &mut w.cursor, theme, list)
}

fn writer_table(
    frame: &mut Frame,
    area: Rect,
    rows: Vec<(String, String, String)>,
    cursor: &mut crate::console::list::ListCursor,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title(Span::styled(" writers ", theme.heading()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(cursor, rows.len(), inner, 1);
    let table_rows: Vec<Row> = rows[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, (name, role, share))| {
            let at = range.start + i;
            let row = Row::new(vec![
                format!("{}{name}", mark(at == cursor.selected)),
                role.clone(),
                format!("{share:>8}"),
            ]);
            select(row, at == cursor.selected, theme)
        })
        .collect();
    let header = Row::new(vec![" writer", "role", "   share"]).style(theme.dim());
    frame.render_widget(
        Table::new(
            table_rows,
            [
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(8),
            ],
        )
        .header(header)
        .column_spacing(1),
        inner,
    );
    height
}

fn problems_lines(problems: &[String], theme: Theme) -> Vec<Line<'static>> {
    if problems.is_empty() {
        vec![Line::from(Span::styled(
            "✓ valid: press s to save",
            theme.good(),
        ))]
    } else {
        problems
            .iter()
            .map(|p| Line::from(Span::styled(format!("✗ {p}"), theme.bad())))
            .collect()
    }
}

pub fn draw_credit_form(
    frame: &mut Frame,
    area: Rect,
    f: &mut CreditForm,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let problems = f.problems();
    let shown = problems.len().min(3) as u16;
    let [title, table, checks] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(shown.max(1)),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(
                    "{} · v{} · ",
                    if f.changed() { "unsaved" } else { "unchanged" },
                    f.base_version
                ),
                if f.changed() {
                    theme.warn()
                } else {
                    theme.dim()
                },
            ),
            Span::styled(format!("credits of {}", f.title()), theme.heading()),
        ])),
        title,
    );
    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(table);
    frame.render_widget(block, table);
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(&mut f.cursor, f.credits.len(), inner, 1);
    let widths = [
        Constraint::Length(18),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ];
    let cols = column_widths(inner.width, &widths);
    let rows: Vec<Row> = f.credits[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = range.start + i;
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(at == f.cursor.selected),
                    fit(&c.credit.role.label(), 17)
                ),
                fit(&c.party_name, cols[1]),
                fit(c.credit.instrument.as_deref().unwrap_or(""), cols[2]),
                fit(c.credit.credited_as.as_deref().unwrap_or(""), cols[3]),
            ]);
            select(row, at == f.cursor.selected, theme)
        })
        .collect();
    let header = Row::new(vec![" role", "party", "instrument", "credited as"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    frame.render_widget(Paragraph::new(problems_lines(&problems, theme)), checks);
    height
}

pub fn draw_share_form(
    frame: &mut Frame,
    area: Rect,
    f: &mut SharesForm,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let problems = f.problems();
    let [title, table, checks] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("total {} · v{} · ", percent(f.total()), f.base_version),
                theme.dim(),
            ),
            Span::styled(format!("writer shares of {}", f.title), theme.heading()),
        ])),
        title,
    );
    let rows = f
        .writers
        .iter()
        .map(|w| {
            (
                w.party_name.clone(),
                w.writer.role.as_str().replace('_', " "),
                share_text(w.writer.share),
            )
        })
        .collect();
    let height = writer_table(frame, table, rows, &mut f.cursor, theme, list);
    frame.render_widget(Paragraph::new(problems_lines(&problems, theme)), checks);
    height
}
