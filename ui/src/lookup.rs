//! `liner show`, `party`, `history` and `status`: what the console shows, for scripts. Text
//! for people by default, `--json` for programs; the exit code says whether anything was found.

use std::io::Write as _;
use std::path::Path;

/// Writes a line to stdout, returning the error (a closed pipe among them, see
/// [`closed_pipe`]) instead of panicking as `println!` does.
/// Text from the mirror may predate the service's text rules: each line goes out with every
/// control, bidirectional or invisible format character shown as its code point instead.
macro_rules! outln {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), "{}", liner::text::printable_lines(&format!($($arg)*)))?
    };
}

use anyhow::{Context as _, Result, anyhow};
use liner::ident::Isrc;
use liner::ids::{PartyId, RecordingId};
use liner::model::EntityId;
use liner::search::{SearchIndex, SearchRequest, tokenizer};
use liner::store::Store;
use serde_json::json;

use crate::cli::{LookupArgs, StatusArgs};
use crate::console::edit::{percent, share_text};
use crate::console::outcome::{author_words, outcome_words};
use crate::console::worker::{Paths, Reply, Request, Worker, names_in};

/// Whether a lookup found what it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Yes,
    No,
    /// A name that fits several things.
    Several,
}

impl From<bool> for Found {
    fn from(b: bool) -> Self {
        if b { Found::Yes } else { Found::No }
    }
}

fn open(dir: &Path) -> Result<Store> {
    let path = Paths::new(dir).mirror();
    Store::open_existing(&path).with_context(|| format!("opening the mirror in {}", dir.display()))
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Whether an error is stdout closed by its reader (`liner party X | head -1`): the command
/// ends quietly, with success, as `cat` does, instead of panicking or complaining.
pub fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn show(dir: &Path, args: &LookupArgs) -> Result<Found> {
    let store = open(dir)?;
    let what = args.what.trim();
    let ids: Vec<RecordingId> = if let Ok(id) = what.parse::<RecordingId>() {
        vec![id]
    } else if let Ok(isrc) = what.parse::<Isrc>() {
        store.recordings_by_isrc(&isrc)?
    } else {
        return Err(anyhow!(
            "{what:?} is neither a recording id (rec_…) nor a valid ISRC"
        ));
    };
    let mut details = Vec::new();
    for id in ids {
        if let Some(d) = store.recording_detail(id)? {
            let history = store.history(EntityId::Recording(id))?;
            let provenance = crate::console::worker::provenance(&d, &history);
            let edits = store.outbox_for(EntityId::Recording(id))?;
            details.push((d, provenance, edits));
        }
    }
    if details.is_empty() {
        eprintln!("liner: no recording {what} in the mirror");
        return Ok(Found::No);
    }
    if args.json {
        let out: Vec<_> = details
            .iter()
            .map(|(d, provenance, edits)| {
                let names = names_in(&store, edits.iter());
                let edits: Vec<_> = edits
                    .iter()
                    .map(|e| {
                        json!({
                            "edit": e,
                            "outcome_words": e.outcome.as_ref().map(|o| outcome_words(o, &names)),
                        })
                    })
                    .collect();
                json!({"recording": d, "provenance": provenance, "local_edits": edits})
            })
            .collect();
        print_json(&out)?;
        return Ok(Found::Yes);
    }
    for (d, provenance, edits) in &details {
        let r = &d.recording;
        outln!("{}  ({}, version {})", r.title, r.id, d.version);
        outln!("  by {}", r.display_artist());
        outln!(
            "  ISRC {}",
            r.isrc.as_ref().map_or("—".into(), |i| i.to_string())
        );
        let mut role = None;
        for (c, by) in d.credits.iter().zip(provenance) {
            if role != Some(c.credit.role) {
                role = Some(c.credit.role);
                outln!("  {}", c.credit.role.label());
            }
            let mut line = format!("    {} ({})", c.party_name, c.credit.party);
            if let Some(i) = &c.credit.instrument {
                line.push_str(&format!(", {i}"));
            }
            if let Some(a) = &c.credit.credited_as {
                line.push_str(&format!(", credited as {a:?}"));
            }
            if let Some(by) = by {
                line.push_str(&format!(" — {}", author_words(by)));
            }
            outln!("{line}");
        }
        for w in &d.works {
            outln!(
                "  work {} ({}) {}",
                w.work.title,
                w.work.id,
                w.work
                    .iswc
                    .as_ref()
                    .map_or("no ISWC".into(), |i| i.to_string())
            );
            for wr in &w.writers {
                outln!(
                    "    {} {} {}",
                    wr.party_name,
                    wr.writer.role.as_str(),
                    share_text(wr.writer.share)
                );
            }
        }
        for rel in &d.releases {
            outln!(
                "  release {} ({}) track {}-{}",
                rel.title,
                rel.id,
                rel.disc,
                rel.position
            );
        }
        let names = names_in(&store, edits.iter());
        for e in edits {
            let answer = e
                .outcome
                .as_ref()
                .map(|o| format!(": {}", outcome_words(o, &names)))
                .unwrap_or_default();
            outln!(
                "  local edit {} ({}): {}{answer}",
                e.seq,
                e.reason,
                e.state.as_str(),
            );
        }
    }
    Ok(Found::Yes)
}

/// The party a name or id means: an id; else the parties called exactly so; else those whose
/// name is the same once case and accents are folded (`bjork` for Björk), found through the
/// search index. Several: the candidates, on stderr, with what tells them apart.
fn resolve_party(dir: &Path, store: &Store, what: &str) -> Result<Result<PartyId, Found>> {
    if let Ok(id) = what.parse::<PartyId>() {
        return Ok(Ok(id));
    }
    let mut named: Vec<PartyId> = store.parties_named(what)?.iter().map(|p| p.id).collect();
    if named.is_empty()
        && let Ok(index) = SearchIndex::open_read_only(dir.join(crate::generate::INDEX_DIR))
    {
        let folded = tokenizer::tokens(what);
        let mut req = SearchRequest::new(what);
        req.kind = Some(liner::model::EntityKind::Party);
        req.limit = 200;
        for hit in index.search(&req)? {
            if let EntityId::Party(id) = hit.id
                && !hit.partial
                && let Some((p, _)) = store.party(id)?
                && tokenizer::tokens(&p.name) == folded
            {
                named.push(id);
            }
        }
    }
    match named.as_slice() {
        [] => {
            eprintln!(
                "liner: no party is called {what:?} (`liner search --kind party` finds near names)"
            );
            Ok(Err(Found::No))
        }
        [one] => Ok(Ok(*one)),
        many => {
            eprintln!(
                "liner: {} parties are called {what:?}; name one by id:",
                many.len()
            );
            for id in many {
                if let Some((p, _)) = store.party(*id)? {
                    let mut facts = vec![p.kind.as_str().to_owned()];
                    facts.extend(p.disambiguation.clone());
                    facts.extend(p.isni.as_ref().map(|i| format!("ISNI {i}")));
                    facts.extend(p.ipi.as_ref().map(|i| format!("IPI {i}")));
                    let n = store.party_credit_count(*id)?;
                    facts.push(if n > liner::store::CREDIT_COUNT_CAP {
                        format!("{}+ recordings", liner::store::CREDIT_COUNT_CAP)
                    } else {
                        format!("{n} recordings")
                    });
                    eprintln!("  {id}  {}  ({})", p.name, facts.join(" · "));
                }
            }
            Ok(Err(Found::Several))
        }
    }
}

pub fn party(dir: &Path, args: &LookupArgs) -> Result<Found> {
    let store = open(dir)?;
    let what = args.what.trim();
    let id = match resolve_party(dir, &store, what)? {
        Ok(id) => id,
        Err(found) => return Ok(found),
    };
    let Some(view) = store.party_view(id)? else {
        eprintln!("liner: no party {id} in the mirror");
        return Ok(Found::No);
    };
    if args.json {
        print_json(&view)?;
        return Ok(Found::Yes);
    }
    outln!(
        "{}  ({}, version {})",
        view.party.name,
        view.party.id,
        view.version
    );
    for group in &view.by_role {
        outln!("  {} ({})", group.role.label(), group.credits.len());
        for c in &group.credits {
            outln!("    {} — {} ({})", c.title, c.artist, c.recording);
        }
    }
    if !view.works.is_empty() {
        outln!("  Writer on works ({})", view.works.len());
        for w in &view.works {
            outln!(
                "    {} {} {} ({})",
                w.title,
                w.role.as_str(),
                w.share_bp
                    .map_or_else(|| "share hidden".into(), |bp| percent(u32::from(bp))),
                w.work
            );
        }
    }
    Ok(Found::Yes)
}

pub fn history(dir: &Path, args: &LookupArgs) -> Result<Found> {
    let store = open(dir)?;
    let what = args.what.trim();
    // An id; an ISRC (its recording); else a party's name, as `party` takes it.
    let id: EntityId = if let Ok(id) = what.parse::<EntityId>() {
        id
    } else if let Ok(isrc) = what.parse::<Isrc>() {
        match store.recordings_by_isrc(&isrc)?.as_slice() {
            [] => {
                eprintln!("liner: no recording carries ISRC {isrc} in the mirror");
                return Ok(Found::No);
            }
            [one] => EntityId::Recording(*one),
            many => {
                eprintln!(
                    "liner: {} recordings carry ISRC {isrc}; name one by id:",
                    many.len()
                );
                for id in many {
                    eprintln!("  {id}");
                }
                return Ok(Found::Several);
            }
        }
    } else {
        match resolve_party(dir, &store, what)? {
            Ok(id) => EntityId::Party(id),
            Err(found) => return Ok(found),
        }
    };
    let revisions = store.history(id)?;
    if revisions.is_empty() {
        eprintln!("liner: no history for {id} in the mirror");
        return Ok(Found::No);
    }
    if args.json {
        print_json(&revisions)?;
        return Ok(Found::Yes);
    }
    // Party ids in the diffs, named, so a support person reads names rather than ids.
    let mut names = std::collections::HashMap::new();
    for r in &revisions {
        for change in &r.diff {
            for v in [&change.old, &change.new].into_iter().flatten() {
                crate::console::worker::collect_party_ids(&v.value(), &mut names);
            }
        }
    }
    crate::console::worker::name_parties(&store, &mut names);
    for r in &revisions {
        outln!(
            "v{}  {}  {}  {}  {}",
            r.version,
            r.at,
            r.actor,
            r.source.kind.as_str(),
            r.reason
        );
        for change in &r.diff {
            let show = |v: &Option<liner::model::RawJson>| {
                crate::console::outcome::value_words(v.as_ref().map(|v| v.value()).as_ref(), &names)
            };
            outln!(
                "    {}: {} -> {}",
                change.field().replace('_', " "),
                show(&change.old),
                show(&change.new)
            );
        }
    }
    Ok(Found::Yes)
}

pub fn status(dir: &Path, args: &StatusArgs) -> Result<Found> {
    let mut worker = Worker::new(Paths::new(dir));
    let Reply::Status(s) = worker.handle(Request::Status { counts: true }) else {
        return Err(anyhow!("the status could not be read"));
    };
    let healthy = s.daemon_running
        && s.daemon
            .as_ref()
            .is_some_and(|d| d.state != liner::protocol::status::State::Offline);
    if args.json {
        print_json(&s)?;
        return Ok(Found::from(healthy));
    }
    match &s.daemon {
        Some(d) => {
            outln!(
                "daemon: {}{}",
                d.state.words(),
                if s.daemon_running {
                    ""
                } else {
                    " (not running)"
                }
            );
            outln!("upstream: {}", d.upstream);
            if let Some(b) = d.behind {
                outln!("behind: {b} changes");
            }
            if let Some(e) = &d.last_error {
                outln!("last error: {e}");
            }
            if let Some(w) = &d.who {
                outln!(
                    "token: {} ({}{})",
                    w.name,
                    w.role,
                    if w.may_edit { "" } else { ", read-only" }
                );
            }
        }
        None => outln!(
            "daemon: {}",
            s.daemon_problem.as_deref().unwrap_or("no status")
        ),
    }
    let o = &s.outbox;
    outln!(
        "edits: {} pending, {} sent, {} accepted, {} rejected, {} conflicted",
        o.pending,
        o.sent,
        o.accepted,
        o.rejected,
        o.conflicted
    );
    outln!("quarantined records: {}", s.quarantined);
    if let Some(m) = &s.mirror_problem {
        outln!("mirror: {m}");
    }
    Ok(Found::from(healthy))
}
