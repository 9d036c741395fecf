//! Upkeep of the member counters behind every `totalCount` without a search. On
//! PostgreSQL each change adds rows of its own, so that acts on members of one role do
//! not wait for each other on a shared counter row (migration member_count_rows); the
//! sweep here folds them back, so that a count reads a few rows, not one per change.

use std::time::Duration;

use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::AppState;
use crate::error::Result;

/// Often enough that a count never sums more than a few seconds of changes.
pub const FOLD_EVERY: Duration = Duration::from_secs(2);

/// Folds the counter rows of each (status, role) into one; how many rows it folded.
/// SQLite keeps one row per pair already.
pub async fn fold(conn: &mut Conn) -> Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct Folded {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        member_counts_fold: i64,
    }
    match conn {
        Conn::Sqlite(_) => Ok(0),
        Conn::Pg(c) => Ok(diesel::sql_query("SELECT member_counts_fold()")
            .get_result::<Folded>(&mut **c)
            .await?
            .member_counts_fold),
    }
}

/// Folds every [`FOLD_EVERY`] until the process ends; silent, as folding changes no count.
pub fn spawn_folder(state: AppState) {
    crate::domain::sweeps::spawn(
        state,
        FOLD_EVERY,
        "counter rows folded",
        |state| async move { fold(&mut state.pool.get().await?).await.map(|_| 0) },
    );
}
