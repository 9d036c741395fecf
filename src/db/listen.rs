//! Wake-ups after commits: PostgreSQL's `LISTEN` on a connection of its own, and an
//! in-process signal after each write transaction this process commits.

use std::sync::LazyLock;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::error::Error;

/// Write transactions this process committed, counted. Only a wake-up: the woken task
/// asks the database what changed.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Signals a committed write transaction; [`crate::db::transaction`] calls it.
pub fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// A receiver that changes after each write transaction this process commits.
pub fn commits() -> watch::Receiver<u64> {
    COMMITS.subscribe()
}

/// Listens on `channel` over a new connection to `url`, until the connection fails (the
/// error) or `woken` returns false (`Ok`). `woken(true)`: something may have committed
/// (once LISTEN is in effect, then at each notification); `woken(false)`: a quiet while
/// passed.
pub async fn listen(
    url: &str,
    channel: &'static str,
    mut woken: impl FnMut(bool) -> bool,
) -> Result<(), Error> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| Error::Unavailable(format!("LISTEN connection: {e}")))?;
    diesel::sql_query(format!("LISTEN {channel}"))
        .execute(&mut conn)
        .await?;
    // Whatever committed before LISTEN took effect is read by the first wake-up.
    if !woken(true) {
        return Ok(());
    }
    let mut stream = std::pin::pin!(conn.notifications_stream());
    loop {
        // Notifications arrive only while the connection is polled; a quiet connection
        // is checked now and then, so that a dead one is noticed and replaced.
        match tokio::time::timeout(std::time::Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(_))) => {
                if !woken(true) {
                    return Ok(());
                }
            }
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => return Err(Error::Unavailable("LISTEN connection closed".into())),
            Err(_) => {
                if !woken(false) {
                    return Ok(());
                }
            }
        }
    }
}
