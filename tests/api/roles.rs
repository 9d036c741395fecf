//! Role management: `roles`, `role`, `createRole`, `updateRole`, `deleteRole`.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const UPDATE_ROLE: &str = "mutation($id: ID!, $input: UpdateRoleInput!) {
  updateRole(id: $id, input: $input) {
    role { id name description permissions builtIn updatedAt }
    errors { code field message }
  }
}";
const DELETE_ROLE: &str = "mutation($id: ID!, $to: ID) {
  deleteRole(id: $id, reassignTo: $to) { deletedRoleId errors { code field message } }
}";
const ROLES: &str = "{ roles { id name builtIn memberCount permissions createdAt updatedAt } }";

on_both_databases!(
    created_role_is_listed_after_the_built_in_one_with_member_counts,
    create_role_validates_every_input_field,
    role_names_are_unique_case_insensitively,
    nobody_grants_permissions_they_lack,
    update_role_changes_only_what_is_given,
    built_in_role_cannot_be_renamed_narrowed_or_deleted,
    unknown_and_malformed_role_ids_are_not_found,
    role_in_use_needs_reassign_to,
    delete_role_moves_members_in_one_transaction,
);

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), CREATE_ROLE, json!({ "input": input }))
        .await
}

async fn created_role_is_listed_after_the_built_in_one_with_member_counts(app: TestApp) {
    let admin = app.admin().await;
    let data = create(&app, &admin, json!({ "name": "  Support  ", "description": "Helps", "permissions": ["MEMBERS_VIEW", "MEMBERS_FREEZE", "MEMBERS_VIEW"] })).await;
    let role = &data["createRole"]["role"];
    assert_eq!(role["name"], "Support", "names are trimmed");
    assert_eq!(
        role["permissions"],
        json!(["MEMBERS_VIEW", "MEMBERS_FREEZE"]),
        "deduplicated, canonical order"
    );
    assert_eq!(role["builtIn"], false);
    let id = role["id"].as_str().unwrap();
    app.add_members(
        &[("a@example.com", "A", id), ("b@example.com", "B", id)],
        None,
    )
    .await;
    app.create_role(&admin, "Auditor", &["AUDIT_LOG_VIEW"])
        .await;

    let roles = app.ok(Some(&admin), ROLES, json!({})).await["roles"].clone();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Administrator", "Auditor", "Support"]);
    let counts: Vec<i64> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["memberCount"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 0, 2]);
    assert_eq!(
        roles[0]["permissions"].as_array().unwrap().len(),
        roster::domain::Permission::ALL.len()
    );
    let one = app
        .ok(
            Some(&admin),
            "query($id: ID!) { role(id: $id) { name memberCount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(one["role"], json!({ "name": "Support", "memberCount": 2 }));
}

async fn create_role_validates_every_input_field(app: TestApp) {
    let admin = app.admin().await;
    let long = "n".repeat(65);
    let cases = [
        (json!({ "name": "", "permissions": [] }), "name"),
        (json!({ "name": "   ", "permissions": [] }), "name"),
        (json!({ "name": long, "permissions": [] }), "name"),
        (json!({ "name": "bad\u{7}name", "permissions": [] }), "name"),
        (
            json!({ "name": "ok", "description": "d".repeat(501), "permissions": [] }),
            "description",
        ),
    ];
    for (input, field) in cases {
        let data = create(&app, &admin, input.clone()).await;
        assert_eq!(user_error(&data, "createRole"), "INVALID_INPUT", "{input}");
        assert_eq!(
            data["createRole"]["errors"][0]["field"],
            json!(["input", field])
        );
        assert_eq!(data["createRole"]["role"], json!(null));
    }
    let bad_enum = app
        .gql(
            Some(&admin),
            CREATE_ROLE,
            json!({ "input": { "name": "x", "permissions": ["FLY"] } }),
        )
        .await;
    assert!(
        bad_enum["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("FLY"),
        "{bad_enum}"
    );
    let n = "é".repeat(64);
    assert_eq!(
        create(&app, &admin, json!({ "name": n, "permissions": [] })).await["createRole"]["errors"],
        json!([]),
        "64 characters, not bytes"
    );
    let roles = app.ok(Some(&admin), ROLES, json!({})).await;
    assert_eq!(
        roles["roles"].as_array().unwrap().len(),
        2,
        "only the valid role was created"
    );
}

async fn role_names_are_unique_case_insensitively(app: TestApp) {
    let admin = app.admin().await;
    app.create_role(&admin, "Support", &[]).await;
    for name in ["support", "SUPPORT ", "administrator"] {
        let data = create(&app, &admin, json!({ "name": name, "permissions": [] })).await;
        assert_eq!(user_error(&data, "createRole"), "NAME_TAKEN", "{name}");
        assert_eq!(
            data["createRole"]["errors"][0]["field"],
            json!(["input", "name"])
        );
    }
    let other = app.create_role(&admin, "Other", &[]).await;
    let data = app
        .ok(
            Some(&admin),
            UPDATE_ROLE,
            json!({ "id": other, "input": { "name": "SUPPORT" } }),
        )
        .await;
    assert_eq!(user_error(&data, "updateRole"), "NAME_TAKEN");
}

async fn nobody_grants_permissions_they_lack(app: TestApp) {
    let admin = app.admin().await;
    let manager_role = app
        .create_role(&admin, "Role manager", &["ROLES_MANAGE", "MEMBERS_VIEW"])
        .await;
    let wide = app
        .create_role(&admin, "Wide", &["MEMBERS_VIEW", "MEMBERS_FREEZE"])
        .await;
    let narrow = app.create_role(&admin, "Narrow", &["MEMBERS_VIEW"]).await;
    let (_, manager) = app.member_with("manager@example.com", &manager_role).await;

    let data = create(
        &app,
        &manager,
        json!({ "name": "Escalated", "permissions": ["MEMBERS_FREEZE"] }),
    )
    .await;
    assert_eq!(user_error(&data, "createRole"), "PRIVILEGE_ESCALATION");
    assert_eq!(
        data["createRole"]["errors"][0]["field"],
        json!(["input", "permissions"])
    );
    let ok = create(
        &app,
        &manager,
        json!({ "name": "Within", "permissions": ["MEMBERS_VIEW"] }),
    )
    .await;
    assert_eq!(ok["createRole"]["errors"], json!([]));

    let widen = app
        .ok(
            Some(&manager),
            UPDATE_ROLE,
            json!({ "id": narrow, "input": { "permissions": ["MEMBERS_VIEW", "MEMBERS_FREEZE"] } }),
        )
        .await;
    assert_eq!(user_error(&widen, "updateRole"), "PRIVILEGE_ESCALATION");
    let touch = app
        .ok(
            Some(&manager),
            UPDATE_ROLE,
            json!({ "id": wide, "input": { "description": "mine now" } }),
        )
        .await;
    assert_eq!(
        user_error(&touch, "updateRole"),
        "PRIVILEGE_ESCALATION",
        "touching a wider role"
    );
    let admin_role = app.admin_role_id().await;
    let touch_admin = app
        .ok(
            Some(&manager),
            UPDATE_ROLE,
            json!({ "id": admin_role, "input": { "description": "x" } }),
        )
        .await;
    assert_eq!(
        user_error(&touch_admin, "updateRole"),
        "PRIVILEGE_ESCALATION"
    );
    let delete = app
        .ok(Some(&manager), DELETE_ROLE, json!({ "id": wide }))
        .await;
    assert_eq!(user_error(&delete, "deleteRole"), "PRIVILEGE_ESCALATION");
    let into_wide = app
        .ok(
            Some(&manager),
            DELETE_ROLE,
            json!({ "id": narrow, "to": wide }),
        )
        .await;
    assert_eq!(
        user_error(&into_wide, "deleteRole"),
        "PRIVILEGE_ESCALATION",
        "reassigning into a wider role"
    );
    let roles = app
        .ok(
            Some(&admin),
            "query($id: ID!) { role(id: $id) { description permissions } }",
            json!({ "id": wide }),
        )
        .await;
    assert_eq!(
        roles["role"],
        json!({ "description": "", "permissions": ["MEMBERS_VIEW", "MEMBERS_FREEZE"] })
    );
}

async fn update_role_changes_only_what_is_given(app: TestApp) {
    let admin = app.admin().await;
    let id = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    app.clock.advance(chrono::Duration::seconds(5));
    let data = app
        .ok(
            Some(&admin),
            UPDATE_ROLE,
            json!({ "id": id, "input": { "description": "Front line" } }),
        )
        .await;
    let role = &data["updateRole"]["role"];
    assert_eq!(
        (role["name"].as_str(), role["description"].as_str()),
        (Some("Support"), Some("Front line"))
    );
    assert_eq!(role["permissions"], json!(["MEMBERS_VIEW"]));
    let data = app
        .ok(
            Some(&admin),
            UPDATE_ROLE,
            json!({ "id": id, "input": { "name": "Helpdesk", "permissions": [] } }),
        )
        .await;
    assert_eq!(data["updateRole"]["role"]["name"], "Helpdesk");
    assert_eq!(data["updateRole"]["role"]["permissions"], json!([]));
    let bad = app
        .ok(
            Some(&admin),
            UPDATE_ROLE,
            json!({ "id": id, "input": { "name": "" } }),
        )
        .await;
    assert_eq!(user_error(&bad, "updateRole"), "INVALID_INPUT");
    assert_eq!(
        bad["updateRole"]["errors"][0]["field"],
        json!(["input", "name"])
    );
}

async fn built_in_role_cannot_be_renamed_narrowed_or_deleted(app: TestApp) {
    let admin = app.admin().await;
    let id = app.admin_role_id().await;
    for input in [
        json!({ "name": "Root" }),
        json!({ "permissions": ["MEMBERS_VIEW"] }),
    ] {
        let data = app
            .ok(
                Some(&admin),
                UPDATE_ROLE,
                json!({ "id": id, "input": input }),
            )
            .await;
        assert_eq!(user_error(&data, "updateRole"), "BUILT_IN_ROLE", "{input}");
    }
    let recased = app
        .ok(
            Some(&admin),
            UPDATE_ROLE,
            json!({ "id": id, "input": { "description": "All of it" } }),
        )
        .await;
    assert_eq!(recased["updateRole"]["role"]["description"], "All of it");
    let deleted = app.ok(Some(&admin), DELETE_ROLE, json!({ "id": id })).await;
    assert_eq!(user_error(&deleted, "deleteRole"), "BUILT_IN_ROLE");
    let me = app
        .ok(
            Some(&admin),
            "{ me { role { name permissions } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["role"]["name"], "Administrator");
    assert_eq!(
        me["me"]["role"]["permissions"].as_array().unwrap().len(),
        roster::domain::Permission::ALL.len()
    );
}

async fn unknown_and_malformed_role_ids_are_not_found(app: TestApp) {
    let admin = app.admin().await;
    for id in ["999999", "abc", "-1", "0", ""] {
        let upd = app
            .ok(
                Some(&admin),
                UPDATE_ROLE,
                json!({ "id": id, "input": { "description": "x" } }),
            )
            .await;
        assert_eq!(user_error(&upd, "updateRole"), "NOT_FOUND", "{id}");
        let del = app.ok(Some(&admin), DELETE_ROLE, json!({ "id": id })).await;
        assert_eq!(user_error(&del, "deleteRole"), "NOT_FOUND", "{id}");
        let one = app
            .ok(
                Some(&admin),
                "query($id: ID!) { role(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(one["role"], json!(null));
    }
    let role = app.create_role(&admin, "Temp", &[]).await;
    let del = app
        .ok(
            Some(&admin),
            DELETE_ROLE,
            json!({ "id": role, "to": "nope" }),
        )
        .await;
    assert_eq!(user_error(&del, "deleteRole"), "NOT_FOUND");
    assert_eq!(
        del["deleteRole"]["errors"][0]["field"],
        json!(["reassignTo"])
    );
    let to_self = app
        .ok(Some(&admin), DELETE_ROLE, json!({ "id": role, "to": role }))
        .await;
    assert_eq!(user_error(&to_self, "deleteRole"), "INVALID_INPUT");
}

async fn role_in_use_needs_reassign_to(app: TestApp) {
    let admin = app.admin().await;
    let id = app.create_role(&admin, "Support", &[]).await;
    app.add_members(&[("s@example.com", "S", &id)], None).await;
    let data = app.ok(Some(&admin), DELETE_ROLE, json!({ "id": id })).await;
    assert_eq!(user_error(&data, "deleteRole"), "ROLE_IN_USE");
    assert_eq!(data["deleteRole"]["deletedRoleId"], json!(null));
    let unused = app.create_role(&admin, "Unused", &[]).await;
    let data = app
        .ok(Some(&admin), DELETE_ROLE, json!({ "id": unused }))
        .await;
    assert_eq!(
        data["deleteRole"],
        json!({ "deletedRoleId": unused, "errors": [] })
    );
    let again = app
        .ok(Some(&admin), DELETE_ROLE, json!({ "id": unused }))
        .await;
    assert_eq!(user_error(&again, "deleteRole"), "NOT_FOUND");
}

async fn delete_role_moves_members_in_one_transaction(app: TestApp) {
    let admin = app.admin().await;
    let from = app.create_role(&admin, "Old", &["MEMBERS_VIEW"]).await;
    let to = app
        .create_role(&admin, "New", &["MEMBERS_VIEW", "ROLES_MANAGE"])
        .await;
    let ids = app
        .add_members(
            &[("x@example.com", "X", &from), ("y@example.com", "Y", &from)],
            None,
        )
        .await;
    let data = app
        .ok(Some(&admin), DELETE_ROLE, json!({ "id": from, "to": to }))
        .await;
    assert_eq!(data["deleteRole"]["deletedRoleId"], from);
    let q = "query($id: ID!) { member(id: $id) { role { name } version } }";
    for id in ids {
        let m = app
            .ok(Some(&admin), q, json!({ "id": id.to_string() }))
            .await;
        assert_eq!(
            m["member"],
            json!({ "role": { "name": "New" }, "version": 2 })
        );
    }
    let roles = app.ok(Some(&admin), ROLES, json!({})).await;
    let new = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == to)
        .unwrap()
        .clone();
    assert_eq!(new["memberCount"], 2);
}
