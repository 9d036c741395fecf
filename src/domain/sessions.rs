//! Sessions: opaque bearer tokens, stored only as their SHA-256 hash; a member sees
//! their own and ends them one by one, as may whoever manages the member's sessions.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::db::Conn;
use crate::db::schema::{members, roles, sessions};
use crate::db::{transaction, with_conn};
use crate::domain::audit::{self, AuditAction, Event, Origin};
use crate::domain::members::{self as member_rows, Member, MemberStatus};
use crate::domain::roles::Role;
use crate::domain::{Actor, AppState, Permission, roles as role_rows};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

/// `lastSeenAt` moves at most this often, so a busy session writes once a minute, not
/// once a request.
const SEEN_EVERY: Duration = Duration::seconds(60);

/// A session row.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Its id.
    pub id: i64,
    /// The member signed in.
    pub member_id: i64,
    /// When it ends.
    pub expires_at: NaiveDateTime,
    /// When it was last used, at most [`SEEN_EVERY`] behind.
    pub last_seen_at: NaiveDateTime,
}

/// A session to insert.
#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// The member.
    pub member_id: i64,
    /// Now.
    pub created_at: NaiveDateTime,
    /// When it ends.
    pub expires_at: NaiveDateTime,
    /// Now.
    pub last_seen_at: NaiveDateTime,
    /// The client address it signed in from.
    pub ip: Option<&'a str>,
    /// The browser or client it signed in from.
    pub user_agent: Option<&'a str>,
}

impl<'a> NewSession<'a> {
    /// A session of `member_id` from now for `ttl`, opened by the client of `origin`.
    pub fn new(
        token_hash: &'a str,
        member_id: i64,
        now: NaiveDateTime,
        ttl: Duration,
        origin: &'a Origin,
    ) -> Self {
        NewSession {
            token_hash,
            member_id,
            created_at: now,
            expires_at: now + ttl,
            last_seen_at: now,
            ip: origin.ip.as_deref(),
            user_agent: origin.user_agent.as_deref(),
        }
    }
}

/// The live session with this token hash, with its member (only when ACTIVE) and role,
/// in one statement: this runs on every authenticated request.
pub async fn authenticate(
    conn: &mut Conn,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<(Session, Member, Role)>> {
    let q = sessions::table
        .inner_join(members::table.inner_join(roles::table))
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(members::status.eq(MemberStatus::Active));
    let found = with_conn!(conn, |c| {
        q.select((Session::as_select(), Member::as_select(), Role::as_select()))
            .first(c)
            .await
            .optional()
    });
    Ok(found?)
}

/// Ends one session.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<()> {
    let q = diesel::delete(sessions::table.find(id));
    with_conn!(conn, |c| q.execute(c).await)?;
    Ok(())
}

/// Moves the session's `lastSeenAt` to `now` when it is [`SEEN_EVERY`] behind; the
/// condition keeps two instances (or two requests) from both writing.
pub async fn touch(conn: &mut Conn, session: &Session, now: NaiveDateTime) -> Result<()> {
    if now - session.last_seen_at < SEEN_EVERY {
        return Ok(());
    }
    let q = diesel::update(
        sessions::table
            .find(session.id)
            .filter(sessions::last_seen_at.le(now - SEEN_EVERY)),
    )
    .set(sessions::last_seen_at.eq(now));
    with_conn!(conn, |c| q.execute(c).await)?;
    Ok(())
}

/// A live session as its member (or a manager) sees it.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = sessions)]
pub struct SessionView {
    /// Its id.
    pub id: i64,
    /// When it was opened.
    pub created_at: NaiveDateTime,
    /// When it was last used.
    pub last_seen_at: NaiveDateTime,
    /// When it ends.
    pub expires_at: NaiveDateTime,
    /// The client address it signed in from.
    pub ip: Option<String>,
    /// The browser or client it signed in from.
    pub user_agent: Option<String>,
}

/// Whether `actor` holds every permission of `member`'s role, which seeing and ending
/// another member's sessions needs besides MEMBERS_SESSIONS_MANAGE.
async fn covers(conn: &mut Conn, actor: &Actor, member: &Member) -> Result<bool> {
    let role = role_rows::find(conn, member.role_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("member {} has no role", member.id)))?;
    Ok(actor.permissions.covers(role.permissions()))
}

/// The live sessions of `member`, most recently used first: one's own, or another's
/// with MEMBERS_SESSIONS_MANAGE and every permission of their role (`FORBIDDEN`).
pub async fn of_member(
    state: &AppState,
    actor: &Actor,
    member: &Member,
) -> Result<Vec<SessionView>> {
    let mut conn = state.pool.get().await?;
    if member.id != actor.member_id {
        actor.require(Permission::MembersSessionsManage)?;
        if !covers(&mut conn, actor, member).await? {
            return Err(Error::NotCovered);
        }
    }
    let q = sessions::table
        .filter(sessions::member_id.eq(member.id))
        .filter(sessions::expires_at.gt(state.clock.now()))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()));
    Ok(with_conn!(&mut conn, |c| q
        .select(SessionView::as_select())
        .load(c)
        .await)?)
}

/// Ends the sessions of `member` that `which` selects, with one `SESSION_REVOKED` event
/// when any ended; how many ended.
macro_rules! revoke_where {
    ($conn:expr, $actor:expr, $member:expr, $now:expr, $which:expr, $details:expr) => {{
        let (origin, target) = (&$actor.origin, $member);
        transaction!($conn, |c| {
            let ended = diesel::delete($which).execute(c).await?;
            if ended > 0 {
                let details = json!({ "sessions": ended, "scope": $details });
                audit::insert(origin, Event::member(AuditAction::SessionRevoked, target, details), $now)
                    .execute(c)
                    .await?;
            }
            Ok::<_, Error>(ended)
        })
    }};
}

fn no_session() -> Error {
    Rejection::new(ErrorCode::NotFound, "no such session")
        .on(Input::Session)
        .into()
}

/// Ends session `id`: one's own (the current one included, like signing out), or
/// another's with MEMBERS_SESSIONS_MANAGE and every permission of their role;
/// `NOT_FOUND` for one that is not live or not visible.
pub async fn revoke(state: &AppState, actor: &Actor, id: i64) -> Result<usize> {
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let q = sessions::table
        .find(id)
        .filter(sessions::expires_at.gt(now))
        .select(sessions::member_id);
    let owner = with_conn!(&mut conn, |c| q.first::<i64>(c).await.optional())?;
    let Some(owner) = owner else {
        return Err(no_session());
    };
    let member = member_rows::find(&mut conn, owner)
        .await?
        .ok_or_else(no_session)?;
    let visible = member.id == actor.member_id
        || (actor
            .permissions
            .contains(Permission::MembersSessionsManage)
            && covers(&mut conn, actor, &member).await?);
    if !visible {
        return Err(no_session());
    }
    let which = sessions::table
        .find(id)
        .filter(sessions::expires_at.gt(now));
    revoke_where!(&mut conn, actor, owner, now, which, "one")
}

fn no_member() -> Error {
    Rejection::new(ErrorCode::NotFound, "no such member")
        .on(Input::Member)
        .into()
}

/// Whether `actor` may end every session of `member` (holding `role`): their own
/// always; another's with MEMBERS_SESSIONS_MANAGE and every permission of their role;
/// a removed member is not found.
pub fn check_revoke_all(actor: &Actor, member: &Member, role: &Role) -> Result<()> {
    if member.id == actor.member_id {
        return Ok(());
    }
    actor.require(Permission::MembersSessionsManage)?;
    if member.status == MemberStatus::Removed {
        return Err(no_member());
    }
    if !actor.permissions.covers(role.permissions()) {
        return Err(Rejection::new(
            ErrorCode::PrivilegeEscalation,
            "this member's role has permissions you lack",
        )
        .on(Input::Member)
        .into());
    }
    Ok(())
}

/// Ends every session of member `member_id`; for oneself, all but `current`.
pub async fn revoke_all(
    state: &AppState,
    actor: &Actor,
    current: i64,
    member_id: i64,
) -> Result<usize> {
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    if member_id == actor.member_id {
        let which = sessions::table
            .filter(sessions::member_id.eq(member_id))
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::id.ne(current));
        return revoke_where!(&mut conn, actor, member_id, now, which, "others");
    }
    actor.require(Permission::MembersSessionsManage)?;
    let member = member_rows::find(&mut conn, member_id)
        .await?
        .ok_or_else(no_member)?;
    let role = role_rows::find(&mut conn, member.role_id)
        .await?
        .ok_or_else(|| Error::Internal(format!("member {} has no role", member.id)))?;
    check_revoke_all(actor, &member, &role)?;
    let which = sessions::table
        .filter(sessions::member_id.eq(member_id))
        .filter(sessions::expires_at.gt(now));
    revoke_where!(&mut conn, actor, member_id, now, which, "all")
}

/// Where a live session stands: what its member may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The permissions of the member's role.
    pub permissions: crate::domain::PermissionSet,
    /// Whether the member must change the password before anything else.
    pub must_change_password: bool,
}

/// How each of the sessions `ids` stands now, in one statement; a session that ended,
/// or whose member is no longer active, is left out.
pub async fn standing(
    pool: &crate::db::Pool,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<std::collections::HashMap<i64, Standing>> {
    let q = sessions::table
        .inner_join(members::table.inner_join(roles::table))
        .filter(sessions::id.eq_any(ids.to_vec()))
        .filter(sessions::expires_at.gt(now))
        .filter(members::status.eq(MemberStatus::Active));
    let rows: Vec<(i64, bool, Role)> = with_conn!(&mut pool.get().await?, |c| {
        q.select((
            sessions::id,
            members::must_change_password,
            Role::as_select(),
        ))
        .load(c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, must_change_password, role)| {
            let standing = Standing {
                permissions: role.permissions(),
                must_change_password,
            };
            (id, standing)
        })
        .collect())
}
