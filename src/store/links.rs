//! The links from a party to the recordings and works that name it.
//!
//! A recording keeps its credits, and a work its writers, packed in a column of its own row
//! (see [`body`]); what the party view needs is the other direction, which `party_credit` and
//! `party_writer` hold as bare (party, entity) key pairs. Applying keeps them in step row by
//! row; a bulk load leaves them alone and [`rebuild`] derives both from the packed columns at
//! its end by sorting, which is cheaper than millions of inserts at random places. The meta row
//! `links_stale` is set for the length of a bulk load, so a load killed half-way is rebuilt on
//! the next open instead of leaving party views short. Only the end of a load clears it: another
//! connection opening the store in the middle of a load rebuilds from what is there so far, and
//! must not make a later kill look like a finished load.

use rusqlite::{ToSql, Transaction, params};

use super::apply::insert_rows;
use super::{Result, StoreError, body};
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

/// Pairs sorted in memory at a time: 16 MB. Sorting all of a 1M catalog's 5M credits in one
/// Vec put the daemon's peak at 405 MB (target 400), measured; letting SQLite sort them
/// instead took twice as long.
const RUN: usize = 2_000_000;

/// Derives both link tables from the packed columns. The pairs are written in (party, entity)
/// order, so the tables fill page after page: the party keys are cut into ranges of at most
/// [`RUN`] pairs, and each range is one scan of the packed columns, one sort and one append.
pub(crate) fn rebuild(tx: &Transaction<'_>) -> Result<()> {
    for kind in [EntityKind::Recording, EntityKind::Work] {
        let Some(place) = place(kind) else {
            continue;
        };
        tx.execute(&format!("DELETE FROM {}", place.table), [])?;
        let mut per_party: Vec<usize> = Vec::new();
        scan(tx, kind, |party, _| {
            let i = usize::try_from(party).unwrap_or(0);
            if per_party.len() <= i {
                per_party.resize(i + 1, 0);
            }
            per_party[i] += 1;
        })?;
        let mut ranges = Vec::new();
        let (mut start, mut in_range) = (0, 0);
        for (party, n) in per_party.iter().enumerate() {
            if in_range + n > RUN && in_range > 0 {
                ranges.push(start..party);
                (start, in_range) = (party, 0);
            }
            in_range += n;
        }
        ranges.push(start..per_party.len());
        let total: usize = per_party.iter().sum();
        let mut pairs: Vec<u64> = Vec::with_capacity(total.min(RUN));
        for range in ranges {
            let mut bad = None;
            scan(tx, kind, |party, key| {
                if usize::try_from(party).is_ok_and(|p| range.contains(&p)) {
                    match pair(party, key) {
                        Ok(p) => pairs.push(p),
                        Err(e) => bad = Some(e),
                    }
                }
            })?;
            if let Some(e) = bad {
                return Err(e);
            }
            write_run(tx, place.insert, &mut pairs)?;
        }
    }
    Ok(())
}

/// Calls `f(party, entity key)` for every party every packed column of `kind` names.
fn scan(tx: &Transaction<'_>, kind: EntityKind, mut f: impl FnMut(i64, i64)) -> Result<()> {
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
            f(party, key);
        }
    }
    Ok(())
}

/// Marks the links complete again (a bulk load has ended and rebuilt them).
pub(crate) fn clear_stale(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM meta WHERE key = 'links_stale'", [])?;
    Ok(())
}

/// Two keys in one word, party first, so sorting the words sorts by (party, entity).
fn pair(party: i64, key: i64) -> Result<u64> {
    let (Ok(p), Ok(k)) = (u32::try_from(party), u32::try_from(key)) else {
        return Err(StoreError::Body {
            what: format!("link ({party}, {key})"),
            reason: "a key beyond 2^32".into(),
        });
    };
    Ok(u64::from(p) << 32 | u64::from(k))
}

/// Writes a run of pairs in order, through the same multi-row inserts as apply, a few
/// thousand rows at a time so the bound parameters stay small.
fn write_run(tx: &Transaction<'_>, insert: &'static str, pairs: &mut Vec<u64>) -> Result<()> {
    pairs.sort_unstable();
    pairs.dedup();
    for chunk in pairs.chunks(4096) {
        let values: Vec<i64> = chunk
            .iter()
            .flat_map(|p| [(p >> 32) as i64, (p & 0xffff_ffff) as i64])
            .collect();
        let params: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
        insert_rows(tx, insert, 2, &params)?;
    }
    pairs.clear();
    Ok(())
}
