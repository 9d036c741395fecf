//! The audit log.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use crate::domain::audit::{self, AuditEvent, AuditFilter};
use crate::error::Error;
use crate::graphql::access::{actor, loaders, state};
use crate::graphql::connection::{
    PageInfo, decode_cursor, encode_cursor, page_info, page_size, trim_page,
};
use crate::graphql::ids::domain_id;
use crate::graphql::member::MemberNode;
use crate::graphql::role::RoleNode;
use crate::graphql::scalars::DateTime;

/// What happened.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::audit::AuditAction")]
pub enum AuditAction {
    /// An invitation was created.
    MemberInvited,
    /// An invitation got a new link.
    InvitationReissued,
    /// An invitation was revoked.
    InvitationRevoked,
    /// An invitation was accepted and its member created.
    InvitationAccepted,
    /// A member's role changed.
    MemberPermissionEdited,
    /// A member was frozen.
    MemberFrozen,
    /// A member was recovered.
    MemberRecovered,
    /// A member's password was reset.
    MemberPasswordReset,
    /// A member set a new password.
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

/// One field an act changed, before and after, as text.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The field's name, e.g. `role`, `status`, `frozenUntil`, `password`.
    pub field: String,
    /// The value before; null when there was none, and always for a secret.
    pub before: Option<String>,
    /// The value after; null when there is none, and always for a secret.
    pub after: Option<String>,
}

/// One recorded act.
pub struct AuditEventNode(AuditEvent);

/// One recorded act.
#[Object(name = "AuditEvent")]
impl AuditEventNode {
    /// The event's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What happened.
    async fn action(&self) -> Result<AuditAction> {
        let action = audit::AuditAction::parse(&self.0.action)
            .ok_or_else(|| Error::Internal(format!("unknown audit action {}", self.0.action)))?;
        Ok(action.into())
    }
    /// Who acted; null for anonymous acts (a refused sign-in, an invitation acceptance).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        let Some(id) = self.0.actor_id else {
            return Ok(None);
        };
        Ok(MemberNode::in_audit(
            ctx,
            loaders(ctx).members.load(id).await?,
        ))
    }
    /// The member acted on.
    async fn target_member(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        let Some(id) = self.0.target_member_id else {
            return Ok(None);
        };
        Ok(MemberNode::in_audit(
            ctx,
            loaders(ctx).members.load(id).await?,
        ))
    }
    /// The role acted on; null once the role is deleted (its name stays in `details`).
    async fn target_role(&self, ctx: &Context<'_>) -> Result<Option<RoleNode>> {
        let Some(id) = self.0.target_role_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).roles.load(id).await?.map(RoleNode))
    }
    /// A JSON object: before/after values, reason. Never a password or token.
    async fn details(&self) -> &str {
        &self.0.details
    }
    /// Every field the act changed, before and after; a secret (a password, a link)
    /// appears by name only, with null values.
    async fn changes(&self) -> Result<Vec<FieldChange>> {
        Ok(self
            .0
            .field_changes()?
            .into_iter()
            .map(|c| FieldChange {
                field: c.field,
                before: c.before,
                after: c.after,
            })
            .collect())
    }
    /// The reason the actor gave (a freeze's, a removal's), or the system's ("freeze
    /// ended").
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The client's IP address.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// Which events to list.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only acts by this member.
    pub actor_id: Option<ID>,
    /// Only acts on this member.
    pub target_member_id: Option<ID>,
    /// Only acts on this role.
    pub target_role_id: Option<ID>,
    /// Only events at or after this instant.
    pub from: Option<DateTime>,
    /// Only events before this instant.
    pub to: Option<DateTime>,
}

/// An event in a list, with its cursor.
#[derive(SimpleObject)]
pub struct AuditEventEdge {
    /// Pass as `after` to continue after this event.
    pub cursor: String,
    /// The event.
    pub node: AuditEventNode,
}

/// One page of events, newest first.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuditEventConnection {
    /// The events with their cursors.
    pub edges: Vec<AuditEventEdge>,
    /// Where this page stands.
    pub page_info: PageInfo,
    #[graphql(skip)]
    filter: AuditFilter,
}

#[ComplexObject]
impl AuditEventConnection {
    /// The events of this page.
    async fn nodes(&self) -> Vec<AuditEventNode> {
        self.edges
            .iter()
            .map(|e| AuditEventNode(e.node.0.clone()))
            .collect()
    }
    /// How many events match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = audit::count(state(ctx), &actor(ctx)?, &self.filter).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// Audit log queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first. Needs AUDIT_LOG_VIEW.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> Result<AuditEventConnection> {
        let limit = page_size(first.unwrap_or(50))?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let filter = filter.unwrap_or_default();
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from.0 > to.0
        {
            return Err(Error::BadInput("filter.from must not be after filter.to".into()).into());
        }
        let filter = AuditFilter {
            action: filter.action.map(Into::into),
            actor: filter.actor_id.as_ref().map(domain_id),
            target_member: filter.target_member_id.as_ref().map(domain_id),
            target_role: filter.target_role_id.as_ref().map(domain_id),
            from: filter.from.map(DateTime::stored),
            to: filter.to.map(DateTime::stored),
        };
        let rows = audit::page(state(ctx), &actor(ctx)?, &filter, after, limit + 1).await?;
        let (rows, more) = trim_page(rows, limit);
        let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
        let edges = rows
            .into_iter()
            .map(|e| AuditEventEdge {
                cursor: encode_cursor(e.id),
                node: AuditEventNode(e),
            })
            .collect();
        Ok(AuditEventConnection {
            edges,
            page_info: page_info(&ids, more, after.is_some()),
            filter,
        })
    }
}
