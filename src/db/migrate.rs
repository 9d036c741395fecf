//! Embedded migrations, one folder per backend with the same version names.

use diesel::Connection;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DatabaseUrl;
use crate::error::Error;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary key of the PostgreSQL advisory lock that serialises migrations, so that
/// several instances starting at once do not race to create the same tables.
const MIGRATION_LOCK_KEY: i64 = 0x526f_7374_6572;

/// Applies every pending migration; returns how many ran.
pub async fn run_migrations(url: &DatabaseUrl) -> Result<usize, Error> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            super::sqlite_setup::install();
            let path = path.clone();
            tokio::task::spawn_blocking(move || migrate_sqlite(&path))
                .await
                .map_err(|e| Error::Internal(format!("migration task failed: {e}")))?
        }
        DatabaseUrl::Postgres(url) => migrate_postgres(url).await,
    }
}

fn migrate_sqlite(path: &str) -> Result<usize, Error> {
    // Several processes may start on one file at once: the first to take this lock
    // migrates (and switches the file to WAL, which needs it alone); the others then
    // find nothing to do.
    let _lock = lock_file(path)?;
    let mut conn = diesel::SqliteConnection::establish(path)
        .map_err(|e| Error::Unavailable(format!("cannot open SQLite database {path}: {e}")))?;
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;",
    )?;
    let applied = conn
        .run_pending_migrations(SQLITE)
        .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
    Ok(applied.len())
}

/// An exclusive lock on `<path>.lock`, held until dropped; none for `file:` URIs.
fn lock_file(path: &str) -> Result<Option<std::fs::File>, Error> {
    if path.starts_with("file:") {
        return Ok(None);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{path}.lock"))
        .map_err(|e| Error::Unavailable(format!("cannot open {path}.lock: {e}")))?;
    file.lock()
        .map_err(|e| Error::Unavailable(format!("cannot lock {path}.lock: {e}")))?;
    Ok(Some(file))
}

async fn migrate_postgres(url: &str) -> Result<usize, Error> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(&mut conn)
        .await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(POSTGRES)
        .map(|v| v.len())
        .map_err(|e| Error::Internal(format!("migration failed: {e}")));
    let mut conn = harness.into_inner();
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .execute(&mut conn)
        .await?;
    applied
}
