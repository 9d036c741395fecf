//! The audit log: one event per act, in the act's transaction, readable with AUDIT_LOG_VIEW.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const EVENTS: &str = "query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    totalCount
    nodes { id action actor { email } targetMember { email } targetRole { name } details ip createdAt }
    pageInfo { hasNextPage endCursor }
  }
}";

on_both_databases!(
    the_audit_log_filters_by_date_range_and_role,
    every_act_is_recorded_once_without_secrets,
    audit_log_filters_pages_and_needs_permission,
    delete_role_moves_its_invitations
);

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn every_act_is_recorded_once_without_secrets(app: TestApp) {
    // A password typed into the email field must not reach the log.
    app.ok(
        None,
        LOGIN,
        json!({ "email": "Typed-My-Password-Here", "password": "x" }),
    )
    .await;
    let failed = app
        .ok(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": "wrong-password-9" }),
        )
        .await;
    assert_eq!(user_error(&failed, "login"), "INVALID_CREDENTIALS");
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    app.ok(Some(&admin), "mutation($id: ID!) { updateRole(id: $id, input: { description: \"x\" }) { errors { code } } }", json!({ "id": role })).await;
    let (invitation, secret) = app.invite(&admin, &role, None).await;
    let accepted = app
        .accept(&secret, "new@example.com", "New", "new-member-password")
        .await;
    let new_id = accepted["session"]["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = "mutation($id: ID!) { resetPassword(memberId: $id, mode: TEMPORARY_PASSWORD) { temporaryPassword } }";
    let temporary = app.ok(Some(&admin), reset, json!({ "id": new_id })).await["resetPassword"]["temporaryPassword"].as_str().unwrap().to_owned();
    app.ok(
        Some(&admin),
        "mutation($id: ID!) { freeze(memberId: $id, reason: \"audit\") { changed } }",
        json!({ "id": new_id }),
    )
    .await;

    let events = app.audit(&admin).await;
    assert_eq!(
        actions(&events),
        [
            "MEMBER_FROZEN",
            "MEMBER_PASSWORD_RESET",
            "INVITATION_ACCEPTED",
            "MEMBER_INVITED",
            "ROLE_UPDATED",
            "ROLE_CREATED",
            "LOGIN_SUCCEEDED",
            "LOGIN_FAILED",
            "LOGIN_FAILED"
        ],
        "newest first, one per act"
    );
    let by = |action: &str| {
        events
            .iter()
            .find(|e| e["action"] == action)
            .unwrap()
            .clone()
    };
    let login_failed = by("LOGIN_FAILED");
    assert_eq!(
        (
            login_failed["actor"].clone(),
            login_failed["targetMember"]["email"].clone()
        ),
        (json!(null), json!(ADMIN_EMAIL))
    );
    let accepted = by("INVITATION_ACCEPTED");
    assert_eq!(
        (
            accepted["actor"].clone(),
            accepted["targetMember"]["email"].clone()
        ),
        (json!(null), json!("new@example.com"))
    );
    assert_eq!(accepted["targetRole"]["name"], "Support");
    let frozen = by("MEMBER_FROZEN");
    assert_eq!(frozen["actor"]["email"], ADMIN_EMAIL);
    let details: Value = serde_json::from_str(frozen["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["reason"], "audit");
    let updated: Value =
        serde_json::from_str(by("ROLE_UPDATED")["details"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            updated["before"]["description"].as_str(),
            updated["after"]["description"].as_str()
        ),
        (Some(""), Some("x"))
    );
    assert_eq!(by("MEMBER_INVITED")["targetRole"]["name"], "Support");
    assert!(
        serde_json::from_str::<Value>(by("MEMBER_INVITED")["details"].as_str().unwrap()).unwrap()["invitationId"]
            == invitation
    );
    for event in &events {
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        let details = event["details"].as_str().unwrap();
        assert!(serde_json::from_str::<Value>(details).unwrap().is_object());
        for secret in [
            ADMIN_PASSWORD,
            "wrong-password-9",
            "Typed-My-Password-Here",
            "new-member-password",
            secret.as_str(),
            temporary.as_str(),
            "argon2",
        ] {
            assert!(!details.contains(secret), "{secret} leaked into {details}");
        }
    }
}

async fn audit_log_filters_pages_and_needs_permission(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, viewer) = app.member_with("v@example.com", &role).await;
    for _ in 0..3 {
        app.ok(
            None,
            LOGIN,
            json!({ "email": "v@example.com", "password": "wrong-password" }),
        )
        .await;
    }
    let q = |filter: Value| app.ok(Some(&admin), EVENTS, json!({ "filter": filter }));
    let failed = q(json!({ "action": "LOGIN_FAILED" })).await["auditEvents"].clone();
    assert_eq!(failed["totalCount"], 3);
    let about = q(json!({ "targetMemberId": member.to_string() })).await["auditEvents"].clone();
    assert_eq!(
        actions(about["nodes"].as_array().unwrap()),
        [
            "LOGIN_FAILED",
            "LOGIN_FAILED",
            "LOGIN_FAILED",
            "LOGIN_SUCCEEDED"
        ]
    );
    let me = app.ok(Some(&admin), "{ me { id } }", json!({})).await["me"]["id"].clone();
    let mine = q(json!({ "actorId": me })).await["auditEvents"].clone();
    assert_eq!(
        actions(mine["nodes"].as_array().unwrap()),
        ["ROLE_CREATED", "LOGIN_SUCCEEDED"]
    );
    assert_eq!(
        q(json!({ "actorId": "garbage" })).await["auditEvents"]["totalCount"],
        0
    );
    let page = app.ok(Some(&admin), EVENTS, json!({ "first": 2 })).await["auditEvents"].clone();
    assert_eq!(
        (
            page["nodes"].as_array().unwrap().len(),
            page["pageInfo"]["hasNextPage"].clone()
        ),
        (2, json!(true))
    );
    let rest = app
        .ok(
            Some(&admin),
            EVENTS,
            json!({ "first": 50, "after": page["pageInfo"]["endCursor"] }),
        )
        .await["auditEvents"]
        .clone();
    assert_eq!(
        rest["nodes"].as_array().unwrap().len() + 2,
        page["totalCount"].as_u64().unwrap() as usize
    );
    assert_eq!(
        error_code(&app.gql(Some(&viewer), EVENTS, json!({})).await),
        "FORBIDDEN"
    );
}

async fn delete_role_moves_its_invitations(app: TestApp) {
    let admin = app.admin().await;
    let old = app.create_role(&admin, "Old", &["MEMBERS_VIEW"]).await;
    let new = app.create_role(&admin, "New", &["MEMBERS_VIEW"]).await;
    let (_, secret) = app.invite(&admin, &old, None).await;
    let delete = "mutation($id: ID!, $to: ID) { deleteRole(id: $id, reassignTo: $to) { deletedRoleId errors { code } } }";
    let refused = app.ok(Some(&admin), delete, json!({ "id": old })).await;
    assert_eq!(
        user_error(&refused, "deleteRole"),
        "ROLE_IN_USE",
        "a pending invitation holds the role"
    );
    let done = app
        .ok(Some(&admin), delete, json!({ "id": old, "to": new }))
        .await;
    assert_eq!(done["deleteRole"]["deletedRoleId"], old);
    let accepted = app
        .accept(&secret, "late@example.com", "Late", "new-member-password")
        .await;
    assert_eq!(accepted["session"]["member"]["role"]["name"], "New");
    let events = app.audit(&admin).await;
    let deleted = events
        .iter()
        .find(|e| e["action"] == "ROLE_DELETED")
        .unwrap();
    assert_eq!(
        deleted["targetRole"],
        json!(null),
        "the role is gone; its name stays in details"
    );
    assert!(deleted["details"].as_str().unwrap().contains("\"Old\""));
}

async fn the_audit_log_filters_by_date_range_and_role(app: TestApp) {
    let admin = app.admin().await;
    let start = roster::clock::Clock::now(app.clock.as_ref()).and_utc();
    let early = app.create_role(&admin, "Early", &[]).await;
    app.clock.advance(chrono::Duration::days(2));
    let admin = app.admin().await;
    app.create_role(&admin, "Late", &[]).await;
    app.clock.advance(chrono::Duration::days(2));
    let admin = app.admin().await;
    let q = "query($f: AuditEventFilter) {
      auditEvents(first: 50, filter: $f) { totalCount nodes { action targetRole { name } } }
    }";
    let day = |n: i64| (start + chrono::Duration::days(n)).to_rfc3339();
    let roles_in = |data: &Value| -> Vec<String> {
        data["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "ROLE_CREATED")
            .map(|e| e["targetRole"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // From inclusive, to exclusive.
    let first_day = app
        .ok(
            Some(&admin),
            q,
            json!({ "f": { "from": start.to_rfc3339(), "to": day(1) } }),
        )
        .await;
    assert_eq!(roles_in(&first_day), ["Early"]);
    let later = app
        .ok(
            Some(&admin),
            q,
            json!({ "f": { "from": day(2), "to": day(3) } }),
        )
        .await;
    assert_eq!(roles_in(&later), ["Late"]);
    // The administrator's sign-in that day, then the role.
    assert_eq!(later["auditEvents"]["totalCount"], 2);
    let none = app
        .ok(
            Some(&admin),
            q,
            json!({ "f": { "from": day(2), "to": day(2) } }),
        )
        .await;
    assert_eq!(none["auditEvents"]["totalCount"], 0);
    // By the role acted on.
    let by_role = app
        .ok(Some(&admin), q, json!({ "f": { "targetRoleId": early } }))
        .await;
    assert_eq!(roles_in(&by_role), ["Early"]);
    assert_eq!(by_role["auditEvents"]["totalCount"], 1);
    // A range that ends before it starts is refused.
    let bad = app
        .gql(
            Some(&admin),
            q,
            json!({ "f": { "from": day(3), "to": day(1) } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
}
