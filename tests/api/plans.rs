//! PostgreSQL plans the members page once per connection, not once per request: a
//! page narrowed by status at most (first, and by cursor) is a statement whose generic plan is as good
//! as a custom one, so PostgreSQL keeps it after its five custom plans. (SQLite has no
//! such choice: a prepared statement there keeps its one plan.)

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::common::*;

const PAGE: &str = "query($after: String) { members(first: 50, after: $after) { totalCount \
                    pageInfo { endCursor } nodes { id email role { name } } } }";

const ACTIVE: &str = "{ members(first: 50, filter: { status: ACTIVE }) { nodes { id } } }";

#[derive(QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_page_is_planned_once_per_connection_not_per_request() {
    // One connection, so that every request's statements are prepared on it.
    let Some(app) =
        TestApp::start_with(Backend::Postgres, roster::http::HttpOptions::default(), 1).await
    else {
        return;
    };
    let token = app.admin().await;
    let role = app.admin_role_id().await;
    // Enough members that a generic plan's guess for `LIMIT $n` (a tenth of them) is
    // dearer than a page: with a few hundred, `LIMIT $n` would pass too.
    let insert = format!(
        "INSERT INTO members (email, email_key, name, search_key, role_id, status, \
         password_hash, must_change_password, created_at, updated_at) \
         SELECT 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i, \
         'user' || i, {role}, 'ACTIVE', '-', false, now(), now() \
         FROM generate_series(1, 5000) AS i"
    );
    let mut conn = app.state.pool.get().await.unwrap();
    let roster::db::Conn::Pg(c) = &mut conn else {
        unreachable!()
    };
    diesel::sql_query(insert).execute(&mut **c).await.unwrap();
    drop(conn);
    for _ in 0..8 {
        let first = app.ok(Some(&token), PAGE, json!({})).await;
        let cursor = first["members"]["pageInfo"]["endCursor"].clone();
        let next = app.ok(Some(&token), PAGE, json!({ "after": cursor })).await;
        assert_eq!(next["members"]["nodes"].as_array().unwrap().len(), 50);
        let active = app.ok(Some(&token), ACTIVE, json!({})).await;
        assert_eq!(active["members"]["nodes"].as_array().unwrap().len(), 50);
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let roster::db::Conn::Pg(c) = &mut conn else {
        unreachable!()
    };
    let pages: Vec<Prepared> = diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE '%FROM (\"members\" INNER JOIN \"roles\"%' \
         AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .load(&mut **c)
    .await
    .unwrap();
    assert_eq!(
        pages.len(),
        3,
        "the first page, the page by cursor, the active members: {pages:?}"
    );
    for page in &pages {
        assert!(
            page.custom_plans <= 5 && page.generic_plans >= 3,
            "planned again per request ({} generic plans, {} custom): {}",
            page.generic_plans,
            page.custom_plans,
            page.statement
        );
    }
}
