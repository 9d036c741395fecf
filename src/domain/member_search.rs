//! Member search: a search term as each backend's trigram index answers it.
//!
//! PostgreSQL's pg_trgm GIN index walks the posting list of every trigram of a
//! `LIKE '%term%'`, and a trigram most members share (the `use` of every
//! `user…@example.com`, the letters of the company's domain) lists nearly every
//! member: at 100k members each such trigram cost about 0.5 ms, more than the whole
//! unsearched page. So the index is asked only for the parts of the term whose
//! trigrams are not common, and the whole term is then checked on the rows it returns.
//! Which trigrams are common comes from PostgreSQL's own statistics of the search
//! key's trigrams (the member_search_statistics migration), read again every few
//! minutes: they decide how a search runs, never what it finds, so instances sharing a
//! database may hold different ones.
//!
//! The same statistics bound how many members a search can find. When they are few,
//! the page reads them all through the index and sorts them, instead of letting the
//! planner walk the primary key from the newest member hoping to meet 50 matches soon:
//! matches that sit among the oldest members (an import, a batch of invitations) made
//! that walk read most of the table (43 ms at 100k, against 1.7 ms through the index).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, Bool, Float4, HasSqlType, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::db::Conn;

/// A trigram is common when its posting list holds more members than this: past a
/// page or two of the index, reading it costs more than checking the rows the other
/// trigrams find (at 100k members, a trigram of 11% of them cost 0.3 ms).
const COMMON_MEMBERS: f64 = 4096.0;

/// A search the statistics bound to at most this many members reads them all through
/// the index and sorts them (about 1 ms per thousand).
const FEW_MEMBERS: f64 = 2000.0;

/// How long statistics read from the database are used before they are read again;
/// autovacuum's ANALYZE renews them no more often than a table changes by a tenth.
const REFRESH: Duration = Duration::from_secs(300);

/// At most this many parts of a term are asked of the index (each is a `LIKE`, and
/// each number of them a statement of its own).
const MAX_PARTS: usize = 3;

/// A substring search, as each backend's trigram index answers it.
#[derive(Clone)]
pub(crate) enum Pattern {
    /// PostgreSQL: members whose search key is `LIKE` each of `index` (with `\`
    /// escapes; pg_trgm answers them), and, when those are parts of the term only,
    /// contains `whole`. `few`: see [`SearchPlan::few`].
    Like {
        index: Vec<String>,
        whole: Option<String>,
        few: bool,
    },
    /// SQLite: `GLOB` on the FTS5 trigram table (its index does not serve `ESCAPE`).
    Glob(String),
}

impl Pattern {
    /// The search `term` (lower-cased) in the form `conn`'s backend answers.
    pub(crate) async fn of(term: &str, conn: &mut Conn, hints: &SearchHints) -> Pattern {
        match conn {
            Conn::Pg(_) => {
                let plan = plan(term, &*hints.shares(conn).await);
                Pattern::Like {
                    index: plan.parts.iter().map(|p| like(p)).collect(),
                    whole: plan.narrowed.then(|| term.to_owned()),
                    few: plan.few,
                }
            }
            Conn::Sqlite(_) => {
                let escaped: String = term
                    .chars()
                    .map(|c| match c {
                        '*' | '?' | '[' => format!("[{c}]"),
                        c => c.to_string(),
                    })
                    .collect();
                Pattern::Glob(format!("*{escaped}*"))
            }
        }
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`, matching `text` literally.
pub(crate) fn like(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How a search runs on PostgreSQL.
#[derive(Debug)]
pub struct SearchPlan {
    /// What the trigram index is asked for: parts of the term, longest first, or the
    /// term itself.
    pub parts: Vec<String>,
    /// Whether `parts` are parts of the term only, so that the members they find are
    /// then checked for the whole term.
    pub narrowed: bool,
    /// Whether the statistics bound the members that hold every trigram of a part to
    /// [`FEW_MEMBERS`]: the page then reads them all and sorts them.
    pub few: bool,
}

/// How to search for `term` (lower-cased), given what the statistics tell.
pub fn plan(term: &str, shares: &TrigramShares) -> SearchPlan {
    let (parts, narrowed) = match narrowed(term, shares) {
        Some(parts) => (parts, true),
        None => (vec![term.to_owned()], false),
    };
    let most = parts
        .iter()
        .map(|p| shares.most_holding(p))
        .fold(f64::INFINITY, f64::min);
    SearchPlan {
        parts,
        narrowed,
        few: shares.members > 0.0 && most <= FEW_MEMBERS,
    }
}

/// The trigrams of `text` as pg_trgm takes them from `LIKE '%text%'`, leaving out
/// those padded at a word's edge: three letters or digits in a row.
fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .split(|c| !c.is_alphanumeric())
        .flat_map(|word| word.windows(3))
        .map(|t| t.iter().collect())
        .collect()
}

/// The parts of `term` worth asking the trigram index for, longest first, when some of
/// its trigrams are common; `None` when the whole term is (no common trigram, or no
/// part of three letters without one, so the index has nothing better to go on).
///
/// A part is a run of letters and digits of the term holding none of the common
/// trigrams: pg_trgm takes the trigrams of `LIKE '%part%'` from the part alone, with no
/// padding at either end.
fn narrowed(term: &str, shares: &TrigramShares) -> Option<Vec<String>> {
    let chars: Vec<char> = term.chars().collect();
    let mut parts: Vec<&[char]> = Vec::new();
    let mut blocked = false;
    for word in chars.split(|c| !c.is_alphanumeric()) {
        let mut start = 0;
        for (i, trigram) in word.windows(3).enumerate() {
            if shares.is_common(&trigram.iter().collect::<String>()) {
                blocked = true;
                // Up to the trigram's second letter; the next part starts there.
                parts.push(&word[start..i + 2]);
                start = i + 1;
            }
        }
        parts.push(&word[start..]);
    }
    if !blocked {
        return None;
    }
    parts.retain(|p| p.len() >= 3);
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.truncate(MAX_PARTS);
    let parts: Vec<String> = parts.iter().map(|p| p.iter().collect()).collect();
    (!parts.is_empty()).then_some(parts)
}

/// What the statistics tell of the trigrams (as pg_trgm writes them) of the search
/// keys; nothing at all without statistics.
#[derive(Debug, Default)]
pub struct TrigramShares {
    /// The share of the members holding each trigram ANALYZE found most often.
    listed: HashMap<String, f64>,
    /// The most any other trigram can hold: the least listed share.
    unlisted: f64,
    /// How many members the statistics saw.
    members: f64,
}

impl TrigramShares {
    /// From the trigrams ANALYZE found most often, their shares of the members (the
    /// array goes on with other figures, which are left), and the number of members.
    fn from_statistics(trigrams: Vec<String>, shares: &[f32], members: f32) -> Self {
        let listed: HashMap<String, f64> = trigrams
            .into_iter()
            .zip(shares.iter().map(|s| f64::from(*s)))
            .collect();
        let unlisted = listed.values().copied().fold(1.0, f64::min);
        TrigramShares {
            listed,
            unlisted,
            members: f64::from(members.max(0.0)),
        }
    }

    /// At most how many members hold `trigram`.
    fn holding(&self, trigram: &str) -> f64 {
        self.listed.get(trigram).copied().unwrap_or(self.unlisted) * self.members
    }

    fn is_common(&self, trigram: &str) -> bool {
        self.holding(trigram) > COMMON_MEMBERS
    }

    /// At most how many members contain `text` (all of them when it has no trigram).
    fn most_holding(&self, text: &str) -> f64 {
        trigrams(text)
            .iter()
            .map(|t| self.holding(t))
            .fold(self.members, f64::min)
    }
}

#[derive(QueryableByName)]
struct TrigramStatistics {
    #[diesel(sql_type = Nullable<Array<Text>>)]
    trigrams: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<Array<Float4>>)]
    shares: Option<Vec<f32>>,
    #[diesel(sql_type = Float4)]
    members: f32,
}

/// The trigram shares of the search keys, as the database's statistics last told.
#[derive(Default)]
pub struct SearchHints {
    read: Mutex<Option<(Instant, Arc<TrigramShares>)>>,
    warned: AtomicBool,
}

impl SearchHints {
    /// The trigram shares, read again from the database when older than [`REFRESH`].
    /// Statistics that cannot be read (no pg_trgm, a server before 14, no ANALYZE yet)
    /// tell nothing: searches then ask the index for the whole term and leave the
    /// rest to the planner.
    pub async fn shares(&self, conn: &mut Conn) -> Arc<TrigramShares> {
        if let Some((at, shares)) = &*self.lock()
            && at.elapsed() < REFRESH
        {
            return shares.clone();
        }
        let shares = match read_statistics(conn).await {
            Ok(shares) => shares,
            Err(e) => {
                // Once per process: on a server before 14 it fails at every refresh.
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot read the search key statistics");
                }
                TrigramShares::default()
            }
        };
        let shares = Arc::new(shares);
        *self.lock() = Some((Instant::now(), shares.clone()));
        shares
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<TrigramShares>)>> {
        // A panic elsewhere cannot leave a half-written hint: the value is replaced whole.
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn read_statistics(conn: &mut Conn) -> QueryResult<TrigramShares> {
    let Conn::Pg(c) = conn else {
        return Ok(TrigramShares::default());
    };
    let rows: Vec<TrigramStatistics> = diesel::sql_query(
        "SELECT e.most_common_elems::text::text[] AS trigrams, \
                e.most_common_elem_freqs AS shares, c.reltuples AS members \
         FROM pg_catalog.pg_stats_ext_exprs e \
         JOIN pg_catalog.pg_namespace n ON n.nspname = e.schemaname \
         JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = e.tablename \
         WHERE e.statistics_schemaname = current_schema() \
           AND e.statistics_name = 'members_search_trigrams'",
    )
    .load(&mut **c)
    .await?;
    Ok(match rows.into_iter().next() {
        Some(TrigramStatistics {
            trigrams: Some(trigrams),
            shares: Some(shares),
            members,
        }) => TrigramShares::from_statistics(trigrams, &shares, members),
        _ => TrigramShares::default(),
    })
}

/// `members.id IN (SELECT rowid FROM members_search WHERE search_key GLOB ?)`:
/// SQLite members whose search key matches, through the FTS5 trigram index.
///
/// An expression of its own rather than `dsl::sql`, which diesel never keeps
/// prepared: its text is fixed, so each connection prepares it once.
#[derive(Clone)]
pub(crate) struct TrigramGlob(pub(crate) String);

impl Expression for TrigramGlob {
    type SqlType = Bool;
}

impl<DB> QueryFragment<DB> for TrigramGlob
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("members.id IN (SELECT rowid FROM members_search WHERE search_key GLOB ");
        out.push_bind_param::<Text, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

/// What lets a hand-written SQL fragment stand as an expression on any query: no
/// static query id (diesel then keeps the statement prepared by its text), valid on
/// every table, never an aggregate.
macro_rules! sql_fragment_expression {
    ($($t:ty),*) => {$(
        impl diesel::query_builder::QueryId for $t {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl<QS> diesel::expression::AppearsOnTable<QS> for $t {}
        impl<QS> diesel::expression::SelectableExpression<QS> for $t {}
        impl diesel::expression::ValidGrouping<()> for $t {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    )*};
}
pub(crate) use sql_fragment_expression;

sql_fragment_expression!(TrigramGlob);

diesel::define_sql_function! {
    /// Where `needle` starts in `haystack`, from 1; 0 when it does not occur.
    fn strpos(haystack: Text, needle: Text) -> diesel::sql_types::Integer;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100k members; `common` held by half of them, `listed` by 1%, any other
    /// trigram by at most 0.1%.
    fn shares(common: &[&str], listed: &[&str]) -> TrigramShares {
        let mut all: Vec<String> = common.iter().map(|t| (*t).to_owned()).collect();
        let mut figures = vec![0.5; all.len()];
        all.extend(listed.iter().map(|t| (*t).to_owned()));
        figures.resize(all.len(), 0.01);
        all.push("zzz".into());
        figures.push(0.001);
        TrigramShares::from_statistics(all, &figures, 100_000.0)
    }

    fn parts(plan: &SearchPlan) -> Vec<&str> {
        plan.parts.iter().map(String::as_str).collect()
    }

    #[test]
    fn asks_for_the_runs_without_common_trigrams() {
        let shared = shares(&["use", "ser", "er7", "exa", "xam"], &[]);
        let user = plan("user7777", &shared);
        assert_eq!((parts(&user), user.narrowed), (vec!["r7777"], true));
        // Runs of other words count too, longest first; shorter than three letters
        // they give the index nothing.
        assert_eq!(parts(&plan("ann.user@example", &shared)), ["ample", "ann"]);
        assert_eq!(parts(&plan("usera", &shared)), ["era"]);
        assert_eq!(parts(&plan("äüser", &shared)), ["äüse"]);
    }

    #[test]
    fn keeps_the_whole_term_when_nothing_narrows_it() {
        let shared = shares(&["use", "ser"], &[]);
        for term in ["ann lee", "user"] {
            let whole = plan(term, &shared);
            assert_eq!((parts(&whole), whole.narrowed), (vec![term], false));
        }
        let unknown = plan("user7777", &TrigramShares::default());
        assert_eq!(
            (parts(&unknown), unknown.narrowed),
            (vec!["user7777"], false)
        );
    }

    #[test]
    fn at_most_a_few_parts() {
        let shared = shares(&["xyz"], &[]);
        let many = plan("aaaxyzbbbbxyzccccc xyzdd xyzeeeeee", &shared);
        assert_eq!(parts(&many), ["yzbbbbxy", "yzeeeeee", "yzccccc"]);
    }

    #[test]
    fn few_when_the_statistics_bound_the_matches() {
        // "r12" is listed at 1% (1000 members); unlisted trigrams at most 0.1%.
        let shared = shares(&["use", "ser", "er1"], &["r12", "123"]);
        assert!(plan("user12", &shared).few, "narrowed to r12: 1000");
        assert!(plan("user123", &shared).few);
        assert!(!plan("user1", &shared).few, "er1 alone: 50000");
        assert!(plan("qqq", &shared).few, "unlisted: at most 100");
        assert!(!plan("qq", &shared).few, "no trigram, no bound");
        assert!(!plan("qqq", &TrigramShares::default()).few, "no statistics");
    }

    #[test]
    fn common_means_more_members_than_a_page_or_two() {
        let trigrams = vec!["use".into(), "er7".into(), "777".into()];
        let figures = [1.0, 0.11, 0.01, 0.01, 1.0, 0.0];
        let read = TrigramShares::from_statistics(trigrams.clone(), &figures, 100_000.0);
        assert!(read.is_common("use") && read.is_common("er7") && !read.is_common("777"));
        let small = TrigramShares::from_statistics(trigrams, &figures, 1000.0);
        assert!(
            !small.is_common("use"),
            "no list of a thousand members is long"
        );
    }
}
