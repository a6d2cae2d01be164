//! The search screen: the query and the results as they arrive.

use liner::model::EntityId;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::{Theme, fit, mark, select};
use crate::console::app::ListArea;
use crate::console::screens::SearchScreen;

/// Returns the list's height (a page).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    s: &mut SearchScreen,
    theme: Theme,
    list: &mut ListArea,
) -> usize {
    let [input, results] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut line = match &s.title {
        Some(t) => vec![Span::styled(t.clone(), theme.heading())],
        None => vec![
            Span::styled(
                if s.typing { "search › " } else { "search   " },
                theme.heading(),
            ),
            Span::raw(s.query.clone()),
            Span::styled(if s.typing { "▏" } else { "" }, theme.key()),
        ],
    };
    let count = if s.query.trim().is_empty() && s.title.is_none() {
        "type a title, an artist or credited name, or an ISRC".to_owned()
    } else if s.shown_generation != s.generation && s.title.is_none() {
        "searching…".to_owned()
    } else {
        let n = s.rows.len();
        match s.micros {
            Some(us) if s.title.is_none() => format!(
                "{n} result{} · {:.1} ms",
                if n == 1 { "" } else { "s" },
                us as f64 / 1000.0
            ),
            _ => format!("{n} result{}", if n == 1 { "" } else { "s" }),
        }
    };
    line.push(Span::styled(format!("   {count}"), theme.dim()));
    frame.render_widget(Paragraph::new(Line::from(line)), input);

    let block = Block::new().borders(Borders::TOP).border_style(theme.dim());
    let inner = block.inner(results);
    frame.render_widget(block, results);
    if let Some(e) = &s.error {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("✗ {e}"), theme.bad())),
            inner,
        );
        return inner.height as usize;
    }
    let height = inner.height.saturating_sub(1) as usize;
    let range = list.place(&mut s.cursor, s.rows.len(), inner, 1);
    let wide = inner.width >= 120;
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Fill(4),
            Constraint::Fill(3),
            Constraint::Fill(3),
            Constraint::Length(15),
            Constraint::Length(5),
        ]
    } else {
        vec![
            Constraint::Fill(4),
            Constraint::Fill(3),
            Constraint::Fill(2),
            Constraint::Length(15),
            Constraint::Length(4),
        ]
    };
    let cols = column_widths(inner.width, &widths);
    let rows: Vec<Row> = s.rows[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let selected = range.start + i == s.cursor.selected;
            let (marker, title) = match r.id {
                EntityId::Party(_) => ("◆ ", r.title.clone()),
                _ => ("  ", r.title.clone()),
            };
            let pop = format!("{:>3.0}", r.popularity);
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(selected),
                    fit(&format!("{marker}{title}"), cols[0].saturating_sub(1))
                ),
                fit(&r.artist, cols[1]),
                fit(&r.release, cols[2]),
                r.isrc.clone(),
                pop,
            ]);
            select(row, selected, theme)
        })
        .collect();
    let header = Row::new(vec![" title", "artist", "release", "ISRC", "pop"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    height
}

/// What `Fill` and `Length` constraints come to in `width` columns (one column of spacing).
pub fn column_widths(width: u16, constraints: &[Constraint]) -> Vec<usize> {
    let spacing = constraints.len().saturating_sub(1) as u16;
    let fixed: u16 = constraints
        .iter()
        .map(|c| if let Constraint::Length(n) = c { *n } else { 0 })
        .sum();
    let fills: u16 = constraints
        .iter()
        .map(|c| if let Constraint::Fill(n) = c { *n } else { 0 })
        .sum();
    let free = width.saturating_sub(fixed + spacing);
    constraints
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n as usize,
            Constraint::Fill(n) if fills > 0 => (free * n / fills) as usize,
            _ => 0,
        })
        .collect()
}
