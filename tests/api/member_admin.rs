//! Acts on members: editPermission, freeze, recover, resetPassword, and their rules.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const EDIT: &str = "mutation($id: ID!, $role: ID!, $v: Int) {
  editPermission(memberId: $id, roleId: $role, expectedVersion: $v) { member { id version role { name } } changed errors { code field } }
}";
const FREEZE: &str = "mutation($id: ID!, $reason: String, $v: Int) {
  freeze(memberId: $id, reason: $reason, expectedVersion: $v) { member { status frozenAt frozenReason version } changed errors { code field } }
}";
const RECOVER: &str = "mutation($id: ID!, $v: Int) {
  recover(memberId: $id, expectedVersion: $v) { member { status frozenAt frozenReason version } changed errors { code field } }
}";
const RESET: &str = "mutation($id: ID!, $mode: PasswordResetMode) {
  resetPassword(memberId: $id, mode: $mode) { member { mustChangePassword } temporaryPassword resetLink errors { code field } }
}";
const COMPLETE: &str = "mutation($token: String!, $pw: String!) {
  completePasswordReset(token: $token, newPassword: $pw) { session { token member { mustChangePassword } } errors { code field } }
}";
const SETTINGS: &str = "mutation($input: UpdateSecuritySettingsInput!) {
  updateSecuritySettings(input: $input) {
    securitySettings { defaultPasswordConfigured passwordMinLength sessionTtlMinutes resetPasswordValidHours }
    errors { code field }
  }
}";
const ME: &str = "{ me { id } }";

on_both_databases!(
    edit_permission_takes_effect_on_the_next_request,
    edit_permission_enforces_the_rules,
    freeze_ends_sessions_and_recover_lets_back_in,
    freeze_and_recover_check_their_input,
    last_administrator_stays_active,
    administrators_freezing_each_other_at_once_leave_one,
    reset_to_default_password_needs_one_and_expires,
    reset_to_temporary_password_forces_a_change,
    reset_link_works_once_and_for_an_hour,
    reset_password_enforces_the_rules,
    security_settings_are_validated_and_applied,
);

fn id(n: i64) -> String {
    n.to_string()
}

async fn edit_permission_takes_effect_on_the_next_request(app: TestApp) {
    let admin = app.admin().await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let nothing = app.create_role(&admin, "Nothing", &[]).await;
    let (member, token) = app.member_with("m@example.com", &viewer).await;
    app.ok(Some(&token), "{ members { totalCount } }", json!({}))
        .await;
    let data = app
        .ok(
            Some(&admin),
            EDIT,
            json!({ "id": id(member), "role": nothing }),
        )
        .await;
    assert_eq!(data["editPermission"]["changed"], true);
    assert_eq!(data["editPermission"]["member"]["role"]["name"], "Nothing");
    assert_eq!(data["editPermission"]["member"]["version"], 2);
    assert_eq!(
        error_code(
            &app.gql(Some(&token), "{ members { totalCount } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );
    let same = app
        .ok(
            Some(&admin),
            EDIT,
            json!({ "id": id(member), "role": nothing }),
        )
        .await;
    assert_eq!(
        (
            same["editPermission"]["changed"].clone(),
            same["editPermission"]["member"]["version"].clone()
        ),
        (json!(false), json!(2))
    );
    let events = app.audit(&admin).await;
    let edited = events
        .iter()
        .find(|e| e["action"] == "MEMBER_PERMISSION_EDITED")
        .unwrap();
    assert_eq!(edited["actor"]["email"], ADMIN_EMAIL);
    assert_eq!(edited["targetMember"]["email"], "m@example.com");
    let details: Value = serde_json::from_str(edited["details"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            details["before"]["roleName"].as_str(),
            details["after"]["roleName"].as_str()
        ),
        (Some("Viewer"), Some("Nothing"))
    );
}

async fn edit_permission_enforces_the_rules(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let editor_role = app
        .create_role(
            &admin,
            "Editor",
            &["MEMBERS_EDIT_PERMISSION", "MEMBERS_VIEW"],
        )
        .await;
    let viewer = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (editor_id, editor) = app.member_with("editor@example.com", &editor_role).await;
    let (member, _) = app.member_with("m@example.com", &viewer).await;
    let admin_id = app.ok(Some(&admin), ME, json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: [(&str, Value, &str, &str); 8] = [
        (
            &admin,
            json!({ "id": "999999", "role": viewer }),
            "NOT_FOUND",
            "memberId",
        ),
        (
            &admin,
            json!({ "id": "x", "role": viewer }),
            "NOT_FOUND",
            "memberId",
        ),
        (
            &admin,
            json!({ "id": id(member), "role": "999999" }),
            "NOT_FOUND",
            "roleId",
        ),
        (
            &admin,
            json!({ "id": admin_id, "role": viewer }),
            "SELF_ACTION",
            "memberId",
        ),
        (
            &editor,
            json!({ "id": id(editor_id), "role": viewer }),
            "SELF_ACTION",
            "memberId",
        ),
        (
            &editor,
            json!({ "id": id(member), "role": admin_role }),
            "PRIVILEGE_ESCALATION",
            "roleId",
        ),
        (
            &editor,
            json!({ "id": admin_id, "role": viewer }),
            "PRIVILEGE_ESCALATION",
            "memberId",
        ),
        (
            &admin,
            json!({ "id": id(member), "role": editor_role, "v": 7 }),
            "STALE_VERSION",
            "expectedVersion",
        ),
    ];
    for (token, vars, code, field) in cases {
        let data = app.ok(Some(token), EDIT, vars.clone()).await;
        assert_eq!(user_error(&data, "editPermission"), code, "{vars}");
        assert_eq!(data["editPermission"]["errors"][0]["field"], json!([field]));
        assert_eq!(data["editPermission"]["changed"], false);
    }
    let ok = app
        .ok(
            Some(&editor),
            EDIT,
            json!({ "id": id(member), "role": editor_role, "v": 1 }),
        )
        .await;
    assert_eq!(ok["editPermission"]["changed"], true, "{ok}");
    let (_, plain) = app.member_with("plain@example.com", &viewer).await;
    assert_eq!(
        error_code(
            &app.gql(
                Some(&plain),
                EDIT,
                json!({ "id": id(member), "role": viewer })
            )
            .await
        ),
        "FORBIDDEN"
    );
}

async fn freeze_ends_sessions_and_recover_lets_back_in(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, token) = app.member_with("m@example.com", &role).await;
    let other_token = app.login("m@example.com", MEMBER_PASSWORD).await;
    let data = app
        .ok(
            Some(&admin),
            FREEZE,
            json!({ "id": id(member), "reason": "left the company" }),
        )
        .await;
    let frozen = &data["freeze"];
    assert_eq!(
        (
            frozen["changed"].clone(),
            frozen["member"]["status"].clone()
        ),
        (json!(true), json!("FROZEN"))
    );
    assert_eq!(frozen["member"]["frozenReason"], "left the company");
    for t in [&token, &other_token] {
        assert_eq!(
            error_code(&app.gql(Some(t), ME, json!({})).await),
            "UNAUTHENTICATED"
        );
    }
    assert_eq!(
        app.login_outcome("m@example.com", MEMBER_PASSWORD).await,
        "MEMBER_FROZEN"
    );
    assert_eq!(
        app.login_outcome("m@example.com", "wrong-password").await,
        "INVALID_CREDENTIALS",
        "nothing said about the freeze without the password"
    );
    let again = app
        .ok(Some(&admin), FREEZE, json!({ "id": id(member) }))
        .await;
    assert_eq!(
        (
            again["freeze"]["changed"].clone(),
            again["freeze"]["errors"].clone()
        ),
        (json!(false), json!([]))
    );

    let recovered = app
        .ok(Some(&admin), RECOVER, json!({ "id": id(member) }))
        .await;
    let r = &recovered["recover"];
    assert_eq!(
        (r["changed"].clone(), r["member"]["status"].clone()),
        (json!(true), json!("ACTIVE"))
    );
    assert_eq!(
        r["member"]["frozenReason"], "left the company",
        "kept after recovery"
    );
    assert_eq!(r["member"]["frozenAt"], frozen["member"]["frozenAt"]);
    assert_eq!(
        error_code(&app.gql(Some(&token), ME, json!({})).await),
        "UNAUTHENTICATED",
        "old sessions stay dead"
    );
    app.login("m@example.com", MEMBER_PASSWORD).await;
    let again = app
        .ok(Some(&admin), RECOVER, json!({ "id": id(member) }))
        .await;
    assert_eq!(again["recover"]["changed"], false);
    let actions: Vec<String> = app
        .audit(&admin)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "MEMBER_FROZEN").count(),
        1,
        "a no-op is not an act"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "MEMBER_RECOVERED").count(),
        1
    );
}

async fn freeze_and_recover_check_their_input(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, _) = app.member_with("m@example.com", &role).await;
    let admin_id = app.ok(Some(&admin), ME, json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let long = "r".repeat(501);
    let cases = [
        (
            FREEZE,
            "freeze",
            json!({ "id": id(member), "reason": long }),
            "INVALID_INPUT",
        ),
        (FREEZE, "freeze", json!({ "id": "0" }), "NOT_FOUND"),
        (FREEZE, "freeze", json!({ "id": admin_id }), "SELF_ACTION"),
        (
            FREEZE,
            "freeze",
            json!({ "id": id(member), "v": 99 }),
            "STALE_VERSION",
        ),
        (RECOVER, "recover", json!({ "id": "abc" }), "NOT_FOUND"),
        (RECOVER, "recover", json!({ "id": admin_id }), "SELF_ACTION"),
    ];
    for (query, name, vars, code) in cases {
        let data = app.ok(Some(&admin), query, vars.clone()).await;
        assert_eq!(user_error(&data, name), code, "{name} {vars}");
    }
    let member_view = app
        .ok(
            Some(&admin),
            "query($id: ID!) { member(id: $id) { status version } }",
            json!({ "id": id(member) }),
        )
        .await;
    assert_eq!(
        member_view["member"],
        json!({ "status": "ACTIVE", "version": 1 }),
        "nothing changed"
    );
}

async fn last_administrator_stays_active(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let all: Vec<&str> = roster::domain::Permission::ALL
        .iter()
        .map(|p| p.name())
        .collect();
    let super_role = app.create_role(&admin, "Super", &all).await;
    let (_, super_token) = app.member_with("super@example.com", &super_role).await;
    let admin_id = app.ok(Some(&admin), ME, json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let freeze = app
        .ok(Some(&super_token), FREEZE, json!({ "id": admin_id }))
        .await;
    assert_eq!(user_error(&freeze, "freeze"), "LAST_ADMINISTRATOR");
    let demote = app
        .ok(
            Some(&super_token),
            EDIT,
            json!({ "id": admin_id, "role": super_role }),
        )
        .await;
    assert_eq!(user_error(&demote, "editPermission"), "LAST_ADMINISTRATOR");
    app.ok(Some(&admin), ME, json!({})).await;
    // With a second administrator, the first may go.
    let second = app
        .add_members(&[("second@example.com", "Second", &admin_role)], None)
        .await[0];
    let demote = app
        .ok(
            Some(&super_token),
            EDIT,
            json!({ "id": admin_id, "role": super_role }),
        )
        .await;
    assert_eq!(demote["editPermission"]["changed"], true);
    let freeze = app
        .ok(Some(&super_token), FREEZE, json!({ "id": id(second) }))
        .await;
    assert_eq!(user_error(&freeze, "freeze"), "LAST_ADMINISTRATOR");
}

/// Arranges that only `keep` are active administrators (direct SQL: no API can).
async fn only_active_admins(app: &TestApp, admin_role: &str, keep: &[i64]) {
    use diesel::prelude::*;
    use roster::db::schema::members;
    let role: i64 = admin_role.parse().unwrap();
    let mut conn = app.state.pool.get().await.unwrap();
    let keep = keep.to_vec();
    roster::db::with_conn!(&mut conn, |c| {
        let q = diesel::update(
            members::table
                .filter(members::role_id.eq(role))
                .filter(members::id.ne_all(keep.clone())),
        );
        diesel_async::RunQueryDsl::execute(q.set(members::status.eq("FROZEN")), c).await
    })
    .unwrap();
}

async fn administrators_freezing_each_other_at_once_leave_one(app: TestApp) {
    let admin_role = app.admin_role_id().await;
    for round in 0..5 {
        let (a_email, b_email) = (
            format!("a{round}@example.com"),
            format!("b{round}@example.com"),
        );
        let ids = app
            .add_members(
                &[(&a_email, "A", &admin_role), (&b_email, "B", &admin_role)],
                None,
            )
            .await;
        only_active_admins(&app, &admin_role, &ids).await;
        let (a, b) = (
            app.login(&a_email, MEMBER_PASSWORD).await,
            app.login(&b_email, MEMBER_PASSWORD).await,
        );
        let (ra, rb) = tokio::join!(
            app.gql(Some(&a), FREEZE, json!({ "id": id(ids[1]) })),
            app.gql(Some(&b), FREEZE, json!({ "id": id(ids[0]) })),
        );
        let won: Vec<&Value> = [&ra, &rb]
            .into_iter()
            .filter(|r| r["data"]["freeze"]["changed"] == true)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {ra} {rb}");
        for r in [&ra, &rb] {
            if r["data"]["freeze"]["changed"] != true {
                let lost = r["data"]["freeze"]["errors"][0]["code"]
                    .as_str()
                    .or(r["errors"][0]["extensions"]["code"].as_str());
                assert!(
                    matches!(lost, Some("LAST_ADMINISTRATOR" | "UNAUTHENTICATED")),
                    "{r}"
                );
            }
        }
        let survivor = if ra["data"]["freeze"]["changed"] == true {
            &a
        } else {
            &b
        };
        let filter = json!({ "r": admin_role });
        let q = "query($r: ID) { members(filter: { roleId: $r, status: ACTIVE }) { totalCount } }";
        assert_eq!(
            app.ok(Some(survivor), q, filter).await["members"]["totalCount"],
            1,
            "round {round}"
        );
    }
    // Demotions race the same way.
    let ids = app
        .add_members(
            &[
                ("c@example.com", "C", &admin_role),
                ("d@example.com", "D", &admin_role),
            ],
            None,
        )
        .await;
    only_active_admins(&app, &admin_role, &ids).await;
    let (c, d) = (
        app.login("c@example.com", MEMBER_PASSWORD).await,
        app.login("d@example.com", MEMBER_PASSWORD).await,
    );
    let lesser = app.create_role(&c, "Lesser", &["MEMBERS_VIEW"]).await;
    let (rc, rd) = tokio::join!(
        app.gql(Some(&c), EDIT, json!({ "id": id(ids[1]), "role": lesser })),
        app.gql(Some(&d), EDIT, json!({ "id": id(ids[0]), "role": lesser })),
    );
    let won = [&rc, &rd]
        .iter()
        .filter(|r| r["data"]["editPermission"]["changed"] == true)
        .count();
    assert_eq!(won, 1, "{rc} {rd}");
}

async fn reset_to_default_password_needs_one_and_expires(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, token) = app.member_with("m@example.com", &role).await;
    let none = app
        .ok(Some(&admin), RESET, json!({ "id": id(member) }))
        .await;
    assert_eq!(user_error(&none, "resetPassword"), "NO_DEFAULT_PASSWORD");
    app.ok(Some(&token), ME, json!({})).await;
    let set = app
        .ok(
            Some(&admin),
            SETTINGS,
            json!({ "input": { "defaultPassword": "Default-Pass-123" } }),
        )
        .await;
    assert_eq!(
        set["updateSecuritySettings"]["securitySettings"]["defaultPasswordConfigured"],
        true
    );
    let reset = app
        .ok(Some(&admin), RESET, json!({ "id": id(member) }))
        .await;
    assert_eq!(reset["resetPassword"]["member"]["mustChangePassword"], true);
    assert_eq!(
        (
            reset["resetPassword"]["temporaryPassword"].clone(),
            reset["resetPassword"]["resetLink"].clone()
        ),
        (json!(null), json!(null))
    );
    assert_eq!(
        error_code(&app.gql(Some(&token), ME, json!({})).await),
        "UNAUTHENTICATED",
        "sessions end"
    );
    assert_eq!(
        app.login_outcome("m@example.com", MEMBER_PASSWORD).await,
        "INVALID_CREDENTIALS"
    );
    let limited = app.login("m@example.com", "Default-Pass-123").await;
    assert_eq!(
        error_code(
            &app.gql(Some(&limited), "{ members { totalCount } }", json!({}))
                .await
        ),
        "PASSWORD_CHANGE_REQUIRED"
    );
    let to_default = app
        .ok(Some(&limited), "mutation { changePassword(currentPassword: \"Default-Pass-123\", newPassword: \"Default-Pass-123\") { errors { code } } }", json!({}))
        .await;
    assert_eq!(user_error(&to_default, "changePassword"), "PASSWORD_POLICY");
    app.clock
        .advance(Duration::hours(72) + Duration::minutes(1));
    assert_eq!(
        app.login_outcome("m@example.com", "Default-Pass-123").await,
        "INVALID_CREDENTIALS",
        "a reset password signs in only until its deadline"
    );
}

async fn reset_to_temporary_password_forces_a_change(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, _) = app.member_with("m@example.com", &role).await;
    let reset = app
        .ok(
            Some(&admin),
            RESET,
            json!({ "id": id(member), "mode": "TEMPORARY_PASSWORD" }),
        )
        .await;
    let temporary = reset["resetPassword"]["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(temporary.len() >= 16);
    let limited = app.login("m@example.com", &temporary).await;
    assert_eq!(
        error_code(&app.gql(Some(&limited), "{ roles { id } }", json!({})).await),
        "PASSWORD_CHANGE_REQUIRED"
    );
    let q = "mutation($c: String!) { changePassword(currentPassword: $c, newPassword: \"my-own-password\") { session { token } errors { code } } }";
    let changed = app.ok(Some(&limited), q, json!({ "c": temporary })).await;
    let fresh = changed["changePassword"]["session"]["token"]
        .as_str()
        .unwrap();
    app.ok(Some(fresh), "{ members { totalCount } }", json!({}))
        .await;
    let events = app.audit(&admin).await;
    assert!(
        events
            .iter()
            .all(|e| !e["details"].as_str().unwrap().contains(&temporary)),
        "no secret in the audit log"
    );
}

async fn reset_link_works_once_and_for_an_hour(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (member, _) = app.member_with("m@example.com", &role).await;
    let link = |data: &Value| secret_of(data["resetPassword"]["resetLink"].as_str().unwrap());
    let first = app
        .ok(
            Some(&admin),
            RESET,
            json!({ "id": id(member), "mode": "RESET_LINK" }),
        )
        .await;
    assert!(
        first["resetPassword"]["resetLink"]
            .as_str()
            .unwrap()
            .starts_with("http://frontend.test/reset-password/")
    );
    let second = app
        .ok(
            Some(&admin),
            RESET,
            json!({ "id": id(member), "mode": "RESET_LINK" }),
        )
        .await;
    let (old, new) = (link(&first), link(&second));
    let dead = app
        .ok(
            None,
            COMPLETE,
            json!({ "token": old, "pw": "brand-new-password" }),
        )
        .await;
    assert_eq!(
        user_error(&dead, "completePasswordReset"),
        "TOKEN_INVALID",
        "a later reset kills earlier links"
    );
    let weak = app
        .ok(None, COMPLETE, json!({ "token": new, "pw": "short" }))
        .await;
    assert_eq!(
        user_error(&weak, "completePasswordReset"),
        "PASSWORD_POLICY"
    );
    let same = app
        .ok(
            None,
            COMPLETE,
            json!({ "token": new, "pw": MEMBER_PASSWORD }),
        )
        .await;
    assert_eq!(
        user_error(&same, "completePasswordReset"),
        "PASSWORD_POLICY",
        "not the current password"
    );
    let done = app
        .ok(
            None,
            COMPLETE,
            json!({ "token": new, "pw": "brand-new-password" }),
        )
        .await;
    assert_eq!(
        done["completePasswordReset"]["session"]["member"]["mustChangePassword"],
        false
    );
    let token = done["completePasswordReset"]["session"]["token"]
        .as_str()
        .unwrap();
    app.ok(Some(token), "{ members { totalCount } }", json!({}))
        .await;
    let twice = app
        .ok(
            None,
            COMPLETE,
            json!({ "token": new, "pw": "another-password-1" }),
        )
        .await;
    assert_eq!(user_error(&twice, "completePasswordReset"), "TOKEN_INVALID");
    app.login("m@example.com", "brand-new-password").await;

    let admin = app.admin().await;
    let third = app
        .ok(
            Some(&admin),
            RESET,
            json!({ "id": id(member), "mode": "RESET_LINK" }),
        )
        .await;
    app.clock.advance(Duration::minutes(61));
    let late = app
        .ok(
            None,
            COMPLETE,
            json!({ "token": link(&third), "pw": "late-password-1" }),
        )
        .await;
    assert_eq!(user_error(&late, "completePasswordReset"), "TOKEN_INVALID");
}

async fn reset_password_enforces_the_rules(app: TestApp) {
    let admin = app.admin().await;
    let resetter_role = app
        .create_role(
            &admin,
            "Resetter",
            &["MEMBERS_RESET_PASSWORD", "MEMBERS_VIEW"],
        )
        .await;
    let (_, resetter) = app.member_with("r@example.com", &resetter_role).await;
    let admin_id = app.ok(Some(&admin), ME, json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            &admin,
            json!({ "id": "nope", "mode": "TEMPORARY_PASSWORD" }),
            "NOT_FOUND",
        ),
        (
            &admin,
            json!({ "id": admin_id, "mode": "TEMPORARY_PASSWORD" }),
            "SELF_ACTION",
        ),
        (
            &resetter,
            json!({ "id": admin_id, "mode": "TEMPORARY_PASSWORD" }),
            "PRIVILEGE_ESCALATION",
        ),
    ];
    for (token, vars, code) in cases {
        let data = app.ok(Some(token), RESET, vars.clone()).await;
        assert_eq!(user_error(&data, "resetPassword"), code, "{vars}");
        assert_eq!(data["resetPassword"]["temporaryPassword"], json!(null));
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

async fn security_settings_are_validated_and_applied(app: TestApp) {
    let admin = app.admin().await;
    let read = "{ securitySettings { defaultPasswordConfigured passwordMinLength sessionTtlMinutes resetPasswordValidHours } }";
    let settings = app.ok(Some(&admin), read, json!({})).await;
    assert_eq!(
        settings["securitySettings"],
        json!({ "defaultPasswordConfigured": false, "passwordMinLength": 10, "sessionTtlMinutes": 720, "resetPasswordValidHours": 72 })
    );
    let cases = [
        (
            json!({ "passwordMinLength": 3 }),
            "INVALID_INPUT",
            "passwordMinLength",
        ),
        (
            json!({ "sessionTtlMinutes": 0 }),
            "INVALID_INPUT",
            "sessionTtlMinutes",
        ),
        (
            json!({ "resetPasswordValidHours": 10000 }),
            "INVALID_INPUT",
            "resetPasswordValidHours",
        ),
        (
            json!({ "defaultPassword": "short" }),
            "PASSWORD_POLICY",
            "defaultPassword",
        ),
        (
            json!({ "passwordMinLength": 20, "defaultPassword": "fifteen-chars!!" }),
            "PASSWORD_POLICY",
            "defaultPassword",
        ),
    ];
    for (input, code, field) in cases {
        let data = app
            .ok(Some(&admin), SETTINGS, json!({ "input": input.clone() }))
            .await;
        assert_eq!(user_error(&data, "updateSecuritySettings"), code, "{input}");
        assert_eq!(
            data["updateSecuritySettings"]["errors"][0]["field"],
            json!(["input", field])
        );
    }
    assert_eq!(
        app.ok(Some(&admin), read, json!({})).await,
        settings,
        "nothing changed"
    );
    let data = app
        .ok(
            Some(&admin),
            SETTINGS,
            json!({ "input": { "passwordMinLength": 16, "sessionTtlMinutes": 30 } }),
        )
        .await;
    assert_eq!(
        data["updateSecuritySettings"]["securitySettings"]["passwordMinLength"],
        16
    );
    let token = app.admin().await;
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        error_code(&app.gql(Some(&token), ME, json!({})).await),
        "UNAUTHENTICATED",
        "new sessions last 30 minutes"
    );
    let admin = app.admin().await;
    let q = "mutation { changePassword(currentPassword: \"admin-password-1\", newPassword: \"fifteen-chars!!\") { errors { code } } }";
    assert_eq!(
        user_error(&app.ok(Some(&admin), q, json!({})).await, "changePassword"),
        "PASSWORD_POLICY"
    );
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, viewer) = app.member_with("v@example.com", &role).await;
    assert_eq!(
        error_code(&app.gql(Some(&viewer), read, json!({})).await),
        "FORBIDDEN"
    );
    let events = app.audit(&admin).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e["action"] == "SECURITY_SETTINGS_UPDATED")
            .count(),
        1
    );
}
