//! Signing in and out, and changing one's own password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::{Viewer, token};
use crate::db::Conn;
use crate::db::schema::{members, sessions as sessions_table};
use crate::domain::members::{Member, MemberStatus, find_by_email};
use crate::domain::sessions::{self, NewSession};
use crate::domain::{settings, validate};
use crate::error::{Error, ErrorCode, Rejection, Result};
use crate::state::AppState;
use crate::transaction;

/// A session just opened; the token is shown to the client this once.
pub struct IssuedSession {
    /// The bearer token.
    pub token: String,
    /// When the session ends.
    pub expires_at: NaiveDateTime,
    /// The member signed in.
    pub member: Member,
}

fn invalid_credentials() -> Error {
    Rejection::new(ErrorCode::InvalidCredentials, "wrong email or password").into()
}

/// Signs a member in by email and password.
pub async fn login(state: &AppState, email: &str, password: &str) -> Result<IssuedSession> {
    if password.chars().count() > validate::PASSWORD_MAX_LENGTH {
        return Err(invalid_credentials());
    }
    let member = {
        let mut conn = state.pool.get().await?;
        find_by_email(&mut conn, email).await?
    };
    let hash = member.as_ref().map(|m| m.password_hash.as_str());
    let matches = state.hasher.verify(password, hash).await?;
    let member = member.filter(|_| matches).ok_or_else(invalid_credentials)?;
    if member.status() == MemberStatus::Frozen {
        return Err(frozen());
    }
    let mut conn = state.pool.get().await?;
    let ttl = settings::get(&mut conn).await?.session_ttl();
    let now = state.clock.now();
    let token = token::generate();
    let new = NewSession {
        token_hash: &token::hash(&token),
        member_id: member.id,
        created_at: now,
        expires_at: now + ttl,
    };
    let member = transaction!(&mut conn, |c| {
        let member = diesel::update(
            members::table
                .find(member.id)
                .filter(members::status.eq("ACTIVE")),
        )
        .set(members::last_login_at.eq(now))
        .returning(Member::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or_else(frozen)?;
        diesel::insert_into(sessions_table::table)
            .values(&new)
            .execute(c)
            .await?;
        Ok::<_, Error>(member)
    })?;
    Ok(IssuedSession {
        token,
        expires_at: new.expires_at,
        member,
    })
}

fn frozen() -> Error {
    Rejection::new(
        ErrorCode::MemberFrozen,
        "this member is frozen; ask an administrator to recover it",
    )
    .into()
}

/// Ends the viewer's session.
pub async fn logout(state: &AppState, viewer: &Viewer) -> Result<()> {
    let mut conn = state.pool.get().await?;
    sessions::delete(&mut conn, viewer.session_id).await
}

/// Changes the viewer's password, ends all their sessions and opens a fresh one.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current: &str,
    new: &str,
) -> Result<IssuedSession> {
    let policy =
        |m: &str| Error::from(Rejection::new(ErrorCode::PasswordPolicy, m).on(&["newPassword"]));
    let settings = settings::get(&mut state.pool.get().await?).await?;
    let old_hash = viewer.member.password_hash.as_str();
    if current.chars().count() > validate::PASSWORD_MAX_LENGTH
        || !state.hasher.verify(current, Some(old_hash)).await?
    {
        return Err(Rejection::new(
            ErrorCode::InvalidCredentials,
            "the current password is wrong",
        )
        .on(&["currentPassword"])
        .into());
    }
    validate::password_shape(new, settings.min_length()).map_err(|r| r.on(&["newPassword"]))?;
    if new == current {
        return Err(policy("the new password must differ from the current one"));
    }
    if let Some(default) = settings.default_password_hash.as_deref()
        && state.hasher.verify(new, Some(default)).await?
    {
        return Err(policy("the new password must not be the default password"));
    }
    let new_hash = state.hasher.hash(new).await?;
    let mut conn = state.pool.get().await?;
    store_new_password(&mut conn, state, viewer, &new_hash, settings.session_ttl()).await
}

async fn store_new_password(
    conn: &mut Conn,
    state: &AppState,
    viewer: &Viewer,
    new_hash: &str,
    ttl: chrono::Duration,
) -> Result<IssuedSession> {
    let (now, token) = (state.clock.now(), token::generate());
    let new = NewSession {
        token_hash: &token::hash(&token),
        member_id: viewer.member.id,
        created_at: now,
        expires_at: now + ttl,
    };
    let target = members::table
        .find(viewer.member.id)
        .filter(members::status.eq("ACTIVE"))
        .filter(members::password_hash.eq(&viewer.member.password_hash));
    let member = transaction!(conn, |c| {
        let member = diesel::update(target)
            .set((
                members::password_hash.eq(new_hash),
                members::must_change_password.eq(false),
                members::updated_at.eq(now),
                members::version.eq(members::version + 1),
            ))
            .returning(Member::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(Error::Unauthenticated)?;
        diesel::delete(sessions_table::table.filter(sessions_table::member_id.eq(member.id)))
            .execute(c)
            .await?;
        diesel::insert_into(sessions_table::table)
            .values(&new)
            .execute(c)
            .await?;
        Ok::<_, Error>(member)
    })?;
    Ok(IssuedSession {
        token,
        expires_at: new.expires_at,
        member,
    })
}
