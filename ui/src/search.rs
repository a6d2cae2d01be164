//! `liner search`: the search index answers, the store fills in what a person reads.

use std::io::Write as _;

use anyhow::{Context, Result, anyhow};
use liner::model::{EntityId, EntityKind};
use liner::roles::Role;
use liner::search::{SearchIndex, SearchRequest};
use liner::store::Store;
use serde::Serialize;

use crate::cli::{Kind, SearchArgs};
use crate::generate::{DB_FILE, INDEX_DIR};

#[derive(Debug, Serialize)]
struct Hit {
    id: String,
    kind: EntityKind,
    /// Recording title or party name.
    title: String,
    /// Display artist (recordings) or disambiguation (parties).
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    isrc: Option<String>,
    /// Parties: person, group or organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    party_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    isni: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipi: Option<String>,
    /// Parties: how many recordings credit them (not credits: one recording may credit a
    /// party twice), counted up to 10,000...
    #[serde(skip_serializing_if = "Option::is_none")]
    credits: Option<u64>,
    /// ...and whether there are more.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    credits_more: bool,
    popularity: f32,
    score: f32,
    /// No entry matched every word of the query: this one matches most of them.
    partial: bool,
}

/// Returns whether anything was found.
pub fn run(args: SearchArgs, data: &std::path::Path) -> Result<bool> {
    let db = data.join(DB_FILE);
    if !db.exists() {
        return Err(anyhow!(
            "no mirror at {}; fill one with `liner generate --data {}`",
            data.display(),
            data.display()
        ));
    }
    let store = Store::open_read_only(&db).with_context(|| format!("opening {}", db.display()))?;
    let index = SearchIndex::open_read_only(data.join(INDEX_DIR))?;
    let lag = index.lag(&store)?;
    if lag > 0 {
        eprintln!(
            "liner: the search index is {lag} changes behind the mirror; results may be stale"
        );
    }
    let role = args
        .role
        .as_deref()
        .map(|r| {
            Role::from_wire(r).ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                anyhow!("unknown role {r:?}; roles are: {}", known.join(", "))
            })
        })
        .transpose()?;
    let party = args
        .party
        .as_deref()
        .map(|p| -> Result<i64> {
            let id = p.parse().map_err(|e| anyhow!("--party: {e}"))?;
            store
                .party_key(id)?
                .ok_or_else(|| anyhow!("--party: {p} is not in the mirror"))
        })
        .transpose()?;
    let request = |kind| SearchRequest {
        text: args.query.clone(),
        kind: Some(kind),
        role,
        party,
        limit: usize::from(args.limit),
        one_letter_whole_word: false,
    };
    // Recordings, then parties, each ranked on its own (as the console's two sections): a
    // name that is an artist's finds the artist and their records.
    let found = match args.kind {
        Some(Kind::Recording) => index.search(&request(EntityKind::Recording))?,
        Some(Kind::Party) => index.search(&request(EntityKind::Party))?,
        None if role.is_some() || party.is_some() => {
            index.search(&request(EntityKind::Recording))?
        }
        None => index
            .search_sections(
                &request(EntityKind::Recording),
                &[
                    (EntityKind::Recording, usize::from(args.limit)),
                    (EntityKind::Party, usize::from(args.limit)),
                ],
            )?
            .into_iter()
            .flatten()
            .collect(),
    };
    if found.iter().any(|h| h.partial) {
        eprintln!(
            "liner: no entry has every word of {:?}; these have most of them",
            args.query
        );
    }
    let mut hits = Vec::new();
    for h in found {
        let hit = match h.id {
            EntityId::Recording(id) => {
                let Some(d) = store.recording_detail(id)? else {
                    continue;
                };
                Hit {
                    id: id.to_string(),
                    kind: EntityKind::Recording,
                    title: d.recording.title.clone(),
                    detail: d.recording.display_artist(),
                    isrc: d.recording.isrc.as_ref().map(|i| i.to_string()),
                    party_kind: None,
                    isni: None,
                    ipi: None,
                    credits: None,
                    credits_more: false,
                    popularity: h.popularity,
                    score: h.score,
                    partial: h.partial,
                }
            }
            EntityId::Party(id) => {
                let Some((p, _)) = store.party(id)? else {
                    continue;
                };
                let credits = store.party_credit_count(id)?;
                Hit {
                    id: id.to_string(),
                    kind: EntityKind::Party,
                    title: p.name,
                    detail: p.disambiguation.unwrap_or_default(),
                    isrc: None,
                    party_kind: Some(p.kind.as_str()),
                    isni: p.isni.map(|i| i.to_string()),
                    ipi: p.ipi.map(|i| i.to_string()),
                    credits: Some(credits.min(liner::store::CREDIT_COUNT_CAP)),
                    credits_more: credits > liner::store::CREDIT_COUNT_CAP,
                    popularity: h.popularity,
                    score: h.score,
                    partial: h.partial,
                }
            }
            _ => continue,
        };
        hits.push(hit);
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)
    } else {
        print_table(&mut out, &hits)
    };
    match written {
        // A reader that stopped reading (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the results")?,
    }
    Ok(!hits.is_empty())
}

fn print_table(out: &mut impl std::io::Write, hits: &[Hit]) -> std::io::Result<()> {
    if hits.is_empty() {
        eprintln!("liner: nothing found");
        return Ok(());
    }
    let w_title = hits
        .iter()
        .map(|h| h.title.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    let w_detail = hits
        .iter()
        .map(|h| h.detail.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 40);
    writeln!(
        out,
        "{:<12} {:<w_title$} {:<w_detail$} {:<19} {:>13}  ID",
        "KIND", "TITLE", "ARTIST", "ISRC/ISNI/IPI", "POP/RECS"
    )?;
    for h in hits {
        writeln!(
            out,
            "{:<12} {:<w_title$} {:<w_detail$} {:<19} {:>13}  {}",
            h.party_kind.unwrap_or(h.kind.as_str()),
            cut(&liner::text::printable(&h.title), w_title),
            cut(&liner::text::printable(&h.detail), w_detail),
            h.isrc
                .as_deref()
                .or(h.isni.as_deref())
                .or(h.ipi.as_deref())
                .unwrap_or("-"),
            match h.credits {
                Some(n) if h.credits_more => format!("{n}+ recs"),
                Some(n) => format!("{n} recs"),
                None => format!("{:.1}", h.popularity),
            },
            h.id
        )?;
    }
    Ok(())
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}
