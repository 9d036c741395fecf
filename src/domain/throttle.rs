//! Brute-force throttling: counters of attempts per account and per client address,
//! kept in the database so that every instance shares them.
//!
//! An attempt is counted *before* the work it guards (the password check, the token
//! lookup), by one atomic upsert that returns the new count; so concurrent guesses
//! cannot all pass a check made before any of them counted. A success refunds or
//! clears its count. Windows are fixed and short: nobody, the last administrator
//! included, is locked out for good.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::db::schema::throttles;
use crate::db::with_conn;
use crate::error::{Error, Result};

/// How many attempts a key gets per window.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// What is counted, in logs and metrics.
    pub name: &'static str,
    /// Attempts allowed in one window.
    pub attempts: i32,
    /// The window.
    pub window: Duration,
}

/// Sign-ins for one account, from anywhere.
pub const ACCOUNT: Policy = Policy {
    name: "signin_account",
    attempts: 10,
    window: Duration::minutes(15),
};
/// Failed (or in-flight) sign-ins from one client address, over all accounts.
pub const ADDRESS: Policy = Policy {
    name: "signin_address",
    attempts: 50,
    window: Duration::minutes(15),
};
/// Invalid invitation or reset tokens from one client address.
pub const TOKENS: Policy = Policy {
    name: "token_address",
    attempts: 20,
    window: Duration::minutes(15),
};

/// Counts one attempt under `key`; `RATE_LIMITED` (with the seconds until the window
/// ends) when the key has used up its window.
pub async fn reserve(conn: &mut Conn, key: &str, policy: Policy, now: NaiveDateTime) -> Result<()> {
    let cutoff = now - policy.window;
    let (attempts, window_start): (i32, NaiveDateTime) = with_conn!(conn, |c| {
        let expired = throttles::window_start.le(cutoff);
        diesel::insert_into(throttles::table)
            .values((
                throttles::key.eq(key),
                throttles::window_start.eq(now),
                throttles::attempts.eq(1),
            ))
            .on_conflict(throttles::key)
            .do_update()
            .set((
                throttles::attempts.eq(case_when(
                    expired,
                    1.into_sql::<diesel::sql_types::Integer>(),
                )
                .otherwise(throttles::attempts + 1)),
                throttles::window_start.eq(case_when(expired, excluded(throttles::window_start))
                    .otherwise(throttles::window_start)),
            ))
            .returning((throttles::attempts, throttles::window_start))
            .get_result(c)
            .await
    })?;
    if attempts == 1 {
        sweep(conn, now).await?;
    }
    if attempts > policy.attempts {
        // A refused attempt does no work, so it gives its count back: the count stays
        // "failed and in-flight attempts", and a burst of legitimate sign-ins from one
        // address recovers as soon as they finish.
        refund(conn, key).await?;
        let retry_after = (window_start + policy.window - now).num_seconds().max(1);
        metrics::counter!("roster_throttle_hits_total", "kind" => policy.name).increment(1);
        tracing::warn!(kind = policy.name, retry_after, "rate limited");
        return Err(Error::RateLimited(u64::try_from(retry_after).unwrap_or(1)));
    }
    Ok(())
}

/// The longest window of any policy: a row older than this counts nothing.
const LONGEST_WINDOW: Duration = Duration::minutes(15);

/// Deletes the rows whose window ended, so that guesses at many keys leave nothing
/// behind. Runs when a key starts a new window, which a flood of new keys does.
async fn sweep(conn: &mut Conn, now: NaiveDateTime) -> Result<()> {
    let cutoff = now - LONGEST_WINDOW;
    let q = diesel::delete(throttles::table.filter(throttles::window_start.le(cutoff)));
    with_conn!(conn, |c| q.execute(c).await)?;
    Ok(())
}

/// Gives back one attempt of `key` (the attempt turned out legitimate).
pub async fn refund(conn: &mut Conn, key: &str) -> Result<()> {
    let q = diesel::update(throttles::table.find(key).filter(throttles::attempts.gt(0)))
        .set(throttles::attempts.eq(throttles::attempts - 1));
    with_conn!(conn, |c| q.execute(c).await)?;
    Ok(())
}

/// Forgets every attempt of `key` (the account signed in).
pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    with_conn!(conn, |c| diesel::delete(throttles::table.find(key))
        .execute(c)
        .await)?;
    Ok(())
}

/// The key of sign-ins for an email: a hash of its normalized form, so that the
/// table holds neither what was typed (a password, often) nor unbounded text.
pub fn account_key(email: &str) -> String {
    let key = crate::domain::validate::key(email);
    format!("login:account:{}", crate::auth::token::hash(&key))
}

/// The key of failed sign-ins from an address.
pub fn address_key(ip: Option<&str>) -> String {
    format!("login:ip:{}", ip.unwrap_or("unknown"))
}

/// The key of token guesses from an address.
pub fn token_key(ip: Option<&str>) -> String {
    format!("token:ip:{}", ip.unwrap_or("unknown"))
}
