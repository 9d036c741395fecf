//! The member counters behind `totalCount` and `memberCount` under acts: exact before
//! and after a fold, and, on PostgreSQL, no counter row that acts on two members of
//! one role both wait for.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

const FREEZE: &str = "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code } } }";
const RECOVER: &str = "mutation($m: ID!) { recover(memberId: $m) { changed errors { code } } }";
const EDIT: &str = "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { changed errors { code } } }";
const COUNTS: &str = "query($r: ID!) {
  active: members(filter: { status: ACTIVE }) { totalCount }
  frozen: members(filter: { status: FROZEN }) { totalCount }
  inRole: members(filter: { roleId: $r }) { totalCount }
  role(id: $r) { memberCount }
}";

on_both_databases!(
    counts_stay_exact_through_acts_and_folds,
    an_open_change_to_one_member_does_not_hold_up_an_act_on_another_of_its_role,
);

async fn counts(app: &TestApp, token: &str, role: &str) -> serde_json::Value {
    let data = app.ok(Some(token), COUNTS, json!({ "r": role })).await;
    json!([
        data["active"]["totalCount"],
        data["frozen"]["totalCount"],
        data["inRole"]["totalCount"],
        data["role"]["memberCount"],
    ])
}

async fn act(app: &TestApp, token: &str, query: &str, variables: serde_json::Value) {
    let data = app.ok(Some(token), query, variables).await;
    let payload = data.as_object().unwrap().values().next().unwrap();
    assert_eq!(payload["changed"], true, "{data}");
}

async fn counts_stay_exact_through_acts_and_folds(app: TestApp) {
    let admin = app.admin().await;
    let support = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let sales = app.create_role(&admin, "Sales", &["MEMBERS_VIEW"]).await;
    let emails: Vec<String> = (0..6).map(|i| format!("c{i}@example.com")).collect();
    let ids = app.add_members_as(&emails, "Counted", &support).await;
    assert_eq!(counts(&app, &admin, &support).await, json!([7, 0, 6, 6]));

    for id in &ids[..4] {
        act(&app, &admin, FREEZE, json!({ "m": id.to_string() })).await;
    }
    act(&app, &admin, RECOVER, json!({ "m": ids[0].to_string() })).await;
    for id in &ids[4..] {
        act(
            &app,
            &admin,
            EDIT,
            json!({ "m": id.to_string(), "r": sales }),
        )
        .await;
    }
    let expected = json!([4, 3, 4, 4]);
    assert_eq!(counts(&app, &admin, &support).await, expected);

    let mut conn = app.state.pool.get().await.unwrap();
    let folded = roster::domain::counters::fold(&mut conn).await.unwrap();
    assert_eq!(
        counts(&app, &admin, &support).await,
        expected,
        "a fold changed a count"
    );
    if app.backend == Backend::Postgres {
        // Each act added its own rows: the fold merged them, and a second has nothing to do.
        assert!(folded > 0, "nothing was folded");
        assert_eq!(roster::domain::counters::fold(&mut conn).await.unwrap(), 0);
    }
    assert_eq!(
        roster::domain::roles::active_admins(&app.state.pool)
            .await
            .unwrap(),
        1
    );
}

/// A transaction that froze one member and has not committed (as an act does until its
/// commit) leaves an act on another member of the same role free to finish.
async fn an_open_change_to_one_member_does_not_hold_up_an_act_on_another_of_its_role(app: TestApp) {
    let admin = app.admin().await;
    let support = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let ids = app
        .add_members_as(&["held@example.com", "free@example.com"], "Pair", &support)
        .await;
    if app.backend == Backend::Sqlite {
        // One writer at a time is SQLite's design; the point is PostgreSQL's.
        return;
    }
    let mut held = AsyncPgConnection::establish(&app.db.raw_url).await.unwrap();
    diesel::sql_query("BEGIN").execute(&mut held).await.unwrap();
    diesel::sql_query(format!(
        "UPDATE members SET status = 'FROZEN', version = version + 1 WHERE id = {}",
        ids[0]
    ))
    .execute(&mut held)
    .await
    .unwrap();
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        act(&app, &admin, FREEZE, json!({ "m": ids[1].to_string() })),
    )
    .await;
    diesel::sql_query("ROLLBACK")
        .execute(&mut held)
        .await
        .unwrap();
    assert!(
        other.is_ok(),
        "the act on another member waited for the open transaction"
    );
    assert_eq!(counts(&app, &admin, &support).await, json!([2, 1, 2, 2]));
}
