//! Administrative acts on members: edit permission, freeze, recover, reset password.
//!
//! Each reads the target first, checks the rules, then writes in one transaction with
//! a conditional update on the version it read; a concurrent change in between makes
//! the update miss and the act is retried (or reported stale when the caller named a
//! version). Acts that can remove an active administrator hold the member write lock
//! and count the remaining ones inside the transaction.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::schema::{invitations, members, sessions, settings as settings_table};
use crate::db::transaction;
use crate::db::{Conn, MemberWriteLock};
use crate::domain::AppState;
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::members::{self as member_rows, Member, MemberStatus};
use crate::domain::roles::{self, Role};
use crate::domain::{Actor, settings, validate};
use crate::error::{Error, ErrorCode, Rejection, Result};

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
        // deleteRole holds the same lock: a role deleted since it was read is not found.
        crate::domain::roles::locked!(c, new_role.id, "roleId");
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
            // Outstanding reset links die with the sessions: recovering does not revive them.
            members::reset_token_hash.eq(None::<String>),
            members::reset_expires_at.eq(None::<chrono::NaiveDateTime>),
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

/// What a reset hands over and stores, prepared before its transaction (hashing is
/// slow): the default password is read inside it.
enum ResetSecret {
    Default,
    Temporary { password: String, hash: String },
    Link { secret: String },
}

impl ResetSecret {
    async fn new(state: &AppState, mode: ResetMode) -> Result<Self> {
        Ok(match mode {
            ResetMode::DefaultPassword => ResetSecret::Default,
            ResetMode::TemporaryPassword => {
                let password = token::random_password();
                let hash = state.hasher.hash(&password).await?;
                ResetSecret::Temporary { password, hash }
            }
            ResetMode::ResetLink => ResetSecret::Link {
                secret: token::generate(),
            },
        })
    }

    fn mode_name(&self) -> &'static str {
        match self {
            ResetSecret::Default => "DEFAULT_PASSWORD",
            ResetSecret::Temporary { .. } => "TEMPORARY_PASSWORD",
            ResetSecret::Link { .. } => "RESET_LINK",
        }
    }
}

fn no_default_password() -> Error {
    Rejection::new(
        ErrorCode::NoDefaultPassword,
        "no default password is configured in the security settings",
    )
    .on(&["mode"])
    .into()
}

fn default_setter_lacks(role: &Role) -> Error {
    Rejection::new(
        ErrorCode::PrivilegeEscalation,
        format!(
            "the default password was set by someone who does not hold every permission of \
             the role {}; reset with TEMPORARY_PASSWORD or RESET_LINK",
            role.name
        ),
    )
    .on(&["mode"])
    .into()
}

/// Resets a member's password; every mode ends the old password and every session
/// of the member, kills earlier reset links and requires a change at next sign-in.
/// The write is conditional on the member's version as checked, like the other acts.
pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    mode: ResetMode,
    expected_version: Option<i32>,
) -> Result<ResetOutcome> {
    retrying!(
        expected_version,
        reset_password_once(state, actor, member_id, mode, expected_version)
    )
}

async fn reset_password_once(
    state: &AppState,
    actor: &Actor,
    member_id: Option<i64>,
    mode: ResetMode,
    expected_version: Option<i32>,
) -> Result<ResetOutcome> {
    let mut conn = state.pool.get().await?;
    let (member, role) = target(&mut conn, actor, member_id, expected_version).await?;
    drop(conn);
    let secret = ResetSecret::new(state, mode).await?;
    let now = state.clock.now();
    let link_hash = match &secret {
        ResetSecret::Link { secret } => Some(token::hash(secret)),
        _ => None,
    };
    let link_expires = link_hash
        .as_ref()
        .map(|_| now + chrono::Duration::hours(RESET_LINK_VALID_HOURS));
    let event = Event::member(
        AuditAction::MemberPasswordReset,
        member.id,
        json!({ "mode": secret.mode_name() }),
    );
    let mut conn = state.pool.get().await?;
    let updated = transaction!(&mut conn, |c| {
        let settings: settings::Settings = settings_table::table
            .find(1)
            .select(settings::Settings::as_select())
            .first(c)
            .await?;
        let password = match &secret {
            ResetSecret::Default => {
                let hash = settings
                    .default_password_hash
                    .clone()
                    .ok_or_else(no_default_password)?;
                // Whoever set it must still be active and hold the target's permissions:
                // the default password is a credential for every account reset to it.
                let held = match settings.default_password_set_by {
                    Some(setter) => roles::held_by!(c, setter),
                    None => None,
                };
                if !held.is_some_and(|held| held.covers(role.permissions())) {
                    return Err(default_setter_lacks(&role));
                }
                Some(hash)
            }
            ResetSecret::Temporary { hash, .. } => Some(hash.clone()),
            ResetSecret::Link { .. } => None,
        };
        let expires = password
            .as_ref()
            .map(|_| now + chrono::Duration::hours(i64::from(settings.reset_password_valid_hours)));
        let changes = (
            members::password_expires_at.eq(expires),
            members::must_change_password.eq(true),
            members::reset_token_hash.eq(link_hash.clone()),
            members::reset_expires_at.eq(link_expires),
        );
        let updated = update_member!(c, member, now, changes);
        let row = members::table.find(member.id);
        match password {
            Some(hash) => {
                diesel::update(row)
                    .set(members::password_hash.eq(hash))
                    .execute(c)
                    .await?
            }
            // The old password ends now, not when the link is used.
            None => {
                let disabled = crate::auth::password::DISABLED.to_string();
                diesel::update(row.filter(members::password_hash.not_like(format!("{disabled}%"))))
                    .set(
                        members::password_hash
                            .eq(disabled.into_sql::<Text>().concat(members::password_hash)),
                    )
                    .execute(c)
                    .await?
            }
        };
        diesel::delete(sessions::table.filter(sessions::member_id.eq(member.id)))
            .execute(c)
            .await?;
        audit::insert(&actor.origin, event, now).execute(c).await?;
        Ok::<_, Error>(updated)
    })?;
    let (temporary_password, reset_link) = match secret {
        ResetSecret::Default => (None, None),
        ResetSecret::Temporary { password, .. } => (Some(password), None),
        ResetSecret::Link { secret } => (
            None,
            Some(format!("{}/reset-password/{secret}", state.public_url)),
        ),
    };
    Ok(ResetOutcome {
        member: updated,
        temporary_password,
        reset_link,
    })
}
