//! Live updates: `Subscription.memberChanged`, served over WebSocket.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, Object, Result, Subscription};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::Stream;

use crate::domain::feed::{self, Change};
use crate::error::Error;
use crate::graphql::access::{actor, loaders, signed_in, state};
use crate::graphql::audit::AuditAction;
use crate::graphql::invitation::InvitationNode;
use crate::graphql::live_render::{Handoff, Render};
use crate::graphql::member::MemberNode;
use crate::graphql::role::RoleNode;
use crate::graphql::scalars::DateTime;

/// The cursor of the change at feed position `id`.
fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("change:{id}"))
}

/// A feed position: an id, or 0 for the start of a feed with no change yet.
fn position(raw: &str) -> Option<i64> {
    if raw == "0" {
        return Some(0);
    }
    super::ids::parse(raw)
}

/// The position inside a cursor made by [`encode_cursor`].
fn decode_cursor(cursor: &str) -> Result<i64, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("change:").and_then(position))
        .ok_or_else(|| Error::BadInput("after: not a cursor of this feed".into()))
}

/// The error ending a subscription; one that must resume says after which cursor.
fn resumable(e: Error) -> async_graphql::Error {
    let after = match e {
        Error::ResumeRequired(id) => Some(encode_cursor(id)),
        _ => None,
    };
    let error = async_graphql::Error::from(e);
    match after {
        Some(after) => error.extend_with(|_, ext| ext.set("after", after)),
        None => error,
    }
}

/// One committed change seen by a live subscriber.
pub struct MemberChange(Arc<Change>);

/// One committed change seen by a live subscriber.
#[Object]
impl MemberChange {
    /// Pass as `after` to resume with the next change, nothing missed or repeated.
    async fn cursor(&self) -> String {
        encode_cursor(self.0.id)
    }
    /// What happened: the audit log's action.
    async fn action(&self) -> AuditAction {
        self.0.action.into()
    }
    /// The member concerned, as it is now.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        self.member_node(ctx, self.0.member_id).await
    }
    /// The invitation concerned, as it is now; never its link.
    async fn invitation(&self) -> Option<InvitationNode> {
        let id = self.0.invitation_id?;
        self.0
            .rows
            .invitations
            .get(&id)
            .cloned()
            .map(InvitationNode)
    }
    /// The role concerned, as it is now; null once deleted.
    async fn role(&self, ctx: &Context<'_>) -> Result<Option<RoleNode>> {
        let Some(id) = self.0.role_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).roles.load(id).await?.map(RoleNode))
    }
    /// Who acted; null for anonymous acts (an invitation accepted) and the system's
    /// own (a freeze ended by its time).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        self.member_node(ctx, self.0.actor_id).await
    }
    /// When it happened.
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
}

impl MemberChange {
    async fn member_node(&self, ctx: &Context<'_>, id: Option<i64>) -> Result<Option<MemberNode>> {
        let Some(id) = id else {
            return Ok(None);
        };
        Ok(MemberNode::reached(
            ctx,
            loaders(ctx).members.load(id).await?,
        ))
    }
}

/// The live feed's queries.
#[derive(Default)]
pub struct LiveQuery;

#[Object]
impl LiveQuery {
    /// The cursor of the newest change. Read it in the same request as a list, then
    /// subscribe to `memberChanged(after:)` with it: every change the list may have
    /// missed is delivered. Needs MEMBERS_VIEW.
    async fn live_cursor(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(encode_cursor(feed::newest(state(ctx), &actor(ctx)?).await?))
    }
}

/// Every subscription.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every committed change to members, invitations and roles (the audit actions
    /// MEMBER_*, INVITATION_* and ROLE_*), in commit order, each once, after it commits.
    /// Needs MEMBERS_VIEW. With `after` (a change's `cursor`), starts with the change
    /// after that one; without, with the next one committed. Ends with an error when
    /// the session ends or its role loses MEMBERS_VIEW (`UNAUTHENTICATED`,
    /// `FORBIDDEN`), when the subscriber falls too far behind or its role's permissions
    /// change (`RESUME_REQUIRED`: subscribe again after the last cursor received, to
    /// render with the permissions as they are), and at once for a cursor older
    /// than the audit retention (`CURSOR_EXPIRED`: reload, then subscribe without one).
    async fn member_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<MemberChange>> + use<>> {
        if let Some(render) = ctx.data_opt::<Render>() {
            let item = render
                .take()
                .map(|item| item.map(MemberChange).map_err(resumable));
            return Ok(futures_util::stream::iter(item));
        }
        let actor = actor(ctx)?;
        let session = signed_in(ctx)?.session_id;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let changes = feed::subscribe(state(ctx), &actor, session, after).await?;
        let handoff = ctx
            .data_opt::<Handoff>()
            .ok_or_else(|| Error::Internal("a subscription outside a live connection".into()))?;
        handoff.put(Box::new(changes));
        Ok(futures_util::stream::iter(None))
    }
}
