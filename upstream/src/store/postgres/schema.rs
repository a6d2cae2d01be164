//! The PostgreSQL backend's schema: its migrations in order, each applied once in its own
//! transaction, and the backfills that fill the reverse-reference and identifier indexes
//! from stored entities.

use super::super::{Result, identifiers};

/// One step of the schema: SQL, or a backfill that reads stored entities.
pub(super) enum Migration {
    Sql(&'static str),
    BackfillReferences,
    BackfillIdentifiers,
}

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration::Sql(FIRST),
    // 2: who names whom, for refusing the delete of an entity still named.
    Migration::Sql(
        "CREATE TABLE reference (
            target text NOT NULL,
            source text NOT NULL,
            PRIMARY KEY (target, source)
        );
        CREATE INDEX reference_source ON reference (source);",
    ),
    Migration::BackfillReferences,
    // 4: request budgets per token and route class (see crate::budget).
    Migration::Sql("CREATE TABLE budget (key text PRIMARY KEY, tat bigint NOT NULL);"),
    // 5: which live entity holds which identifier, for refusing one another entity holds.
    // Not unique: values two entities held before the rule are kept, and listed. Claims are
    // what two writers of one value take turns on (see `indexes`).
    Migration::Sql(
        "CREATE TABLE identifier (
            scheme text NOT NULL,
            value text NOT NULL,
            entity_id text NOT NULL
        );
        CREATE INDEX identifier_value ON identifier (scheme, value);
        CREATE INDEX identifier_entity ON identifier (entity_id);
        CREATE TABLE identifier_claim (
            scheme text NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (scheme, value)
        );",
    ),
    Migration::BackfillIdentifiers,
];

const FIRST: &str = r#"
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE feed_head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        position bigint NOT NULL
    );
    INSERT INTO feed_head (one, position) VALUES (true, 0);
    CREATE TABLE entity (
        key bigserial PRIMARY KEY,
        kind text NOT NULL,
        id text NOT NULL UNIQUE,
        version bigint NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        data text,
        revision text NOT NULL
    );
    CREATE TABLE revision (
        entity_id text NOT NULL,
        version bigint NOT NULL,
        deleted boolean NOT NULL,
        revision text NOT NULL,
        PRIMARY KEY (entity_id, version)
    );
    CREATE TABLE change (position bigint PRIMARY KEY, record text NOT NULL);
    CREATE TABLE idempotency (
        key text PRIMARY KEY,
        request_hash text NOT NULL,
        status integer NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE token (
        id bigserial PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        parties text NOT NULL,
        hash text NOT NULL UNIQUE,
        created_at text NOT NULL,
        revoked_at text
    );
"#;

/// Fills the reverse-reference index from every live entity (migration 3).
pub(super) async fn backfill_references(tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
    let mut after: i64 = 0;
    loop {
        let rows = tx
            .query(
                "SELECT key, kind, id, data FROM entity WHERE key > $1 AND NOT deleted
                 ORDER BY key LIMIT 5000",
                &[&after],
            )
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.get(0);
        let (mut targets, mut sources) = (Vec::new(), Vec::new());
        for r in &rows {
            let id: String = r.get(2);
            for target in super::super::stored_references(r.get(1), &id, r.get(3))? {
                targets.push(target.to_string());
                sources.push(id.clone());
            }
        }
        tx.execute(
            "INSERT INTO reference (target, source)
             SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
            &[&targets, &sources],
        )
        .await?;
    }
}

/// Fills the identifier index from every live entity (migration 6) and reports the values
/// more than one of them holds; nothing stored changes.
pub(super) async fn backfill_identifiers(tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
    let mut after: i64 = 0;
    loop {
        let rows = tx
            .query(
                "SELECT key, kind, id, data FROM entity WHERE key > $1 AND NOT deleted
                 ORDER BY key LIMIT 5000",
                &[&after],
            )
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.get(0);
        let (mut schemes, mut values, mut holders) = (Vec::new(), Vec::new(), Vec::new());
        for r in &rows {
            let id: String = r.get(2);
            for held in identifiers::stored_identifiers(r.get(1), &id, r.get(3))? {
                schemes.push(held.scheme.as_str());
                values.push(held.value);
                holders.push(id.clone());
            }
        }
        tx.execute(
            "INSERT INTO identifier (scheme, value, entity_id)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])",
            &[&schemes, &values, &holders],
        )
        .await?;
    }
    identifiers::report(&super::indexes::duplicates(tx).await?);
    Ok(())
}
