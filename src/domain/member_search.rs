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

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::backend::Backend;
use diesel::expression::{ValidGrouping, is_aggregate};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, Bool, Float4, HasSqlType, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::db::Conn;

/// A trigram is common when its posting list holds more members than this: past a
/// page or two of the index, reading it costs more than checking the rows the other
/// trigrams find (at 100k members, a trigram of 11% of them cost 0.3 ms).
const COMMON_MEMBERS: f64 = 4096.0;

/// How long statistics read from the database are used before they are read again;
/// autovacuum's ANALYZE renews them no more often than a table changes by a tenth.
const REFRESH: Duration = Duration::from_secs(300);

/// At most this many parts of a term are asked of the index (each is a `LIKE`, and
/// each number of them a statement of its own).
const MAX_PARTS: usize = 3;

/// A substring search, as each backend's trigram index answers it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pattern {
    /// PostgreSQL: members whose search key is `LIKE` each of `index` (with `\`
    /// escapes; pg_trgm answers them), and, when those are parts of the term only,
    /// contains `whole`.
    Like {
        index: Vec<String>,
        whole: Option<String>,
    },
    /// SQLite: `GLOB` on the FTS5 trigram table (its index does not serve `ESCAPE`).
    Glob(String),
}

impl Pattern {
    /// The search `term` (lower-cased) in the form `conn`'s backend answers.
    pub(crate) async fn of(term: &str, conn: &mut Conn, hints: &SearchHints) -> Pattern {
        match conn {
            Conn::Pg(_) => {
                let common = hints.common(conn).await;
                match narrowed(term, &common) {
                    Some(parts) => Pattern::Like {
                        index: parts.iter().map(|p| like(p)).collect(),
                        whole: Some(term.to_owned()),
                    },
                    None => Pattern::Like {
                        index: vec![like(term)],
                        whole: None,
                    },
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
fn like(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The parts of `term` worth asking the trigram index for, longest first, when some of
/// its trigrams are common; `None` when the whole term is (no common trigram, or no
/// part of three letters without one, so the index has nothing better to go on).
///
/// A part is a run of letters and digits of the term holding none of the common
/// trigrams: pg_trgm takes the trigrams of `LIKE '%part%'` from the part alone, with no
/// padding at either end.
pub fn narrowed(term: &str, common: &CommonTrigrams) -> Option<Vec<String>> {
    if common.0.is_empty() {
        return None;
    }
    let chars: Vec<char> = term.chars().collect();
    let mut parts: Vec<&[char]> = Vec::new();
    let mut blocked = false;
    for word in chars.split(|c| !c.is_alphanumeric()) {
        let mut start = 0;
        for (i, trigram) in word.windows(3).enumerate() {
            if common.0.contains(&trigram.iter().collect::<String>()) {
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

/// Trigrams (as pg_trgm writes them) that too many members share to narrow a search.
#[derive(Debug, Default)]
pub struct CommonTrigrams(HashSet<String>);

impl CommonTrigrams {
    /// From the trigrams ANALYZE found most often, their shares of the members, and
    /// the number of members.
    fn from_statistics(trigrams: Vec<String>, shares: &[f32], members: f32) -> Self {
        let common = trigrams
            .into_iter()
            .zip(shares)
            .filter(|(_, share)| f64::from(**share) * f64::from(members) > COMMON_MEMBERS)
            .map(|(t, _)| t)
            .collect();
        CommonTrigrams(common)
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

/// The common trigrams of the search keys, as the database's statistics last told.
#[derive(Default)]
pub struct SearchHints {
    read: Mutex<Option<(Instant, Arc<CommonTrigrams>)>>,
}

impl SearchHints {
    /// The common trigrams, read again from the database when older than [`REFRESH`].
    /// Statistics that cannot be read (no pg_trgm, a server before 14, no ANALYZE yet)
    /// leave none: searches then ask the index for the whole term.
    pub async fn common(&self, conn: &mut Conn) -> Arc<CommonTrigrams> {
        if let Some((at, common)) = &*self.lock()
            && at.elapsed() < REFRESH
        {
            return common.clone();
        }
        let common = match read_statistics(conn).await {
            Ok(common) => common,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the search key statistics");
                CommonTrigrams::default()
            }
        };
        let common = Arc::new(common);
        *self.lock() = Some((Instant::now(), common.clone()));
        common
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<CommonTrigrams>)>> {
        // A panic elsewhere cannot leave a half-written hint: the value is replaced whole.
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn read_statistics(conn: &mut Conn) -> QueryResult<CommonTrigrams> {
    let Conn::Pg(c) = conn else {
        return Ok(CommonTrigrams::default());
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
        }) => CommonTrigrams::from_statistics(trigrams, &shares, members),
        _ => CommonTrigrams::default(),
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

impl QueryId for TrigramGlob {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> AppearsOnTable<QS> for TrigramGlob {}
impl<QS> SelectableExpression<QS> for TrigramGlob {}
impl ValidGrouping<()> for TrigramGlob {
    type IsAggregate = is_aggregate::Never;
}

diesel::define_sql_function! {
    /// Where `needle` starts in `haystack`, from 1; 0 when it does not occur.
    fn strpos(haystack: Text, needle: Text) -> diesel::sql_types::Integer;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(trigrams: &[&str]) -> CommonTrigrams {
        CommonTrigrams(trigrams.iter().map(|t| (*t).to_owned()).collect())
    }

    #[test]
    fn asks_for_the_run_without_common_trigrams() {
        let shared = common(&["use", "ser", "er7", "exa", "xam"]);
        assert_eq!(narrowed("user7777", &shared), Some(vec!["r7777".into()]));
        // Runs of other words count too, longest first; shorter than three letters
        // they give the index nothing.
        assert_eq!(
            narrowed("ann.user@example", &shared),
            Some(vec!["ample".into(), "ann".into()])
        );
        assert_eq!(narrowed("usera", &shared), Some(vec!["era".into()]));
    }

    #[test]
    fn keeps_the_whole_term_when_nothing_narrows_it() {
        let shared = common(&["use", "ser"]);
        assert_eq!(narrowed("ann lee", &shared), None, "no common trigram");
        assert_eq!(narrowed("user", &shared), None, "every trigram common");
        assert_eq!(narrowed("user7777", &CommonTrigrams::default()), None);
        assert_eq!(narrowed("äüser", &shared), Some(vec!["äüse".into()]));
    }

    #[test]
    fn at_most_a_few_parts() {
        let shared = common(&["xyz"]);
        let parts = narrowed("aaaxyzbbbbxyzccccc xyzdd xyzeeeeee", &shared).unwrap();
        assert_eq!(parts, ["yzbbbbxy", "yzeeeeee", "yzccccc"].map(String::from));
    }

    #[test]
    fn common_means_more_members_than_a_page_or_two() {
        let trigrams = vec!["use".into(), "er7".into(), "777".into()];
        let shares = [1.0, 0.11, 0.01, 0.5, 0.0, 0.0];
        let read = CommonTrigrams::from_statistics(trigrams.clone(), &shares, 100_000.0);
        assert!(read.0.contains("use") && read.0.contains("er7") && !read.0.contains("777"));
        let small = CommonTrigrams::from_statistics(trigrams, &shares, 1000.0);
        assert!(small.0.is_empty(), "no list of a thousand members is long");
    }
}
