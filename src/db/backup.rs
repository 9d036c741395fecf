//! A consistent copy of an embedded database while it serves.

use std::path::Path;

use diesel_async::SimpleAsyncConnection;

use super::{Conn, DatabaseUrl, Pool};
use crate::error::{Error, Result};

/// Writes a consistent copy of the SQLite database `url` to `target` with `VACUUM INTO`:
/// one read transaction, so the copy holds every transaction committed before it began
/// and none after, while the server goes on writing (WAL). The copy is compact and
/// opens as a database of its own. PostgreSQL is refused: use `pg_dump`.
pub async fn backup(url: &DatabaseUrl, target: &Path) -> Result<()> {
    if matches!(url, DatabaseUrl::Postgres(_)) {
        return Err(Error::Internal(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (see README)".into(),
        ));
    }
    if target.exists() {
        let shown = target.display();
        return Err(Error::Internal(format!(
            "{shown} exists already; name a new file"
        )));
    }
    let target = target
        .to_str()
        .ok_or_else(|| Error::Internal("the backup path is not valid UTF-8".into()))?;
    let pool = Pool::new(url, 1, Default::default())?;
    let Conn::Sqlite(mut conn) = pool.get().await? else {
        return Err(Error::Internal("not a SQLite connection".into()));
    };
    let statement = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
    conn.batch_execute(&statement)
        .await
        .map_err(|e| Error::Internal(format!("the backup failed: {e}")))
}
