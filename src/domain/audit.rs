//! The audit log: one event per administrative act, written in the act's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;

use crate::db::Conn;
use crate::db::schema::audit_events;
use crate::db::with_conn;
use crate::domain::{Actor, AppState, Permission};
use crate::error::Result;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// An invitation was created.
    MemberInvited,
    /// An invitation got a new link.
    InvitationReissued,
    /// An invitation was revoked.
    InvitationRevoked,
    /// An invitation was accepted and the member created.
    InvitationAccepted,
    /// A member's role changed.
    MemberPermissionEdited,
    /// A member was frozen.
    MemberFrozen,
    /// A member was recovered.
    MemberRecovered,
    /// A member's password was reset.
    MemberPasswordReset,
    /// A member changed their own password.
    PasswordChanged,
    /// A role was created.
    RoleCreated,
    /// A role was changed.
    RoleUpdated,
    /// A role was deleted.
    RoleDeleted,
    /// The security settings changed.
    SecuritySettingsUpdated,
    /// Someone signed in.
    LoginSucceeded,
    /// A sign-in was refused.
    LoginFailed,
    /// One or more of a member's sessions were ended by a revoke.
    SessionRevoked,
}

impl AuditAction {
    /// Every action, for parsing.
    pub const ALL: [AuditAction; 16] = [
        AuditAction::MemberInvited,
        AuditAction::InvitationReissued,
        AuditAction::InvitationRevoked,
        AuditAction::InvitationAccepted,
        AuditAction::MemberPermissionEdited,
        AuditAction::MemberFrozen,
        AuditAction::MemberRecovered,
        AuditAction::MemberPasswordReset,
        AuditAction::PasswordChanged,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::SecuritySettingsUpdated,
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::SessionRevoked,
    ];

    /// The stored name, e.g. `MEMBER_FROZEN`.
    pub fn name(self) -> &'static str {
        match self {
            AuditAction::MemberInvited => "MEMBER_INVITED",
            AuditAction::InvitationReissued => "INVITATION_REISSUED",
            AuditAction::InvitationRevoked => "INVITATION_REVOKED",
            AuditAction::InvitationAccepted => "INVITATION_ACCEPTED",
            AuditAction::MemberPermissionEdited => "MEMBER_PERMISSION_EDITED",
            AuditAction::MemberFrozen => "MEMBER_FROZEN",
            AuditAction::MemberRecovered => "MEMBER_RECOVERED",
            AuditAction::MemberPasswordReset => "MEMBER_PASSWORD_RESET",
            AuditAction::PasswordChanged => "PASSWORD_CHANGED",
            AuditAction::RoleCreated => "ROLE_CREATED",
            AuditAction::RoleUpdated => "ROLE_UPDATED",
            AuditAction::RoleDeleted => "ROLE_DELETED",
            AuditAction::SecuritySettingsUpdated => "SECURITY_SETTINGS_UPDATED",
            AuditAction::LoginSucceeded => "LOGIN_SUCCEEDED",
            AuditAction::LoginFailed => "LOGIN_FAILED",
            AuditAction::SessionRevoked => "SESSION_REVOKED",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        AuditAction::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// Who acts and from where: the signed-in member (if any) and the client address.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The acting member; `None` for anonymous acts.
    pub actor: Option<i64>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's `User-Agent`, at most [`USER_AGENT_MAX`] characters.
    pub user_agent: Option<String>,
}

/// The longest `User-Agent` kept.
pub const USER_AGENT_MAX: usize = 512;

impl Origin {
    /// The same client acting as `member`, who has just signed in.
    pub fn as_member(&self, member: i64) -> Origin {
        Origin {
            actor: Some(member),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

/// An event to record.
pub struct Event {
    /// What happened.
    pub action: AuditAction,
    /// The member acted on.
    pub target_member: Option<i64>,
    /// The role acted on.
    pub target_role: Option<i64>,
    /// Before/after values and reasons; never a password, hash or token.
    pub details: Value,
}

impl Event {
    /// An event about a member.
    pub fn member(action: AuditAction, member: i64, details: Value) -> Self {
        Event {
            action,
            target_member: Some(member),
            target_role: None,
            details,
        }
    }

    /// An event about a role.
    pub fn role(action: AuditAction, role: i64, details: Value) -> Self {
        Event {
            action,
            target_member: None,
            target_role: Some(role),
            details,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    action: &'a str,
    actor_id: Option<i64>,
    target_member_id: Option<i64>,
    target_role_id: Option<i64>,
    details: String,
    ip: Option<&'a str>,
    created_at: NaiveDateTime,
}

/// The insert statement for `event`; run it on the connection of the act's transaction.
pub fn insert(
    origin: &Origin,
    event: Event,
    now: NaiveDateTime,
) -> impl diesel_async::methods::ExecuteDsl<crate::db::SqliteConn>
+ diesel_async::methods::ExecuteDsl<diesel_async::AsyncPgConnection>
+ Send {
    diesel::insert_into(audit_events::table).values(NewAuditEvent {
        action: event.action.name(),
        actor_id: origin.actor,
        target_member_id: event.target_member,
        target_role_id: event.target_role,
        details: event.details.to_string(),
        ip: origin.ip.as_deref(),
        created_at: now,
    })
}

/// A recorded event.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// Its id.
    pub id: i64,
    /// The stored action name.
    pub action: String,
    /// Who acted.
    pub actor_id: Option<i64>,
    /// The member acted on.
    pub target_member_id: Option<i64>,
    /// The role acted on.
    pub target_role_id: Option<i64>,
    /// JSON object.
    pub details: String,
    /// Client address.
    pub ip: Option<String>,
    /// When.
    pub created_at: NaiveDateTime,
}

/// Which events to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only by this actor.
    pub actor: Option<i64>,
    /// Only about this member.
    pub target_member: Option<i64>,
    /// Only about this role.
    pub target_role: Option<i64>,
    /// Only from this instant on.
    pub from: Option<NaiveDateTime>,
    /// Only before this instant.
    pub to: Option<NaiveDateTime>,
}

macro_rules! audit_filtered {
    ($query:expr, $filter:expr) => {{
        let mut q = $query;
        if let Some(action) = $filter.action {
            q = q.filter(audit_events::action.eq(action.name()));
        }
        if let Some(actor) = $filter.actor {
            q = q.filter(audit_events::actor_id.eq(actor));
        }
        if let Some(target) = $filter.target_member {
            q = q.filter(audit_events::target_member_id.eq(target));
        }
        if let Some(role) = $filter.target_role {
            q = q.filter(audit_events::target_role_id.eq(role));
        }
        if let Some(from) = $filter.from {
            q = q.filter(audit_events::created_at.ge(from));
        }
        if let Some(to) = $filter.to {
            q = q.filter(audit_events::created_at.lt(to));
        }
        q
    }};
}

/// A page of events, newest first, after the event `after`. Needs AUDIT_LOG_VIEW.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    actor.require(Permission::AuditLogView)?;
    Ok(with_conn!(&mut state.pool.get().await?, |c| {
        let mut q = audit_filtered!(
            audit_events::table
                .select(AuditEvent::as_select())
                .into_boxed(),
            filter
        );
        if let Some(after) = after {
            q = q.filter(audit_events::id.lt(after));
        }
        q.order(audit_events::id.desc()).limit(limit).load(c).await
    })?)
}

/// How many events match the filter. Needs AUDIT_LOG_VIEW.
pub async fn count(state: &AppState, actor: &Actor, filter: &AuditFilter) -> Result<i64> {
    actor.require(Permission::AuditLogView)?;
    Ok(with_conn!(&mut state.pool.get().await?, |c| {
        audit_filtered!(audit_events::table.count().into_boxed(), filter)
            .get_result(c)
            .await
    })?)
}

/// Records one event on its own (for acts with no other write, like a refused sign-in).
pub async fn record(
    conn: &mut Conn,
    origin: &Origin,
    event: Event,
    now: NaiveDateTime,
) -> Result<()> {
    with_conn!(conn, |c| insert(origin, event, now).execute(c).await)?;
    Ok(())
}
