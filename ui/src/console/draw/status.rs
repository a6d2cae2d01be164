//! Sync status: the words in the header and the status screen.

use liner::protocol::status::State;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::console::worker::StatusSnapshot;

/// "✓ synced · ↑ 1 pending · ⚠ 2 conflicts": symbol and words for each state.
pub fn sync_spans(s: &StatusSnapshot, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    match (&s.daemon, s.daemon_running) {
        (Some(d), true) => spans.push(match d.state {
            State::Synced => Span::styled("✓ synced", theme.good()),
            State::CatchingUp => Span::styled(
                format!("↻ catching up {}", d.behind.unwrap_or(0)),
                theme.warn(),
            ),
            State::Bootstrapping | State::Backfilling => {
                let p = d.bootstrap.clone().unwrap_or_default();
                let pct = p
                    .total
                    .filter(|t| *t > 0)
                    .map(|t| format!(" {}%", p.done * 100 / t))
                    .unwrap_or_default();
                let what = if d.state == State::Backfilling {
                    "loading full history"
                } else {
                    "loading catalog"
                };
                Span::styled(format!("↻ {what}{pct}"), theme.warn())
            }
            State::Offline => Span::styled(
                format!(
                    "✗ offline since {}",
                    d.offline_since
                        .as_deref()
                        .map(short_time)
                        .unwrap_or_else(|| "?".into())
                ),
                theme.bad(),
            ),
            State::Starting => Span::styled("… starting", theme.dim()),
            State::Stopped => Span::styled("■ linerd stopped", theme.bad()),
        }),
        _ => spans.push(Span::styled("✗ linerd not running", theme.bad())),
    }
    let o = &s.outbox;
    let waiting = o.pending + o.sent;
    if waiting > 0 {
        spans.push(Span::styled(
            format!(" · ↑ {waiting} pending"),
            theme.warn(),
        ));
    }
    if o.conflicted > 0 {
        spans.push(Span::styled(
            format!(" · ⚠ {} conflict{}", o.conflicted, plural(o.conflicted)),
            theme.bad(),
        ));
    }
    if o.rejected > 0 {
        spans.push(Span::styled(
            format!(" · ✗ {} rejected", o.rejected),
            theme.bad(),
        ));
    }
    if let Some(lag) = s.index_lag.filter(|l| *l > 0) {
        spans.push(Span::styled(format!(" · index {lag} behind"), theme.dim()));
    }
    spans
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "2026-11-26T17:13:35.123Z" → "17:13:35Z".
fn short_time(t: &str) -> String {
    t.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

pub fn draw(frame: &mut Frame, area: Rect, s: &StatusSnapshot, theme: Theme) {
    let mut lines = vec![Line::from(sync_spans(s, theme)), Line::raw("")];
    let mut kv = |k: &str, v: String| {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:<22}"), theme.dim()),
            Span::raw(v),
        ]));
    };
    match &s.daemon {
        Some(d) => {
            kv(
                "daemon",
                format!(
                    "{} (pid {}{})",
                    d.state.words(),
                    d.pid,
                    if s.daemon_running {
                        ""
                    } else {
                        ", not running"
                    }
                ),
            );
            kv("upstream", d.upstream.clone());
            kv(
                "behind upstream",
                d.behind
                    .map_or("unknown".into(), |b| format!("{b} changes")),
            );
            kv(
                "last poll",
                d.last_poll_at.clone().unwrap_or_else(|| "never".into()),
            );
            if let Some(o) = &d.offline_since {
                kv("offline since", o.clone());
            }
            if let Some(p) = &d.bootstrap {
                kv(
                    "snapshot",
                    format!(
                        "{} of {} ({:.0}/s{})",
                        p.done,
                        p.total.map_or("?".into(), |t| t.to_string()),
                        p.per_second,
                        p.eta_seconds
                            .map_or(String::new(), |e| format!(", {e:.0} s left"))
                    ),
                );
            }
            kv(
                "last error",
                d.last_error.clone().unwrap_or_else(|| "none".into()),
            );
            if d.retries > 0 {
                kv("retries", d.retries.to_string());
            }
        }
        None => kv(
            "daemon",
            s.daemon_problem
                .clone()
                .unwrap_or_else(|| "no status yet".into()),
        ),
    }
    let o = &s.outbox;
    kv(
        "edits",
        format!(
            "{} pending, {} sent, {} accepted, {} rejected, {} conflicted",
            o.pending, o.sent, o.accepted, o.rejected, o.conflicted
        ),
    );
    kv("quarantined records", s.quarantined.to_string());
    if let Some(c) = s.counts {
        kv(
            "mirror",
            format!(
                "{} recordings, {} parties, {} works, {} releases",
                c.recordings, c.parties, c.works, c.releases
            ),
        );
    }
    if let Some(m) = &s.mirror_problem {
        kv("mirror", m.clone());
    }
    kv(
        "search index",
        s.index_lag.map_or("not ready".into(), |l| {
            if l == 0 {
                "up to date".into()
            } else {
                format!("{l} changes behind")
            }
        }),
    );
    frame.render_widget(Paragraph::new(lines), area);
}
