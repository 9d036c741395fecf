//! The live feed's order on PostgreSQL: events about members, invitations and roles
//! commit unnumbered, without waiting for each other, and a sequencer numbers them
//! after commit (`live_seq`, migration live_sequence), then wakes every instance's feed
//! with `NOTIFY`. Every instance runs one, on a connection of its own (so that its
//! statements are not counted as any request's): after each write transaction the
//! instance commits, and once a second for events whose instance stopped before
//! numbering them (a subscription without a cursor and `liveCursor` number what has
//! committed before reading where "now" is). SQLite numbers each event as it is
//! inserted, its single writer keeping commit order.

use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::DatabaseUrl;
use crate::domain::feed::{self, Feed};
use crate::error::Error;

/// How long an event of an instance that stopped before numbering it waits at most.
const SEQUENCE_EVERY: Duration = Duration::from_secs(1);

/// Runs the sequencer of this instance while `feed` lives (PostgreSQL only).
pub fn spawn_sequencer(feed: &Arc<Feed>, url: &DatabaseUrl) {
    if let DatabaseUrl::Postgres(url) = url {
        tokio::spawn(sequencer(Arc::downgrade(feed), url.clone()));
    }
}

async fn sequencer(feed: Weak<Feed>, url: String) {
    let mut commits = crate::db::commits();
    let mut conn: Option<AsyncPgConnection> = None;
    loop {
        let _ = tokio::time::timeout(SEQUENCE_EVERY, commits.changed()).await;
        if feed.strong_count() == 0 {
            return;
        }
        let numbered = async {
            let c = match &mut conn {
                Some(c) => c,
                None => conn.insert(
                    AsyncPgConnection::establish(&url)
                        .await
                        .map_err(|e| Error::Unavailable(format!("sequencer connection: {e}")))?,
                ),
            };
            feed::number_committed(c).await
        };
        if let Err(e) = numbered.await {
            // A new connection next time: this one may be what failed.
            conn = None;
            tracing::error!(error = %e.detail(), "the live feed's sequencer failed; retrying");
        }
    }
}
