//! The SQLite backend's schema: its migrations in order, each applied once in its own
//! transaction and counted in `user_version`, and the backfills that fill the
//! reverse-reference and identifier indexes from stored entities.

use rusqlite::{Connection, TransactionBehavior, params};

use super::super::{Result, StoreError, identifiers};

/// One step of the schema: SQL, or code for what SQL cannot do (reading stored entities).
enum Migration {
    Sql(&'static str),
    Code(fn(&rusqlite::Transaction<'_>) -> Result<()>),
}

const MIGRATIONS: &[Migration] = &[
    Migration::Sql(FIRST),
    // 2: who names whom, for refusing the delete of an entity still named.
    Migration::Sql(
        "CREATE TABLE reference (
            target TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (target, source)
        ) WITHOUT ROWID;
        CREATE INDEX reference_source ON reference (source);",
    ),
    Migration::Code(backfill_references),
    // 4: request budgets per token and route class (see crate::budget).
    Migration::Sql(
        "CREATE TABLE budget (key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;",
    ),
    // 5: which live entity holds which identifier, for refusing one another entity holds.
    // Not unique: values two entities held before the rule are kept, and listed.
    Migration::Sql(
        "CREATE TABLE identifier (
            scheme TEXT NOT NULL,
            value TEXT NOT NULL,
            entity_id TEXT NOT NULL
        );
        CREATE INDEX identifier_value ON identifier (scheme, value);
        CREATE INDEX identifier_entity ON identifier (entity_id);",
    ),
    Migration::Code(backfill_identifiers),
];

const FIRST: &str = r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    -- Current state; `revision` is the one that made `version`, for snapshots.
    CREATE TABLE entity (
        key INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        data TEXT,
        revision TEXT NOT NULL
    );
    -- Append-only history.
    CREATE TABLE revision (
        entity_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        revision TEXT NOT NULL,
        PRIMARY KEY (entity_id, version)
    ) WITHOUT ROWID;
    -- The feed: one record line per committed change, dense positions.
    CREATE TABLE change (position INTEGER PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE token (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        parties TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
"#;

/// Fills the reverse-reference index from every live entity (migration 3).
fn backfill_references(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let mut read = tx.prepare("SELECT kind, id, data FROM entity WHERE deleted = 0")?;
    let mut insert =
        tx.prepare("INSERT OR IGNORE INTO reference (target, source) VALUES (?1, ?2)")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let id: String = r.get(1)?;
        let data: Option<String> = r.get(2)?;
        for target in super::super::stored_references(&kind, &id, data.as_deref())? {
            insert.execute(params![target.to_string(), id])?;
        }
    }
    Ok(())
}

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Code(code) => code(&tx)?,
        }
        if i == 0 {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
                [ulid::Ulid::new().to_string()],
            )?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    if current > MIGRATIONS.len() as i64 {
        return Err(StoreError::Database(format!(
            "catalog schema version {current} is newer than this build ({})",
            MIGRATIONS.len()
        )));
    }
    Ok(())
}

/// Fills the identifier index from every live entity (migration 6) and reports the values
/// more than one of them holds; nothing stored changes.
fn backfill_identifiers(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let mut read = tx.prepare("SELECT kind, id, data FROM entity WHERE deleted = 0")?;
    let mut insert =
        tx.prepare("INSERT INTO identifier (scheme, value, entity_id) VALUES (?1, ?2, ?3)")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let id: String = r.get(1)?;
        let data: Option<String> = r.get(2)?;
        for held in identifiers::stored_identifiers(&kind, &id, data.as_deref())? {
            insert.execute(params![held.scheme.as_str(), held.value, id])?;
        }
    }
    identifiers::report(&super::duplicates(tx)?);
    Ok(())
}
