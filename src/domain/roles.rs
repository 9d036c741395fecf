//! Roles: named sets of permissions; the built-in Administrator role holds them all.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{invitations, member_counts, members, roles};
use crate::db::{Conn, MemberWriteLock};
use crate::db::{transaction, with_conn};
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::validate;
use crate::domain::{Actor, Permission, PermissionSet};
use crate::error::{Error, ErrorCode, Rejection, Result};

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

pub(crate) fn not_found(field: &str) -> Rejection {
    Rejection::new(ErrorCode::NotFound, "no such role").on(&[field])
}

/// Every role: the built-in one first, then by name.
pub async fn list(conn: &mut Conn) -> Result<Vec<Role>> {
    let order = (roles::built_in.desc(), roles::name_key);
    Ok(with_conn!(conn, |c| roles::table
        .select(Role::as_select())
        .order(order)
        .load(c)
        .await)?)
}

/// The roles with the given ids (missing ids are left out).
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Role>> {
    Ok(with_conn!(conn, |c| roles::table
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

/// The role an API argument names; `NOT_FOUND` on `field` when it names none
/// (`None`: a malformed id).
pub async fn require(conn: &mut Conn, id: Option<i64>, field: &str) -> Result<Role> {
    let found = match id {
        Some(id) => find(conn, id).await?,
        None => None,
    };
    Ok(found.ok_or_else(|| not_found(field))?)
}

/// The role `$id` as it is inside the transaction on `$c`, or `NOT_FOUND` on
/// `$field`. Run after [`crate::db::MemberWriteLock::lock_member_writes`], which
/// `delete` and `update` take too, so the role cannot change before commit.
macro_rules! locked {
    ($c:expr, $id:expr, $field:expr) => {
        $crate::db::schema::roles::table
            .find($id)
            .select($crate::domain::roles::Role::as_select())
            .first::<$crate::domain::roles::Role>($c)
            .await
            .optional()?
            .ok_or_else(|| $crate::domain::roles::not_found($field))?
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
            .filter($crate::db::schema::members::status.eq("ACTIVE"))
            .select($crate::db::schema::roles::permissions)
            .first::<String>($c)
            .await
            .optional()?
            .map(|p| $crate::domain::PermissionSet::from_db(&p))
    };
}
pub(crate) use held_by;

/// How many members hold each of the given roles (roles nobody holds are left out).
pub async fn member_counts(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, i64>> {
    // The trigger-kept counters hold a row per status of each role.
    let q = member_counts::table
        .filter(member_counts::role_id.eq_any(ids))
        .select((member_counts::role_id, member_counts::n));
    let rows: Vec<(i64, i64)> = with_conn!(conn, |c| q.load(c).await)?;
    Ok(rows
        .into_iter()
        .fold(HashMap::new(), |mut counts, (role, n)| {
            *counts.entry(role).or_default() += n;
            counts
        }))
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

/// Creates a custom role; the caller must hold every permission it grants.
pub async fn create(
    conn: &mut Conn,
    actor: &Actor,
    input: CreateRole,
    now: NaiveDateTime,
) -> Result<Role> {
    let name =
        validate::label(&input.name, "name", NAME_MAX).map_err(|r| r.on(&["input", "name"]))?;
    let description = validate::text(&input.description, "description", DESCRIPTION_MAX)
        .map_err(|r| r.on(&["input", "description"]))?;
    let permissions = permission_set(&input.permissions);
    if !actor.permissions.covers(permissions) {
        return Err(escalation().on(&["input", "permissions"]).into());
    }
    let key = validate::key(&name);
    let stored = permissions.to_db();
    let new = NewRole {
        name: &name,
        name_key: &key,
        description: &description,
        permissions: &stored,
        built_in: false,
        created_at: now,
        updated_at: now,
    };
    transaction!(conn, |c| {
        let role = diesel::insert_into(roles::table)
            .values(&new)
            .returning(Role::as_returning())
            .get_result(c)
            .await
            .map_err(name_taken)?;
        let details = serde_json::json!({ "after": snapshot(&role) });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::RoleCreated, role.id, details),
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
                .on(&["input", "name"])
                .into()
        }
        e => e.into(),
    }
}

/// Changes a role; the built-in role keeps its name and all its permissions, and the
/// caller must hold every permission the role has before and after.
pub async fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: i64,
    input: UpdateRole,
    now: NaiveDateTime,
) -> Result<Role> {
    let field = |f: &'static str| move |r: Rejection| r.on(&["input", f]);
    let changes = RoleChanges {
        name_key: input.name.as_deref().map(validate::key),
        name: input
            .name
            .as_deref()
            .map(|n| validate::label(n, "name", NAME_MAX))
            .transpose()
            .map_err(field("name"))?,
        description: input
            .description
            .as_deref()
            .map(|d| validate::text(d, "description", DESCRIPTION_MAX))
            .transpose()
            .map_err(field("description"))?,
        permissions: input
            .permissions
            .as_deref()
            .map(|p| permission_set(p).to_db()),
        updated_at: Some(now),
    };
    transaction!(conn, |c| {
        // Narrowing a role changes what its members may grant: acts that check a
        // member's permissions inside their transaction (accepting an invitation) hold
        // the same lock.
        c.lock_member_writes().await?;
        let before = locked!(c, id, "id");
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
            Event::role(AuditAction::RoleUpdated, id, details),
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
            let field = if renamed { "name" } else { "permissions" };
            return Err(Rejection::new(
                ErrorCode::BuiltInRole,
                "the Administrator role cannot be renamed or narrowed",
            )
            .on(&["input", field])
            .into());
        }
    }
    if !caller.covers(role.permissions()) || !caller.covers(after) {
        return Err(escalation().into());
    }
    Ok(())
}

/// Deletes a custom role; its members and invitations move to `reassign_to` in the
/// same transaction.
pub async fn delete(
    conn: &mut Conn,
    actor: &Actor,
    id: i64,
    reassign_to: Option<i64>,
    now: NaiveDateTime,
) -> Result<i64> {
    if reassign_to == Some(id) {
        return Err(Rejection::new(
            ErrorCode::InvalidInput,
            "a role cannot be reassigned to itself",
        )
        .on(&["reassignTo"])
        .into());
    }
    transaction!(conn, |c| {
        // Acts that write a role id (invite, accept, editPermission) hold the same
        // lock and read the role after it: they see it whole or not at all.
        c.lock_member_writes().await?;
        let role = locked!(c, id, "id");
        if role.built_in {
            return Err(Rejection::new(
                ErrorCode::BuiltInRole,
                "the Administrator role cannot be deleted",
            )
            .on(&["id"])
            .into());
        }
        if !actor.permissions.covers(role.permissions()) {
            return Err(escalation().on(&["id"]).into());
        }
        let mut moved = 0;
        if let Some(target) = reassign_to {
            let target = locked!(c, target, "reassignTo");
            if !actor.permissions.covers(target.permissions()) {
                return Err(escalation().on(&["reassignTo"]).into());
            }
            moved = diesel::update(members::table.filter(members::role_id.eq(id)))
                .set((
                    members::role_id.eq(target.id),
                    members::updated_at.eq(now),
                    members::version.eq(members::version + 1),
                ))
                .execute(c)
                .await?;
            diesel::update(invitations::table.filter(invitations::role_id.eq(id)))
                .set(invitations::role_id.eq(target.id))
                .execute(c)
                .await?;
        }
        diesel::delete(roles::table.find(id))
            .execute(c)
            .await
            .map_err(role_in_use)?;
        let details = serde_json::json!({ "before": snapshot(&role), "reassignTo": reassign_to.map(|r| r.to_string()), "membersMoved": moved });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::RoleDeleted, id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(id)
    })
}

fn role_in_use(e: diesel::result::Error) -> crate::error::Error {
    use diesel::result::{DatabaseErrorKind, Error as E};
    match e {
        E::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Rejection::new(
            ErrorCode::RoleInUse,
            "members or invitations hold this role: name a role to move them to (reassignTo)",
        )
        .on(&["reassignTo"])
        .into(),
        e => e.into(),
    }
}
