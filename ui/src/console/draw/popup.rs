//! Overlays: help (generated from the key map and searchable), the command line, confirmations
//! (No is the default), prompts and pickers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::search::credits_label;
use super::{Theme, fit, mark, select};
use crate::console::app::{Overlay, roles_matching};
use crate::console::keymap::{self, Context};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn boxed(frame: &mut Frame, area: Rect, title: &str, theme: Theme) -> Rect {
    let block = Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), theme.heading()));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

pub fn draw(frame: &mut Frame, overlay: &Overlay, ctx: Context, read_only: bool, theme: Theme) {
    let full = frame.area();
    match overlay {
        Overlay::Help { filter } => {
            let area = centered(full, 76, full.height.saturating_sub(2));
            let inner = boxed(frame, area, "help · type to filter · Esc closes", theme);
            let f = filter.to_lowercase();
            let mut lines = vec![
                Line::from(vec![
                    Span::styled("filter › ", theme.key()),
                    Span::raw(filter.clone()),
                ]),
                Line::raw(""),
            ];
            for b in keymap::active(ctx, read_only) {
                if !f.is_empty()
                    && !b.help.to_lowercase().contains(&f)
                    && !b.label.to_lowercase().contains(&f)
                {
                    continue;
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<10}", b.label), theme.key()),
                    Span::raw(fit(b.help, inner.width.saturating_sub(11) as usize)),
                ]));
            }
            if read_only {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(
                    "[read-only] this role cannot edit: editing keys are not offered",
                    theme.warn(),
                )));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Overlay::Command { input } => {
            let [_, bar, _] = Layout::vertical([
                Constraint::Fill(1),
                Constraint::Length(1),
                Constraint::Length(2),
            ])
            .areas(full);
            frame.render_widget(Clear, bar);
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(":", theme.key()),
                    Span::raw(input.clone()),
                    Span::styled("▏", theme.key()),
                    Span::styled("   isrc CODE · iswc CODE · party NAME · outbox · conflicts · status · history · quit", theme.dim()),
                ])),
                bar,
            );
        }
        Overlay::Confirm { question, yes, .. } => {
            // Wide enough for the question and the buttons with their hint, as far as the
            // screen allows; a question longer than that wraps onto more lines.
            const BUTTONS: u16 = 49;
            let q = question.chars().count() as u16;
            let width = (q.max(BUTTONS) + 4)
                .min(full.width.saturating_sub(2))
                .max(20);
            let lines = q.div_ceil(width.saturating_sub(2).max(1));
            let area = centered(full, width, lines + 4);
            let inner = boxed(frame, area, "confirm", theme);
            let (y, n) = if *yes {
                (theme.selected(), theme.dim())
            } else {
                (theme.dim(), theme.selected())
            };
            frame.render_widget(
                Paragraph::new(vec![
                    Line::raw(question.clone()),
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled(if *yes { "[ yes ]" } else { "  yes  " }, y),
                        Span::raw("   "),
                        Span::styled(if *yes { "  no  " } else { "[ no ]" }, n),
                        Span::styled("   y/n, Enter = the marked one", theme.dim()),
                    ]),
                ])
                .wrap(Wrap { trim: false }),
                inner,
            );
        }
        Overlay::Prompt {
            title,
            input,
            error,
            ..
        } => {
            let area = centered(full, 70, if error.is_some() { 5 } else { 4 });
            let inner = boxed(frame, area, title, theme);
            let mut lines = vec![
                Line::from(vec![
                    Span::styled("› ", theme.key()),
                    Span::raw(input.clone()),
                    Span::styled("▏", theme.key()),
                ]),
                Line::from(Span::styled("Enter saves · Esc cancels", theme.dim())),
            ];
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(format!("✗ {e}"), theme.bad())));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Overlay::RolePicker { filter, cursor, .. } => {
            let roles = roles_matching(filter);
            let area = centered(
                full,
                40,
                full.height.saturating_sub(4).min(roles.len() as u16 + 4),
            );
            let inner = boxed(frame, area, "role · type to filter", theme);
            let mut c = *cursor;
            let range = c.window(roles.len(), inner.height.saturating_sub(1) as usize);
            let mut lines = vec![Line::from(vec![
                Span::styled("› ", theme.key()),
                Span::raw(filter.clone()),
            ])];
            for (i, r) in roles[range.clone()].iter().enumerate() {
                let at = range.start + i;
                let line = Line::raw(format!("{}{}", mark(at == c.selected), r.label()));
                lines.push(select(line, at == c.selected, theme));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Overlay::PartyPicker {
            query,
            rows,
            cursor,
            partial,
            ..
        } => {
            let area = centered(full, 70, full.height.saturating_sub(4).min(16));
            let inner = boxed(frame, area, "add a credit: find the party", theme);
            let mut c = *cursor;
            let range = c.window(rows.len(), inner.height.saturating_sub(1) as usize);
            let mut head = vec![
                Span::styled("party › ", theme.key()),
                Span::raw(query.clone()),
                Span::styled("▏", theme.key()),
            ];
            if *partial && !rows.is_empty() {
                head.push(Span::styled("  partial: none has every word", theme.warn()));
            }
            let mut lines = vec![Line::from(head)];
            for (i, r) in rows[range.clone()].iter().enumerate() {
                let at = range.start + i;
                // What tells same-name parties apart, as the search screen shows it.
                let mut text = r.title.clone();
                if let Some(f) = &r.party {
                    text.push_str(&format!(" · {}", f.kind));
                    for part in [&f.disambiguation, &f.codes] {
                        if !part.is_empty() {
                            text.push_str(&format!(" · {part}"));
                        }
                    }
                    text.push_str(&format!(" · {} recordings", credits_label(f.credits)));
                } else if !r.artist.is_empty() {
                    text.push_str(&format!(" ({})", r.artist));
                }
                let line = Line::raw(format!(
                    "{}{}",
                    mark(at == c.selected),
                    fit(&text, inner.width as usize - 1)
                ));
                lines.push(select(line, at == c.selected, theme));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
    }
}
