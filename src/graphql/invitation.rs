//! Invitations: `invite`, the list, the public preview and accept, reissue and revoke.

use async_graphql::{ComplexObject, Context, Enum, ID, Object, Result, SimpleObject};

use crate::domain::Permission;
use crate::domain::invitations::{self, InvitationView, SignUp};
use crate::error::Error;
use crate::graphql::access::{actor, loaders, origin, state};
use crate::graphql::connection::{
    PageInfo, decode_cursor, encode_cursor, page_info, page_size, trim_page,
};
use crate::graphql::errors::{UserError, split};
use crate::graphql::ids::domain_id;
use crate::graphql::member::MemberNode;
use crate::graphql::role::RoleNode;
use crate::graphql::scalars::DateTime;
use crate::graphql::session::{SessionPayload, session_payload};

/// How long an invitation link works.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum InvitationValidity {
    /// 24 hours.
    OneDay,
    /// 7 days.
    SevenDays,
    /// 30 days.
    ThirtyDays,
}

impl InvitationValidity {
    pub(crate) fn days(self) -> i32 {
        match self {
            InvitationValidity::OneDay => 1,
            InvitationValidity::SevenDays => 7,
            InvitationValidity::ThirtyDays => 30,
        }
    }
}

/// Where an invitation stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::invitations::InvitationStatus")]
pub enum InvitationStatus {
    /// Can be accepted.
    Pending,
    /// Used: the member exists.
    Accepted,
    /// Not used in time.
    Expired,
    /// Withdrawn by an administrator, or its creator was frozen.
    Revoked,
}

/// An invitation to join with a role, and where it stood when read.
pub struct InvitationNode(pub(crate) InvitationView);

/// An invitation to join with a role.
#[Object(name = "Invitation")]
impl InvitationNode {
    /// The invitation's id.
    async fn id(&self) -> ID {
        ID(self.0.invitation.id.to_string())
    }
    /// The role the new member gets.
    async fn role(&self, ctx: &Context<'_>) -> Result<RoleNode> {
        let role = loaders(ctx).roles.load(self.0.invitation.role_id).await?;
        Ok(RoleNode(role.ok_or_else(|| {
            Error::Internal("invitation without role".into())
        })?))
    }
    /// The only address that may accept it, when bound to one.
    async fn email(&self) -> Option<&str> {
        self.0.invitation.email.as_deref()
    }
    /// PENDING, ACCEPTED, EXPIRED (derived from `expiresAt`) or REVOKED.
    async fn status(&self) -> InvitationStatus {
        self.0.status.into()
    }
    /// When the link stops working.
    async fn expires_at(&self) -> DateTime {
        self.0.invitation.expires_at.into()
    }
    /// Who invited.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<MemberNode> {
        let member = loaders(ctx)
            .members
            .load(self.0.invitation.created_by)
            .await?;
        let member = member.ok_or_else(|| Error::Internal("invitation without creator".into()))?;
        MemberNode::reached(ctx, Some(member))
            .ok_or_else(|| Error::Forbidden(Permission::MembersView.name()).into())
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime {
        self.0.invitation.created_at.into()
    }
    /// The member who signed up with it.
    async fn accepted_by(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        let Some(id) = self.0.invitation.accepted_by else {
            return Ok(None);
        };
        Ok(MemberNode::reached(
            ctx,
            loaders(ctx).members.load(id).await?,
        ))
    }
    /// When it was accepted.
    async fn accepted_at(&self) -> Option<DateTime> {
        self.0.invitation.accepted_at.map(DateTime::from)
    }
    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.invitation.revoked_at.map(DateTime::from)
    }
}

/// An invitation in a list, with its cursor.
#[derive(SimpleObject)]
pub struct InvitationEdge {
    /// Pass as `after` to continue after this invitation.
    pub cursor: String,
    /// The invitation.
    pub node: InvitationNode,
}

/// One page of invitations, newest first.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct InvitationConnection {
    /// The invitations with their cursors.
    pub edges: Vec<InvitationEdge>,
    /// Where this page stands.
    pub page_info: PageInfo,
    #[graphql(skip)]
    status: Option<invitations::InvitationStatus>,
}

#[ComplexObject]
impl InvitationConnection {
    /// The invitations of this page.
    async fn nodes(&self) -> Vec<InvitationNode> {
        self.edges
            .iter()
            .map(|e| InvitationNode(e.node.0.clone()))
            .collect()
    }
    /// How many invitations have the status asked for, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = invitations::count(state(ctx), &actor(ctx)?, self.status).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// What the public accept page shows before sign-up.
#[derive(SimpleObject)]
pub struct InvitationPreview {
    /// The role the new member gets.
    pub role_name: String,
    /// The address the invitation is bound to, if any.
    pub email: Option<String>,
    /// When the link stops working.
    pub expires_at: DateTime,
}

/// The outcome of creating or reissuing an invitation.
#[derive(SimpleObject)]
pub struct InvitePayload {
    /// The invitation; null when refused.
    pub invitation: Option<InvitationNode>,
    /// The link to hand to the invitee; shown only here.
    pub link: Option<String>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

/// The outcome of revoking an invitation.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    /// The invitation as it is now; null when refused.
    pub invitation: Option<InvitationNode>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

fn invite_payload(result: crate::error::Result<(InvitationView, String)>) -> Result<InvitePayload> {
    let (created, errors) = split(result)?;
    let (invitation, link) = created.map(|(i, l)| (InvitationNode(i), l)).unzip();
    Ok(InvitePayload {
        invitation,
        link,
        errors,
    })
}

/// Invitation queries.
#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// Invitations, newest first, optionally of one status. Needs MEMBERS_VIEW.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<InvitationStatus>,
    ) -> Result<InvitationConnection> {
        let limit = page_size(first.unwrap_or(20))?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let status = status.map(Into::into);
        let rows = invitations::page(state(ctx), &actor(ctx)?, status, after, limit + 1).await?;
        let (rows, more) = trim_page(rows, limit);
        let ids: Vec<i64> = rows.iter().map(|i| i.invitation.id).collect();
        let edges = rows
            .into_iter()
            .map(|i| InvitationEdge {
                cursor: encode_cursor(i.invitation.id),
                node: InvitationNode(i),
            })
            .collect();
        Ok(InvitationConnection {
            edges,
            page_info: page_info(&ids, more, after.is_some()),
            status,
        })
    }

    /// What an invitation link offers; null for any token that cannot be accepted. Public.
    async fn invitation_preview(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<Option<InvitationPreview>> {
        let found = invitations::preview(state(ctx), &token, &origin(ctx)).await?;
        Ok(found.map(|(invitation, role)| InvitationPreview {
            role_name: role.name,
            email: invitation.email,
            expires_at: invitation.expires_at.into(),
        }))
    }
}

/// Invitation mutations.
#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites someone with a role you hold every permission of; returns the link once.
    /// With `email`, only that address can accept. Needs MEMBERS_INVITE.
    async fn invite(
        &self,
        ctx: &Context<'_>,
        role_id: ID,
        validity: InvitationValidity,
        email: Option<String>,
    ) -> Result<InvitePayload> {
        let actor = actor(ctx)?;
        let role_id = domain_id(&role_id);
        let result = invitations::invite(
            state(ctx),
            &actor,
            role_id,
            validity.days(),
            email.as_deref(),
        );
        invite_payload(result.await)
    }

    /// Gives an unused invitation a new link and validity; the old link stops working.
    /// Needs MEMBERS_INVITE.
    async fn reissue_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<InvitePayload> {
        invite_payload(invitations::reissue(state(ctx), &actor(ctx)?, domain_id(&id)).await)
    }

    /// Revokes an unused invitation. Needs MEMBERS_INVITE.
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<InvitationPayload> {
        let result = invitations::revoke(state(ctx), &actor(ctx)?, domain_id(&id)).await;
        let (invitation, errors) = split(result)?;
        Ok(InvitationPayload {
            invitation: invitation.map(InvitationNode),
            errors,
        })
    }

    /// Signs up through an invitation link and signs in. Public; the link works once.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        email: String,
        name: String,
        password: String,
    ) -> Result<SessionPayload> {
        let input = SignUp {
            token: &token,
            email: &email,
            name: &name,
            password: &password,
        };
        session_payload(invitations::accept(state(ctx), input, &origin(ctx)).await)
    }
}
