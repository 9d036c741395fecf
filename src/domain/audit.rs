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
    /// A member was removed and their personal data erased.
    MemberRemoved,
}

impl AuditAction {
    /// Every action, for parsing.
    pub const ALL: [AuditAction; 17] = [
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
        AuditAction::MemberRemoved,
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
            AuditAction::MemberRemoved => "MEMBER_REMOVED",
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
    /// Each field the act changed, typed.
    pub changes: Vec<FieldChange>,
    /// Why, as the actor gave it.
    pub reason: Option<String>,
}

/// One field an act changed: its value before and after, as text. A secret's values
/// are never recorded, only that it changed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// The field's API name, e.g. `role` or `status`.
    pub field: String,
    /// The value before; null when there was none or it is secret.
    pub before: Option<String>,
    /// The value after; null when there is none or it is secret.
    pub after: Option<String>,
}

impl Event {
    /// An event about a member and (when `role` is set) a role.
    pub fn new(
        action: AuditAction,
        member: Option<i64>,
        role: Option<i64>,
        details: Value,
    ) -> Self {
        Event {
            action,
            target_member: member,
            target_role: role,
            details,
            changes: Vec::new(),
            reason: None,
        }
    }

    /// An event about a member.
    pub fn member(action: AuditAction, member: i64, details: Value) -> Self {
        Event::new(action, Some(member), None, details)
    }

    /// An event about a role.
    pub fn role(action: AuditAction, role: i64, details: Value) -> Self {
        Event::new(action, None, Some(role), details)
    }

    /// Records that `field` went from `before` to `after`, unless they are equal.
    pub fn changed<B: ToString, A: ToString>(
        mut self,
        field: &str,
        before: Option<B>,
        after: Option<A>,
    ) -> Self {
        let before = before.map(|b| b.to_string());
        let after = after.map(|a| a.to_string());
        if before != after {
            self.changes.push(FieldChange {
                field: field.to_owned(),
                before,
                after,
            });
        }
        self
    }

    /// Records that the secret `field` changed, without its values.
    pub fn changed_secret(mut self, field: &str) -> Self {
        self.changes.push(FieldChange {
            field: field.to_owned(),
            before: None,
            after: None,
        });
        self
    }

    /// Records a change for each key of the JSON objects `before` and `after` whose
    /// values differ (a key missing on one side reads as null).
    pub fn diffed(mut self, before: &Value, after: &Value) -> Self {
        let empty = serde_json::Map::new();
        let before = before.as_object().unwrap_or(&empty);
        let after = after.as_object().unwrap_or(&empty);
        let mut seen = std::collections::HashSet::new();
        for key in before
            .keys()
            .chain(after.keys())
            .filter(|k| seen.insert(*k))
        {
            self = self.changed(
                key,
                before.get(key).and_then(text),
                after.get(key).and_then(text),
            );
        }
        self
    }

    /// Records the actor's reason.
    pub fn because(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::to_owned);
        self
    }
}

/// A JSON value as a change's text: a list joined by commas; null as none.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(items.iter().filter_map(text).collect::<Vec<_>>().join(", ")),
        other => Some(other.to_string()),
    }
}

/// An instant as the audit log writes it (RFC 3339, UTC).
pub fn instant(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
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
    changes: String,
    reason: Option<String>,
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
        changes: serde_json::to_string(&event.changes).unwrap_or_else(|_| "[]".to_owned()),
        reason: event.reason,
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
    /// JSON array of [`FieldChange`].
    pub changes: String,
    /// Why, as the actor gave it.
    pub reason: Option<String>,
}

impl AuditEvent {
    /// The fields the act changed.
    pub fn field_changes(&self) -> Result<Vec<FieldChange>> {
        serde_json::from_str(&self.changes).map_err(|e| {
            crate::error::Error::Internal(format!("audit event {} changes: {e}", self.id))
        })
    }
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
