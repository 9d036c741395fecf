//! `Role`, the `Permission` enum, and role management.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use crate::domain::roles::{self, CreateRole, Role, UpdateRole};
use crate::domain::{Permission, validate};
use crate::error::{ErrorCode, Rejection};
use crate::graphql::access::{actor, allowed, loaders, state};
use crate::graphql::errors::{UserError, split};
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
}

/// A named set of permissions that members hold.
pub struct RoleNode(pub Role);

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
        role: role.map(RoleNode),
        errors,
    })
}

fn permissions(list: Vec<PermissionValue>) -> Vec<Permission> {
    list.into_iter().map(Into::into).collect()
}

fn role_id(raw: &ID, field: &str) -> crate::error::Result<i64> {
    validate::id(raw).ok_or_else(|| {
        Rejection::new(ErrorCode::NotFound, "no such role")
            .on(&[field])
            .into()
    })
}

/// Role queries.
#[derive(Default)]
pub struct RoleQuery;

#[Object]
impl RoleQuery {
    /// Every role, the built-in one first, then by name. Needs a session.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<RoleNode>> {
        allowed(ctx, None)?;
        let list = roles::list(&mut state(ctx).pool.get().await?).await?;
        Ok(list.into_iter().map(RoleNode).collect())
    }

    /// One role; null when the id names none. Needs a session.
    async fn role(&self, ctx: &Context<'_>, id: ID) -> Result<Option<RoleNode>> {
        allowed(ctx, None)?;
        let Some(id) = validate::id(&id) else {
            return Ok(None);
        };
        Ok(roles::find(&mut state(ctx).pool.get().await?, id)
            .await?
            .map(RoleNode))
    }
}

/// Role management; each needs ROLES_MANAGE.
#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Creates a role with permissions you hold yourself.
    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> Result<RolePayload> {
        let actor = actor(ctx, Permission::RolesManage)?;
        let st = state(ctx);
        let input = CreateRole {
            name: input.name,
            description: input.description.unwrap_or_default(),
            permissions: permissions(input.permissions),
        };
        let mut conn = st.pool.get().await?;
        role_payload(roles::create(&mut conn, &actor, input, st.clock.now()).await)
    }

    /// Changes a role's name, description or permissions. The Administrator role keeps
    /// its name and every permission.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateRoleInput,
    ) -> Result<RolePayload> {
        let actor = actor(ctx, Permission::RolesManage)?;
        let st = state(ctx);
        let input = UpdateRole {
            name: input.name,
            description: input.description,
            permissions: input.permissions.map(permissions),
        };
        let result = async {
            let id = role_id(&id, "id")?;
            let mut conn = st.pool.get().await?;
            roles::update(&mut conn, &actor, id, input, st.clock.now()).await
        };
        role_payload(result.await)
    }

    /// Deletes a role. While members hold it, `reassignTo` must name the role they move to.
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reassign_to: Option<ID>,
    ) -> Result<DeleteRolePayload> {
        let actor = actor(ctx, Permission::RolesManage)?;
        let st = state(ctx);
        let result = async {
            let id = role_id(&id, "id")?;
            let reassign_to = reassign_to
                .as_ref()
                .map(|r| role_id(r, "reassignTo"))
                .transpose()?;
            let mut conn = st.pool.get().await?;
            roles::delete(&mut conn, &actor, id, reassign_to, st.clock.now()).await
        }
        .await;
        let (deleted, errors) = split(result)?;
        Ok(DeleteRolePayload {
            deleted_role_id: deleted.map(|id| ID(id.to_string())),
            errors,
        })
    }
}
