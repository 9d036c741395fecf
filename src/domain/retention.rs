//! Audit retention: events older than the security settings' `auditRetentionDays` are
//! deleted by a periodic sweep. Deleting is idempotent, so every instance may sweep;
//! batches keep each transaction short.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::audit_events;
use crate::db::{Conn, with_conn};
use crate::domain::{AppState, settings};
use crate::error::Result;

/// How often each instance sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Events deleted per statement.
const BATCH: i64 = 10_000;

/// The instant before which events are deleted at `now`, if a retention is set.
pub fn cutoff(settings: &settings::Settings, now: NaiveDateTime) -> Option<NaiveDateTime> {
    settings
        .audit_retention_days
        .map(|days| now - chrono::Duration::days(i64::from(days)))
}

/// Deletes the events older than the retention at `now`, except the newest of all;
/// how many.
///
/// The newest stays because SQLite gives a new row the largest id plus one: with every
/// event deleted, ids would start again at 1, and a live feed's cursor (an event id)
/// would skip the new events up to it.
pub async fn sweep(conn: &mut Conn, now: NaiveDateTime) -> Result<usize> {
    let Some(before) = cutoff(&settings::get(conn).await?, now) else {
        return Ok(0);
    };
    let newest = audit_events::table.select(diesel::dsl::max(audit_events::id));
    let Some(newest) = with_conn!(conn, |c| newest.first::<Option<i64>>(c).await)? else {
        return Ok(0);
    };
    let old = || {
        audit_events::table
            .filter(audit_events::created_at.lt(before))
            .filter(audit_events::id.lt(newest))
    };
    let mut deleted = 0;
    loop {
        // The id ending a batch of old events; none when fewer are left.
        let last = old()
            .select(audit_events::id)
            .order(audit_events::id)
            .offset(BATCH - 1)
            .limit(1);
        let last: Option<i64> = with_conn!(conn, |c| last.first(c).await.optional())?;
        let q = old().filter(audit_events::id.le(last.unwrap_or(i64::MAX)));
        deleted += with_conn!(conn, |c| diesel::delete(q).execute(c).await)?;
        if last.is_none() {
            return Ok(deleted);
        }
    }
}

/// Sweeps every [`SWEEP_EVERY`] until the process ends.
pub fn spawn_sweeper(state: AppState) {
    let deleted = "audit events past retention deleted";
    crate::domain::sweeps::spawn(state, SWEEP_EVERY, deleted, |state| async move {
        sweep(&mut state.pool.get().await?, state.clock.now()).await
    });
}
