//! Drawing: a function of the state, called only when something changed. Every state is
//! written in words or symbols as well as colour, so `NO_COLOR` and colour-blind eyes lose
//! nothing.

mod detail;
mod lists;
mod popup;
mod search;
mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, NoteKind};
use super::keymap;
use super::screens::Screen;

/// Styles, with colour only when allowed.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub fn heading(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let theme = Theme { color: app.color };
    let [header, body, note, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    let read_only = app.read_only();
    let status = app.status.clone();
    let mut list_area = super::app::ListArea::default();
    let page = match app.screens.last_mut() {
        Some(Screen::Search(s)) => search::draw(frame, body, s, theme, &mut list_area),
        Some(Screen::Detail(d)) => detail::draw_detail(frame, body, d, theme, &mut list_area),
        Some(Screen::Work(w)) => detail::draw_work(frame, body, w, theme, &mut list_area),
        Some(Screen::EditCredits(f)) => {
            detail::draw_credit_form(frame, body, f, theme, &mut list_area)
        }
        Some(Screen::EditShares(f)) => {
            detail::draw_share_form(frame, body, f, theme, &mut list_area)
        }
        Some(Screen::History(h)) => lists::draw_history(frame, body, h, theme, &mut list_area),
        Some(Screen::Party(p)) => lists::draw_party(frame, body, p, theme, &mut list_area),
        Some(Screen::Outbox(o)) => lists::draw_outbox(frame, body, o, theme, &mut list_area),
        Some(Screen::Conflict(c)) => lists::draw_conflict(frame, body, c, theme, &mut list_area),
        Some(Screen::Status) | None => {
            status::draw(frame, body, &status, theme);
            0
        }
    };
    app.list_area = list_area;
    if page > 0 {
        app.page = page;
    }
    draw_note(frame, note, app, theme);
    draw_hints(frame, hints, app, theme);
    if let Some(overlay) = &app.overlay {
        popup::draw(frame, overlay, app.context(), read_only, theme);
    }
    keep_to_visible_text(frame.buffer_mut());
}

/// Whatever the mirror holds (text stored before the service refused such characters, an
/// import), nothing reaches the terminal that could act on it or hide from its reader:
/// ratatui drops control characters itself; bidirectional controls and other invisible format
/// characters ([`liner::text::forbidden`]) are dropped here, cell by cell, once per frame.
fn keep_to_visible_text(buffer: &mut ratatui::buffer::Buffer) {
    use liner::text::forbidden;
    for cell in &mut buffer.content {
        if cell.symbol().chars().any(|c| forbidden(c).is_some()) {
            let kept: String = cell
                .symbol()
                .chars()
                .filter(|c| forbidden(*c).is_none())
                .collect();
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![Span::styled(
        " liner ",
        theme.bar().add_modifier(Modifier::BOLD),
    )];
    let trail: Vec<String> = app.screens.iter().map(|s| s.name().to_owned()).collect();
    spans.push(Span::raw(format!(" {} ", trail.join(" › "))));
    spans.push(Span::styled("│ ", theme.dim()));
    spans.extend(status::sync_spans(&app.status, theme));
    let role = match &app.session.who {
        Some(w) => format!("{} {}", w.role, w.name),
        None => "role unknown".into(),
    };
    let mut right = vec![Span::styled(format!(" {role}"), theme.dim())];
    if app.read_only() {
        right.push(Span::styled(" [read-only]", theme.warn()));
    }
    let right_width: usize = right.iter().map(|s| s.width()).sum();
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(right_width as u16 + 1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(
        Paragraph::new(Line::from(right)).right_aligned(),
        right_area,
    );
}

fn draw_note(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(note) = &app.note else { return };
    let line = match note.kind {
        NoteKind::Info => Line::from(vec![
            Span::styled("› ", theme.good()),
            Span::raw(note.text.clone()),
        ]),
        NoteKind::Error => Line::from(vec![
            Span::styled("✗ ", theme.bad()),
            Span::styled(note.text.clone(), theme.bad()),
        ]),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_hints(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let mut spans = Vec::new();
    for b in keymap::active(app.context(), app.read_only()).filter(|b| b.hint) {
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(b.label, theme.key()));
        spans.push(Span::raw(format!(" {}", short(b.help))));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A hint is the help text up to its first punctuation.
fn short(help: &str) -> &str {
    help.split([':', '(', ',', ';'])
        .next()
        .unwrap_or(help)
        .trim_end()
}

/// The mark before the selected row: the selection shows without colour too.
pub fn mark(selected: bool) -> &'static str {
    if selected { "›" } else { " " }
}

/// A list row drawn as selected (reversed, so it shows without colour) or as it is.
pub fn select<T: ratatui::style::Styled<Item = T>>(item: T, selected: bool, theme: Theme) -> T {
    if selected {
        item.set_style(theme.selected())
    } else {
        item
    }
}

/// Cuts `s` to `width` columns with an ellipsis.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_owned();
    }
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A time as people read it in a log, in UTC so every desk sees the same.
pub fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M").to_string()
}
