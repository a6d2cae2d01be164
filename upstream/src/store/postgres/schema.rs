//! The PostgreSQL backend's schema: its migrations in order, each applied once in its own
//! transaction, and the backfill that fills the reverse-reference index from stored entities.

use super::super::Result;

/// One step of the schema: SQL, or a backfill that reads stored entities.
pub(super) enum Migration {
    Sql(&'static str),
    BackfillReferences,
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
