//! Sessions: opaque bearer tokens, stored only as their SHA-256 hash.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::db::schema::{members, roles, sessions};
use crate::db::with_conn;
use crate::domain::members::{Member, MemberStatus};
use crate::domain::roles::Role;
use crate::error::Result;

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
