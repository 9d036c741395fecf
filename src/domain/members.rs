//! Members: who may sign in to the admin backend, with which role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::db::schema::members;
use crate::domain::validate;
use crate::error::{ErrorCode, Rejection, Result};
use crate::with_conn;

/// Longest member name, in characters.
pub const NAME_MAX: usize = 100;
/// Longest search text, in characters.
pub const SEARCH_MAX: usize = 200;

/// Whether a member may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    /// May sign in.
    Active,
    /// May not sign in; every session has ended.
    Frozen,
}

impl MemberStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "ACTIVE",
            MemberStatus::Frozen => "FROZEN",
        }
    }
}

/// A member as stored. Holds the password hash: never show it, never log it.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = members)]
pub struct Member {
    /// Its id.
    pub id: i64,
    /// Email as entered.
    pub email: String,
    /// Lower-cased email, the unique key.
    pub email_key: String,
    /// Display name.
    pub name: String,
    /// Lower-cased email and name, what search matches.
    pub search_key: String,
    /// The role.
    pub role_id: i64,
    /// `ACTIVE` or `FROZEN`.
    pub status: String,
    /// argon2id PHC string.
    pub password_hash: String,
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
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// The member's status.
    pub fn status(&self) -> MemberStatus {
        if self.status == "FROZEN" {
            MemberStatus::Frozen
        } else {
            MemberStatus::Active
        }
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
    /// Always `ACTIVE` for a new member.
    pub status: &'a str,
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

/// Which members a list shows.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// Only members with this status.
    pub status: Option<MemberStatus>,
    /// Only members with this role (`Some(None)`: an id that names no role, so nobody).
    pub role_id: Option<Option<i64>>,
    /// Only members whose email or name contains this, lower-cased.
    pub search: Option<String>,
}

impl MemberFilter {
    /// Validates and normalises the raw search text.
    pub fn search_text(raw: &str) -> Result<Option<String>, Rejection> {
        let s = raw.trim();
        if s.chars().count() > SEARCH_MAX || s.chars().any(char::is_control) {
            return Err(Rejection::new(
                ErrorCode::InvalidInput,
                format!("search must be at most {SEARCH_MAX} characters"),
            ));
        }
        Ok((!s.is_empty()).then(|| s.to_lowercase()))
    }

    /// The search as the backend's indexed form of it (see the member_search migration).
    fn pattern(&self, conn: &Conn) -> Option<Pattern> {
        let s = self.search.as_ref()?;
        Some(match conn {
            Conn::Pg(_) => {
                let escaped = s
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                Pattern::Like(format!("%{escaped}%"))
            }
            Conn::Sqlite(_) => {
                let escaped: String = s
                    .chars()
                    .map(|c| match c {
                        '*' | '?' | '[' => format!("[{c}]"),
                        c => c.to_string(),
                    })
                    .collect();
                Pattern::Glob(format!("*{escaped}*"))
            }
        })
    }
}

/// A substring search, as each backend's trigram index answers it.
#[derive(Clone)]
enum Pattern {
    /// PostgreSQL: `LIKE` with `\` escapes (pg_trgm).
    Like(String),
    /// SQLite: `GLOB` on the FTS5 trigram table (its index does not serve `ESCAPE`).
    Glob(String),
}

/// SQLite members whose search key matches a GLOB pattern, through the FTS5 index.
const SQLITE_SEARCH: &str =
    "members.id IN (SELECT rowid FROM members_search WHERE search_key GLOB ";

/// Applies a [`MemberFilter`] to a boxed query on `members`.
macro_rules! filtered {
    ($query:expr, $filter:expr, $pattern:expr) => {{
        let mut q = $query;
        if let Some(status) = $filter.status {
            q = q.filter(members::status.eq(status.as_str()));
        }
        if let Some(role) = $filter.role_id {
            q = q.filter(members::role_id.eq(role.unwrap_or(0)));
        }
        match $pattern {
            Some(Pattern::Like(like)) => {
                q = q.filter(members::search_key.like(like).escape('\\'));
            }
            Some(Pattern::Glob(glob)) => {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(SQLITE_SEARCH)
                        .bind::<diesel::sql_types::Text, _>(glob)
                        .sql(")"),
                );
            }
            None => {}
        }
        q
    }};
}

/// A page of members, newest first, after the member `after` (keyset on the id).
pub async fn page(
    conn: &mut Conn,
    filter: &MemberFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Member>> {
    let pattern = filter.pattern(conn);
    Ok(with_conn!(conn, |c| {
        let mut q = filtered!(
            members::table.select(Member::as_select()).into_boxed(),
            filter,
            pattern.clone()
        );
        if let Some(after) = after {
            q = q.filter(members::id.lt(after));
        }
        q.order(members::id.desc()).limit(limit).load(c).await
    })?)
}

/// How many members match the filter.
///
/// Without a search, the counters of the member_counts migration answer (kept by
/// triggers in every writing transaction); a search counts its matches.
pub async fn count(conn: &mut Conn, filter: &MemberFilter) -> Result<i64> {
    if filter.search.is_none() {
        let q = diesel::sql_query(COUNTED)
            .bind::<Nullable<Text>, _>(filter.status.map(MemberStatus::as_str))
            .bind::<Nullable<BigInt>, _>(filter.role_id.map(|r| r.unwrap_or(0)));
        let counted: Counted = with_conn!(conn, |c| q.get_result(c).await)?;
        return Ok(counted.n);
    }
    let pattern = filter.pattern(conn);
    Ok(with_conn!(conn, |c| {
        filtered!(members::table.count().into_boxed(), filter, pattern.clone())
            .get_result(c)
            .await
    })?)
}

/// The members counted by status and role.
const COUNTED: &str = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM member_counts \
     WHERE status = COALESCE($1, status) AND role_id = COALESCE($2, role_id)";

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    n: i64,
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

/// The members with the given ids (missing ids are left out).
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Member>> {
    let q = members::table.filter(members::id.eq_any(ids));
    Ok(with_conn!(conn, |c| q
        .select(Member::as_select())
        .load(c)
        .await)?)
}

/// One member by email, case-insensitively.
pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<Member>> {
    let q = members::table.filter(members::email_key.eq(validate::key(email)));
    Ok(with_conn!(conn, |c| q
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
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
        .on(&["email"])
        .into(),
        e => e.into(),
    }
}
