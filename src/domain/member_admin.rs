//! Administrative acts on members: edit permission, freeze, recover, remove, reset
//! password.
//!
//! Each checks its permission, reads the target, checks the rules, then writes in one
//! transaction with a conditional update on the version it read; a concurrent change
//! in between makes the update miss and the act is retried (or reported stale when the
//! caller named a version). Acts that can remove an active administrator lock the
//! Administrator role's row and count the remaining ones inside the transaction; other
//! acts lock only the member's row and share the role they grant ([`crate::db::RowLocks`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::schema::{
    invitations, members, roles as roles_table, sessions, settings as settings_table,
};
use crate::db::{Conn, RowLocks, transaction, with_conn};
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::erasure::{self, Erasure, forget_email, scrub_audit, scrub_reasons};
use crate::domain::invitations::InvitationStatus;
use crate::domain::members::{self as member_rows, Member, MemberStatus};
use crate::domain::roles::{self, Role};
use crate::domain::{Actor, AppState, Permission, PermissionSet, settings, thaw, validate};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

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
    .on(Input::ExpectedVersion)
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
    member_id: i64,
    expected_version: Option<i32>,
    now: NaiveDateTime,
) -> Result<(Member, Role)> {
    let (mut member, mut role) = with_role(conn, member_id).await?.ok_or_else(not_found)?;
    // A version read after the freeze ended by its time, but before that was written,
    // is as current as the one after.
    if member.status == MemberStatus::Removed {
        return Err(not_found().into());
    }
    let read_version = member.version;
    if member.thawed_at(now) {
        // The freeze ended by its time: that is recorded first, so an act on the member
        // sees them active and the end is recorded once.
        thaw::due(conn, now, Some(member.id)).await?;
        (member, role) = with_role(conn, member_id).await?.ok_or_else(not_found)?;
    }
    check_target(actor, &member, &role)?;
    if expected_version.is_some_and(|v| v != member.version && v != read_version) {
        return Err(stale());
    }
    Ok((member, role))
}

/// The member `id` with their role, in one statement (every act reads both before its
/// transaction: one round trip fewer per act).
async fn with_role(conn: &mut Conn, id: i64) -> Result<Option<(Member, Role)>> {
    let q = members::table
        .inner_join(roles_table::table)
        .filter(members::id.eq(id));
    // No LIMIT: the id is the key, and a bound limit would only add a parameter.
    Ok(with_conn!(conn, |c| q
        .select((Member::as_select(), Role::as_select()))
        .get_result(c)
        .await
        .optional())?)
}

/// The rules every act on `member` (holding `role`) shares: the member is not removed,
/// not the caller, and the caller holds every permission of their role.
pub(crate) fn check_target(actor: &Actor, member: &Member, role: &Role) -> Result<()> {
    if member.status == MemberStatus::Removed {
        return Err(not_found().into());
    }
    if member.id == actor.member_id {
        return Err(
            Rejection::new(ErrorCode::SelfAction, "you cannot do this to yourself")
                .on(Input::Member)
                .into(),
        );
    }
    if !actor.permissions.covers(role.permissions()) {
        return Err(escalation(
            "this member's role has permissions you lack",
            Input::Member,
        ));
    }
    Ok(())
}

/// `LAST_ADMINISTRATOR` when an act would leave no other active administrator.
fn guard_last_admin(others: i64) -> Result<()> {
    match others {
        0 => Err(last_administrator()),
        _ => Ok(()),
    }
}

fn not_found() -> Rejection {
    Rejection::new(ErrorCode::NotFound, "no such member").on(Input::Member)
}

fn escalation(message: &str, input: Input) -> Error {
    Rejection::new(ErrorCode::PrivilegeEscalation, message)
        .on(input)
        .into()
}

fn last_administrator() -> Error {
    Rejection::new(
        ErrorCode::LastAdministrator,
        "this would leave no active administrator",
    )
    .on(Input::Member)
    .into()
}

/// Active members other than `$except` holding the built-in role `$admin_role`.
macro_rules! other_active_admins {
    ($c:expr, $except:expr, $admin_role:expr) => {
        members::table
            .filter(members::role_id.eq($admin_role))
            .filter(members::status.eq(MemberStatus::Active))
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

/// Ends every session of member `$member` and revokes the pending invitations they
/// created; the number revoked.
macro_rules! end_access {
    ($c:expr, $member:expr, $now:expr) => {{
        diesel::delete(sessions::table.filter(sessions::member_id.eq($member)))
            .execute($c)
            .await?;
        diesel::update(
            invitations::table
                .filter(invitations::created_by.eq($member))
                .filter(invitations::status.eq(InvitationStatus::Pending)),
        )
        .set((
            invitations::status.eq(InvitationStatus::Revoked),
            invitations::revoked_at.eq(Some($now)),
        ))
        .execute($c)
        .await?
    }};
}

/// A member's columns an act sets; `None` keeps a column, `Some(None)` clears it.
#[derive(AsChangeset, Default)]
#[diesel(table_name = members)]
struct MemberChanges {
    role_id: Option<i64>,
    status: Option<MemberStatus>,
    frozen_at: Option<Option<NaiveDateTime>>,
    frozen_reason: Option<Option<String>>,
    frozen_until: Option<Option<NaiveDateTime>>,
    reset_token_hash: Option<Option<String>>,
    reset_expires_at: Option<Option<NaiveDateTime>>,
    email: Option<String>,
    email_key: Option<String>,
    name: Option<String>,
    search_key: Option<String>,
    password_hash: Option<String>,
    removed_at: Option<Option<NaiveDateTime>>,
}

/// What an act writes, decided from the member and role as read.
struct Change {
    /// The member's new values.
    columns: MemberChanges,
    /// The event to record.
    event: Event,
    /// The built-in role the member leaves, when they hold it actively: another active
    /// administrator must remain.
    leaves_admin_role: Option<i64>,
    /// A role granted, which must still exist at commit.
    grants: Option<i64>,
    /// Freezing: every session ends and the member's pending invitations are revoked.
    freezes: bool,
    /// Removing: as freezing, and the member's email and name are erased everywhere.
    erases: bool,
}

/// Writes `$change` of `$member` on the transaction connection `$c` (which holds the
/// locks of the roles it grants or checks, and, through its update, the member's row)
/// with its audit event; the member after.
macro_rules! apply {
    ($c:expr, $actor:expr, $member:expr, $change:expr, $now:expr) => {{
        let Change {
            columns,
            mut event,
            leaves_admin_role,
            grants,
            freezes,
            erases,
        } = $change;
        if let Some(granted) = grants {
            // deleteRole locks it too: a role deleted since it was read is not found.
            $c.share_roles(&[granted]).await?;
            roles::locked!($c, granted, Input::GrantedRole);
        }
        if let Some(admin_role) = leaves_admin_role {
            // Two acts on two administrators must not each count the other as left.
            $c.lock_roles(&[admin_role]).await?;
            guard_last_admin(other_active_admins!($c, $member.id, admin_role))?;
        }
        let updated = update_member!($c, $member, $now, &columns);
        if freezes || erases {
            let revoked = end_access!($c, $member.id, $now);
            event.details["revokedInvitations"] = revoked.into();
        }
        audit::insert(&$actor.origin, event, $now)
            .execute($c)
            .await?;
        if erases {
            // After the act's own event, whose reason may name the member too.
            forget_email!($c, $member, $now);
            let erasure = Erasure::of(&$member)?;
            scrub_audit!($c, &erasure);
            scrub_reasons!($c, &erasure);
        }
        updated
    }};
}

/// The skeleton of editPermission, freeze and recover, after their permission: the
/// target's rules ([`target`]), `decide` on the member and role as read and the time
/// (`None`: nothing to change), then one transaction with its audit event, retried on
/// a concurrent change.
async fn act<F>(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    expected_version: Option<i32>,
    decide: F,
) -> Result<Outcome>
where
    F: Fn(&Member, &Role, NaiveDateTime) -> Result<Option<Change>>,
{
    retrying!(
        expected_version,
        act_once(state, actor, member_id, expected_version, &decide)
    )
}

async fn act_once<F>(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    expected_version: Option<i32>,
    decide: &F,
) -> Result<Outcome>
where
    F: Fn(&Member, &Role, NaiveDateTime) -> Result<Option<Change>>,
{
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let (member, role) = target(&mut conn, actor, member_id, expected_version, now).await?;
    let Some(change) = decide(&member, &role, now)? else {
        return Ok(Outcome {
            member,
            changed: false,
        });
    };
    let member = transaction!(&mut conn, |c| Ok::<_, Error>(apply!(
        c, actor, member, change, now
    )))?;
    Ok(Outcome {
        member,
        changed: true,
    })
}

/// Moves a member to another role; effective on the member's next request. Needs
/// MEMBERS_EDIT_PERMISSION and every permission of both roles.
pub async fn edit_permission(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    role_id: i64,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    actor.require(Permission::MembersEditPermission)?;
    let new_role = roles::find(&mut state.pool.get().await?, role_id).await?;
    act(
        state,
        actor,
        member_id,
        expected_version,
        |member, old_role, _| edit_change(actor, member, old_role, new_role.as_ref()),
    )
    .await
}

/// What moving `member` from `old_role` to `new_role` writes (`None`: they hold it).
fn edit_change(
    actor: &Actor,
    member: &Member,
    old_role: &Role,
    new_role: Option<&Role>,
) -> Result<Option<Change>> {
    let new_role = new_role.ok_or_else(|| roles::not_found(Input::GrantedRole))?;
    if !actor.permissions.covers(new_role.permissions()) {
        let why = "you can only grant a role whose permissions you hold";
        return Err(escalation(why, Input::GrantedRole));
    }
    if new_role.id == old_role.id {
        return Ok(None);
    }
    let details = json!({
        "before": { "roleId": old_role.id.to_string(), "roleName": old_role.name },
        "after": { "roleId": new_role.id.to_string(), "roleName": new_role.name },
    });
    Ok(Some(Change {
        columns: MemberChanges {
            role_id: Some(new_role.id),
            ..Default::default()
        },
        event: Event::new(
            AuditAction::MemberPermissionEdited,
            Some(member.id),
            Some(new_role.id),
            details,
        )
        .changed("role", Some(&old_role.name), Some(&new_role.name)),
        leaves_admin_role: admin_role_left(member, old_role),
        grants: Some(new_role.id),
        freezes: false,
        erases: false,
    }))
}

/// The built-in role `member` holds actively, if they do.
fn admin_role_left(member: &Member, role: &Role) -> Option<i64> {
    (role.built_in && member.status == MemberStatus::Active).then_some(role.id)
}

/// Freezes a member: no sign-in, every session ends now, outstanding reset links die,
/// and their pending invitations are revoked. Needs MEMBERS_FREEZE.
pub async fn freeze(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    reason: Option<&str>,
    until: Option<NaiveDateTime>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    actor.require(Permission::MembersFreeze)?;
    let reason = freeze_reason(reason)?;
    let freeze = |member: &Member, role: &Role, now| {
        freeze_change(member, role, now, until, reason.as_ref())
    };
    act(state, actor, member_id, expected_version, freeze).await
}

/// A freeze's reason, validated; none when blank.
fn freeze_reason(reason: Option<&str>) -> Result<Option<String>> {
    Ok(reason
        .map(|r| validate::text(r, "reason", REASON_MAX).map_err(|e| e.on(Input::FreezeReason)))
        .transpose()?
        .filter(|r| !r.is_empty()))
}

/// What freezing `member` writes (`None`: nothing to change; a frozen member without
/// a new end or reason).
fn freeze_change(
    member: &Member,
    role: &Role,
    now: NaiveDateTime,
    until: Option<NaiveDateTime>,
    reason: Option<&String>,
) -> Result<Option<Change>> {
    if let Some(until) = until {
        check_until(until, now)?;
    }
    if member.status == MemberStatus::Frozen {
        return Ok(refreeze(member, until, reason));
    }
    let until_text = until.map(audit::instant);
    Ok(Some(Change {
        columns: MemberChanges {
            status: Some(MemberStatus::Frozen),
            frozen_at: Some(Some(now)),
            frozen_reason: Some(reason.cloned()),
            frozen_until: Some(until),
            // Reset links die with the sessions: recovering does not revive them.
            reset_token_hash: Some(None),
            reset_expires_at: Some(None),
            ..Default::default()
        },
        event: Event::member(
            AuditAction::MemberFrozen,
            member.id,
            json!({ "reason": reason, "until": until_text }),
        )
        .changed(
            "status",
            Some(MemberStatus::Active.as_str()),
            Some(MemberStatus::Frozen.as_str()),
        )
        .changed("frozenReason", member.frozen_reason.as_ref(), reason)
        .changed("frozenUntil", None::<String>, until_text.as_ref())
        .because(reason.map(String::as_str)),
        leaves_admin_role: admin_role_left(member, role),
        grants: None,
        freezes: true,
        erases: false,
    }))
}

/// The longest time-bound freeze, in days.
const UNTIL_MAX_DAYS: i64 = 366;

/// `until` must be later than `now` and at most [`UNTIL_MAX_DAYS`] ahead.
fn check_until(until: NaiveDateTime, now: NaiveDateTime) -> Result<()> {
    let why = if until <= now {
        "until must be later than now"
    } else if until > now + chrono::Duration::days(UNTIL_MAX_DAYS) {
        "until must be at most 366 days ahead"
    } else {
        return Ok(());
    };
    Err(Rejection::new(ErrorCode::InvalidInput, why)
        .on(Input::FreezeUntil)
        .into())
}

/// Freezing a frozen member again replaces when the freeze ends (and the reason, when
/// one is given); nothing else changes, the sessions being ended already.
fn refreeze(
    member: &Member,
    until: Option<NaiveDateTime>,
    reason: Option<&String>,
) -> Option<Change> {
    let same_reason = reason.is_none_or(|r| member.frozen_reason.as_ref() == Some(r));
    if member.frozen_until == until && same_reason {
        return None;
    }
    let text = |t: Option<NaiveDateTime>| t.map(audit::instant);
    let details = json!({
        "reason": reason.or(member.frozen_reason.as_ref()),
        "until": text(until),
        "previousUntil": text(member.frozen_until),
    });
    Some(Change {
        columns: MemberChanges {
            frozen_until: Some(until),
            frozen_reason: reason.map(|r| Some(r.clone())),
            ..Default::default()
        },
        event: Event::member(AuditAction::MemberFrozen, member.id, details)
            .changed("frozenUntil", text(member.frozen_until), text(until))
            .changed(
                "frozenReason",
                member.frozen_reason.as_ref(),
                reason.or(member.frozen_reason.as_ref()),
            )
            .because(reason.map(String::as_str)),
        leaves_admin_role: None,
        grants: None,
        freezes: false,
        erases: false,
    })
}

/// Lets a frozen member sign in again; their old sessions stay ended. Needs
/// MEMBERS_FREEZE.
pub async fn recover(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    actor.require(Permission::MembersFreeze)?;
    let recover = |member: &Member, _: &Role, _| recover_change(member);
    act(state, actor, member_id, expected_version, recover).await
}

/// Removes a member for good: status REMOVED, every session ended, reset links and
/// their pending invitations revoked, the password unusable, and their email and name
/// erased from the members table, the invitations and every audit event. Audit events
/// still point at the member, who reads as removed; the email can be invited again.
/// Needs MEMBERS_REMOVE.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    reason: Option<&str>,
    expected_version: Option<i32>,
) -> Result<Outcome> {
    actor.require(Permission::MembersRemove)?;
    let reason = reason
        .map(|r| validate::text(r, "reason", REASON_MAX).map_err(|e| e.on(Input::RemoveReason)))
        .transpose()?
        .filter(|r| !r.is_empty());
    let remove =
        |member: &Member, role: &Role, now| remove_change(member, role, now, reason.as_ref());
    act(state, actor, member_id, expected_version, remove).await
}

/// What recovering `member` writes (`None`: they are active).
fn recover_change(member: &Member) -> Result<Option<Change>> {
    if member.status == MemberStatus::Active {
        return Ok(None);
    }
    Ok(Some(Change {
        columns: MemberChanges {
            status: Some(MemberStatus::Active),
            frozen_until: Some(None),
            ..Default::default()
        },
        event: Event::member(
            AuditAction::MemberRecovered,
            member.id,
            json!({ "frozenReason": member.frozen_reason }),
        )
        .changed(
            "status",
            Some(MemberStatus::Frozen.as_str()),
            Some(MemberStatus::Active.as_str()),
        )
        .changed(
            "frozenUntil",
            member.frozen_until.map(audit::instant),
            None::<String>,
        ),
        leaves_admin_role: None,
        grants: None,
        freezes: false,
        erases: false,
    }))
}

/// What removing `member` writes.
fn remove_change(
    member: &Member,
    role: &Role,
    now: NaiveDateTime,
    reason: Option<&String>,
) -> Result<Option<Change>> {
    let email = erasure::removed_email(member.id);
    Ok(Some(Change {
        columns: MemberChanges {
            status: Some(MemberStatus::Removed),
            removed_at: Some(Some(now)),
            email_key: Some(validate::key(&email)),
            email: Some(email),
            name: Some(erasure::REMOVED_NAME.to_owned()),
            search_key: Some(erasure::removed_search_key(member.id)),
            password_hash: Some(crate::auth::password::DISABLED.to_string()),
            frozen_reason: Some(None),
            frozen_until: Some(None),
            reset_token_hash: Some(None),
            reset_expires_at: Some(None),
            ..Default::default()
        },
        event: Event::member(
            AuditAction::MemberRemoved,
            member.id,
            json!({ "reason": reason }),
        )
        .changed(
            "status",
            Some(member.status.as_str()),
            Some(MemberStatus::Removed.as_str()),
        )
        .changed_secret("email")
        .changed_secret("name")
        .because(reason.map(String::as_str)),
        leaves_admin_role: admin_role_left(member, role),
        grants: None,
        freezes: false,
        erases: true,
    }))
}

// Declared after the macros above, which they use.
mod bulk;
mod capability;
mod reset;
pub use bulk::{BULK_MAX, BulkAct, BulkPolicy, BulkResult, bulk};
pub use capability::{Act, may};
pub use reset::{ResetMode, ResetOutcome, reset_password};
