//! `Member`, the member list and its filter.

use std::sync::Arc;

use async_graphql::{Context, ContextBase, Enum, ID, InputObject, Object, Result};

use crate::domain::member_list::{self, MemberFilter as Filter};
use crate::domain::members::{self, Member};
use crate::domain::roles::Role;
use crate::domain::sessions;
use crate::domain::{Permission, capabilities};
use crate::error::Error;
use crate::graphql::access::{self, Sight, actor, loaders, signed_in, state};
use crate::graphql::capabilities::MemberCapabilitiesNode;
use crate::graphql::connection::{
    PageInfo, decode_cursor, encode_cursor, page_info, page_size, trim_page,
};
use crate::graphql::fast::{Fast, FastList};
use crate::graphql::ids::domain_id;
use crate::graphql::member_sessions::MemberSessionNode;
use crate::graphql::role::RoleNode;
use crate::graphql::scalars::DateTime;

/// Whether a member may sign in.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MemberStatus", remote = "crate::domain::members::MemberStatus")]
pub enum MemberStatusValue {
    /// May sign in.
    Active,
    /// May not sign in; every session ended when the member was frozen.
    Frozen,
    /// Removed for good: personal data erased, every act on them `NOT_FOUND`.
    Removed,
}

/// A person with access to the admin backend, how much of them the viewer may see
/// ([`access::sight`]), and their role when it was read with them (a page's join),
/// which spares the loader.
pub struct MemberNode(pub Member, pub Sight, pub Option<Arc<Role>>);

/// A person with access to the admin backend.
#[Object(name = "Member")]
impl MemberNode {
    /// The member's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Email address, unique case-insensitively; also the sign-in name.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The member's role: what they may do.
    async fn role(&self, ctx: &Context<'_>) -> Result<Fast<RoleNode>> {
        self.full_sight()?;
        Ok(Fast(self.load_role(ctx).await?))
    }
    /// ACTIVE, FROZEN or REMOVED; ACTIVE from the instant a time-bound freeze ends.
    async fn status(&self, ctx: &Context<'_>) -> Result<MemberStatusValue> {
        self.full_sight()?;
        Ok(self.0.now(state(ctx)).status.into())
    }
    /// When a time-bound freeze ends by itself; null for a freeze without end and for
    /// a member who is not frozen.
    async fn frozen_until(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
        self.full_sight()?;
        Ok(self.0.now(state(ctx)).frozen_until.map(DateTime::from))
    }
    /// Whether the member must change the password before doing anything else.
    async fn must_change_password(&self) -> Result<bool> {
        self.full_sight()?;
        Ok(self.0.must_change_password)
    }
    /// When the member was last frozen (kept after recovery).
    async fn frozen_at(&self) -> Result<Option<DateTime>> {
        self.full_sight()?;
        Ok(self.0.frozen_at.map(DateTime::from))
    }
    /// Why the member was last frozen (kept after recovery).
    async fn frozen_reason(&self) -> Result<Option<&str>> {
        self.full_sight()?;
        Ok(self.0.frozen_reason.as_deref())
    }
    /// Who invited this member; null for members not created by invitation.
    async fn invited_by(&self, ctx: &Context<'_>) -> Result<Option<MemberNode>> {
        self.full_sight()?;
        let Some(id) = self.0.invited_by else {
            return Ok(None);
        };
        let inviter = loaders(ctx).members.load(id).await?;
        if self.1 == Sight::Session {
            let own = self.load_role(ctx).await?.0.permissions();
            return Ok(inviter
                .filter(|_| own.contains(Permission::MembersView))
                .map(MemberNode::full));
        }
        Ok(MemberNode::reached(ctx, inviter))
    }
    /// The member's live sessions, most recently used first: one's own, or another
    /// member's with MEMBERS_SESSIONS_MANAGE and every permission of their role
    /// (`FORBIDDEN` otherwise).
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<MemberSessionNode>> {
        let actor = actor(ctx)?;
        let current = signed_in(ctx)?.session_id;
        let list = sessions::of_member(state(ctx), &actor, &self.0).await?;
        Ok(list
            .into_iter()
            .map(|s| MemberSessionNode::new(s, current))
            .collect())
    }
    /// What the signed-in member may do to this one now, and if not, the code the act
    /// would answer; decided by the same rules as the acts.
    async fn viewer_can(&self, ctx: &Context<'_>) -> Result<Fast<MemberCapabilitiesNode>> {
        self.full_sight()?;
        let actor = actor(ctx)?;
        let role = self.load_role(ctx).await?;
        let admins = loaders(ctx).active_admins().await?;
        Ok(Fast(
            capabilities::now(state(ctx), &actor, &self.0, &role.0, admins)?.into(),
        ))
    }
    /// The last successful sign-in.
    async fn last_login_at(&self) -> Result<Option<DateTime>> {
        self.full_sight()?;
        Ok(self.0.last_login_at.map(DateTime::from))
    }
    /// When the member was created.
    async fn created_at(&self) -> Result<DateTime> {
        self.full_sight()?;
        Ok(self.0.created_at.into())
    }
    /// When an administrator or the member last changed the member.
    async fn updated_at(&self) -> Result<DateTime> {
        self.full_sight()?;
        Ok(self.0.updated_at.into())
    }
    /// When the member was removed; null for a member who was not.
    async fn removed_at(&self) -> Result<Option<DateTime>> {
        self.full_sight()?;
        Ok(self.0.removed_at.map(DateTime::from))
    }
    /// Bumps on every change; pass it as `expectedVersion` for optimistic concurrency.
    async fn version(&self) -> Result<i32> {
        self.full_sight()?;
        Ok(self.0.version)
    }
}

impl MemberNode {
    /// The viewer's own record, or a member of a list that needed MEMBERS_VIEW.
    pub fn full(member: Member) -> Self {
        MemberNode(member, Sight::Full, None)
    }

    /// `member` as the viewer may see it when reached through another object; `None`
    /// when they may not see it at all.
    pub fn reached(ctx: &Context<'_>, member: Option<Member>) -> Option<Self> {
        Self::seen(ctx, member, false)
    }

    /// Like [`MemberNode::reached`], for the members of the audit log.
    pub fn in_audit(ctx: &Context<'_>, member: Option<Member>) -> Option<Self> {
        Self::seen(ctx, member, true)
    }

    fn seen(ctx: &Context<'_>, member: Option<Member>, in_audit: bool) -> Option<Self> {
        let member = member?;
        match access::sight(ctx, member.id, in_audit) {
            Sight::Hidden => None,
            sight => Some(MemberNode(member, sight, None)),
        }
    }

    /// Fields past id, email and name need full sight.
    fn full_sight(&self) -> Result<(), Error> {
        match self.1 {
            Sight::Full | Sight::Session => Ok(()),
            _ => Err(Error::Forbidden(Permission::MembersView.name())),
        }
    }

    async fn load_role<T>(&self, ctx: &ContextBase<'_, T>) -> Result<RoleNode, Error> {
        if let Some(role) = &self.2 {
            return Ok(RoleNode(role.clone()));
        }
        let role = loaders(ctx).roles.load(self.0.role_id).await?;
        Ok(RoleNode(role.ok_or_else(|| {
            Error::Internal(format!("member {} has no role", self.0.id))
        })?))
    }
}

/// Which members to list.
#[derive(InputObject, Default)]
pub struct MemberFilter {
    /// Only members with this status.
    pub status: Option<MemberStatusValue>,
    /// Only members with this role.
    pub role_id: Option<ID>,
    /// Case-insensitive substring of email or name; `%` and `_` match literally.
    pub search: Option<String>,
    /// Members who signed in last before this instant, or never: the inactive ones.
    pub last_login_before: Option<DateTime>,
}

impl MemberFilter {
    fn into_domain(self) -> Result<Filter, Error> {
        let search = match self.search.as_deref() {
            Some(s) => Filter::search_text(s)
                .map_err(|r| Error::BadInput(format!("filter.search: {}", r.message)))?,
            None => None,
        };
        Ok(Filter {
            status: self.status.map(Into::into),
            role_id: self.role_id.as_ref().map(domain_id),
            search,
            last_login_before: self.last_login_before.map(DateTime::stored),
        })
    }
}

/// A member in a list, with its cursor.
pub struct MemberEdge<'a>(&'a Fast<MemberNode>);

/// A member in a list, with its cursor.
#[Object]
impl MemberEdge<'_> {
    /// Pass as `after` to continue after this member.
    async fn cursor(&self) -> String {
        encode_cursor(self.0.0.0.id)
    }
    /// The member.
    async fn node(&self) -> &Fast<MemberNode> {
        self.0
    }
}

/// One page of members, newest first.
pub struct MemberConnection {
    items: Vec<Fast<MemberNode>>,
    page_info: PageInfo,
    filter: Filter,
    /// Counted with the page when the selection asked for it.
    total: Option<i64>,
}

/// One page of members, newest first.
#[Object]
impl MemberConnection {
    /// The members with their cursors.
    async fn edges(&self) -> Vec<MemberEdge<'_>> {
        self.items.iter().map(MemberEdge).collect()
    }
    /// Where this page stands.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// The members of this page.
    async fn nodes(&self) -> FastList<'_, MemberNode> {
        FastList(&self.items)
    }
    /// How many members match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let n = match self.total {
            Some(n) => n,
            None => member_list::count(state(ctx), &actor(ctx)?, &self.filter).await?,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// Whether a members page selects `viewerCan`.
fn asks_capabilities(ctx: &Context<'_>) -> bool {
    let look = ctx.look_ahead();
    look.field("nodes").field("viewerCan").exists()
        || look
            .field("edges")
            .field("node")
            .field("viewerCan")
            .exists()
}

/// Page size when `first` is null.
const DEFAULT_PAGE: i32 = 20;

/// Member queries.
#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// Members, newest first, `first` at most 100 per page. Needs MEMBERS_VIEW.
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<MemberFilter>,
    ) -> Result<MemberConnection> {
        let actor = actor(ctx)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE))?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let page =
            member_list::page(state(ctx), &actor, &filter, after, limit + 1, with_total).await?;
        let (rows, more) = trim_page(page.rows, limit);
        if asks_capabilities(ctx) {
            // Read before the members answer, so that each answers at once.
            loaders(ctx).active_admins().await?;
        }
        let ids: Vec<i64> = rows.iter().map(|(m, _)| m.id).collect();
        let mut items = Vec::with_capacity(rows.len());
        // A page holds a few roles many times over: each is shared, not copied.
        let mut roles: Vec<Arc<Role>> = Vec::new();
        for (member, role) in rows {
            let role = match roles.iter().find(|shared| shared.id == role.id) {
                Some(shared) => shared.clone(),
                None => {
                    roles.push(Arc::new(role));
                    roles[roles.len() - 1].clone()
                }
            };
            items.push(Fast(MemberNode(member, Sight::Full, Some(role))));
        }
        Ok(MemberConnection {
            items,
            page_info: page_info(&ids, more, after.is_some()),
            filter,
            total: page.total,
        })
    }

    /// One member; null when the id names nobody. Needs MEMBERS_VIEW.
    async fn member(&self, ctx: &Context<'_>, id: ID) -> Result<Option<MemberNode>> {
        let member = members::get(state(ctx), &actor(ctx)?, domain_id(&id)).await?;
        Ok(MemberNode::reached(ctx, member))
    }
}
