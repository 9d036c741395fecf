//! Members: who may sign in to the admin backend, with which role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::members;
use crate::db::{Conn, Pool};
use crate::db::{text_enum, with_conn};
use crate::domain::{Actor, AppState, Permission, validate};
use crate::error::{ErrorCode, Input, Rejection, Result};

/// Longest member name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest search text, in characters.
pub const SEARCH_MAX: usize = 200;

text_enum! {
    /// Whether a member may sign in.
    pub enum MemberStatus {
        /// May sign in.
        Active => "ACTIVE",
        /// May not sign in; every session has ended.
        Frozen => "FROZEN",
        /// Removed for good, personal data erased; kept so that the audit log points
        /// at someone.
        Removed => "REMOVED",
    }
}

/// A member as read for showing and deciding: every column but the lookup keys and
/// the password hash, which only sign-in and password changes read
/// ([`find_by_email`], [`password_hash`]).
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = members)]
pub struct Member {
    /// Its id.
    pub id: i64,
    /// Email as entered.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The role.
    pub role_id: i64,
    /// Whether the member may sign in.
    pub status: MemberStatus,
    /// Whether only a password change is allowed until the password changes.
    pub must_change_password: bool,
    /// When it was last frozen.
    pub frozen_at: Option<NaiveDateTime>,
    /// Why it was last frozen.
    pub frozen_reason: Option<String>,
    /// Who invited this member.
    pub invited_by: Option<i64>,
    /// Last successful sign-in.
    pub last_login_at: Option<NaiveDateTime>,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Bumps on every change.
    pub version: i32,
    /// When a password set by a reset stops signing in.
    pub password_expires_at: Option<NaiveDateTime>,
    /// When a time-bound freeze ends by itself.
    pub frozen_until: Option<NaiveDateTime>,
    /// When the member was removed.
    pub removed_at: Option<NaiveDateTime>,
}

impl Member {
    /// Whether the member's freeze has ended by its time at `now` (the sweep may not
    /// have written it yet).
    pub fn thawed_at(&self, now: NaiveDateTime) -> bool {
        self.status == MemberStatus::Frozen && self.frozen_until.is_some_and(|until| until <= now)
    }

    /// The member as they are at `now`: active, with no freeze end, from the instant a
    /// time-bound freeze ends.
    pub fn at(&self, now: NaiveDateTime) -> std::borrow::Cow<'_, Member> {
        if !self.thawed_at(now) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut thawed = self.clone();
        thawed.status = MemberStatus::Active;
        thawed.frozen_until = None;
        std::borrow::Cow::Owned(thawed)
    }

    /// The member as they are now, by the state's clock (see [`Member::at`]).
    pub fn now(&self, state: &crate::domain::AppState) -> std::borrow::Cow<'_, Member> {
        self.at(state.clock.now())
    }

    /// The member's status at `now`: ACTIVE from the instant a time-bound freeze ends.
    pub fn status_at(&self, now: NaiveDateTime) -> MemberStatus {
        if self.thawed_at(now) {
            MemberStatus::Active
        } else {
            self.status
        }
    }
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A member to insert.
#[derive(Insertable)]
#[diesel(table_name = members)]
pub struct NewMember<'a> {
    /// Email as entered (validated).
    pub email: &'a str,
    /// Lower-cased email.
    pub email_key: &'a str,
    /// Name (validated).
    pub name: &'a str,
    /// Search text.
    pub search_key: &'a str,
    /// The role.
    pub role_id: i64,
    /// Always active for a new member.
    pub status: MemberStatus,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Whether the first sign-in must change the password.
    pub must_change_password: bool,
    /// Who invited them.
    pub invited_by: Option<i64>,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

/// What search matches: the lower-cased email and name, one per line.
pub fn search_key(email: &str, name: &str) -> String {
    format!("{}\n{}", email.to_lowercase(), name.to_lowercase())
}

/// One member by id.
pub async fn find(conn: &mut Conn, id: i64) -> Result<Option<Member>> {
    Ok(with_conn!(conn, |c| members::table
        .find(id)
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
}

/// One member, to a holder of MEMBERS_VIEW; `None` when `id` names nobody.
pub async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Option<Member>> {
    actor.require(Permission::MembersView)?;
    find(&mut state.pool.get().await?, id).await
}

/// The members with the given ids (missing ids are left out), for members reached
/// from objects the caller may see; how much of each is shown is the API's `sight`.
pub async fn by_ids(pool: &Pool, ids: &[i64]) -> Result<Vec<Member>> {
    let q = members::table.filter(members::id.eq_any(ids));
    Ok(with_conn!(&mut pool.get().await?, |c| q
        .select(Member::as_select())
        .load(c)
        .await)?)
}

/// One member by email, case-insensitively, with its password hash (argon2id PHC
/// string: never show it, never log it).
pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<(Member, String)>> {
    let q = members::table.filter(members::email_key.eq(validate::key(email)));
    Ok(with_conn!(conn, |c| q
        .select((Member::as_select(), members::password_hash))
        .first(c)
        .await
        .optional())?)
}

/// The password hash of a member (see [`find_by_email`]).
pub async fn password_hash(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    let q = members::table.find(id).select(members::password_hash);
    Ok(with_conn!(conn, |c| q.first(c).await.optional())?)
}

/// Whether any member exists.
pub async fn any(conn: &mut Conn) -> Result<bool> {
    let q = diesel::select(diesel::dsl::exists(members::table.select(members::id)));
    Ok(with_conn!(conn, |c| q.get_result(c).await)?)
}

/// Inserts a member; `NAME_TAKEN` when the email is in use.
pub async fn insert(conn: &mut Conn, new: &NewMember<'_>) -> Result<Member> {
    let q = diesel::insert_into(members::table).values(new);
    with_conn!(conn, |c| q
        .returning(Member::as_returning())
        .get_result(c)
        .await)
    .map_err(email_taken)
}

/// Maps a unique violation on insert to `NAME_TAKEN` on the email.
pub fn email_taken(e: diesel::result::Error) -> crate::error::Error {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Rejection::new(
            ErrorCode::NameTaken,
            "a member with this email exists already",
        )
        .on(Input::Email)
        .into(),
        e => e.into(),
    }
}
