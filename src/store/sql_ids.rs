//! Entity ids as the mirror stores them: the ULID's 16 bytes as a BLOB, not the 30-character
//! prefixed text (the table says the kind). Each id is kept twice, in its row and in its unique
//! index, and 2.3M of them cost 64 MB more as text, measured on a 1M mirror. The bytes are
//! big-endian, so BLOB order is id order and keyset paging by id still works.

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use ulid::Ulid;

use crate::ids::{PartyId, RecordingId, ReleaseId, WorkId};
use crate::model::EntityId;

fn ulid_of(value: ValueRef<'_>) -> FromSqlResult<Ulid> {
    let bytes: [u8; 16] =
        value
            .as_blob()?
            .try_into()
            .map_err(|_| FromSqlError::InvalidBlobSize {
                expected_size: 16,
                blob_size: value.as_blob().map_or(0, <[u8]>::len),
            })?;
    Ok(Ulid::from_bytes(bytes))
}

macro_rules! stored_as_bytes {
    ($($name:ident),*) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.ulid().to_bytes().to_vec()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                ulid_of(value).map($name::from_ulid)
            }
        }
    )*};
}

stored_as_bytes!(PartyId, RecordingId, WorkId, ReleaseId);

impl ToSql for EntityId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let ulid = match self {
            EntityId::Party(id) => id.ulid(),
            EntityId::Recording(id) => id.ulid(),
            EntityId::Work(id) => id.ulid(),
            EntityId::Release(id) => id.ulid(),
        };
        Ok(ToSqlOutput::from(ulid.to_bytes().to_vec()))
    }
}

/// Registers `id_text(prefix, id)`, which shows a stored id as its wire text, on `conn` for
/// dumps meant to be read and compared by people and tests.
pub(crate) fn register_id_text(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "id_text",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let prefix: String = ctx.get(0)?;
            let ulid = ulid_of(ctx.get_raw(1))
                .map_err(|e| rusqlite::Error::UserFunctionError(format!("id_text: {e}").into()))?;
            Ok(format!("{prefix}{ulid}"))
        },
    )
}
