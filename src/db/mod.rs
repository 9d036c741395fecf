//! Storage: one pool type over SQLite and PostgreSQL, and the macros that run one
//! query body on whichever backend is configured.

mod backup;
mod instrumentation;
mod listen;
mod migrate;
mod row_locks;
pub mod schema;
mod sqlite_setup;
mod text_enum;
mod url;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::FutureExt;

pub use backup::backup;
pub use instrumentation::StatementCounter;
pub use listen::{commits, committed, listen};
pub use migrate::run_migrations;
pub use row_locks::RowLocks;
pub(crate) use text_enum::text_enum;
pub use url::DatabaseUrl;

use crate::error::Error;

/// The SQLite connection type: diesel's synchronous connection run on blocking threads.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// How long a request waits for a pooled connection before it gets `SERVICE_UNAVAILABLE`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// PRAGMAs every SQLite connection needs: enforced foreign keys, waiting on locks
/// instead of failing, and WAL so readers never block the writer.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

/// Bounds on every PostgreSQL statement and lock wait, so that no request can hang on
/// the database (SQLite has `busy_timeout`).
const PG_SETTINGS: &str = "SET statement_timeout = 15000; SET lock_timeout = 10000;";

/// Most blocking threads the async runtime may start, for a pool of `pool_size`.
///
/// Each SQLite statement runs on a blocking thread. One thread per connection (the
/// pool's and the live feed's) means a connection never waits for a thread held by a
/// statement that waits on it (SQLite's busy wait); more threads than connections only
/// time-slice the same cores, which halved the throughput of a single core in the
/// benchmark. The spare threads serve DNS lookups and migrations.
pub fn blocking_threads(pool_size: usize) -> usize {
    pool_size + FEED_CONNECTIONS + 2
}

/// Connections the live feed keeps apart from the pool: one reads new changes, one
/// checks the subscribers' sessions.
pub const FEED_CONNECTIONS: usize = 2;

/// The pool size when `ROSTER_DB_POOL_SIZE` is unset.
///
/// SQLite serves reads from the page cache on CPU, so connections beyond a few only
/// add context switches. On PostgreSQL, deadpool's own default, four per core this
/// process may use: a request holds a connection only while its statements run, and
/// connections beyond what the server runs at once only queue inside it (on one core,
/// 16 connections served 1700 pages/s with a p99 of 55-70 ms, 4 served 1860/s with
/// 37 ms). A small pool per instance also leaves room in `max_connections` for
/// several instances.
pub fn default_pool_size(url: &DatabaseUrl) -> usize {
    match url {
        DatabaseUrl::Sqlite(_) => 4,
        DatabaseUrl::Postgres(_) => {
            4 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }
    }
}

/// A pool of connections to the configured database.
#[derive(Clone)]
pub enum Pool {
    /// An embedded SQLite file.
    Sqlite(DeadPool<SqliteConn>),
    /// A PostgreSQL server.
    Pg(DeadPool<AsyncPgConnection>),
}

/// How full a [`Pool`] is.
#[derive(Clone, Copy, Debug)]
pub struct PoolStatus {
    pub max_size: usize,
    pub open: usize,
    pub in_use: usize,
    pub waiting: usize,
}

/// A connection checked out of a [`Pool`]; it goes back when dropped.
// Short-lived on the stack; boxing would cost an allocation per checkout.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    /// A pooled SQLite connection.
    Sqlite(Object<SqliteConn>),
    /// A pooled PostgreSQL connection.
    Pg(Object<AsyncPgConnection>),
}

impl Pool {
    /// Builds a pool for `url`; every connection counts its statements into `counter`.
    pub fn new(url: &DatabaseUrl, size: usize, counter: Arc<AtomicU64>) -> Result<Self, Error> {
        let pool = match url {
            DatabaseUrl::Sqlite(path) => {
                sqlite_setup::install();
                Pool::Sqlite(build(sqlite_manager(path, counter), size)?)
            }
            DatabaseUrl::Postgres(url) => Pool::Pg(build(pg_manager(url, counter), size)?),
        };
        Ok(pool)
    }

    /// Checks a connection out, waiting at most [`CHECKOUT_TIMEOUT`].
    pub async fn get(&self) -> Result<Conn, Error> {
        let conn = match self {
            Pool::Sqlite(pool) => pool.get().await.map(Conn::Sqlite),
            Pool::Pg(pool) => pool.get().await.map(Conn::Pg),
        };
        conn.map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// How full the pool is now.
    pub fn status(&self) -> PoolStatus {
        let status = match self {
            Pool::Sqlite(pool) => pool.status(),
            Pool::Pg(pool) => pool.status(),
        };
        PoolStatus {
            max_size: status.max_size,
            open: status.size,
            in_use: status.size.saturating_sub(status.available),
            waiting: status.waiting,
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.get().await?;
        with_conn!(&mut conn, |c| c.batch_execute("SELECT 1").await)
            .map_err(|e| Error::Unavailable(e.to_string()))
    }
}

fn build<C>(manager: AsyncDieselConnectionManager<C>, size: usize) -> Result<DeadPool<C>, Error>
where
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    DeadPool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(CHECKOUT_TIMEOUT))
        .create_timeout(Some(CHECKOUT_TIMEOUT))
        .recycle_timeout(Some(CHECKOUT_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the connection pool: {e}")))
}

fn sqlite_manager(path: &str, counter: Arc<AtomicU64>) -> AsyncDieselConnectionManager<SqliteConn> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        let url = url.to_owned();
        async move {
            let mut conn = SqliteConn::establish(&url).await?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            conn.set_instrumentation(StatementCounter::new(counter));
            Ok(conn)
        }
        .boxed()
    });
    AsyncDieselConnectionManager::new_with_config(path, config)
}

fn pg_manager(
    url: &str,
    counter: Arc<AtomicU64>,
) -> AsyncDieselConnectionManager<AsyncPgConnection> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        let url = url.to_owned();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(PG_SETTINGS)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            conn.set_instrumentation(StatementCounter::new(counter));
            Ok(conn)
        }
        .boxed()
    });
    AsyncDieselConnectionManager::new_with_config(url, config)
}

/// Takes SQLite's write lock as the first statement of a transaction.
///
/// A deferred SQLite transaction that reads and then writes fails with "database is
/// locked" when another writer got in between, because SQLite cannot wait on a lock
/// upgrade. A write statement before any read takes the lock up front (as `BEGIN
/// IMMEDIATE` would), and `busy_timeout` makes concurrent writers queue.
pub async fn take_sqlite_write_lock(conn: &mut SqliteConn) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE settings SET id = id WHERE 0")
        .execute(conn)
        .await
        .map(drop)
}

/// Runs `$body` with `$c` bound to the connection of whichever backend `$conn` holds;
/// the body is type-checked against both. Reached as `db::with_conn!`; exported (under a
/// hidden root name) only so that the integration tests can run SQL of their own.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => {
                let $c: &mut $crate::db::SqliteConn = &mut **$c;
                $body
            }
            $crate::db::Conn::Pg($c) => {
                let $c: &mut diesel_async::AsyncPgConnection = &mut **$c;
                $body
            }
        }
    };
}

/// Runs `$body` in one write transaction on whichever backend `$conn` holds; the body
/// returns `Result<_, E>` with `E: From<diesel::result::Error>`, and an `Err` rolls back.
macro_rules! transaction {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(obj) => {
                let conn: &mut $crate::db::SqliteConn = &mut **obj;
                diesel_async::AsyncConnection::transaction(conn, async |$c| {
                    $crate::db::take_sqlite_write_lock($c).await?;
                    $body
                })
                .await
                .inspect(|_| $crate::db::committed())
            }
            $crate::db::Conn::Pg(obj) => {
                let conn: &mut diesel_async::AsyncPgConnection = &mut **obj;
                diesel_async::AsyncConnection::transaction(conn, async |$c| $body)
                    .await
                    .inspect(|_| $crate::db::committed())
            }
        }
    };
}
pub use __with_conn as with_conn;
pub(crate) use transaction;
