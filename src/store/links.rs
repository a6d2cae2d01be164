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

use rusqlite::{Transaction, params};

use super::{Result, StoreError, body};
use crate::model::EntityKind;

/// Where one kind's links live: (table, entity column, packed column, entity table).
fn place(kind: EntityKind) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    match kind {
        EntityKind::Recording => Some(("party_credit", "recording_key", "credits", "recording")),
        EntityKind::Work => Some(("party_writer", "work_key", "writers", "work")),
        _ => None,
    }
}

/// The parties one packed column names.
fn parties_in(kind: EntityKind, packed: &[u8], what: &str) -> Result<Vec<i64>> {
    Ok(match kind {
        EntityKind::Recording => body::credit_parties(packed, what)?,
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
    let Some((table, column, _, _)) = place(kind) else {
        return Ok(());
    };
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO {table} (party_key, {column}) VALUES (?1, ?2)"
    ))?;
    for party in parties {
        stmt.execute(params![party, key])?;
    }
    Ok(())
}

/// Removes the links of `key` as its row names them now; call before the row is overwritten.
pub(crate) fn unlink(tx: &Transaction<'_>, kind: EntityKind, key: i64) -> Result<()> {
    let Some((table, column, packed, entity)) = place(kind) else {
        return Ok(());
    };
    let old: Option<Vec<u8>> = tx
        .prepare_cached(&format!("SELECT {packed} FROM {entity} WHERE key = ?1"))?
        .query_row([key], |r| r.get(0))?;
    let Some(old) = old else { return Ok(()) };
    let mut stmt = tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE party_key = ?1 AND {column} = ?2"
    ))?;
    for party in parties_in(kind, &old, &format!("{entity} {key}"))? {
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
        let Some((table, column, _, _)) = place(kind) else {
            continue;
        };
        tx.execute(&format!("DELETE FROM {table}"), [])?;
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
            write_run(tx, table, column, &mut pairs)?;
        }
    }
    Ok(())
}

/// Calls `f(party, entity key)` for every party every packed column of `kind` names.
fn scan(tx: &Transaction<'_>, kind: EntityKind, mut f: impl FnMut(i64, i64)) -> Result<()> {
    let Some((_, _, packed, entity)) = place(kind) else {
        return Ok(());
    };
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT key, {packed} FROM {entity} WHERE {packed} IS NOT NULL ORDER BY key"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let bytes = super::blob(r, 1)?.unwrap_or_default();
        for party in parties_in(kind, bytes, &format!("{entity} {key}"))? {
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

fn write_run(tx: &Transaction<'_>, table: &str, column: &str, pairs: &mut Vec<u64>) -> Result<()> {
    pairs.sort_unstable();
    pairs.dedup();
    // Sixty-four rows per statement: per-statement overhead dominated one-row inserts.
    const ROWS: usize = 64;
    let many = format!(
        "INSERT OR IGNORE INTO {table} (party_key, {column}) VALUES {}",
        vec!["(?, ?)"; ROWS].join(", ")
    );
    let mut stmt = tx.prepare(&many)?;
    let mut chunks = pairs.chunks_exact(ROWS);
    let mut values = [0i64; ROWS * 2];
    for chunk in &mut chunks {
        for (i, p) in chunk.iter().enumerate() {
            values[2 * i] = (p >> 32) as i64;
            values[2 * i + 1] = (p & 0xffff_ffff) as i64;
        }
        stmt.execute(rusqlite::params_from_iter(values.iter()))?;
    }
    let mut one = tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO {table} (party_key, {column}) VALUES (?1, ?2)"
    ))?;
    for p in chunks.remainder() {
        one.execute(params![(p >> 32) as i64, (p & 0xffff_ffff) as i64])?;
    }
    pairs.clear();
    Ok(())
}
