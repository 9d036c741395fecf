//! The member list: its filter, its pages and its count, read together.
//!
//! A members page is the busiest request of the admin backend, so its reads are
//! shaped per backend while the SQL stays one: on PostgreSQL the page and the count
//! of an unsearched list go out pipelined on one connection (one round trip); on
//! SQLite both run in one blocking task on the synchronous connection, which decodes
//! rows straight from the statement instead of copying every value into an owned row
//! first.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{members, roles};
use crate::db::{Conn, SqliteConn};
use crate::domain::member_search::{
    Pattern, SearchHints, TrigramGlob, sql_fragment_expression, strpos,
};
use crate::domain::members::{Member, MemberStatus, SEARCH_MAX};
use crate::domain::roles::Role;
use crate::domain::{Actor, AppState, Permission};
use crate::error::{ErrorCode, Rejection, Result};

/// Which members a list shows.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// Only members with this status.
    pub status: Option<MemberStatus>,
    /// Only members with this role.
    pub role_id: Option<i64>,
    /// Only members whose email or name contains this, lower-cased.
    pub search: Option<String>,
    /// Only members who signed in last before this instant, or never.
    pub last_login_before: Option<NaiveDateTime>,
}

impl MemberFilter {
    /// Whether nothing but a status narrows the list: its pages are read from an
    /// index in order, whatever the status.
    fn by_status_only(&self) -> bool {
        self.role_id.is_none() && self.search.is_none() && self.last_login_before.is_none()
    }

    /// Whether the counters of status and role answer how many match.
    fn counted(&self) -> bool {
        self.search.is_none() && self.last_login_before.is_none()
    }

    /// For inactive members without a search: the same filter without the instant, and
    /// the instant. They are counted as all members (the counters) less those who
    /// signed in since, whom the index on `last_login_at` finds: a count of every match
    /// grew with the table (15 ms at 100k members, against 0.7 ms for a first page).
    fn inactive_counted(&self) -> Option<(MemberFilter, NaiveDateTime)> {
        let before = self.last_login_before.filter(|_| self.search.is_none())?;
        let all = MemberFilter {
            last_login_before: None,
            ..self.clone()
        };
        Some((all, before))
    }

    /// Validates and normalises the raw search text.
    pub fn search_text(raw: &str) -> Result<Option<String>, Rejection> {
        let s = raw.trim();
        let refuse = |why: String| Err(Rejection::new(ErrorCode::InvalidInput, why));
        if s.chars().any(char::is_control) {
            return refuse("search must not contain control characters".to_owned());
        }
        if s.chars().count() > SEARCH_MAX {
            return refuse(format!("search must be at most {SEARCH_MAX} characters"));
        }
        Ok((!s.is_empty()).then(|| s.to_lowercase()))
    }

    /// The search in the form the backend's trigram index answers.
    async fn pattern(&self, conn: &mut Conn, hints: &SearchHints) -> Option<Pattern> {
        let term = self.search.as_ref()?;
        Some(Pattern::of(term, conn, hints).await)
    }
}

/// Applies a [`MemberFilter`] to a boxed query on `members`.
macro_rules! filtered {
    ($query:expr, $filter:expr, $pattern:expr) => {{
        let mut q = $query;
        q = match $filter.status {
            Some(status) => q.filter(StatusWritten::Is(status)),
            // Removed members are listed only when asked for.
            None => q.filter(StatusWritten::IsNot(MemberStatus::Removed)),
        };
        if let Some(role) = $filter.role_id {
            q = q.filter(members::role_id.eq(role));
        }
        if let Some(before) = $filter.last_login_before {
            q = q.filter(
                members::last_login_at
                    .lt(before)
                    .or(members::last_login_at.is_null()),
            );
        }
        match $pattern {
            Some(Pattern::Like { index, whole, .. }) => {
                for like in index {
                    q = q.filter(members::search_key.like(like).escape('\\'));
                }
                if let Some(whole) = whole {
                    q = q.filter(strpos(members::search_key, whole).gt(0));
                }
            }
            Some(Pattern::Glob(glob)) => q = q.filter(TrigramGlob(glob)),
            None => {}
        }
        q
    }};
}

/// The page query: members with their roles, newest first, after `$after`.
macro_rules! page_query {
    ($filter:expr, $pattern:expr, $after:expr, $limit:expr) => {{
        let few = matches!($pattern, Some(Pattern::Like { few: true, .. }));
        let mut q = filtered!(
            members::table
                .inner_join(roles::table)
                .select((Member::as_select(), Role::as_select()))
                .into_boxed(),
            $filter,
            $pattern
        );
        if let Some(after) = $after {
            q = q.filter(members::id.lt(after));
        }
        // `id + 0` cannot be read from the primary key in order: the planner then finds
        // the few matches through the trigram index and sorts them (member_search).
        match (few, $filter.by_status_only()) {
            (true, _) => q.order((members::id + 0_i64).desc()).limit($limit),
            (false, true) => q.order(NewestFirst($limit)),
            (false, false) => q.order(members::id.desc()).limit($limit),
        }
    }};
}

/// `status = 'ACTIVE'` or `status <> 'REMOVED'`, the status written out: bound,
/// PostgreSQL's generic plan guesses from the statistics of a column nearly all ACTIVE
/// (`<> $1`: that almost no member qualifies, so a sequential scan and a sort, 200 ms
/// at 100k). A handful of statuses, a handful of statements.
#[derive(Clone, Copy)]
enum StatusWritten {
    Is(MemberStatus),
    IsNot(MemberStatus),
}

impl Expression for StatusWritten {
    type SqlType = diesel::sql_types::Bool;
}

impl<DB: Backend> QueryFragment<DB> for StatusWritten {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (op, status) = match self {
            StatusWritten::Is(status) => ("=", status),
            StatusWritten::IsNot(status) => ("<>", status),
        };
        out.push_sql(&format!(
            "\"members\".\"status\" {op} '{}'",
            status.as_str()
        ));
        Ok(())
    }
}

/// `ORDER BY id DESC LIMIT n` with `n` written out, for a page narrowed by status at
/// most (first or by cursor): with `LIMIT $n` PostgreSQL's generic plan (it assumes a
/// tenth of the rows) always looks dearer than a custom one, so the busiest statement
/// was planned again on every request, a sixth of the core at 64 connections. Written
/// out, each page size is a statement of its own whose generic plan is the custom
/// one, and PostgreSQL keeps it after five runs. Nothing may follow ORDER BY in the
/// statements it orders.
#[derive(Clone, Copy)]
struct NewestFirst(i64);

impl Expression for NewestFirst {
    type SqlType = diesel::sql_types::Untyped;
}

impl<DB: Backend> QueryFragment<DB> for NewestFirst {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(&format!("\"members\".\"id\" DESC LIMIT {}", self.0));
        Ok(())
    }
}

sql_fragment_expression!(StatusWritten, NewestFirst);

/// One page of members with their roles.
pub struct Page {
    /// The members, newest first, each with its role.
    pub rows: Vec<(Member, Role)>,
    /// How many members match the filter over all pages, when asked for.
    pub total: Option<i64>,
}

/// A page of members with their roles, newest first, after the member `after`
/// (keyset on the id), at most `limit`; with `with_total`, also how many members
/// match the filter over all pages (see [`count`]). Needs MEMBERS_VIEW.
///
/// A search is counted only when the page cannot tell: a first page that is not
/// full holds every match. Most searches look for someone, so this spares the second
/// trigram scan; the counters of an unsearched list cost less than the wait, so they
/// go out pipelined with the page instead.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    filter: &MemberFilter,
    after: Option<i64>,
    limit: i64,
    with_total: bool,
) -> Result<Page> {
    actor.require(Permission::MembersView)?;
    let mut conn = state.pool.get().await?;
    let pattern = filter.pattern(&mut conn, &state.search_hints).await;
    let ask = PageAsk {
        searched: filter.search.is_some(),
        pattern,
        after,
        limit,
        with_total,
    };
    let read = match &mut conn {
        Conn::Sqlite(c) => page_sqlite(c, filter.clone(), ask).await,
        Conn::Pg(c) => page_pg(c, filter, ask).await,
    };
    Ok(read?)
}

/// What a page asks for besides its filter, the search in the backend's form.
struct PageAsk {
    searched: bool,
    pattern: Option<Pattern>,
    after: Option<i64>,
    limit: i64,
    with_total: bool,
}

impl PageAsk {
    /// The total a searched page tells by itself: a first page that is not full.
    fn told(&self, rows: &[(Member, Role)]) -> Option<i64> {
        let all = self.after.is_none() && i64::try_from(rows.len()).is_ok_and(|n| n < self.limit);
        (self.searched && all).then_some(rows.len() as i64)
    }
}

async fn page_sqlite(c: &mut SqliteConn, filter: MemberFilter, ask: PageAsk) -> QueryResult<Page> {
    c.spawn_blocking(move |c| {
        let query = page_query!(filter, ask.pattern.clone(), ask.after, ask.limit);
        let rows = diesel::RunQueryDsl::load(query, c)?;
        let total = match ask.with_total {
            true => Some(match ask.told(&rows) {
                Some(n) => n,
                None => count_sqlite(c, &filter, ask.pattern)?,
            }),
            false => None,
        };
        Ok(Page { rows, total })
    })
    .await
}

async fn page_pg(c: &AsyncPgConnection, filter: &MemberFilter, ask: PageAsk) -> QueryResult<Page> {
    let pattern = ask.pattern.clone();
    if ask.with_total && ask.searched {
        let rows = page_query!(filter, pattern.clone(), ask.after, ask.limit)
            .load(&mut &*c)
            .await?;
        let total = match ask.told(&rows) {
            Some(n) => n,
            None => count_pg(c, filter, pattern).await?,
        };
        return Ok(Page {
            rows,
            total: Some(total),
        });
    }
    let rows = page_query!(filter, pattern.clone(), ask.after, ask.limit).load(&mut &*c);
    let total = async {
        Ok(match ask.with_total {
            true => Some(count_pg(c, filter, pattern).await?),
            false => None,
        })
    };
    futures_util::try_join!(rows, total).map(|(rows, total)| Page { rows, total })
}

/// How many members match the filter. Needs MEMBERS_VIEW.
///
/// Without a search, the counters of the member_counts migration answer (kept by
/// triggers in every writing transaction); a search counts its matches.
pub async fn count(state: &AppState, actor: &Actor, filter: &MemberFilter) -> Result<i64> {
    actor.require(Permission::MembersView)?;
    let mut conn = state.pool.get().await?;
    let pattern = filter.pattern(&mut conn, &state.search_hints).await;
    let counted = match &mut conn {
        Conn::Sqlite(c) => {
            let filter = filter.clone();
            c.spawn_blocking(move |c| count_sqlite(c, &filter, pattern))
                .await
        }
        Conn::Pg(c) => count_pg(c, filter, pattern).await,
    };
    Ok(counted?)
}

fn count_sqlite(
    c: &mut SqliteConnection,
    filter: &MemberFilter,
    pattern: Option<Pattern>,
) -> QueryResult<i64> {
    if let Some((all, before)) = filter.inactive_counted() {
        let total: i64 = diesel::RunQueryDsl::get_result(Counted::of(&all), c)?;
        let since = filtered!(members::table.count().into_boxed(), all, None::<Pattern>)
            .filter(members::last_login_at.ge(before));
        let since: i64 = diesel::RunQueryDsl::get_result(since, c)?;
        return Ok(total - since);
    }
    match filter.counted() {
        true => diesel::RunQueryDsl::get_result(Counted::of(filter), c),
        false => diesel::RunQueryDsl::get_result(
            filtered!(members::table.count().into_boxed(), filter, pattern),
            c,
        ),
    }
}

async fn count_pg(
    mut c: &AsyncPgConnection,
    filter: &MemberFilter,
    pattern: Option<Pattern>,
) -> QueryResult<i64> {
    if let Some((all, before)) = filter.inactive_counted() {
        let since = filtered!(members::table.count().into_boxed(), all, None::<Pattern>)
            .filter(members::last_login_at.ge(before));
        let (total, since): (i64, i64) = futures_util::try_join!(
            Counted::of(&all).get_result(&mut c),
            since.get_result(&mut &*c)
        )?;
        return Ok(total - since);
    }
    match filter.counted() {
        true => Counted::of(filter).get_result(&mut c).await,
        false => {
            filtered!(members::table.count().into_boxed(), filter, pattern)
                .get_result(&mut c)
                .await
        }
    }
}

/// The members with a status and a role (each `None` for any), summed from the
/// counters.
///
/// A query of its own rather than `sql_query`: diesel never keeps a `sql_query`
/// prepared, so on PostgreSQL every page paid a parse, a plan and an extra round trip
/// for it. Its text is fixed, so diesel may keep it prepared per connection.
#[derive(QueryId)]
struct Counted {
    status: Option<&'static str>,
    /// The status left out: REMOVED when no status is asked for, else none ("").
    except: &'static str,
    role_id: Option<i64>,
}

impl Counted {
    fn of(filter: &MemberFilter) -> Self {
        Self {
            status: filter.status.map(MemberStatus::as_str),
            except: match filter.status {
                Some(_) => "",
                None => MemberStatus::Removed.as_str(),
            },
            role_id: filter.role_id,
        }
    }
}

impl Query for Counted {
    type SqlType = BigInt;
}

impl<C> diesel::RunQueryDsl<C> for Counted {}

impl<DB> QueryFragment<DB> for Counted
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    &'static str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM member_counts \
             WHERE status = COALESCE(",
        );
        out.push_bind_param::<Nullable<Text>, _>(&self.status)?;
        out.push_sql(", status) AND status <> ");
        out.push_bind_param::<Text, _>(&self.except)?;
        out.push_sql(" AND role_id = COALESCE(");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.role_id)?;
        out.push_sql(", role_id)");
        Ok(())
    }
}
