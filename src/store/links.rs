//! The links from a party to the recordings and works that name it.
//!
//! A recording keeps its credits, and a work its writers, packed in a column of its own row
//! (see [`body`]); what the party view needs is the other direction, which `party_credit` and
//! `party_writer` hold as bare (party, entity) key pairs. Applying keeps them in step row by
//! row; a bulk load leaves them alone and [`rebuild`] writes both at its end in sorted order
//! (from the pairs the load gathered, or from the packed columns), which is cheaper than
//! millions of inserts at random places. The meta row
//! `links_stale` is set for the length of a bulk load, so a load killed half-way is rebuilt on
//! the next open instead of leaving party views short. Only the end of a load clears it: another
//! connection opening the store in the middle of a load rebuilds from what is there so far, and
//! must not make a later kill look like a finished load.

use rusqlite::{ToSql, Transaction, params};

use super::apply::insert_rows;
use super::pair_runs::PairRuns;
use super::{Result, body};
use crate::model::EntityKind;

/// Where one kind's links live.
struct Place {
    /// The link table and its entity column.
    table: &'static str,
    column: &'static str,
    /// The entity table and its packed column.
    entity: &'static str,
    packed: &'static str,
    insert: &'static str,
}

fn place(kind: EntityKind) -> Option<Place> {
    match kind {
        EntityKind::Recording => Some(Place {
            table: "party_credit",
            column: "recording_key",
            entity: "recording",
            packed: "credits",
            insert: "INSERT OR IGNORE INTO party_credit (party_key, recording_key)",
        }),
        EntityKind::Work => Some(Place {
            table: "party_writer",
            column: "work_key",
            entity: "work",
            packed: "writers",
            insert: "INSERT OR IGNORE INTO party_writer (party_key, work_key)",
        }),
        _ => None,
    }
}

/// The parties one packed column names.
fn parties_in(
    kind: EntityKind,
    packed: Option<&[u8]>,
    what: impl std::fmt::Display,
) -> Result<Vec<i64>> {
    Ok(match kind {
        EntityKind::Recording => body::credits(packed, what)?
            .into_iter()
            .map(|c| c.party)
            .collect(),
        EntityKind::Work => body::writers(packed, what)?
            .into_iter()
            .map(|w| w.party)
            .collect(),
        _ => Vec::new(),
    })
}

/// Links `key` to each of `parties` (a party named twice is linked once).
pub(crate) fn link(
    tx: &Transaction<'_>,
    kind: EntityKind,
    key: i64,
    parties: &[i64],
) -> Result<()> {
    let Some(place) = place(kind) else {
        return Ok(());
    };
    let params: Vec<&dyn ToSql> = parties
        .iter()
        .flat_map(|p| [p as &dyn ToSql, &key])
        .collect();
    insert_rows(tx, place.insert, 2, &params)
}

/// Removes the links of `key` as its row names them now; call before the row is overwritten.
pub(crate) fn unlink(tx: &Transaction<'_>, kind: EntityKind, key: i64) -> Result<()> {
    let Some(Place {
        table,
        column,
        entity,
        packed,
        ..
    }) = place(kind)
    else {
        return Ok(());
    };
    let old: Option<Vec<u8>> = tx
        .prepare_cached(&format!("SELECT {packed} FROM {entity} WHERE key = ?1"))?
        .query_row([key], |r| r.get(0))?;
    let mut stmt = tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE party_key = ?1 AND {column} = ?2"
    ))?;
    for party in parties_in(kind, old.as_deref(), format_args!("{entity} {key}"))? {
        stmt.execute(params![party, key])?;
    }
    Ok(())
}

/// Marks the links out of date (a bulk load is starting) in the caller's transaction.
pub(crate) fn mark_stale(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('links_stale', '1')
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    Ok(())
}

pub(crate) fn stale(tx: &rusqlite::Connection) -> Result<bool> {
    Ok(tx.query_row(
        "SELECT count(*) FROM meta WHERE key = 'links_stale'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// The pairs of both kinds gathered while a bulk load applied its rows, so its end need not
/// read every packed column back (one scan per kind was most of the load's end step).
/// Only valid for a load that started with no linked rows and only inserted: one that finds
/// rows already there, overwrites one, or has a transaction fail drops it (see `Keys`), and
/// the rebuild scans instead.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    credits: PairRuns,
    writers: PairRuns,
}

impl Gathered {
    /// Notes the links a newly inserted recording or work will have.
    pub(crate) fn add(&mut self, kind: EntityKind, key: i64, parties: &[i64]) -> Result<()> {
        let runs = match kind {
            EntityKind::Recording => &mut self.credits,
            EntityKind::Work => &mut self.writers,
            _ => return Ok(()),
        };
        for &party in parties {
            runs.push(party, key)?;
        }
        Ok(())
    }
}

/// Whether any recording or work names a party yet: a bulk load gathers its links only when
/// none does.
pub(crate) fn any_linked(conn: &rusqlite::Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM recording WHERE credits IS NOT NULL)
             OR EXISTS (SELECT 1 FROM work WHERE writers IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// Rewrites both link tables in (party, entity) order, so they fill page after page: from
/// the pairs a bulk load gathered, or else from one scan of each kind's packed columns.
pub(crate) fn rebuild(tx: &Transaction<'_>, gathered: Option<Gathered>) -> Result<()> {
    let (credits, writers) = match gathered {
        Some(g) => (g.credits, g.writers),
        None => {
            let mut credits = PairRuns::default();
            scan(tx, EntityKind::Recording, |p, k| credits.push(p, k))?;
            let mut writers = PairRuns::default();
            scan(tx, EntityKind::Work, |p, k| writers.push(p, k))?;
            (credits, writers)
        }
    };
    for (kind, runs) in [
        (EntityKind::Recording, credits),
        (EntityKind::Work, writers),
    ] {
        let Some(place) = place(kind) else {
            continue;
        };
        tx.execute(&format!("DELETE FROM {}", place.table), [])?;
        let mut sorted = runs.into_sorted().peekable();
        let mut values: Vec<i64> = Vec::with_capacity(2 * WRITE_CHUNK);
        while sorted.peek().is_some() {
            values.clear();
            values.extend(sorted.by_ref().take(WRITE_CHUNK).flat_map(|(p, k)| [p, k]));
            let params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
            insert_rows(tx, place.insert, 2, &params)?;
        }
    }
    Ok(())
}

/// Pairs written per round through apply's multi-row inserts, so the bound parameters stay
/// small.
const WRITE_CHUNK: usize = 4096;

/// Calls `f(party, entity key)` for every party every packed column of `kind` names.
fn scan(
    tx: &Transaction<'_>,
    kind: EntityKind,
    mut f: impl FnMut(i64, i64) -> Result<()>,
) -> Result<()> {
    let Some(Place { entity, packed, .. }) = place(kind) else {
        return Ok(());
    };
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT key, {packed} FROM {entity} WHERE {packed} IS NOT NULL ORDER BY key"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        for party in parties_in(kind, super::blob(r, 1)?, format_args!("{entity} {key}"))? {
            f(party, key)?;
        }
    }
    Ok(())
}

/// Marks the links complete again (a bulk load has ended and rebuilt them).
pub(crate) fn clear_stale(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM meta WHERE key = 'links_stale'", [])?;
    Ok(())
}
