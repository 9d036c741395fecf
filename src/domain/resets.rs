//! Completing a password reset through its single-use link.

use diesel::prelude::*;

use crate::auth::token;
use crate::db::schema::members;
use crate::db::with_conn;
use crate::domain::AppState;
use crate::domain::audit::Origin;
use crate::domain::members::MemberStatus;
use crate::domain::signin::{IssuedSession, check_new_password, set_password};
use crate::domain::{settings, throttle};
use crate::error::{ErrorCode, Input, Rejection, Result};

fn token_invalid() -> crate::error::Error {
    Rejection::new(
        ErrorCode::TokenInvalid,
        "this reset link is invalid, expired or already used",
    )
    .on(Input::Token)
    .into()
}

/// Sets a new password with the secret of a reset link and signs the member in; the
/// link works once (the update that consumes it is conditional on it).
pub async fn complete(
    state: &AppState,
    secret: &str,
    new_password: &str,
    origin: &Origin,
) -> Result<IssuedSession> {
    let hash = token::hash(secret);
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let key = throttle::token_key(origin.ip.as_deref());
    throttle::reserve(&mut conn, &key, throttle::TOKENS, now).await?;
    let found: Option<(i64, String)> = with_conn!(&mut conn, |c| {
        diesel_async::RunQueryDsl::first(
            members::table
                .filter(members::reset_token_hash.eq(&hash))
                .filter(members::reset_expires_at.gt(now))
                .filter(members::status.eq(MemberStatus::Active))
                .select((members::id, members::password_hash)),
            c,
        )
        .await
        .optional()
    })?;
    let Some((id, current_hash)) = found else {
        tracing::warn!(kind = "reset", ip = origin.ip.as_deref(), "invalid token");
        return Err(token_invalid());
    };
    throttle::refund(&mut conn, &key).await?;
    let settings = settings::get(&mut conn).await?;
    drop(conn);
    check_new_password(
        state,
        &settings,
        new_password,
        Some(crate::auth::password::without_disabled(&current_hash)),
        Input::NewPassword,
    )
    .await?;
    let new_hash = state.hasher.hash(new_password).await?;
    let target = members::table
        .find(id)
        .filter(members::reset_token_hash.eq(hash))
        .filter(members::reset_expires_at.gt(now))
        .filter(members::status.eq(MemberStatus::Active));
    set_password(
        state,
        target,
        &new_hash,
        settings.session_ttl(),
        origin,
        true,
    )
    .await?
    .ok_or_else(token_invalid)
}
