//! The search screen: the query and the results as they arrive.

use liner::model::EntityId;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::{Theme, fit, mark, select};
use crate::console::app::{ListArea, Section};
use crate::console::list::ListCursor;
use crate::console::screens::SearchScreen;
use crate::console::worker::{PARTY_LIMIT, RESULT_LIMIT};

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
            Some(us) if s.title.is_none() => {
                // Each section is cut at its limit: "50+" says there is more to type for.
                let parties = s
                    .rows
                    .iter()
                    .filter(|r| matches!(r.id, EntityId::Party(_)))
                    .count();
                let recordings = n - parties;
                let counted = |k: usize, limit: usize, what: &str| {
                    format!(
                        "{k}{} {what}{}",
                        if k >= limit { "+" } else { "" },
                        if k == 1 { "" } else { "s" }
                    )
                };
                let mut parts = Vec::new();
                if recordings > 0 {
                    parts.push(counted(recordings, RESULT_LIMIT, "recording"));
                }
                if parties > 0 {
                    parts.push(counted(parties, PARTY_LIMIT, "party").replace("partys", "parties"));
                }
                if parts.is_empty() {
                    parts.push("0 results".into());
                }
                format!("{} · {:.1} ms", parts.join(" · "), us as f64 / 1000.0)
            }
            _ => format!("{n} result{}", if n == 1 { "" } else { "s" }),
        }
    };
    line.push(Span::styled(format!("   {count}"), theme.dim()));
    let answered = s.shown_generation == s.generation && s.title.is_none();
    if answered && s.partial && !s.rows.is_empty() {
        line.push(Span::styled(
            "   partial: no entry has every word",
            theme.warn(),
        ));
    }
    // One letter alone finds whole words only (see `one_letter_whole_word`): say so rather
    // than leave an empty list unexplained.
    let one = s.query.trim();
    if answered
        && s.rows.is_empty()
        && one.chars().count() == 1
        && one.chars().all(char::is_alphanumeric)
    {
        line.push(Span::styled(
            "   one letter finds whole words only: keep typing",
            theme.dim(),
        ));
    }
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
    // Recordings first, then parties (the worker's order), each in its own table.
    let recordings = s
        .rows
        .iter()
        .take_while(|r| !matches!(r.id, EntityId::Party(_)))
        .count();
    let parties = s.rows.len() - recordings;
    if parties == 0 || recordings == 0 {
        let range = list.place(&mut s.cursor, s.rows.len(), inner, 1);
        if parties == 0 {
            recording_table(frame, inner, s, range, theme);
        } else {
            party_table(frame, inner, s, range, theme);
        }
        return inner.height.saturating_sub(1) as usize;
    }
    // Both: the parties get up to a third of the height below a rule, the recordings the rest.
    let party_height = (parties as u16 + 2).min((inner.height / 3).max(4));
    let [top, bottom] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(party_height)]).areas(inner);
    let selected = s.cursor.selected;
    let mut upper = ListCursor {
        selected: selected.min(recordings - 1),
        offset: s.cursor.offset,
    };
    if selected >= recordings {
        // The selection is below: the recordings stay where they were.
        upper.selected = upper.offset.min(recordings - 1);
    }
    let upper_range = upper.window(recordings, top.height.saturating_sub(1) as usize);
    s.cursor.offset = upper.offset;
    let mut lower = ListCursor {
        selected: selected.saturating_sub(recordings).min(parties - 1),
        offset: s.party_offset,
    };
    if selected < recordings {
        lower.selected = lower.offset.min(parties - 1);
    }
    let lower_range = lower.window(parties, bottom.height.saturating_sub(2) as usize);
    s.party_offset = lower.offset;
    *list = ListArea {
        area: top,
        header: 1,
        offset: upper_range.start,
        also: Some(Section {
            area: bottom,
            header: 2,
            offset: lower_range.start,
            base: recordings,
            len: parties,
        }),
    };
    recording_table(frame, top, s, upper_range, theme);
    let [rule, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(bottom);
    frame.render_widget(
        Paragraph::new(Span::styled(format!("── parties ({parties})"), theme.dim())),
        rule,
    );
    party_table(
        frame,
        table,
        s,
        recordings + lower_range.start..recordings + lower_range.end,
        theme,
    );
    (top.height.saturating_sub(1) as usize).max(1)
}

fn recording_table(
    frame: &mut Frame,
    area: Rect,
    s: &SearchScreen,
    range: std::ops::Range<usize>,
    theme: Theme,
) {
    let wide = area.width >= 120;
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
    let cols = column_widths(area.width, &widths);
    let rows: Vec<Row> = s.rows[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let selected = range.start + i == s.cursor.selected;
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(selected),
                    fit(&format!("  {}", r.title), cols[0].saturating_sub(1))
                ),
                fit(&r.artist, cols[1]),
                fit(&r.release, cols[2]),
                r.isrc.clone(),
                format!("{:>3.0}", r.popularity),
            ]);
            select(row, selected, theme)
        })
        .collect();
    let header = Row::new(vec![" title", "artist", "release", "ISRC", "pop"]).style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// Parties with what tells same-name ones apart: kind, disambiguation, ISNI and IPI, and how
/// many recordings credit them (the party's own page counts credits, several per recording).
fn party_table(
    frame: &mut Frame,
    area: Rect,
    s: &SearchScreen,
    range: std::ops::Range<usize>,
    theme: Theme,
) {
    let widths = vec![
        Constraint::Fill(4),
        Constraint::Length(12),
        Constraint::Fill(3),
        Constraint::Fill(3),
        Constraint::Length(10),
    ];
    let cols = column_widths(area.width, &widths);
    let rows: Vec<Row> = s.rows[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let selected = range.start + i == s.cursor.selected;
            let facts = r.party.as_ref();
            let row = Row::new(vec![
                format!(
                    "{}{}",
                    mark(selected),
                    fit(&format!("◆ {}", r.title), cols[0].saturating_sub(1))
                ),
                facts.map_or("", |f| f.kind).to_owned(),
                fit(facts.map_or(&r.artist, |f| &f.disambiguation), cols[2]),
                fit(facts.map_or("", |f| f.codes.as_str()), cols[3]),
                facts.map_or(String::new(), |f| {
                    format!("{:>7}", credits_label(f.credits))
                }),
            ]);
            select(row, selected, theme)
        })
        .collect();
    let header = Row::new(vec![
        " party",
        "kind",
        "disambiguation",
        "ISNI · IPI",
        "credits",
    ])
    .style(theme.dim());
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

/// A party's credit count as lists show it: counting stops past
/// [`CREDIT_COUNT_CAP`](liner::store::CREDIT_COUNT_CAP).
pub fn credits_label(n: u64) -> String {
    if n > liner::store::CREDIT_COUNT_CAP {
        format!("{}+", liner::store::CREDIT_COUNT_CAP)
    } else {
        n.to_string()
    }
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
