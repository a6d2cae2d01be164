//! The indexes PostgreSQL keeps beside entities, in each write's transaction: reverse
//! references (who names whom) and identifiers (who holds which ISRC, ISWC, ISNI, IPI). A
//! write reads what its plan needs from them and, once planned, replaces the rows of every
//! entity it wrote.
//!
//! **Identifier turns.** Under READ COMMITTED two writers of one free value would each find no
//! holder and both commit. So a write first claims every value it holds: it inserts the
//! value's row in `identifier_claim` (made on first use, never removed) and locks it, in the
//! plan's order, and only then reads the holders. A second writer of the value waits for the
//! first to commit and then sees its index row. Claims are rows, like everything else this
//! backend locks: no advisory locks, which some PostgreSQL-compatible engines lack.

use std::collections::HashMap;

use liner::model::EntityId;

use super::super::identifiers::{self, Duplicate, Held};
use super::super::plan::{Found, Lookup, Planned};
use super::super::{Result, parse_id};

/// Reads the referrers and identifier holders `lookup` asks for into `found`, claiming the
/// identifiers first (see the module notes).
pub(super) async fn read(
    tx: &deadpool_postgres::Transaction<'_>,
    lookup: &Lookup,
    found: &mut Found,
) -> Result<()> {
    if !lookup.referrers.is_empty() {
        let targets: Vec<String> = lookup.referrers.iter().map(ToString::to_string).collect();
        for r in tx
            .query(
                "SELECT target, source FROM reference WHERE target = ANY($1)",
                &[&targets],
            )
            .await?
        {
            found
                .referrers
                .entry(parse_id(r.get(0))?)
                .or_default()
                .push(parse_id(r.get(1))?);
        }
    }
    if lookup.identifiers.is_empty() {
        return Ok(());
    }
    let schemes: Vec<&str> = lookup
        .identifiers
        .iter()
        .map(|h| h.scheme.as_str())
        .collect();
    let values: Vec<&str> = lookup
        .identifiers
        .iter()
        .map(|h| h.value.as_str())
        .collect();
    // In the plan's order both times, so two writers claiming overlapping values cannot each
    // hold one the other waits for.
    tx.execute(
        "INSERT INTO identifier_claim (scheme, value)
         SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
        &[&schemes, &values],
    )
    .await?;
    tx.execute(
        "SELECT 1 FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS u (scheme, value, n)
         JOIN identifier_claim c USING (scheme, value)
         ORDER BY u.n FOR UPDATE OF c",
        &[&schemes, &values],
    )
    .await?;
    let by_value: HashMap<(&str, &str), &Held> = lookup
        .identifiers
        .iter()
        .map(|h| ((h.scheme.as_str(), h.value.as_str()), h))
        .collect();
    for r in tx
        .query(
            "SELECT i.scheme, i.value, i.entity_id
             FROM identifier i JOIN UNNEST($1::text[], $2::text[]) AS u (scheme, value)
               USING (scheme, value)",
            &[&schemes, &values],
        )
        .await?
    {
        if let Some(held) = by_value.get(&(r.get::<_, &str>(0), r.get::<_, &str>(1))) {
            found
                .holders
                .entry((*held).clone())
                .or_default()
                .push(parse_id(r.get(2))?);
        }
    }
    Ok(())
}

/// Replaces the index rows of every entity `planned` wrote: each names what its last write
/// names and holds what its last write holds (nothing once deleted).
pub(super) async fn replace(
    tx: &deadpool_postgres::Transaction<'_>,
    planned: &[Planned],
) -> Result<()> {
    let rewritten: Vec<String> = planned
        .iter()
        .filter(|p| !p.insert)
        .map(|p| p.id.to_string())
        .collect();
    if !rewritten.is_empty() {
        tx.execute(
            "DELETE FROM reference WHERE source = ANY($1)",
            &[&rewritten],
        )
        .await?;
        tx.execute(
            "DELETE FROM identifier WHERE entity_id = ANY($1)",
            &[&rewritten],
        )
        .await?;
    }
    let mut last: HashMap<EntityId, &Planned> = HashMap::new();
    for p in planned {
        last.insert(p.id, p);
    }
    let (mut targets, mut sources) = (Vec::new(), Vec::new());
    let (mut schemes, mut values, mut holders) = (Vec::new(), Vec::new(), Vec::new());
    for (id, p) in &last {
        for target in &p.references {
            targets.push(target.to_string());
            sources.push(id.to_string());
        }
        for held in &p.identifiers {
            schemes.push(held.scheme.as_str());
            values.push(held.value.as_str());
            holders.push(id.to_string());
        }
    }
    if !targets.is_empty() {
        tx.execute(
            "INSERT INTO reference (target, source)
             SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
            &[&targets, &sources],
        )
        .await?;
    }
    if !schemes.is_empty() {
        tx.execute(
            "INSERT INTO identifier (scheme, value, entity_id)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])",
            &[&schemes, &values, &holders],
        )
        .await?;
    }
    Ok(())
}

/// Values more than one live entity holds, from the identifier index.
pub(super) async fn duplicates(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<Vec<Duplicate>> {
    let rows = client.query(identifiers::DUPLICATE_ROWS, &[]).await?;
    identifiers::group(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))))
}
