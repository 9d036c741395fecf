//! Administrative acts on members: edit permission, freeze, recover, reset password.
//!
//! Each reads the target first, checks the rules, then writes in one transaction with
//! a conditional update on the version it read; a concurrent change in between makes
//! the update miss and the act is retried (or reported stale when the caller named a
//! version). Acts that can remove an active administrator hold the member write lock
//! and count the remaining ones inside the transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::schema::{invitations, members, sessions};
use crate::db::{Conn, MemberWriteLock};
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::members::{self as member_rows, Member, MemberStatus};
use crate::domain::roles::{self, Role};
use crate::domain::{Actor, settings, validate};
use crate::error::{Error, ErrorCode, Rejection, Result};
use crate::state::AppState;
use crate::transaction;

/// Longest freeze reason, in characters.
const REASON_MAX: usize = 500;
/// How often an act is retried when a concurrent change got in between.
const ATTEMPTS: usize = 3;

/// The outcome of an act: the member as it is now, and whether anything changed.
pub struct Outcome {
    /// The member after the act.
    pub member: Member,
    /// False when the member already was as asked.
    pub changed: bool,
}

fn stale() -> Error {
    Rejection::new(
        ErrorCode::StaleVersion,
        "the member changed since you loaded it; reload and try again",
    )
    .on(&["expectedVersion"])
    .into()
}

fn is_stale(e: &Error) -> bool {
    matches!(e, Error::Rejected(r) if r.code == ErrorCode::StaleVersion)
}

/// Evaluates the act `$attempt` again while it reports a concurrent change and the
/// caller named no version.
macro_rules! retrying {
    ($expected_version:expr, $attempt:expr) => {{
        let mut attempt = 1;
        loop {
            match $attempt.await {
                Err(e) if is_stale(&e) && $expected_version.is_none() && attempt < ATTEMPTS => {
                    attempt += 1
                }
                other => break other,
            }
        }
    }};
}

/// The target and its role, after the rules every act shares: it exists, it is not the
/// caller, the caller holds every permission of its role, and the version matches.
async fn target(
    conn: &mut Conn,
    actor: &Actor,
    member_id: Option<i64>,
    expected_version: Option<i32>,
) -> Result<(Member, Role)> {
    let not_found = || Rejection::new(ErrorCode::NotFound, "no such member").on(&["memberId"]);
    let member = match member_id {
        Some(id) => member_rows::find(conn, id).await?.ok_or_else(not_found)?,
        None => return Err(not_found().into()),
    };
    if member.id == actor.member_id {
        return Err(
            Rejection::new(ErrorCode::SelfAction, "you cannot do this to yourself")
                .on(&["memberId"])
                .into(),
        );
    }
    let role = roles::find(conn, member.role_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("member {} has no role", member.id)))?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(Rejection::new(
            ErrorCode::PrivilegeEscalation,
            "this member's role has permissions you lack",
        )
        .on(&["memberId"])
        .into());
    }
    if expected_version.is_some_and(|v| v != member.version) {
        return Err(stale());
    }
    Ok((member, role))
}

fn last_administrator() -> Error {
    Rejection::new(
        ErrorCode::LastAdministrator,
        "this would leave no active administrator",
    )
    .on(&["memberId"])
    .into()
}

/// Active members other than `$except` holding the built-in role `$admin_role`.
macro_rules! other_active_admins {
    ($c:expr, $except:expr, $admin_role:expr) => {
        members::table
            .filter(members::role_id.eq($admin_role))
            .filter(members::status.eq("ACTIVE"))
            .filter(members::id.ne($except))
            .count()
            .get_result::<i64>($c)
            .await?
    };
}

/// Applies `$changes` (plus a version bump) to `$member` if its version is still the
/// one read; `Err(stale)` otherwise.
macro_rules! update_member {
    ($c:expr, $member:expr, $now:expr, $changes:expr) => {
        diesel::update(
            members::table
                .find($member.id)
                .filter(members::version.eq($member.version)),
        )
        .set((
            $changes,
            members::updated_at.eq($now),
            members::version.eq(members::version + 1),
        ))
        .returning(Member::as_returning())
        .get_result($c)
        .await
        .optional()?
        .ok_or_else(stale)?
    };
}

/// Moves a member to another role; effective on the member's next request.
pub async fn edit_permission(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    role_id: Option<i64>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    retrying!(
        expected_version,
        edit_permission_once(state, actor, member_id, role_id, expected_version)
    )
}

async fn edit_permission_once(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    role_id: Option<i64>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    let mut conn = state.pool.get().await?;
    let (member, old_role) = target(&mut conn, actor, member_id, expected_version).await?;
    let new_role = roles::require(&mut conn, role_id, "roleId").await?;
    if !actor.permissions.covers(new_role.permissions()) {
        return Err(Rejection::new(
            ErrorCode::PrivilegeEscalation,
            "you can only grant a role whose permissions you hold",
        )
        .on(&["roleId"])
        .into());
    }
    if new_role.id == old_role.id {
        return Ok(Outcome {
            member,
            changed: false,
        });
    }
    let demotes_admin = old_role.built_in && member.status() == MemberStatus::Active;
    let now = state.clock.now();
    let details = json!({
        "before": { "roleId": old_role.id.to_string(), "roleName": old_role.name },
        "after": { "roleId": new_role.id.to_string(), "roleName": new_role.name },
    });
    let event = Event {
        action: AuditAction::MemberPermissionEdited,
        target_member: Some(member.id),
        target_role: Some(new_role.id),
        details,
    };
    let member = transaction!(&mut conn, |c| {
        c.lock_member_writes().await?;
        if demotes_admin && other_active_admins!(c, member.id, old_role.id) == 0 {
            return Err(last_administrator());
        }
        let updated = update_member!(c, member, now, members::role_id.eq(new_role.id));
        audit::insert(&actor.origin, event, now).execute(c).await?;
        Ok::<_, Error>(updated)
    })?;
    Ok(Outcome {
        member,
        changed: true,
    })
}

/// Freezes a member: no sign-in, every session ends now, and their pending
/// invitations are revoked.
pub async fn freeze(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    reason: Option<&str>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    let reason = reason
        .map(|r| validate::text(r, "reason", REASON_MAX).map_err(|e| e.on(&["reason"])))
        .transpose()?
        .filter(|r| !r.is_empty());
    retrying!(
        expected_version,
        freeze_once(state, actor, member_id, reason.clone(), expected_version)
    )
}

async fn freeze_once(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    let mut conn = state.pool.get().await?;
    let (member, role) = target(&mut conn, actor, member_id, expected_version).await?;
    if member.status() == MemberStatus::Frozen {
        return Ok(Outcome {
            member,
            changed: false,
        });
    }
    let now = state.clock.now();
    let member = transaction!(&mut conn, |c| {
        c.lock_member_writes().await?;
        if role.built_in && other_active_admins!(c, member.id, role.id) == 0 {
            return Err(last_administrator());
        }
        let changes = (
            members::status.eq("FROZEN"),
            members::frozen_at.eq(Some(now)),
            members::frozen_reason.eq(reason.clone()),
        );
        let updated = update_member!(c, member, now, changes);
        diesel::delete(sessions::table.filter(sessions::member_id.eq(member.id)))
            .execute(c)
            .await?;
        let revoked = diesel::update(
            invitations::table
                .filter(invitations::created_by.eq(member.id))
                .filter(invitations::status.eq("PENDING")),
        )
        .set((
            invitations::status.eq("REVOKED"),
            invitations::revoked_at.eq(Some(now)),
        ))
        .execute(c)
        .await?;
        let details = json!({ "reason": reason, "revokedInvitations": revoked });
        audit::insert(
            &actor.origin,
            Event::member(AuditAction::MemberFrozen, member.id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })?;
    Ok(Outcome {
        member,
        changed: true,
    })
}

/// Lets a frozen member sign in again; their old sessions stay ended.
pub async fn recover(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    retrying!(
        expected_version,
        recover_once(state, actor, member_id, expected_version)
    )
}

async fn recover_once(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    let mut conn = state.pool.get().await?;
    let (member, _) = target(&mut conn, actor, member_id, expected_version).await?;
    if member.status() == MemberStatus::Active {
        return Ok(Outcome {
            member,
            changed: false,
        });
    }
    let now = state.clock.now();
    let member = transaction!(&mut conn, |c| {
        let updated = update_member!(c, member, now, members::status.eq("ACTIVE"));
        let details = json!({ "frozenReason": member.frozen_reason });
        audit::insert(
            &actor.origin,
            Event::member(AuditAction::MemberRecovered, member.id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })?;
    Ok(Outcome {
        member,
        changed: true,
    })
}

/// How a password is reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMode {
    /// To the default password from the security settings.
    DefaultPassword,
    /// To a random password, shown once.
    TemporaryPassword,
    /// A single-use link, shown once.
    ResetLink,
}

/// The outcome of a reset: the member, and the secret to hand over (shown once).
pub struct ResetOutcome {
    /// The member after the reset.
    pub member: Member,
    /// The temporary password (TEMPORARY_PASSWORD).
    pub temporary_password: Option<String>,
    /// The reset link (RESET_LINK).
    pub reset_link: Option<String>,
}

/// How long a reset link works.
const RESET_LINK_VALID_HOURS: i64 = 1;

/// What a reset writes: the new password hash and its deadline, or the link's token hash.
struct ResetWrite {
    password: Option<(String, NaiveDateTime)>,
    link: Option<(String, NaiveDateTime)>,
}

/// Resets a member's password; every mode requires a change at next sign-in, ends all
/// the member's sessions and kills earlier reset links.
pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    mode: ResetMode,
) -> Result<ResetOutcome> {
    let mut conn = state.pool.get().await?;
    let (member, _) = target(&mut conn, actor, member_id, None).await?;
    let settings = settings::get(&mut conn).await?;
    drop(conn);
    let now = state.clock.now();
    let deadline = now + chrono::Duration::hours(i64::from(settings.reset_password_valid_hours));
    let mut outcome = ResetOutcome {
        member,
        temporary_password: None,
        reset_link: None,
    };
    let write = match mode {
        ResetMode::DefaultPassword => {
            let hash = settings.default_password_hash.ok_or_else(|| {
                Rejection::new(
                    ErrorCode::NoDefaultPassword,
                    "no default password is configured in the security settings",
                )
                .on(&["mode"])
            })?;
            ResetWrite {
                password: Some((hash, deadline)),
                link: None,
            }
        }
        ResetMode::TemporaryPassword => {
            let password = token::random_password();
            let hash = state.hasher.hash(&password).await?;
            outcome.temporary_password = Some(password);
            ResetWrite {
                password: Some((hash, deadline)),
                link: None,
            }
        }
        ResetMode::ResetLink => {
            let secret = token::generate();
            outcome.reset_link = Some(format!("{}/reset-password/{secret}", state.public_url));
            ResetWrite {
                password: None,
                link: Some((
                    token::hash(&secret),
                    now + chrono::Duration::hours(RESET_LINK_VALID_HOURS),
                )),
            }
        }
    };
    let mode_name = match mode {
        ResetMode::DefaultPassword => "DEFAULT_PASSWORD",
        ResetMode::TemporaryPassword => "TEMPORARY_PASSWORD",
        ResetMode::ResetLink => "RESET_LINK",
    };
    let id = outcome.member.id;
    let mut conn = state.pool.get().await?;
    outcome.member = transaction!(&mut conn, |c| {
        let target = members::table.find(id);
        if let Some((hash, expires)) = &write.password {
            diesel::update(target)
                .set((
                    members::password_hash.eq(hash),
                    members::password_expires_at.eq(Some(*expires)),
                ))
                .execute(c)
                .await?;
        }
        let (link_hash, link_expires) = write.link.clone().unzip();
        let updated = diesel::update(target)
            .set((
                members::must_change_password.eq(true),
                members::reset_token_hash.eq(link_hash),
                members::reset_expires_at.eq(link_expires),
                members::updated_at.eq(now),
                members::version.eq(members::version + 1),
            ))
            .returning(Member::as_returning())
            .get_result(c)
            .await?;
        diesel::delete(sessions::table.filter(sessions::member_id.eq(id)))
            .execute(c)
            .await?;
        let event = Event::member(
            AuditAction::MemberPasswordReset,
            id,
            json!({ "mode": mode_name }),
        );
        audit::insert(&actor.origin, event, now).execute(c).await?;
        Ok::<_, Error>(updated)
    })?;
    Ok(outcome)
}
