//! `Role`, the `Permission` enum, and role management.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use crate::domain::Permission;
use crate::domain::roles::{self, CreateRole, Role, UpdateRole};
use crate::graphql::access::{actor, loaders, state};
use crate::graphql::errors::{UserError, split};
use crate::graphql::ids::domain_id;
use crate::graphql::scalars::DateTime;

/// Something a role allows.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Permission", remote = "crate::domain::Permission")]
pub enum PermissionValue {
    /// `members`, `member`, `invitations`.
    MembersView,
    /// `invite`, `reissueInvitation`, `revokeInvitation`.
    MembersInvite,
    /// `editPermission`.
    MembersEditPermission,
    /// `freeze`, `recover`.
    MembersFreeze,
    /// `resetPassword`.
    MembersResetPassword,
    /// `createRole`, `updateRole`, `deleteRole`.
    RolesManage,
    /// `securitySettings`, `updateSecuritySettings`.
    SecuritySettingsManage,
    /// `auditEvents`.
    AuditLogView,
    /// `sessions` of other members, `revokeSession`, `revokeAllSessions`.
    MembersSessionsManage,
    /// `removeMember`.
    MembersRemove,
}

/// A named set of permissions that members hold.
pub struct RoleNode(pub Arc<Role>);

impl From<Role> for RoleNode {
    fn from(role: Role) -> Self {
        RoleNode(Arc::new(role))
    }
}

/// A named set of permissions that members hold.
#[Object(name = "Role")]
impl RoleNode {
    /// The role's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name, unique case-insensitively, 1 to 64 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the role is for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// What the role allows.
    async fn permissions(&self) -> Vec<PermissionValue> {
        self.0
            .permissions()
            .to_vec()
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// Whether this is the Administrator role: all permissions, cannot be deleted or narrowed.
    async fn built_in(&self) -> bool {
        self.0.built_in
    }
    /// How many members hold the role.
    async fn member_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let count = loaders(ctx).member_counts.load(self.0.id).await?;
        Ok(count.map_or(0, |c| i32::try_from(c.0).unwrap_or(i32::MAX)))
    }
    /// When the role was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the role last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// A new role.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// Name, unique case-insensitively, 1 to 64 characters.
    pub name: String,
    /// What the role is for, at most 500 characters.
    #[graphql(default_with = "Some(String::new())")]
    pub description: Option<String>,
    /// What it allows; you must hold each of them yourself.
    pub permissions: Vec<PermissionValue>,
}

/// Changes to a role; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// The complete new permission list.
    pub permissions: Option<Vec<PermissionValue>>,
}

/// The outcome of creating or updating a role.
#[derive(SimpleObject)]
pub struct RolePayload {
    /// The role as it is now; null when refused.
    pub role: Option<RoleNode>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

/// The outcome of deleting a role.
#[derive(SimpleObject)]
pub struct DeleteRolePayload {
    /// The id of the role deleted; null when refused.
    pub deleted_role_id: Option<ID>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

fn role_payload(result: crate::error::Result<Role>) -> Result<RolePayload> {
    let (role, errors) = split(result)?;
    Ok(RolePayload {
        role: role.map(RoleNode::from),
        errors,
    })
}

fn permissions(list: Vec<PermissionValue>) -> Vec<Permission> {
    list.into_iter().map(Into::into).collect()
}

/// Role queries.
#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// Every role, the built-in one first, then by name. Needs a session.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<RoleNode>> {
        let list = roles::list(state(ctx), &actor(ctx)?).await?;
        Ok(list.into_iter().map(RoleNode::from).collect())
    }

    /// One role; null when the id names none. Needs a session.
    async fn role(&self, ctx: &Context<'_>, id: ID) -> Result<Option<RoleNode>> {
        let role = roles::get(state(ctx), &actor(ctx)?, domain_id(&id)).await?;
        Ok(role.map(RoleNode::from))
    }
}

/// Role management; each needs ROLES_MANAGE.
#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Creates a role with permissions you hold yourself.
    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> Result<RolePayload> {
        let input = CreateRole {
            name: input.name,
            description: input.description.unwrap_or_default(),
            permissions: permissions(input.permissions),
        };
        role_payload(roles::create(state(ctx), &actor(ctx)?, input).await)
    }

    /// Changes a role's name, description or permissions. The Administrator role keeps
    /// its name and every permission.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateRoleInput,
    ) -> Result<RolePayload> {
        let input = UpdateRole {
            name: input.name,
            description: input.description,
            permissions: input.permissions.map(permissions),
        };
        role_payload(roles::update(state(ctx), &actor(ctx)?, domain_id(&id), input).await)
    }

    /// Deletes a role. While members hold it, `reassignTo` must name the role they move to.
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reassign_to: Option<ID>,
    ) -> Result<DeleteRolePayload> {
        let (actor, reassign_to) = (actor(ctx)?, reassign_to.as_ref().map(domain_id));
        let result = roles::delete(state(ctx), &actor, domain_id(&id), reassign_to).await;
        let (deleted, errors) = split(result)?;
        Ok(DeleteRolePayload {
            deleted_role_id: deleted.map(|id| ID(id.to_string())),
            errors,
        })
    }
}
