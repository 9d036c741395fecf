//! Acts without a lock on every act: an act whose transaction is still open holds up no
//! act on another member, even of the same role or granting the same role, and the live
//! feed delivers each change once it commits, in the order they committed, resumable
//! from any of them.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::common::*;
use crate::live_client::*;
use crate::on_both_databases;

on_both_databases!(
    an_open_act_holds_up_no_other_and_commits_into_the_feed_in_order,
    the_cursor_of_a_feed_with_no_change_yet_resumes,
);

const SECOND: Duration = Duration::from_secs(1);
const FREEZE: &str = "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code } } }";

/// Moves `member` to role `granted` in a transaction left open, taking the locks
/// editPermission takes (the granted role shared, the member's row) and writing its
/// event: what an act holds until its commit.
async fn open_move(app: &TestApp, member: i64, granted: &str) -> AsyncPgConnection {
    let mut held = AsyncPgConnection::establish(&app.db.raw_url).await.unwrap();
    for sql in [
        "BEGIN".to_owned(),
        format!("SELECT id FROM roles WHERE id = {granted} FOR SHARE"),
        format!(
            "UPDATE members SET role_id = {granted}, version = version + 1 WHERE id = {member}"
        ),
        format!(
            "INSERT INTO audit_events (action, actor_id, target_member_id, target_role_id, details, created_at, changes) \
             VALUES ('MEMBER_PERMISSION_EDITED', 1, {member}, {granted}, '{{}}', now()::timestamp, '[]')"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut held).await.unwrap();
    }
    held
}

async fn an_open_act_holds_up_no_other_and_commits_into_the_feed_in_order(app: TestApp) {
    if app.backend == Backend::Sqlite {
        // One writer at a time is SQLite's design; the point is PostgreSQL's.
        return;
    }
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let sales = app.create_role(&admin, "Sales", &["MEMBERS_VIEW"]).await;
    let emails = [
        "first@example.com",
        "second@example.com",
        "third@example.com",
    ];
    let ids = app.add_members_as(&emails, "Trio", &role).await;
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("s", None).await;
    until_subscribed(&app.state.feed, 1).await;

    // While one member's move to Sales is open: another member of the same role is
    // frozen, and a third moved to Sales too.
    let mut held = open_move(&app, ids[0], &sales).await;
    let edit = "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { changed errors { code } } }";
    let others = tokio::time::timeout(
        5 * SECOND,
        futures_util::future::join(
            app.ok(Some(&admin), FREEZE, json!({ "m": ids[1].to_string() })),
            app.ok(
                Some(&admin),
                edit,
                json!({ "m": ids[2].to_string(), "r": sales }),
            ),
        ),
    )
    .await;
    let (frozen, moved) = others.expect("an act waited for another act's open transaction");
    assert_eq!(frozen["freeze"]["changed"], true, "{frozen}");
    assert_eq!(moved["editPermission"]["changed"], true, "{moved}");
    // The committed acts are delivered while the other is still open.
    let delivered = [
        live.change("s", 5 * SECOND).await,
        live.change("s", 5 * SECOND).await,
    ];
    let mut members: Vec<&Value> = delivered.iter().map(|c| &c["member"]["id"]).collect();
    members.sort_by_key(|id| id.as_str().map(str::to_owned));
    assert_eq!(
        members,
        [&json!(ids[1].to_string()), &json!(ids[2].to_string())]
    );
    let second = delivered[1].clone();

    diesel::sql_query("COMMIT")
        .execute(&mut held)
        .await
        .unwrap();
    // Committed later, delivered after (numbered by the sequencer's periodic pass, as
    // this commit was not one of the server's own).
    let first = live.change("s", 5 * SECOND).await;
    assert_eq!(first["member"]["id"], ids[0].to_string(), "{first}");
    assert_eq!(first["member"]["role"]["id"], sales, "{first}");
    assert!(cursor_id(&first) > cursor_id(&second));

    // Resuming after the first delivered change gives the second one, and only it.
    let mut again = Live::connect(&app.base, &admin).await;
    again.subscribe("r", second["cursor"].as_str()).await;
    let resumed: Vec<Value> = again.drain("r", SECOND).await;
    assert_eq!(resumed, vec![first]);
}

async fn the_cursor_of_a_feed_with_no_change_yet_resumes(app: TestApp) {
    let admin = app.admin().await;
    let cursor = app.ok(Some(&admin), "{ liveCursor }", json!({})).await["liveCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        cursor_id(&json!({ "cursor": cursor })),
        0,
        "the feed had a change"
    );
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("s", Some(&cursor)).await;
    let created = live.change("s", 5 * SECOND).await;
    assert_eq!(created["action"], "ROLE_CREATED", "{created}");
    assert_eq!(created["role"]["id"], role);
}
