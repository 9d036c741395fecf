//! Invitations: invite, preview, accept, reissue, revoke and the list.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const PREVIEW: &str =
    "query($token: String!) { invitationPreview(token: $token) { roleName email expiresAt } }";
const LIST: &str = "query($status: InvitationStatus, $first: Int, $after: String) {
  invitations(status: $status, first: $first, after: $after) {
    totalCount nodes { id status email revokedAt acceptedAt acceptedBy { email } }
    pageInfo { hasNextPage endCursor }
  }
}";
const REISSUE: &str = "mutation($id: ID!) { reissueInvitation(id: $id) { invitation { id status expiresAt } link errors { code field } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeInvitation(id: $id) { invitation { id status revokedAt } errors { code field } } }";
const PASSWORD: &str = "new-member-password";

on_both_databases!(
    invite_then_accept_creates_the_member_once,
    invite_checks_role_email_and_privileges,
    bound_invitation_accepts_only_its_address,
    accept_checks_its_input_and_leaves_the_link_usable,
    expired_invitation_cannot_be_accepted,
    reissue_replaces_the_link,
    revoke_kills_the_link,
    concurrent_accepts_use_the_link_exactly_once,
    invitations_of_a_frozen_inviter_stop_working,
    invitations_list_pages_and_filters_by_status,
);

async fn preview(app: &TestApp, secret: &str) -> Value {
    app.ok(None, PREVIEW, json!({ "token": secret })).await["invitationPreview"].clone()
}

async fn list(app: &TestApp, token: &str, status: Option<&str>) -> Value {
    app.ok(Some(token), LIST, json!({ "status": status })).await["invitations"].clone()
}

async fn invite_then_accept_creates_the_member_once(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let data = app
        .ok(
            Some(&admin),
            INVITE,
            json!({ "roleId": role, "validity": "SEVEN_DAYS" }),
        )
        .await;
    let link = data["invite"]["link"].as_str().unwrap();
    assert!(link.starts_with("http://frontend.test/invite/"), "{link}");
    let secret = secret_of(link);
    assert_eq!(secret.len(), 43, "256 random bits");
    let invitation = &data["invite"]["invitation"];
    assert_eq!(
        (invitation["status"].as_str(), invitation["email"].clone()),
        (Some("PENDING"), json!(null))
    );
    assert_eq!(invitation["createdBy"]["email"], ADMIN_EMAIL);
    let expires =
        chrono::DateTime::parse_from_rfc3339(invitation["expiresAt"].as_str().unwrap()).unwrap();
    let validity =
        expires.with_timezone(&chrono::Utc) - roster::clock::Clock::now_utc(app.clock.as_ref());
    assert!((validity - Duration::days(7)).num_seconds().abs() <= 1);

    let shown = preview(&app, &secret).await;
    assert_eq!(
        (shown["roleName"].as_str(), shown["email"].clone()),
        (Some("Support"), json!(null))
    );
    let accepted = app
        .accept(&secret, "New@Example.com", "New Member", PASSWORD)
        .await;
    assert_eq!(accepted["errors"], json!([]));
    let member = &accepted["session"]["member"];
    assert_eq!(member["role"]["name"], "Support");
    assert_eq!(member["invitedBy"]["email"], ADMIN_EMAIL);
    assert_eq!(member["status"], "ACTIVE");
    let token = accepted["session"]["token"].as_str().unwrap();
    app.ok(Some(token), "{ members { totalCount } }", json!({}))
        .await;
    app.login("new@example.com", PASSWORD).await;

    let again = app
        .accept(&secret, "other@example.com", "Other", PASSWORD)
        .await;
    assert_eq!(again["errors"][0]["code"], "TOKEN_INVALID");
    assert_eq!(preview(&app, &secret).await, json!(null));
    let accepted_list = list(&app, &admin, Some("ACCEPTED")).await;
    assert_eq!(
        accepted_list["nodes"][0]["acceptedBy"]["email"],
        "New@Example.com"
    );
    assert!(accepted_list["nodes"][0]["acceptedAt"].is_string());
}

async fn invite_checks_role_email_and_privileges(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let inviter_role = app
        .create_role(&admin, "Inviter", &["MEMBERS_INVITE", "MEMBERS_VIEW"])
        .await;
    let (_, inviter) = app.member_with("inviter@example.com", &inviter_role).await;
    let cases = [
        (
            &admin,
            json!({ "roleId": "999999", "validity": "ONE_DAY" }),
            "NOT_FOUND",
            "roleId",
        ),
        (
            &admin,
            json!({ "roleId": "nope", "validity": "ONE_DAY" }),
            "NOT_FOUND",
            "roleId",
        ),
        (
            &admin,
            json!({ "roleId": admin_role, "validity": "ONE_DAY", "email": "not-an-email" }),
            "INVALID_INPUT",
            "email",
        ),
        (
            &admin,
            json!({ "roleId": admin_role, "validity": "ONE_DAY", "email": "INVITER@example.com" }),
            "NAME_TAKEN",
            "email",
        ),
        (
            &inviter,
            json!({ "roleId": admin_role, "validity": "ONE_DAY" }),
            "PRIVILEGE_ESCALATION",
            "roleId",
        ),
    ];
    for (token, vars, code, field) in cases {
        let data = app.ok(Some(token), INVITE, vars.clone()).await;
        assert_eq!(user_error(&data, "invite"), code, "{vars}");
        assert_eq!(data["invite"]["errors"][0]["field"], json!([field]));
        assert_eq!(
            (
                data["invite"]["link"].clone(),
                data["invite"]["invitation"].clone()
            ),
            (json!(null), json!(null))
        );
    }
    let bad_validity = app
        .gql(
            Some(&admin),
            INVITE,
            json!({ "roleId": admin_role, "validity": "FOREVER" }),
        )
        .await;
    assert!(
        bad_validity["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("FOREVER")
    );
    assert_eq!(
        list(&app, &admin, None).await["totalCount"],
        0,
        "nothing was created"
    );
    app.invite(&inviter, &inviter_role, None).await;
    let viewer_role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, viewer) = app.member_with("viewer@example.com", &viewer_role).await;
    let resp = app
        .gql(
            Some(&viewer),
            INVITE,
            json!({ "roleId": viewer_role, "validity": "ONE_DAY" }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
}

async fn bound_invitation_accepts_only_its_address(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let (_, secret) = app.invite(&admin, &role, Some("bound@example.com")).await;
    assert_eq!(preview(&app, &secret).await["email"], "bound@example.com");
    let other = app
        .accept(&secret, "someone@example.com", "Someone", PASSWORD)
        .await;
    assert_eq!(
        (
            other["errors"][0]["code"].as_str(),
            other["errors"][0]["field"].clone()
        ),
        (Some("INVALID_INPUT"), json!(["email"]))
    );
    let ok = app
        .accept(&secret, "BOUND@example.com", "Bound", PASSWORD)
        .await;
    assert_eq!(ok["errors"], json!([]));
}

async fn accept_checks_its_input_and_leaves_the_link_usable(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let (_, secret) = app.invite(&admin, &role, None).await;
    app.add_members(&[("taken@example.com", "Taken", &role)], None)
        .await;
    let cases = [
        (
            "wrong-secret",
            "a@example.com",
            "A",
            PASSWORD,
            "TOKEN_INVALID",
            "token",
        ),
        ("", "a@example.com", "A", PASSWORD, "TOKEN_INVALID", "token"),
        (
            &secret,
            "not-an-email",
            "A",
            PASSWORD,
            "INVALID_INPUT",
            "email",
        ),
        (
            &secret,
            "a@example.com",
            "  ",
            PASSWORD,
            "INVALID_INPUT",
            "name",
        ),
        (
            &secret,
            "a@example.com",
            "A",
            "short",
            "PASSWORD_POLICY",
            "password",
        ),
        (
            &secret,
            "Taken@Example.com",
            "A",
            PASSWORD,
            "NAME_TAKEN",
            "email",
        ),
    ];
    for (token, email, name, password, code, field) in cases {
        let data = app.accept(token, email, name, password).await;
        assert_eq!(data["errors"][0]["code"], code, "{email} {name} {password}");
        assert_eq!(data["errors"][0]["field"], json!([field]));
        assert_eq!(data["session"], json!(null));
    }
    assert_eq!(
        list(&app, &admin, Some("PENDING")).await["totalCount"],
        1,
        "still pending"
    );
    assert_eq!(
        app.accept(&secret, "a@example.com", "A", PASSWORD).await["errors"],
        json!([])
    );
}

async fn expired_invitation_cannot_be_accepted(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let data = app
        .ok(
            Some(&admin),
            INVITE,
            json!({ "roleId": role, "validity": "ONE_DAY" }),
        )
        .await;
    let secret = secret_of(data["invite"]["link"].as_str().unwrap());
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(5));
    assert!(
        preview(&app, &secret).await.is_object(),
        "still valid just before the end"
    );
    app.clock.advance(Duration::seconds(10));
    assert_eq!(preview(&app, &secret).await, json!(null));
    assert_eq!(
        app.accept(&secret, "late@example.com", "Late", PASSWORD)
            .await["errors"][0]["code"],
        "TOKEN_INVALID"
    );
    let admin = app.admin().await;
    assert_eq!(
        list(&app, &admin, Some("EXPIRED")).await["nodes"][0]["status"],
        "EXPIRED"
    );
    assert_eq!(list(&app, &admin, Some("PENDING")).await["totalCount"], 0);
}

async fn reissue_replaces_the_link(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let (id, old) = app.invite(&admin, &role, None).await;
    app.clock.advance(Duration::days(8));
    let admin = app.admin().await;
    let data = app.ok(Some(&admin), REISSUE, json!({ "id": id })).await;
    assert_eq!(
        data["reissueInvitation"]["invitation"]["status"], "PENDING",
        "an expired invitation can be reissued"
    );
    let new = secret_of(data["reissueInvitation"]["link"].as_str().unwrap());
    assert_ne!(new, old);
    assert_eq!(
        app.accept(&old, "a@example.com", "A", PASSWORD).await["errors"][0]["code"],
        "TOKEN_INVALID"
    );
    assert_eq!(
        app.accept(&new, "a@example.com", "A", PASSWORD).await["errors"],
        json!([])
    );
    let events = app.audit(&admin).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"] == "INVITATION_REISSUED")
            .count(),
        1
    );
    let used = app.ok(Some(&admin), REISSUE, json!({ "id": id })).await;
    assert_eq!(
        user_error(&used, "reissueInvitation"),
        "INVITATION_NOT_PENDING"
    );
    for bad in ["424242", "x"] {
        let data = app.ok(Some(&admin), REISSUE, json!({ "id": bad })).await;
        assert_eq!(user_error(&data, "reissueInvitation"), "NOT_FOUND");
    }
}

async fn revoke_kills_the_link(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let (id, secret) = app.invite(&admin, &role, None).await;
    let data = app.ok(Some(&admin), REVOKE, json!({ "id": id })).await;
    assert_eq!(data["revokeInvitation"]["invitation"]["status"], "REVOKED");
    assert!(data["revokeInvitation"]["invitation"]["revokedAt"].is_string());
    assert_eq!(preview(&app, &secret).await, json!(null));
    assert_eq!(
        app.accept(&secret, "a@example.com", "A", PASSWORD).await["errors"][0]["code"],
        "TOKEN_INVALID"
    );
    let again = app.ok(Some(&admin), REVOKE, json!({ "id": id })).await;
    assert_eq!(
        user_error(&again, "revokeInvitation"),
        "INVITATION_NOT_PENDING"
    );
    let reissue = app.ok(Some(&admin), REISSUE, json!({ "id": id })).await;
    assert_eq!(
        user_error(&reissue, "reissueInvitation"),
        "INVITATION_NOT_PENDING"
    );
}

async fn concurrent_accepts_use_the_link_exactly_once(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let (_, secret) = app.invite(&admin, &role, None).await;
    let attempts = (0..8).map(|i| {
        let (app, secret) = (&app, &secret);
        async move {
            app.accept(secret, &format!("racer{i}@example.com"), "Racer", PASSWORD)
                .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r["errors"] == json!([])).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r["errors"] != json!([]))
            .all(|r| r["errors"][0]["code"] == "TOKEN_INVALID")
    );
    let members = app
        .ok(
            Some(&admin),
            "{ members(filter: { search: \"racer\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(members["members"]["totalCount"], 1);
}

async fn invitations_of_a_frozen_inviter_stop_working(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Inviter", &["MEMBERS_INVITE", "MEMBERS_VIEW"])
        .await;
    let (inviter_id, inviter) = app.member_with("inviter@example.com", &role).await;
    let (_, secret) = app.invite(&inviter, &role, None).await;
    let frozen = app
        .ok(
            Some(&admin),
            "mutation($id: ID!) { freeze(memberId: $id) { changed errors { code } } }",
            json!({ "id": inviter_id.to_string() }),
        )
        .await;
    assert_eq!(frozen["freeze"]["changed"], true);
    assert_eq!(preview(&app, &secret).await, json!(null));
    assert_eq!(
        app.accept(&secret, "a@example.com", "A", PASSWORD).await["errors"][0]["code"],
        "TOKEN_INVALID"
    );
    assert_eq!(list(&app, &admin, Some("REVOKED")).await["totalCount"], 1);
}

async fn invitations_list_pages_and_filters_by_status(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.invite(&admin, &role, None).await.0);
    }
    app.ok(Some(&admin), REVOKE, json!({ "id": ids[0] })).await;
    let first = app.ok(Some(&admin), LIST, json!({ "first": 2 })).await["invitations"].clone();
    assert_eq!(first["totalCount"], 5);
    let page_ids: Vec<&str> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(page_ids, [ids[4].as_str(), ids[3].as_str()], "newest first");
    let rest = app
        .ok(
            Some(&admin),
            LIST,
            json!({ "first": 10, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["invitations"]
        .clone();
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(list(&app, &admin, Some("PENDING")).await["totalCount"], 4);
    assert_eq!(
        list(&app, &admin, Some("REVOKED")).await["nodes"][0]["id"],
        ids[0]
    );
    let nothing = app.create_role(&admin, "Nothing", &[]).await;
    let (_, nobody) = app.member_with("nobody@example.com", &nothing).await;
    assert_eq!(
        error_code(&app.gql(Some(&nobody), LIST, json!({})).await),
        "FORBIDDEN"
    );
}
