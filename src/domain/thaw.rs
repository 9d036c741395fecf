//! Time-bound freezes end by themselves: at `frozen_until` the member reads ACTIVE
//! ([`Member::status_at`]), and a sweep (every instance runs one) writes it down with
//! one `MEMBER_RECOVERED` event. The write is a conditional update, so of several
//! instances (or a sweep and a sign-in) racing for one member exactly one records it.
//!
//! [`Member::status_at`]: crate::domain::members::Member::status_at

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::db::schema::members;
use crate::db::{Conn, transaction, with_conn};
use crate::domain::AppState;
use crate::domain::audit::{self, AuditAction, Event, Origin};
use crate::domain::members::MemberStatus;
use crate::error::{Error, Result};

/// How often each instance sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Ends the freezes due at `now` (only member `only`'s, when given), each with its
/// event, in one transaction; how many ended.
pub async fn due(conn: &mut Conn, now: NaiveDateTime, only: Option<i64>) -> Result<usize> {
    // A read through the partial index first: a sweep with nothing due, the usual case,
    // takes no write lock (on SQLite every write transaction does, even an empty one).
    let pending = with_conn!(conn, |c| {
        let mut any = members::table
            .filter(members::status.eq(MemberStatus::Frozen))
            .filter(members::frozen_until.le(now))
            .select(members::id)
            .into_boxed();
        if let Some(id) = only {
            any = any.filter(members::id.eq(id));
        }
        any.first::<i64>(c).await.optional()
    })?;
    if pending.is_none() {
        return Ok(0);
    }
    let system = Origin::default();
    transaction!(conn, |c| {
        let mut q = diesel::update(members::table)
            .filter(members::status.eq(MemberStatus::Frozen))
            .filter(members::frozen_until.le(now))
            .into_boxed();
        if let Some(id) = only {
            q = q.filter(members::id.eq(id));
        }
        let ended: Vec<(i64, Option<String>)> = q
            .set((
                members::status.eq(MemberStatus::Active),
                members::frozen_until.eq(None::<NaiveDateTime>),
                members::updated_at.eq(now),
                members::version.eq(members::version + 1),
            ))
            .returning((members::id, members::frozen_reason))
            .get_results(c)
            .await?;
        for (id, frozen_reason) in &ended {
            let details = json!({ "reason": "freeze ended", "frozenReason": frozen_reason });
            let event = Event::member(AuditAction::MemberRecovered, *id, details)
                .changed(
                    "status",
                    Some(MemberStatus::Frozen.as_str()),
                    Some(MemberStatus::Active.as_str()),
                )
                .because(Some("freeze ended"));
            audit::insert(&system, event, now).execute(c).await?;
        }
        Ok::<_, Error>(ended.len())
    })
}

/// Sweeps every [`SWEEP_EVERY`] until the process ends.
pub fn spawn_sweeper(state: AppState) {
    let ended = "time-bound freezes ended";
    crate::domain::sweeps::spawn(state, SWEEP_EVERY, ended, |state| async move {
        due(&mut state.pool.get().await?, state.clock.now(), None).await
    });
}
