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
    popularity: f32,
    score: f32,
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
    let request = SearchRequest {
        text: args.query.clone(),
        kind: args.kind.map(|k| match k {
            Kind::Recording => EntityKind::Recording,
            Kind::Party => EntityKind::Party,
        }),
        role,
        party,
        limit: args.limit,
    };
    let mut hits = Vec::new();
    for h in index.search(&request)? {
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
                    popularity: h.popularity,
                    score: h.score,
                }
            }
            EntityId::Party(id) => {
                let Some((p, _)) = store.party(id)? else {
                    continue;
                };
                Hit {
                    id: id.to_string(),
                    kind: EntityKind::Party,
                    title: p.name,
                    detail: p.disambiguation.unwrap_or_default(),
                    isrc: None,
                    popularity: h.popularity,
                    score: h.score,
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
        "{:<9} {:<w_title$} {:<w_detail$} {:<15} {:>10}  ID",
        "KIND", "TITLE", "ARTIST", "ISRC", "POPULARITY"
    )?;
    for h in hits {
        writeln!(
            out,
            "{:<9} {:<w_title$} {:<w_detail$} {:<15} {:>10.1}  {}",
            h.kind.as_str(),
            cut(&liner::text::printable(&h.title), w_title),
            cut(&liner::text::printable(&h.detail), w_detail),
            h.isrc.as_deref().unwrap_or("-"),
            h.popularity,
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
