//! A member's sessions: listed with where they signed in from and when last used
//! (moved at most once a minute), ended one by one or all at once, by the member or by
//! whoever manages the member's sessions; each revoke audited.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    own_sessions_show_where_and_when,
    last_seen_moves_at_most_once_a_minute,
    others_sessions_need_the_permission_and_the_role,
    revoking_one_session_ends_it_alone,
    revoking_all_sessions_keeps_ones_own_current_one,
    ended_sessions_are_neither_listed_nor_counted_as_revoked,
);

const SESSIONS: &str = "query($id: ID!) { member(id: $id) { sessions { id current ip userAgent createdAt lastSeenAt expiresAt } } }";
const MY_SESSIONS: &str =
    "{ me { sessions { id current ip userAgent createdAt lastSeenAt expiresAt } } }";
const REVOKE: &str =
    "mutation($id: ID!) { revokeSession(id: $id) { revokedCount errors { code field } } }";
const REVOKE_ALL: &str =
    "mutation($m: ID!) { revokeAllSessions(memberId: $m) { revokedCount errors { code field } } }";

/// Signs in from a browser announcing itself as `agent`; the token.
async fn login_as(app: &TestApp, email: &str, password: &str, agent: &str) -> String {
    let body: Value = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("user-agent", agent)
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["login"]["session"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {body}"))
        .to_owned()
}

/// A role that sees members, and one that also manages their sessions.
async fn viewer_and_manager_roles(app: &TestApp, admin: &str) -> (String, String) {
    let viewer = app.create_role(admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let manager = app
        .create_role(
            admin,
            "Session manager",
            &["MEMBERS_VIEW", "MEMBERS_SESSIONS_MANAGE"],
        )
        .await;
    (viewer, manager)
}

fn list(data: &Value, root: &str) -> Vec<Value> {
    data[root]["sessions"].as_array().unwrap().clone()
}

async fn own_sessions_show_where_and_when(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (_, first) = app.member_with("dev@example.com", &role).await;
    app.clock.advance(Duration::seconds(5));
    let second = login_as(
        &app,
        "dev@example.com",
        MEMBER_PASSWORD,
        "Firefox/140.0 (test)",
    )
    .await;
    let seen = app.ok(Some(&second), MY_SESSIONS, json!({})).await;
    let sessions = list(&seen, "me");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    // Most recently used first: the second sign-in, which is the one asking.
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["userAgent"], "Firefox/140.0 (test)");
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
    assert_eq!(sessions[1]["current"], false);
    assert_eq!(sessions[0]["createdAt"], sessions[0]["lastSeenAt"]);
    assert!(sessions[0]["expiresAt"].as_str() > sessions[0]["createdAt"].as_str());
    // The first session sees the same two, itself current.
    let from_first = app.ok(Some(&first), MY_SESSIONS, json!({})).await;
    let current: Vec<bool> = list(&from_first, "me")
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, true]);
}

async fn last_seen_moves_at_most_once_a_minute(app: TestApp) {
    let admin = app.admin().await;
    let created = list(&app.ok(Some(&admin), MY_SESSIONS, json!({})).await, "me")[0].clone();
    app.clock.advance(Duration::seconds(59));
    let statements = app.statements();
    app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    let one_request = app.statements() - statements;
    let early = list(&app.ok(Some(&admin), MY_SESSIONS, json!({})).await, "me")[0].clone();
    assert_eq!(
        early["lastSeenAt"], created["lastSeenAt"],
        "not yet a minute"
    );
    app.clock.advance(Duration::seconds(2));
    let statements = app.statements();
    app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    assert_eq!(
        app.statements() - statements,
        one_request + 1,
        "one write once the minute is up"
    );
    let moved = list(&app.ok(Some(&admin), MY_SESSIONS, json!({})).await, "me")[0].clone();
    assert!(
        moved["lastSeenAt"].as_str() > created["lastSeenAt"].as_str(),
        "{moved}"
    );
    let statements = app.statements();
    app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    assert_eq!(app.statements() - statements, one_request, "and then none");
}

async fn others_sessions_need_the_permission_and_the_role(app: TestApp) {
    let admin = app.admin().await;
    let (viewer_role, manager_role) = viewer_and_manager_roles(&app, &admin).await;
    let (dev, _) = app.member_with("dev@example.com", &viewer_role).await;
    let (_, viewer) = app.member_with("viewer@example.com", &viewer_role).await;
    let (_, manager) = app.member_with("manager@example.com", &manager_role).await;
    let admin_id = app.ok(Some(&admin), "{ me { id } }", json!({})).await["me"]["id"].clone();
    let dev = json!({ "id": dev.to_string() });
    // Without the permission: a FORBIDDEN field error, not an empty list.
    let refused = app.gql(Some(&viewer), SESSIONS, dev.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(refused["errors"][0]["path"], json!(["member", "sessions"]));
    // With it, on a member whose role it covers: the list.
    let seen = app.ok(Some(&manager), SESSIONS, dev.clone()).await;
    assert_eq!(list(&seen, "member").len(), 1);
    assert_eq!(list(&seen, "member")[0]["current"], false);
    // Not on a member whose role holds more.
    let above = app
        .gql(Some(&manager), SESSIONS, json!({ "id": admin_id }))
        .await;
    assert_eq!(error_code(&above), "FORBIDDEN", "{above}");
    // The administrator sees everyone's.
    app.ok(Some(&admin), SESSIONS, dev).await;
}

async fn revoking_one_session_ends_it_alone(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let (dev, first) = app.member_with("dev@example.com", &role).await;
    let second = app.login("dev@example.com", MEMBER_PASSWORD).await;
    let (_, other) = app.member_with("other@example.com", &role).await;
    let sessions = list(&app.ok(Some(&first), MY_SESSIONS, json!({})).await, "me");
    let second_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].clone();
    // Another member without the permission, or an unknown id: NOT_FOUND, nothing ends.
    for (token, id) in [
        (&other, second_id.clone()),
        (&first, json!("999999")),
        (&first, json!("x")),
    ] {
        let refused = app.ok(Some(token), REVOKE, json!({ "id": id })).await;
        assert_eq!(
            refused["revokeSession"],
            json!({ "revokedCount": 0, "errors": [{ "code": "NOT_FOUND", "field": ["id"] }] })
        );
    }
    app.ok(Some(&second), "{ me { id } }", json!({})).await;
    // One's own: that session ends, the other goes on.
    let done = app
        .ok(Some(&first), REVOKE, json!({ "id": second_id }))
        .await;
    assert_eq!(
        done["revokeSession"],
        json!({ "revokedCount": 1, "errors": [] })
    );
    let ended = app.gql(Some(&second), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED");
    app.ok(Some(&first), "{ me { id } }", json!({})).await;
    // Ending it again: not live, so NOT_FOUND.
    let again = app
        .ok(Some(&first), REVOKE, json!({ "id": second_id }))
        .await;
    assert_eq!(again["revokeSession"]["errors"][0]["code"], "NOT_FOUND");
    // The administrator ends another member's; each revoke is audited.
    let sessions = list(
        &app.ok(Some(&admin), SESSIONS, json!({ "id": dev.to_string() }))
            .await,
        "member",
    );
    let first_id = sessions[0]["id"].clone();
    let done = app
        .ok(Some(&admin), REVOKE, json!({ "id": first_id }))
        .await;
    assert_eq!(done["revokeSession"]["revokedCount"], 1);
    let ended = app.gql(Some(&first), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED");
    let revokes: Vec<Value> = app
        .audit(&admin)
        .await
        .into_iter()
        .filter(|e| e["action"] == "SESSION_REVOKED")
        .collect();
    assert_eq!(revokes.len(), 2, "{revokes:?}");
    assert_eq!(revokes[0]["actor"]["email"], ADMIN_EMAIL);
    assert_eq!(revokes[1]["actor"]["email"], "dev@example.com");
    assert!(
        revokes
            .iter()
            .all(|e| e["targetMember"]["email"] == "dev@example.com")
    );
}

async fn revoking_all_sessions_keeps_ones_own_current_one(app: TestApp) {
    let admin = app.admin().await;
    let (viewer_role, manager_role) = viewer_and_manager_roles(&app, &admin).await;
    let (dev, first) = app.member_with("dev@example.com", &viewer_role).await;
    let second = app.login("dev@example.com", MEMBER_PASSWORD).await;
    let third = app.login("dev@example.com", MEMBER_PASSWORD).await;
    let (_, manager) = app.member_with("manager@example.com", &manager_role).await;
    let (_, viewer) = app.member_with("viewer@example.com", &viewer_role).await;
    let dev_id = json!({ "m": dev.to_string() });
    // For oneself: every other session, the current one stays.
    let mine = app.ok(Some(&first), REVOKE_ALL, dev_id.clone()).await;
    assert_eq!(
        mine["revokeAllSessions"],
        json!({ "revokedCount": 2, "errors": [] })
    );
    for ended in [&second, &third] {
        assert_eq!(
            error_code(&app.gql(Some(ended), "{ me { id } }", json!({})).await),
            "UNAUTHENTICATED"
        );
    }
    app.ok(Some(&first), "{ me { id } }", json!({})).await;
    // Another's: the permission is named; a role holding more is PRIVILEGE_ESCALATION;
    // an unknown member NOT_FOUND.
    let refused = app.gql(Some(&viewer), REVOKE_ALL, dev_id.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let above = app
        .ok(
            Some(&manager),
            REVOKE_ALL,
            json!({ "m": app.ok(Some(&admin), "{ me { id } }", json!({})).await["me"]["id"] }),
        )
        .await;
    assert_eq!(
        above["revokeAllSessions"]["errors"][0]["code"],
        "PRIVILEGE_ESCALATION"
    );
    app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    let unknown = app
        .ok(Some(&manager), REVOKE_ALL, json!({ "m": "999999" }))
        .await;
    assert_eq!(
        unknown["revokeAllSessions"]["errors"],
        json!([{ "code": "NOT_FOUND", "field": ["memberId"] }])
    );
    // The manager ends all of dev's, their own untouched.
    let all = app.ok(Some(&manager), REVOKE_ALL, dev_id).await;
    assert_eq!(
        all["revokeAllSessions"],
        json!({ "revokedCount": 1, "errors": [] })
    );
    assert_eq!(
        error_code(&app.gql(Some(&first), "{ me { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    app.ok(Some(&manager), "{ me { id } }", json!({})).await;
    let events: Vec<Value> = app
        .audit(&admin)
        .await
        .into_iter()
        .filter(|e| e["action"] == "SESSION_REVOKED")
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["actor"]["email"], "manager@example.com");
}

async fn ended_sessions_are_neither_listed_nor_counted_as_revoked(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (dev, _) = app.member_with("dev@example.com", &role).await;
    // Sessions last 12 hours: the first one ends while the second lives on.
    app.clock.advance(Duration::hours(11));
    let second = app.login("dev@example.com", MEMBER_PASSWORD).await;
    app.clock.advance(Duration::hours(2));
    let mine = list(&app.ok(Some(&second), MY_SESSIONS, json!({})).await, "me");
    assert_eq!(mine.len(), 1, "{mine:?}");
    let none = app
        .ok(Some(&second), REVOKE_ALL, json!({ "m": dev.to_string() }))
        .await;
    assert_eq!(
        none["revokeAllSessions"],
        json!({ "revokedCount": 0, "errors": [] })
    );
    let admin = app.admin().await;
    let events = app.audit(&admin).await;
    assert!(
        events.iter().all(|e| e["action"] != "SESSION_REVOKED"),
        "{events:?}"
    );
}
