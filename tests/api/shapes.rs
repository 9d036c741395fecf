//! One selection, however it is written: plain fields, named and inline fragments, a
//! directive (which leaves the objects to the executor), variables. Every shape answers
//! exactly the same, on a page whose members wait on loads (their inviters) and share
//! one (the count of active administrators behind `viewerCan`), and at a constant
//! number of statements.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(every_way_of_writing_the_console_page_answers_the_same);

const ROW: &str = "id email name status version lastLoginAt createdAt invitedBy { email } \
    role { id name permissions } viewerCan { freeze { allowed reason } editPermission { allowed reason } }";

fn shapes() -> Vec<(&'static str, String, Value)> {
    let plain = format!(
        "{{ members(first: 30, filter: {{ status: ACTIVE }}) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ROW} }} }} }}"
    );
    let named = format!(
        "query {{ members(first: 30, filter: {{ status: ACTIVE }}) {{ totalCount pageInfo {{ ...P }} nodes {{ ...Row }} }} }} \
         fragment P on PageInfo {{ hasNextPage endCursor }} fragment Row on Member {{ {ROW} }}"
    );
    let inline = "{ members(first: 30, filter: { status: ACTIVE }) { totalCount pageInfo { hasNextPage endCursor } \
         nodes { ... on Member { id email name status } ... { version lastLoginAt createdAt invitedBy { email } \
         role { id name permissions } viewerCan { ... on MemberCapabilities { freeze { allowed reason } \
         editPermission { allowed reason } } } } } } }"
        .to_owned();
    let directive = format!(
        "{{ members(first: 30, filter: {{ status: ACTIVE }}) {{ totalCount pageInfo {{ hasNextPage endCursor }} \
         nodes {{ ... @include(if: true) {{ {ROW} }} }} }} }}"
    );
    let variables = format!(
        "query($first: Int!, $filter: MemberFilter) {{ members(first: $first, filter: $filter) {{ totalCount \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {ROW} }} }} }}"
    );
    let vars = json!({ "first": 30, "filter": { "status": "ACTIVE" } });
    vec![
        ("plain", plain, json!({})),
        ("named fragments", named, json!({})),
        ("inline fragments", inline, json!({})),
        ("a directive", directive, json!({})),
        ("variables", variables, vars),
    ]
}

async fn every_way_of_writing_the_console_page_answers_the_same(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let inviters = app
        .add_members_as(&["i1@example.com", "i2@example.com"], "Inviter", &role)
        .await;
    for (i, inviter) in inviters.iter().enumerate() {
        let emails: Vec<String> = (0..12).map(|k| format!("m{i}-{k}@example.com")).collect();
        let specs: Vec<(&str, &str, &str)> = emails
            .iter()
            .map(|e| (e.as_str(), "Invited", role.as_str()))
            .collect();
        app.add_members(&specs, Some(*inviter)).await;
    }
    let mut answers = Vec::new();
    for (name, query, variables) in shapes() {
        let before = app.statements();
        let data = app.ok(Some(&admin), &query, variables).await;
        answers.push((name, data, app.statements() - before));
    }
    let (_, plain, statements) = &answers[0];
    let nodes = plain["members"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 27, "{plain}");
    let invited = nodes.iter().filter(|n| n["invitedBy"]["email"].is_string());
    assert_eq!(invited.count(), 24);
    assert!(
        nodes
            .iter()
            .all(|n| n["viewerCan"]["freeze"]["allowed"].is_boolean())
    );
    for (name, data, cost) in &answers[1..] {
        assert_eq!(data, plain, "written with {name}");
        assert_eq!(cost, statements, "statements written with {name}");
    }
}
