//! Row locks inside a transaction, in place of one lock for every member write: two
//! acts wait for each other only when they touch the same member or role. On SQLite
//! write transactions run one at a time already ([`super::take_sqlite_write_lock`]), so
//! each is a no-op there.
//!
//! Every transaction takes its role locks before its member locks, so that none waits
//! for a member row while holding a role another waits for in the opposite order.

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::SqliteConn;

/// The row locks a transaction takes; released at commit or rollback.
pub trait RowLocks {
    /// Locks these members' rows, in id order, to write them.
    fn lock_members(&mut self, ids: &[i64])
    -> impl Future<Output = diesel::QueryResult<()>> + Send;
    /// Keeps member `id`'s row as read until commit: an act on them waits.
    fn share_member(&mut self, id: i64) -> impl Future<Output = diesel::QueryResult<()>> + Send;
    /// Keeps these roles as read until commit, in id order: a role granted or checked
    /// is neither changed nor deleted meanwhile, while other acts may share it.
    fn share_roles(&mut self, ids: &[i64]) -> impl Future<Output = diesel::QueryResult<()>> + Send;
    /// Locks these roles, in id order, to change or delete them, or to count their
    /// active holders (the last administrator): waits for every act that shares them.
    fn lock_roles(&mut self, ids: &[i64]) -> impl Future<Output = diesel::QueryResult<()>> + Send;
}

impl RowLocks for SqliteConn {
    async fn lock_members(&mut self, _ids: &[i64]) -> diesel::QueryResult<()> {
        Ok(())
    }
    async fn share_member(&mut self, _id: i64) -> diesel::QueryResult<()> {
        Ok(())
    }
    async fn share_roles(&mut self, _ids: &[i64]) -> diesel::QueryResult<()> {
        Ok(())
    }
    async fn lock_roles(&mut self, _ids: &[i64]) -> diesel::QueryResult<()> {
        Ok(())
    }
}

/// Runs a locking `SELECT` over `ids`, unless there are none.
async fn locking(conn: &mut AsyncPgConnection, sql: &str, ids: &[i64]) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids.to_vec())
        .execute(conn)
        .await
        .map(drop)
}

impl RowLocks for AsyncPgConnection {
    async fn lock_members(&mut self, ids: &[i64]) -> diesel::QueryResult<()> {
        let sql = "SELECT id FROM members WHERE id = ANY($1) ORDER BY id FOR UPDATE";
        locking(self, sql, ids).await
    }
    async fn share_member(&mut self, id: i64) -> diesel::QueryResult<()> {
        let sql = "SELECT id FROM members WHERE id = ANY($1) FOR SHARE";
        locking(self, sql, &[id]).await
    }
    async fn share_roles(&mut self, ids: &[i64]) -> diesel::QueryResult<()> {
        let sql = "SELECT id FROM roles WHERE id = ANY($1) ORDER BY id FOR SHARE";
        locking(self, sql, ids).await
    }
    async fn lock_roles(&mut self, ids: &[i64]) -> diesel::QueryResult<()> {
        let sql = "SELECT id FROM roles WHERE id = ANY($1) ORDER BY id FOR UPDATE";
        locking(self, sql, ids).await
    }
}
