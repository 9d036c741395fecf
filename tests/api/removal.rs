//! removeMember: the member is REMOVED and their email and name erased from every
//! answer (audit log included), under the same rules as the other acts.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    removal_erases_the_member_from_every_answer,
    a_removed_member_is_not_found_by_any_act_and_can_be_invited_again,
    removal_follows_the_rules_of_every_act,
    two_administrators_removing_each_other_leave_one,
);

const REMOVE: &str = "mutation($m: ID!, $reason: String, $v: Int) {
  removeMember(memberId: $m, reason: $reason, expectedVersion: $v) {
    changed member { id status removedAt email name } errors { code field message }
  }
}";
const EMAIL: &str = "Erin.Erasable@Example.com";
const NAME: &str = "Erin Erasable-Zq";

/// Everything an administrator can read about members, invitations and the audit log.
const EVERYTHING: &str = "query($id: ID!) {
  member(id: $id) { id email name status removedAt frozenReason }
  members(first: 100, filter: { status: REMOVED }) { totalCount nodes { email name } }
  all: members(first: 100) { nodes { email name frozenReason } }
  invitations(first: 100) { nodes { email status } }
  auditEvents(first: 100) { nodes { action details reason changes { field before after }
    actor { email name } targetMember { id email name status } } }
}";

fn remove_vars(id: i64, reason: &str) -> Value {
    json!({ "m": id.to_string(), "reason": reason })
}

/// An invited member who signed up, was frozen with their name in the reason and
/// recovered: their email and name are in the audit log in several places.
async fn a_member_with_a_history(app: &TestApp, admin: &str) -> (i64, String) {
    let role = app.create_role(admin, "Developer", &["MEMBERS_VIEW"]).await;
    let (_, secret) = app.invite(admin, &role, Some(EMAIL)).await;
    let accepted = app.accept(&secret, EMAIL, NAME, MEMBER_PASSWORD).await;
    assert_eq!(accepted["errors"], json!([]), "{accepted}");
    let id: i64 = accepted["session"]["member"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let freeze = "mutation($m: ID!, $r: String) { freeze(memberId: $m, reason: $r) { changed } }";
    let reason = format!("{NAME} ({}) is on leave", EMAIL.to_lowercase());
    let vars = json!({ "m": id.to_string(), "r": reason });
    assert_eq!(
        app.ok(Some(admin), freeze, vars).await["freeze"]["changed"],
        true
    );
    let recover = "mutation($m: ID!) { recover(memberId: $m) { changed } }";
    let vars = json!({ "m": id.to_string() });
    assert_eq!(
        app.ok(Some(admin), recover, vars).await["recover"]["changed"],
        true
    );
    assert_eq!(
        app.login_outcome(EMAIL, "wrong-password-1").await,
        "INVALID_CREDENTIALS"
    );
    (id, app.login(EMAIL, MEMBER_PASSWORD).await)
}

fn mentions(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains(&EMAIL.to_lowercase()) || lower.contains(&NAME.to_lowercase())
}

async fn removal_erases_the_member_from_every_answer(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = a_member_with_a_history(&app, &admin).await;
    // Another member's freeze reason names them too.
    let role = app.create_role(&admin, "Other", &[]).await;
    let other = app
        .add_members_as(&["other@example.com"], "Other", &role)
        .await[0];
    let freeze = "mutation($m: ID!, $r: String) { freeze(memberId: $m, reason: $r) { changed } }";
    let vars = json!({ "m": other.to_string(), "r": format!("covering for {NAME}") });
    assert_eq!(
        app.ok(Some(&admin), freeze, vars).await["freeze"]["changed"],
        true
    );
    let before = app
        .ok(Some(&admin), EVERYTHING, json!({ "id": id.to_string() }))
        .await;
    assert!(
        mentions(&before.to_string()),
        "the history names them: {before}"
    );
    let reason = format!("{} asked to be forgotten", NAME.to_uppercase());
    let removed = app.ok(Some(&admin), REMOVE, remove_vars(id, &reason)).await;
    let payload = &removed["removeMember"];
    assert_eq!(payload["errors"], json!([]), "{removed}");
    assert_eq!(payload["changed"], true);
    assert_eq!(payload["member"]["status"], "REMOVED");
    assert!(payload["member"]["removedAt"].is_string());
    assert!(!mentions(&removed.to_string()), "{removed}");

    // Their session ended and their password is gone.
    let me = app.gql(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me}");
    assert_eq!(
        app.login_outcome(EMAIL, MEMBER_PASSWORD).await,
        "INVALID_CREDENTIALS"
    );

    let after = app
        .ok(Some(&admin), EVERYTHING, json!({ "id": id.to_string() }))
        .await;
    assert!(!mentions(&after.to_string()), "nothing names them: {after}");
    assert_eq!(after["member"]["status"], "REMOVED");
    assert_eq!(after["members"]["totalCount"], 1);
    let listed: Vec<&Value> = after["all"]["nodes"].as_array().unwrap().iter().collect();
    assert_eq!(
        listed.len(),
        2,
        "the administrator and the other: {listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|m| m["frozenReason"] == "covering for [erased]")
    );
    let events = after["auditEvents"]["nodes"].as_array().unwrap();
    // Events still point at the member, who reads as removed.
    let about: Vec<&Value> = events
        .iter()
        .filter(|e| e["targetMember"]["id"] == json!(id.to_string()))
        .collect();
    assert!(about.len() >= 4, "{about:?}");
    assert!(
        about
            .iter()
            .all(|e| e["targetMember"]["status"] == "REMOVED")
    );
    let event = events
        .iter()
        .find(|e| e["action"] == "MEMBER_REMOVED")
        .unwrap();
    assert_eq!(event["reason"], "[erased] asked to be forgotten");
    let changes = event["changes"].as_array().unwrap();
    assert!(
        changes.contains(&json!({ "field": "status", "before": "ACTIVE", "after": "REMOVED" }))
    );
    assert!(changes.contains(&json!({ "field": "email", "before": null, "after": null })));
    // The freeze's reason kept its words around the name.
    let reasons: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "MEMBER_FROZEN")
        .map(|e| &e["reason"])
        .collect();
    assert_eq!(
        reasons,
        [
            &json!("covering for [erased]"),
            &json!("[erased] ([erased]) is on leave")
        ]
    );
}

async fn a_removed_member_is_not_found_by_any_act_and_can_be_invited_again(app: TestApp) {
    let admin = app.admin().await;
    let (id, _) = a_member_with_a_history(&app, &admin).await;
    let removed = app.ok(Some(&admin), REMOVE, remove_vars(id, "")).await;
    assert_eq!(removed["removeMember"]["errors"], json!([]));
    let m = json!(id.to_string());
    let role = app.create_role(&admin, "Other", &[]).await;
    let acts = [
        (
            "freeze",
            "mutation($m: ID!) { freeze(memberId: $m) { errors { code field } } }",
            json!({ "m": m }),
        ),
        (
            "recover",
            "mutation($m: ID!) { recover(memberId: $m) { errors { code field } } }",
            json!({ "m": m }),
        ),
        (
            "removeMember",
            "mutation($m: ID!) { removeMember(memberId: $m) { errors { code field } } }",
            json!({ "m": m }),
        ),
        (
            "resetPassword",
            "mutation($m: ID!) { resetPassword(memberId: $m, mode: TEMPORARY_PASSWORD) { errors { code field } } }",
            json!({ "m": m }),
        ),
        (
            "editPermission",
            "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { errors { code field } } }",
            json!({ "m": m, "r": role }),
        ),
        (
            "revokeAllSessions",
            "mutation($m: ID!) { revokeAllSessions(memberId: $m) { errors { code field } } }",
            json!({ "m": m }),
        ),
    ];
    for (name, q, vars) in acts {
        let data = app.ok(Some(&admin), q, vars).await;
        assert_eq!(
            data[name]["errors"][0]["code"], "NOT_FOUND",
            "{name}: {data}"
        );
    }
    // The address is free: invited again, it becomes a new member.
    let (_, secret) = app.invite(&admin, &role, Some(EMAIL)).await;
    let again = app.accept(&secret, EMAIL, NAME, MEMBER_PASSWORD).await;
    assert_eq!(again["errors"], json!([]), "{again}");
    assert_ne!(again["session"]["member"]["id"], json!(id.to_string()));
    app.login(EMAIL, MEMBER_PASSWORD).await;
}

async fn removal_follows_the_rules_of_every_act(app: TestApp) {
    let admin = app.admin().await;
    let viewer_role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let remover_role = app
        .create_role(&admin, "Remover", &["MEMBERS_VIEW", "MEMBERS_REMOVE"])
        .await;
    let (target, _) = app.member_with("target@example.com", &viewer_role).await;
    let (_, viewer) = app.member_with("viewer@example.com", &viewer_role).await;
    let (remover_id, remover) = app.member_with("remover@example.com", &remover_role).await;
    let admin_id = 1_i64;

    let refused = app
        .gql(Some(&viewer), REMOVE, remove_vars(target, ""))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let own = app
        .ok(Some(&remover), REMOVE, remove_vars(remover_id, ""))
        .await;
    assert_eq!(user_error(&own, "removeMember"), "SELF_ACTION");
    let up = app
        .ok(Some(&remover), REMOVE, remove_vars(admin_id, ""))
        .await;
    assert_eq!(user_error(&up, "removeMember"), "PRIVILEGE_ESCALATION");
    let stale = json!({ "m": target.to_string(), "v": 99 });
    let data = app.ok(Some(&remover), REMOVE, stale).await;
    assert_eq!(user_error(&data, "removeMember"), "STALE_VERSION");
    let long = "x".repeat(501);
    let data = app
        .ok(Some(&remover), REMOVE, remove_vars(target, &long))
        .await;
    assert_eq!(data["removeMember"]["errors"][0]["code"], "INVALID_INPUT");
    assert_eq!(
        data["removeMember"]["errors"][0]["field"],
        json!(["reason"])
    );
    let missing = app
        .ok(Some(&remover), REMOVE, remove_vars(987_654, ""))
        .await;
    assert_eq!(user_error(&missing, "removeMember"), "NOT_FOUND");
    // Nothing changed by the refusals; then it works, once.
    let q = "query($id: ID!) { member(id: $id) { status version } }";
    let vars = json!({ "id": target.to_string() });
    assert_eq!(
        app.ok(Some(&admin), q, vars.clone()).await["member"]["status"],
        "ACTIVE"
    );
    let v = app.ok(Some(&admin), q, vars).await["member"]["version"].clone();
    let ok = json!({ "m": target.to_string(), "v": v });
    let done = app.ok(Some(&remover), REMOVE, ok).await;
    assert_eq!(done["removeMember"]["changed"], true, "{done}");
    let events = app.audit(&admin).await;
    let removals = events
        .iter()
        .filter(|e| e["action"] == "MEMBER_REMOVED")
        .count();
    assert_eq!(removals, 1);
}

async fn two_administrators_removing_each_other_leave_one(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    // The bootstrap administrator steps aside, so that A and B are the only two.
    let ids = app
        .add_members(
            &[
                ("a@example.com", "A", &admin_role),
                ("b@example.com", "B", &admin_role),
            ],
            None,
        )
        .await;
    let a = app.login("a@example.com", MEMBER_PASSWORD).await;
    let b = app.login("b@example.com", MEMBER_PASSWORD).await;
    let data = app.ok(Some(&a), REMOVE, remove_vars(1, "")).await;
    assert_eq!(data["removeMember"]["changed"], true, "{data}");
    drop(admin);
    let (ra, rb) = tokio::join!(
        app.gql(Some(&a), REMOVE, remove_vars(ids[1], "")),
        app.gql(Some(&b), REMOVE, remove_vars(ids[0], "")),
    );
    let won = [&ra, &rb]
        .iter()
        .filter(|r| r["data"]["removeMember"]["changed"] == true)
        .count();
    assert_eq!(won, 1, "{ra} {rb}");
    for r in [&ra, &rb] {
        if r["data"]["removeMember"]["changed"] != true {
            let lost = r["data"]["removeMember"]["errors"][0]["code"]
                .as_str()
                .or(r["errors"][0]["extensions"]["code"].as_str());
            assert!(
                matches!(lost, Some("LAST_ADMINISTRATOR" | "UNAUTHENTICATED")),
                "{r}"
            );
        }
    }
    let survivor = if ra["data"]["removeMember"]["changed"] == true {
        &a
    } else {
        &b
    };
    let q = "query($r: ID) { members(filter: { roleId: $r, status: ACTIVE }) { totalCount } }";
    let data = app.ok(Some(survivor), q, json!({ "r": admin_role })).await;
    assert_eq!(data["members"]["totalCount"], 1);
}

crate::on_both_databases_raw!(no_log_line_names_a_removed_member);

/// A real server process: whatever it logs around a member's life and removal names
/// them by id only.
async fn no_log_line_names_a_removed_member(db: TestDb) {
    use crate::cli::{spawn_serve, terminate};
    let env = [
        ("ROSTER_ADMIN_EMAIL", ADMIN_EMAIL),
        ("ROSTER_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let server = spawn_serve(&db.raw_url, &env);
    let base = server.base.clone();
    let call = |token: Option<String>, q: &'static str, vars: Value| {
        let base = base.clone();
        async move { post(&base, token.as_deref(), q, vars).await }
    };
    let login = |email: &'static str, password: &'static str| {
        call(None, LOGIN, json!({ "email": email, "password": password }))
    };
    let admin = login(ADMIN_EMAIL, ADMIN_PASSWORD).await["data"]["login"]["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = call(
        Some(admin.clone()),
        CREATE_ROLE,
        json!({ "input": { "name": "Dev", "permissions": [] } }),
    )
    .await["data"]["createRole"]["role"]["id"]
        .clone();
    let invited = call(
        Some(admin.clone()),
        INVITE,
        json!({ "roleId": role, "validity": "ONE_DAY", "email": EMAIL }),
    )
    .await;
    let link = invited["data"]["invite"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let vars = json!({ "token": secret_of(&link), "email": EMAIL, "name": NAME, "password": MEMBER_PASSWORD });
    let accepted = call(None, ACCEPT, vars).await;
    let id = accepted["data"]["acceptInvitation"]["session"]["member"]["id"].clone();
    login(EMAIL, "wrong-password-1").await;
    let vars = json!({ "m": id, "reason": format!("{NAME} left") });
    let removed = call(Some(admin.clone()), REMOVE, vars).await;
    assert_eq!(
        removed["data"]["removeMember"]["changed"], true,
        "{removed}"
    );
    login(EMAIL, MEMBER_PASSWORD).await;
    call(Some(admin.clone()), EVERYTHING, json!({ "id": id })).await;
    let output = server.output.clone();
    assert_eq!(terminate(server), Some(0));
    let lines = output.lock().unwrap().clone();
    assert!(lines.len() > 8, "{lines:?}");
    let named: Vec<&String> = lines.iter().filter(|l| mentions(l)).collect();
    assert!(named.is_empty(), "{named:?}");
}

on_both_databases!(a_role_held_only_by_removed_members_can_be_deleted);

async fn a_role_held_only_by_removed_members_can_be_deleted(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Contractor", &[]).await;
    let ids = app.add_members_as(&["c@example.com"], "C", &role).await;
    let removed = app.ok(Some(&admin), REMOVE, remove_vars(ids[0], "")).await;
    assert_eq!(removed["removeMember"]["changed"], true);
    let q = "query($id: ID!) { role(id: $id) { memberCount } }";
    let count = app.ok(Some(&admin), q, json!({ "id": role })).await;
    assert_eq!(count["role"]["memberCount"], 0);
    let delete = "mutation($id: ID!) { deleteRole(id: $id) { deletedRoleId errors { code } } }";
    let data = app.ok(Some(&admin), delete, json!({ "id": role })).await;
    assert_eq!(data["deleteRole"]["errors"], json!([]), "{data}");
    let q = "query($id: ID!) { member(id: $id) { status role { builtIn } } }";
    let member = app
        .ok(Some(&admin), q, json!({ "id": ids[0].to_string() }))
        .await;
    assert_eq!(member["member"]["status"], "REMOVED");
}
