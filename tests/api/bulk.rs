//! Bulk acts and inviteMany: a result per member or email, in input order, with the
//! rules of the single acts, PER_MEMBER and ALL_OR_NOTHING, and the last administrator
//! kept across a batch and under concurrency.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    per_member_results_come_in_input_order_with_their_own_errors,
    bad_id_lists_change_nothing,
    all_or_nothing_changes_nothing_when_one_fails,
    freezing_every_administrator_leaves_one_even_concurrently,
    bulk_edit_permission_and_recover_follow_their_acts,
    invite_many_binds_each_email_and_fails_rows_alone,
);

const BULK_FREEZE: &str =
    "mutation($ids: [ID!]!, $reason: String, $until: DateTime, $policy: BulkPolicy) {
  bulkFreeze(memberIds: $ids, reason: $reason, until: $until, policy: $policy) {
    succeeded failed errors { code field }
    results { memberId changed member { id status frozenReason frozenUntil } errors { code field } }
  }
}";

fn ids(list: &[i64]) -> Value {
    json!(list.iter().map(|i| i.to_string()).collect::<Vec<_>>())
}

fn codes(payload: &Value) -> Vec<Option<String>> {
    payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["errors"][0]["code"].as_str().map(str::to_owned))
        .collect()
}

async fn statuses(app: &TestApp, token: &str, list: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    for id in list {
        let q = "query($id: ID!) { member(id: $id) { status } }";
        let data = app
            .ok(Some(token), q, json!({ "id": id.to_string() }))
            .await;
        out.push(
            data["member"]["status"]
                .as_str()
                .unwrap_or("none")
                .to_owned(),
        );
    }
    out
}

fn count(events: &[Value], action: &str) -> usize {
    events.iter().filter(|e| e["action"] == action).count()
}

async fn per_member_results_come_in_input_order_with_their_own_errors(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let members = app
        .add_members_as(
            &["a@example.com", "b@example.com", "c@example.com"],
            "M",
            &role,
        )
        .await;
    let freeze = "mutation($m: ID!) { freeze(memberId: $m, reason: \"Audit\") { changed } }";
    app.ok(Some(&admin), freeze, json!({ "m": members[1].to_string() }))
        .await;
    let list = [members[2], 1, members[1], 987_654, members[0]];
    let vars = json!({ "ids": ids(&list), "reason": "Audit" });
    let data = app.ok(Some(&admin), BULK_FREEZE, vars).await["bulkFreeze"].clone();
    assert_eq!(data["errors"], json!([]));
    let ids_back: Vec<&str> = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["memberId"].as_str().unwrap())
        .collect();
    let given: Vec<String> = list.iter().map(|i| i.to_string()).collect();
    assert_eq!(ids_back, given);
    assert_eq!(
        codes(&data),
        [
            None,
            Some("SELF_ACTION".into()),
            None,
            Some("NOT_FOUND".into()),
            None
        ]
    );
    let changed: Vec<bool> = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["changed"].as_bool().unwrap())
        .collect();
    assert_eq!(changed, [true, false, false, false, true]);
    assert_eq!(data["results"][0]["member"]["frozenReason"], "Audit");
    assert_eq!(
        (data["succeeded"].clone(), data["failed"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(
        statuses(&app, &admin, &members).await,
        ["FROZEN", "FROZEN", "FROZEN"]
    );
    // One event per changed member, besides the single freeze before.
    assert_eq!(count(&app.audit(&admin).await, "MEMBER_FROZEN"), 3);
}

async fn bad_id_lists_change_nothing(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let emails: Vec<String> = (0..101).map(|i| format!("m{i}@example.com")).collect();
    let members = app.add_members_as(&emails, "M", &role).await;
    for list in [
        vec![],
        members.clone(),
        vec![members[0], members[1], members[0]],
    ] {
        let data = app
            .ok(Some(&admin), BULK_FREEZE, json!({ "ids": ids(&list) }))
            .await;
        let payload = &data["bulkFreeze"];
        assert_eq!(payload["errors"][0]["code"], "INVALID_INPUT", "{data}");
        assert_eq!(payload["errors"][0]["field"], json!(["memberIds"]));
        assert_eq!(payload["results"], json!([]));
    }
    assert_eq!(count(&app.audit(&admin).await, "MEMBER_FROZEN"), 0);
    // Without the permission, the call is refused as a whole.
    let (_, viewer) = app.member_with("viewer@example.com", &role).await;
    let data = app
        .gql(
            Some(&viewer),
            BULK_FREEZE,
            json!({ "ids": ids(&members[..2]) }),
        )
        .await;
    assert_eq!(error_code(&data), "FORBIDDEN", "{data}");
}

async fn all_or_nothing_changes_nothing_when_one_fails(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let members = app
        .add_members_as(&["a@example.com", "b@example.com"], "M", &role)
        .await;
    let list = [members[0], 1, members[1]];
    let vars = json!({ "ids": ids(&list), "policy": "ALL_OR_NOTHING" });
    let data = app.ok(Some(&admin), BULK_FREEZE, vars).await["bulkFreeze"].clone();
    assert_eq!(codes(&data), [None, Some("SELF_ACTION".into()), None]);
    assert!(
        data["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["changed"] == false)
    );
    assert_eq!(
        (data["succeeded"].clone(), data["failed"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(statuses(&app, &admin, &members).await, ["ACTIVE", "ACTIVE"]);
    assert_eq!(count(&app.audit(&admin).await, "MEMBER_FROZEN"), 0);
    // Without the failing member it all happens, with an end for every freeze.
    let until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let vars = json!({ "ids": ids(&members), "policy": "ALL_OR_NOTHING", "until": until });
    let data = app.ok(Some(&admin), BULK_FREEZE, vars).await["bulkFreeze"].clone();
    assert_eq!(codes(&data), [None, None]);
    assert_eq!(data["succeeded"], 2);
    assert!(data["results"][1]["member"]["frozenUntil"].is_string());
    assert_eq!(statuses(&app, &admin, &members).await, ["FROZEN", "FROZEN"]);
    assert_eq!(count(&app.audit(&admin).await, "MEMBER_FROZEN"), 2);
}

/// Members of a role holding every permission without being the built-in one.
async fn almost_admins(app: &TestApp, admin: &str, n: usize) -> Vec<String> {
    let role = app.create_role(admin, "Almost", &EVERY_PERMISSION).await;
    let mut tokens = Vec::new();
    for i in 0..n {
        tokens.push(
            app.member_with(&format!("almost{i}@example.com"), &role)
                .await
                .1,
        );
    }
    tokens
}

async fn active_admins(app: &TestApp, token: &str, admin_role: &str) -> i64 {
    let q = "query($r: ID) { members(filter: { roleId: $r, status: ACTIVE }) { totalCount } }";
    app.ok(Some(token), q, json!({ "r": admin_role })).await["members"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn freezing_every_administrator_leaves_one_even_concurrently(app: TestApp) {
    let admin = app.admin().await;
    let admin_role = app.admin_role_id().await;
    let almost = almost_admins(&app, &admin, 2).await;
    let mut admins = vec![1];
    admins.extend(
        app.add_members_as(&["x@example.com", "y@example.com"], "Admin", &admin_role)
            .await,
    );
    // In one call, all or nothing: the last one fails and nobody is frozen.
    let vars = json!({ "ids": ids(&admins), "policy": "ALL_OR_NOTHING" });
    let data = app.ok(Some(&almost[0]), BULK_FREEZE, vars).await["bulkFreeze"].clone();
    assert_eq!(
        codes(&data),
        [None, None, Some("LAST_ADMINISTRATOR".into())]
    );
    assert_eq!(active_admins(&app, &almost[0], &admin_role).await, 3);
    // Per member: all but the last.
    let vars = json!({ "ids": ids(&admins) });
    let data = app.ok(Some(&almost[0]), BULK_FREEZE, vars).await["bulkFreeze"].clone();
    assert_eq!(
        codes(&data),
        [None, None, Some("LAST_ADMINISTRATOR".into())]
    );
    assert_eq!(active_admins(&app, &almost[0], &admin_role).await, 1);
    // Concurrently, from two members, in opposite orders: one stays.
    let recover = "mutation($ids: [ID!]!) { bulkRecover(memberIds: $ids) { succeeded } }";
    app.ok(Some(&almost[0]), recover, json!({ "ids": ids(&admins) }))
        .await;
    assert_eq!(active_admins(&app, &almost[0], &admin_role).await, 3);
    let reversed: Vec<i64> = admins.iter().rev().copied().collect();
    let (a, b) = tokio::join!(
        app.gql(
            Some(&almost[0]),
            BULK_FREEZE,
            json!({ "ids": ids(&admins) })
        ),
        app.gql(
            Some(&almost[1]),
            BULK_FREEZE,
            json!({ "ids": ids(&reversed) })
        ),
    );
    for r in [&a, &b] {
        assert!(r["errors"].is_null(), "{r}");
    }
    assert_eq!(
        active_admins(&app, &almost[0], &admin_role).await,
        1,
        "{a} {b}"
    );
}

async fn bulk_edit_permission_and_recover_follow_their_acts(app: TestApp) {
    let admin = app.admin().await;
    let dev = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let ops = app
        .create_role(&admin, "Ops", &["MEMBERS_VIEW", "MEMBERS_FREEZE"])
        .await;
    let members = app
        .add_members_as(&["a@example.com", "b@example.com"], "M", &dev)
        .await;
    let edit = "mutation($ids: [ID!]!, $r: ID!) { bulkEditPermission(memberIds: $ids, roleId: $r) {
      succeeded failed results { changed member { role { name } } errors { code field } } } }";
    let data = app
        .ok(
            Some(&admin),
            edit,
            json!({ "ids": ids(&members), "r": ops }),
        )
        .await;
    let payload = &data["bulkEditPermission"];
    assert_eq!(payload["succeeded"], 2, "{data}");
    assert_eq!(payload["results"][1]["member"]["role"]["name"], "Ops");
    // A member of Ops cannot grant Ops's permissions beyond their own... but can
    // freeze; a role they do not cover fails on every row.
    let (_, lead) = app.member_with("lead@example.com", &ops).await;
    let data = app.ok(Some(&lead), "mutation($ids: [ID!]!) { bulkRecover(memberIds: $ids) { succeeded failed results { changed errors { code } } } }", json!({ "ids": ids(&members) })).await;
    assert_eq!(data["bulkRecover"]["succeeded"], 2, "{data}");
    assert_eq!(data["bulkRecover"]["results"][0]["changed"], false);
    let admin_role = app.admin_role_id().await;
    let data = app
        .ok(
            Some(&admin),
            edit,
            json!({ "ids": ids(&members), "r": admin_role }),
        )
        .await;
    assert_eq!(data["bulkEditPermission"]["succeeded"], 2);
    let data = app
        .ok(
            Some(&admin),
            edit,
            json!({ "ids": ids(&members), "r": "987654" }),
        )
        .await;
    let codes_back = codes(&data["bulkEditPermission"]);
    assert_eq!(
        codes_back,
        [Some("NOT_FOUND".into()), Some("NOT_FOUND".into())]
    );
    assert_eq!(
        data["bulkEditPermission"]["results"][0]["errors"][0]["field"],
        json!(["roleId"])
    );
}

async fn invite_many_binds_each_email_and_fails_rows_alone(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    app.add_members_as(&["member@example.com"], "M", &role)
        .await;
    let q = "mutation($r: ID!, $emails: [String!]!) {
      inviteMany(roleId: $r, validity: SEVEN_DAYS, emails: $emails) {
        errors { code field }
        results { email link invitation { id email status } errors { code field } }
      }
    }";
    let emails = [
        "new1@example.com",
        "not an email",
        "NEW1@example.com",
        "Member@example.com",
        "new2@example.com",
    ];
    let data = app
        .ok(Some(&admin), q, json!({ "r": role, "emails": emails }))
        .await;
    let payload = &data["inviteMany"];
    assert_eq!(payload["errors"], json!([]));
    assert_eq!(
        codes(payload),
        [
            None,
            Some("INVALID_INPUT".into()),
            Some("INVALID_INPUT".into()),
            Some("NAME_TAKEN".into()),
            None
        ]
    );
    let rows = payload["results"].as_array().unwrap();
    assert_eq!(rows[2]["email"], "NEW1@example.com");
    assert_eq!(rows[0]["invitation"]["email"], "new1@example.com");
    assert_eq!(rows[4]["invitation"]["status"], "PENDING");
    assert!(rows[1]["link"].is_null() && rows[3]["invitation"].is_null());
    let (l1, l2) = (
        rows[0]["link"].as_str().unwrap(),
        rows[4]["link"].as_str().unwrap(),
    );
    assert_ne!(l1, l2);
    // Each link is bound to its own address.
    let wrong = app
        .accept(&secret_of(l1), "new2@example.com", "N", MEMBER_PASSWORD)
        .await;
    assert_eq!(wrong["errors"][0]["field"], json!(["email"]), "{wrong}");
    let right = app
        .accept(&secret_of(l2), "new2@example.com", "N", MEMBER_PASSWORD)
        .await;
    assert_eq!(right["errors"], json!([]), "{right}");
    // Too few or too many: refused whole.
    let many: Vec<String> = (0..101).map(|i| format!("x{i}@example.com")).collect();
    for list in [vec![], many] {
        let data = app
            .ok(Some(&admin), q, json!({ "r": role, "emails": list }))
            .await;
        assert_eq!(
            data["inviteMany"]["errors"][0]["field"],
            json!(["emails"]),
            "{data}"
        );
    }
    let count_q = "{ invitations(first: 100) { totalCount } }";
    assert_eq!(
        app.ok(Some(&admin), count_q, json!({})).await["invitations"]["totalCount"],
        2
    );
}
