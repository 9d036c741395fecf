//! Roles: named sets of permissions; the built-in Administrator role holds them all.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{invitations, member_counts, members, roles};
use crate::db::{Conn, Pool, RowLocks};
use crate::db::{transaction, with_conn};
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::validate;
use crate::domain::{Actor, AppState, Permission, PermissionSet};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

/// Name of the built-in role.
pub const ADMINISTRATOR: &str = "Administrator";
const NAME_MAX: usize = 64;
const DESCRIPTION_MAX: usize = 500;

/// A role as stored.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = roles)]
pub struct Role {
    /// Its id.
    pub id: i64,
    /// Display name, unique case-insensitively.
    pub name: String,
    /// Lower-cased name, the unique key.
    pub name_key: String,
    /// Free text.
    pub description: String,
    /// Stored permission names; see [`Role::permissions`].
    pub permissions: String,
    /// Whether this is the Administrator role.
    pub built_in: bool,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

impl Role {
    /// The role's permissions; the built-in role always has all of them.
    pub fn permissions(&self) -> PermissionSet {
        if self.built_in {
            PermissionSet::all()
        } else {
            PermissionSet::from_db(&self.permissions)
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = roles)]
struct NewRole<'a> {
    name: &'a str,
    name_key: &'a str,
    description: &'a str,
    permissions: &'a str,
    built_in: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = roles)]
struct RoleChanges {
    name: Option<String>,
    name_key: Option<String>,
    description: Option<String>,
    permissions: Option<String>,
    updated_at: Option<NaiveDateTime>,
}

/// What `createRole` asks for.
pub struct CreateRole {
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// The permissions.
    pub permissions: Vec<Permission>,
}

/// What `updateRole` asks to change; `None` keeps the current value.
pub struct UpdateRole {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new permission list.
    pub permissions: Option<Vec<Permission>>,
}

fn escalation() -> Rejection {
    Rejection::new(
        ErrorCode::PrivilegeEscalation,
        "you can only manage roles whose permissions you hold yourself",
    )
}

pub(crate) fn not_found(input: Input) -> Rejection {
    Rejection::new(ErrorCode::NotFound, "no such role").on(input)
}

/// Every role: the built-in one first, then by name. Any signed-in member may list them
/// (the invite and edit dialogs offer them).
pub async fn list(state: &AppState, _actor: &Actor) -> Result<Vec<Role>> {
    let order = (roles::built_in.desc(), roles::name_key);
    let mut conn = state.pool.get().await?;
    Ok(with_conn!(&mut conn, |c| roles::table
        .select(Role::as_select())
        .order(order)
        .load(c)
        .await)?)
}

/// One role, to any signed-in member; `None` when `id` names none.
pub async fn get(state: &AppState, _actor: &Actor, id: i64) -> Result<Option<Role>> {
    find(&mut state.pool.get().await?, id).await
}

/// The roles with the given ids (missing ids are left out), for roles reached from
/// objects the caller may already see.
pub async fn by_ids(pool: &Pool, ids: &[i64]) -> Result<Vec<Role>> {
    Ok(with_conn!(&mut pool.get().await?, |c| roles::table
        .select(Role::as_select())
        .filter(roles::id.eq_any(ids))
        .load(c)
        .await)?)
}

/// One role by id.
pub async fn find(conn: &mut Conn, id: i64) -> Result<Option<Role>> {
    Ok(with_conn!(conn, |c| roles::table
        .select(Role::as_select())
        .find(id)
        .first(c)
        .await
        .optional())?)
}

/// The role `id`; `NOT_FOUND` on `input` when it names none.
pub async fn require(conn: &mut Conn, id: i64, input: Input) -> Result<Role> {
    Ok(find(conn, id).await?.ok_or_else(|| not_found(input))?)
}

/// The role `$id` as it is inside the transaction on `$c`, or `NOT_FOUND` on the
/// input `$input`. Run after [`crate::db::RowLocks::share_roles`] (or `lock_roles`), as
/// `delete` and `update` lock it too, so the role cannot change before commit.
macro_rules! locked {
    ($c:expr, $id:expr, $input:expr) => {
        $crate::db::schema::roles::table
            .find($id)
            .select($crate::domain::roles::Role::as_select())
            .first::<$crate::domain::roles::Role>($c)
            .await
            .optional()?
            .ok_or_else(|| $crate::domain::roles::not_found($input))?
    };
}
pub(crate) use locked;

/// The permissions member `$member` holds through their role inside the transaction
/// on `$c`, or `None` unless they are active (a frozen member grants nothing, not even
/// a role without permissions). What they may grant or hand on.
macro_rules! held_by {
    ($c:expr, $member:expr) => {
        $crate::db::schema::members::table
            .inner_join($crate::db::schema::roles::table)
            .filter($crate::db::schema::members::id.eq($member))
            .filter(
                $crate::db::schema::members::status
                    .eq($crate::domain::members::MemberStatus::Active),
            )
            .select($crate::db::schema::roles::permissions)
            .first::<String>($c)
            .await
            .optional()?
            .map(|p| $crate::domain::PermissionSet::from_db(&p))
    };
}
pub(crate) use held_by;

/// How many members hold each of the given roles (roles nobody holds are left out).
pub async fn member_counts(pool: &Pool, ids: &[i64]) -> Result<HashMap<i64, i64>> {
    // The trigger-kept counters hold a row per status of each role; removed members
    // no longer count.
    let q = member_counts::table
        .filter(member_counts::role_id.eq_any(ids))
        .filter(member_counts::status.ne(crate::domain::members::MemberStatus::Removed.as_str()))
        .select((member_counts::role_id, member_counts::n));
    let rows: Vec<(i64, i64)> = with_conn!(&mut pool.get().await?, |c| q.load(c).await)?;
    Ok(rows
        .into_iter()
        .fold(HashMap::new(), |mut counts, (role, n)| {
            *counts.entry(role).or_default() += n;
            counts
        }))
}

/// How many members hold the built-in role actively, from the counters: one read.
pub async fn active_admins(pool: &Pool) -> Result<i64> {
    let conn = &mut pool.get().await?;
    let q = member_counts::table
        .filter(
            member_counts::role_id.eq_any(
                roles::table
                    .filter(roles::built_in.eq(true))
                    .select(roles::id),
            ),
        )
        .filter(member_counts::status.eq(crate::domain::members::MemberStatus::Active.as_str()))
        .select(member_counts::n);
    // PostgreSQL's counters hold a row per change until a sweep folds them.
    Ok(with_conn!(conn, |c| q.load::<i64>(c).await)?
        .into_iter()
        .sum())
}

/// Creates the built-in Administrator role unless it exists; returns its id.
pub async fn ensure_administrator(conn: &mut Conn, now: NaiveDateTime) -> Result<i64> {
    let new = NewRole {
        name: ADMINISTRATOR,
        name_key: &validate::key(ADMINISTRATOR),
        description: "Every permission. Cannot be deleted or narrowed.",
        permissions: &PermissionSet::all().to_db(),
        built_in: true,
        created_at: now,
        updated_at: now,
    };
    let insert = diesel::insert_into(roles::table)
        .values(&new)
        .on_conflict_do_nothing();
    let query = roles::table
        .filter(roles::built_in.eq(true))
        .select(roles::id);
    Ok(with_conn!(conn, |c| {
        insert.execute(c).await?;
        query.first(c).await
    })?)
}

/// The id of the built-in Administrator role.
pub async fn administrator_id(conn: &mut Conn) -> Result<i64> {
    let q = roles::table
        .filter(roles::built_in.eq(true))
        .select(roles::id);
    Ok(with_conn!(conn, |c| q.first(c).await)?)
}

fn permission_set(list: &[Permission]) -> PermissionSet {
    list.iter().copied().collect()
}

/// Creates a custom role. Needs ROLES_MANAGE and every permission the role grants.
pub async fn create(state: &AppState, actor: &Actor, input: CreateRole) -> Result<Role> {
    actor.require(Permission::RolesManage)?;
    let name = validate::label(&input.name, "name", NAME_MAX).map_err(|r| r.on(Input::RoleName))?;
    let description = validate::text(&input.description, "description", DESCRIPTION_MAX)
        .map_err(|r| r.on(Input::RoleDescription))?;
    let permissions = permission_set(&input.permissions);
    if !actor.permissions.covers(permissions) {
        return Err(escalation().on(Input::RolePermissions).into());
    }
    let (key, stored, now) = (validate::key(&name), permissions.to_db(), state.clock.now());
    let new = NewRole {
        name: &name,
        name_key: &key,
        description: &description,
        permissions: &stored,
        built_in: false,
        created_at: now,
        updated_at: now,
    };
    transaction!(&mut state.pool.get().await?, |c| {
        let role = diesel::insert_into(roles::table)
            .values(&new)
            .returning(Role::as_returning())
            .get_result(c)
            .await
            .map_err(name_taken)?;
        let details = serde_json::json!({ "after": snapshot(&role) });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::RoleCreated, role.id, details)
                .diffed(&serde_json::Value::Null, &snapshot(&role)),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(role)
    })
}

/// What the audit log keeps of a role.
fn snapshot(role: &Role) -> serde_json::Value {
    let permissions: Vec<&str> = role
        .permissions()
        .to_vec()
        .iter()
        .map(|p| p.name())
        .collect();
    serde_json::json!({ "name": role.name, "description": role.description, "permissions": permissions })
}

fn name_taken(e: diesel::result::Error) -> crate::error::Error {
    use diesel::result::{DatabaseErrorKind, Error as E};
    match e {
        E::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Rejection::new(ErrorCode::NameTaken, "a role with this name exists already")
                .on(Input::RoleName)
                .into()
        }
        e => e.into(),
    }
}

/// Changes a role; the built-in role keeps its name and all its permissions, and the
/// caller must hold every permission the role has before and after.
/// Needs ROLES_MANAGE.
pub async fn update(state: &AppState, actor: &Actor, id: i64, input: UpdateRole) -> Result<Role> {
    actor.require(Permission::RolesManage)?;
    let now = state.clock.now();
    let field = |input: Input| move |r: Rejection| r.on(input);
    let changes = RoleChanges {
        name_key: input.name.as_deref().map(validate::key),
        name: input
            .name
            .as_deref()
            .map(|n| validate::label(n, "name", NAME_MAX))
            .transpose()
            .map_err(field(Input::RoleName))?,
        description: input
            .description
            .as_deref()
            .map(|d| validate::text(d, "description", DESCRIPTION_MAX))
            .transpose()
            .map_err(field(Input::RoleDescription))?,
        permissions: input
            .permissions
            .as_deref()
            .map(|p| permission_set(p).to_db()),
        updated_at: Some(now),
    };
    transaction!(&mut state.pool.get().await?, |c| {
        // Acts that grant the role (invite, accept, editPermission) share its row: they
        // see it whole, before or after.
        c.lock_roles(&[id]).await?;
        let before = locked!(c, id, Input::Role);
        check_update(&before, actor.permissions, &changes)?;
        let after = diesel::update(roles::table.find(id))
            .set(&changes)
            .returning(Role::as_returning())
            .get_result(c)
            .await
            .map_err(name_taken)?;
        let details = serde_json::json!({ "before": snapshot(&before), "after": snapshot(&after) });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::RoleUpdated, id, details)
                .diffed(&snapshot(&before), &snapshot(&after)),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(after)
    })
}

fn check_update(role: &Role, caller: PermissionSet, changes: &RoleChanges) -> Result<()> {
    let after = changes
        .permissions
        .as_deref()
        .map(PermissionSet::from_db)
        .unwrap_or(role.permissions());
    if role.built_in {
        // Compared as written: a change of case is a rename too.
        let renamed = changes.name.as_ref().is_some_and(|n| *n != role.name);
        if renamed || after != PermissionSet::all() {
            let input = if renamed {
                Input::RoleName
            } else {
                Input::RolePermissions
            };
            return Err(Rejection::new(
                ErrorCode::BuiltInRole,
                "the Administrator role cannot be renamed or narrowed",
            )
            .on(input)
            .into());
        }
    }
    if !caller.covers(role.permissions()) || !caller.covers(after) {
        return Err(escalation().into());
    }
    Ok(())
}

/// Moves the members and invitations of role `$id` to `$target` (an `Option<&Role>`),
/// or, without one, its removed members to the built-in role; evaluates to how many
/// members moved to `$target`. A macro, as each backend's connection runs it.
macro_rules! move_holders {
    ($c:expr, $id:expr, $target:expr, $now:expr) => {
        match $target {
            Some(target) => {
                let moved = diesel::update(members::table.filter(members::role_id.eq($id)))
                    .set((
                        members::role_id.eq(target.id),
                        members::updated_at.eq($now),
                        members::version.eq(members::version + 1),
                    ))
                    .execute($c)
                    .await?;
                diesel::update(invitations::table.filter(invitations::role_id.eq($id)))
                    .set(invitations::role_id.eq(target.id))
                    .execute($c)
                    .await?;
                moved
            }
            None => {
                // Removed members keep a role only because the column needs one: they
                // do not hold it up (memberCount leaves them out), and go to the
                // built-in role.
                let removed = crate::domain::members::MemberStatus::Removed;
                let builtin = roles::table
                    .filter(roles::built_in.eq(true))
                    .select(roles::id);
                let builtin: i64 = builtin.first($c).await?;
                diesel::update(
                    members::table
                        .filter(members::role_id.eq($id))
                        .filter(members::status.eq(removed)),
                )
                .set(members::role_id.eq(builtin))
                .execute($c)
                .await?;
                0
            }
        }
    };
}

/// Deletes a custom role; its members and invitations move to `reassign_to` in the
/// same transaction. Needs ROLES_MANAGE and every permission of both roles.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reassign_to: Option<i64>,
) -> Result<i64> {
    actor.require(Permission::RolesManage)?;
    let now = state.clock.now();
    transaction!(&mut state.pool.get().await?, |c| {
        // Acts that write a role id (invite, accept, editPermission) share its row and
        // read the role after: they see it whole or not at all.
        c.lock_roles(
            &[Some(id), reassign_to]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
        )
        .await?;
        let role = locked!(c, id, Input::Role);
        check_delete(&role, actor.permissions)?;
        let target = match reassign_to {
            Some(target) => Some(locked!(c, target, Input::ReassignTo)),
            None => None,
        };
        check_reassign(&role, target.as_ref(), actor.permissions)?;
        let moved = move_holders!(c, id, target.as_ref(), now);
        diesel::delete(roles::table.find(id))
            .execute(c)
            .await
            .map_err(role_in_use)?;
        let details = serde_json::json!({ "before": snapshot(&role), "reassignTo": reassign_to.map(|r| r.to_string()), "membersMoved": moved });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::RoleDeleted, id, details)
                .diffed(&snapshot(&role), &serde_json::Value::Null),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(id)
    })
}

/// The rules of deleting `role`.
fn check_delete(role: &Role, caller: PermissionSet) -> Result<()> {
    if role.built_in {
        let e = Rejection::new(
            ErrorCode::BuiltInRole,
            "the Administrator role cannot be deleted",
        );
        return Err(e.on(Input::Role).into());
    }
    if !caller.covers(role.permissions()) {
        return Err(escalation().on(Input::Role).into());
    }
    Ok(())
}

/// The rules of moving the members of `role` to `target`.
fn check_reassign(role: &Role, target: Option<&Role>, caller: PermissionSet) -> Result<()> {
    match target {
        Some(target) if target.id == role.id => Err(Rejection::new(
            ErrorCode::InvalidInput,
            "a role cannot be reassigned to itself",
        )
        .on(Input::ReassignTo)
        .into()),
        Some(target) if !caller.covers(target.permissions()) => {
            Err(escalation().on(Input::ReassignTo).into())
        }
        _ => Ok(()),
    }
}

fn role_in_use(e: diesel::result::Error) -> crate::error::Error {
    use diesel::result::{DatabaseErrorKind, Error as E};
    match e {
        E::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Rejection::new(
            ErrorCode::RoleInUse,
            "members or invitations hold this role: name a role to move them to (reassignTo)",
        )
        .on(Input::ReassignTo)
        .into(),
        e => e.into(),
    }
}
