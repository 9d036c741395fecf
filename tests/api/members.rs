//! The member read side: `members` (cursor pages, filters, search) and `member`.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

const PAGE: &str = "query($first: Int, $after: String, $filter: MemberFilter) {
  members(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id email } }
    nodes { id email name status role { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

on_both_databases!(
    inactive_members_are_those_last_signed_in_before_an_instant_or_never,
    members_page_newest_first_by_cursor,
    page_size_is_validated_and_capped,
    filters_by_status_and_role,
    search_is_case_insensitive_and_literal,
    search_narrowed_by_statistics_finds_the_same,
    member_by_id_resolves_role_and_inviter,
    a_page_costs_the_same_statements_at_any_size,
    list_items_answer_alike_on_both_resolution_paths,
    total_counts_stay_exact_through_every_change,
);

async fn page(app: &TestApp, token: &str, vars: Value) -> Value {
    app.ok(Some(token), PAGE, vars).await["members"].clone()
}

fn emails(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn set_status(app: &TestApp, id: i64, status: &str) {
    use diesel::prelude::*;
    use roster::db::schema::members;
    let mut conn = app.state.pool.get().await.unwrap();
    roster::db::with_conn!(&mut conn, |c| {
        diesel_async::RunQueryDsl::execute(
            diesel::update(members::table.find(id)).set(members::status.eq(status)),
            c,
        )
        .await
    })
    .unwrap();
}

/// Inserts members with one statement (as a bulk import would): `(email, role id,
/// status)`.
async fn insert_at_once(app: &TestApp, specs: &[(&str, &str, &str)]) {
    let rows: Vec<String> = specs
        .iter()
        .map(|(email, role, status)| {
            let role: i64 = role.parse().unwrap();
            format!(
                "('{email}', '{email}', 'Bulk', '{email}', {role}, '{status}', '-', false, \
                 '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO members (email, email_key, name, search_key, role_id, status, \
         password_hash, must_change_password, created_at, updated_at) VALUES {}",
        rows.join(", ")
    );
    let mut conn = app.state.pool.get().await.unwrap();
    let inserted = roster::db::with_conn!(&mut conn, |c| {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql.clone()), c).await
    })
    .unwrap();
    assert_eq!(inserted, specs.len());
}

async fn members_page_newest_first_by_cursor(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let specs: Vec<(String, String)> = (0..25)
        .map(|i| (format!("m{i:02}@example.com"), format!("Member {i:02}")))
        .collect();
    let refs: Vec<(&str, &str, &str)> = specs
        .iter()
        .map(|(e, n)| (e.as_str(), n.as_str(), role.as_str()))
        .collect();
    app.add_members(&refs, None).await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let p = page(&app, &admin, json!({ "first": 10, "after": after })).await;
        assert_eq!(p["totalCount"], 26);
        assert_eq!(p["pageInfo"]["hasPreviousPage"], after.is_some());
        assert_eq!(
            p["edges"].as_array().unwrap().len(),
            p["nodes"].as_array().unwrap().len()
        );
        assert_eq!(
            p["pageInfo"]["endCursor"],
            p["edges"].as_array().unwrap().last().unwrap()["cursor"]
        );
        seen.extend(emails(&p));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let mut expected: Vec<String> = specs.iter().rev().map(|(e, _)| e.clone()).collect();
    expected.push(ADMIN_EMAIL.to_owned());
    assert_eq!(seen, expected, "newest first, every member exactly once");
}

async fn page_size_is_validated_and_capped(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let emails: Vec<String> = (0..105).map(|i| format!("p{i}@example.com")).collect();
    app.add_members_as(&emails, "P", &role).await;
    assert_eq!(
        page(&app, &admin, json!({ "first": 1000 })).await["nodes"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(
        page(&app, &admin, json!({})).await["nodes"]
            .as_array()
            .unwrap()
            .len(),
        20,
        "default 20"
    );
    let empty = page(&app, &admin, json!({ "first": 0 })).await;
    assert_eq!(
        (
            empty["nodes"].as_array().unwrap().len(),
            empty["totalCount"].as_i64()
        ),
        (0, Some(106))
    );
    for vars in [
        json!({ "first": -1 }),
        json!({ "after": "garbage" }),
        json!({ "after": "" }),
    ] {
        let resp = app.gql(Some(&admin), PAGE, vars.clone()).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{vars}");
    }
    let too_long = json!({ "filter": { "search": "x".repeat(201) } });
    assert_eq!(
        error_code(&app.gql(Some(&admin), PAGE, too_long).await),
        "BAD_USER_INPUT"
    );
}

async fn filters_by_status_and_role(app: TestApp) {
    let admin = app.admin().await;
    let support = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let ids = app
        .add_members(
            &[
                ("s1@example.com", "S1", &support),
                ("s2@example.com", "S2", &support),
                ("o@example.com", "O", &app.admin_role_id().await),
            ],
            None,
        )
        .await;
    set_status(&app, ids[0], "FROZEN").await;

    let frozen = page(&app, &admin, json!({ "filter": { "status": "FROZEN" } })).await;
    assert_eq!(
        (emails(&frozen), frozen["totalCount"].as_i64()),
        (vec!["s1@example.com".to_owned()], Some(1))
    );
    assert_eq!(frozen["nodes"][0]["status"], "FROZEN");
    let by_role = page(&app, &admin, json!({ "filter": { "roleId": support } })).await;
    assert_eq!(emails(&by_role), ["s2@example.com", "s1@example.com"]);
    let both = page(
        &app,
        &admin,
        json!({ "filter": { "roleId": support, "status": "ACTIVE" } }),
    )
    .await;
    assert_eq!(
        (emails(&both), both["totalCount"].as_i64()),
        (vec!["s2@example.com".to_owned()], Some(1))
    );
    for bad in ["999999", "not-an-id"] {
        let none = page(&app, &admin, json!({ "filter": { "roleId": bad } })).await;
        assert_eq!(
            (
                none["nodes"].as_array().unwrap().len(),
                none["totalCount"].as_i64()
            ),
            (0, Some(0))
        );
    }
    let bad_status = app
        .gql(
            Some(&admin),
            PAGE,
            json!({ "filter": { "status": "SLEEPING" } }),
        )
        .await;
    assert!(
        bad_status["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SLEEPING")
    );
}

async fn search_is_case_insensitive_and_literal(app: TestApp) {
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    app.add_members(
        &[
            ("ann.lee@example.com", "Ann Lee", &role),
            ("bob@corp.test", "Bob Ärger", &role),
            ("percent@example.com", "100% Sure", &role),
            ("under_score@example.com", "Under Score", &role),
            ("quote@example.com", "O'Brien \"Q\"", &role),
            ("glob@example.com", "Star*Q?[x]", &role),
        ],
        None,
    )
    .await;
    // Wildcards of either backend's index syntax (LIKE's % and _, GLOB's * ? [) match
    // themselves only.
    let cases: [(&str, &[&str]); 13] = [
        ("ANN", &["ann.lee@example.com"]),
        ("  corp.TEST ", &["bob@corp.test"]),
        ("äRGER", &["bob@corp.test"]),
        ("%", &["percent@example.com"]),
        ("_", &["under_score@example.com"]),
        ("o'brien \"q", &["quote@example.com"]),
        ("\\", &[]),
        ("nobody-matches", &[]),
        ("example.com ann", &[]),
        ("*", &["glob@example.com"]),
        ("?", &["glob@example.com"]),
        ("[x]", &["glob@example.com"]),
        ("r*q?[", &["glob@example.com"]),
    ];
    for (search, expected) in cases {
        let p = page(&app, &admin, json!({ "filter": { "search": search } })).await;
        assert_eq!(emails(&p), expected, "search {search:?}");
        assert_eq!(p["totalCount"].as_u64(), Some(expected.len() as u64));
    }
    let all = page(&app, &admin, json!({ "filter": { "search": "  " } })).await;
    assert_eq!(all["totalCount"], 7, "blank search filters nothing");
    // A page that holds every match tells the total itself; the others count it.
    // Six match: five members and the administrator.
    let filter = json!({ "search": "EXAMPLE.com" });
    for first in [1, 5, 6, 7, 100] {
        let p = page(&app, &admin, json!({ "first": first, "filter": filter })).await;
        assert_eq!(p["totalCount"], 6, "first {first}");
        let rest = json!({ "first": first, "after": p["pageInfo"]["endCursor"], "filter": filter });
        let next = page(&app, &admin, rest).await;
        assert_eq!(next["totalCount"], 6, "first {first}, second page");
    }
}

/// On PostgreSQL, a term with trigrams most members share asks the index for its rarer
/// part only; the rows that part finds must still contain the whole term.
async fn search_narrowed_by_statistics_finds_the_same(app: TestApp) {
    let admin = app.admin().await;
    let role: i64 = app.admin_role_id().await.parse().unwrap();
    // 5000 members "user<i>", so that "use" and "ser" are common; and members that
    // hold the rarer parts of the terms below without the terms themselves.
    let numbered = match app.backend {
        Backend::Postgres => "SELECT i FROM generate_series(1, 5000) AS i",
        Backend::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i FROM n"
        }
    };
    let sql = format!(
        "INSERT INTO members (email, email_key, name, search_key, role_id, status, \
         password_hash, must_change_password, created_at, updated_at) \
         SELECT 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i, \
         'user' || i || '@example.com' || CHR(10) || 'user ' || i, {role}, 'ACTIVE', '-', \
         false, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM ({numbered}) AS numbered"
    );
    let sql = match app.backend {
        Backend::Postgres => sql,
        Backend::Sqlite => sql.replace("CHR(10)", "CHAR(10)"),
    };
    let mut conn = app.state.pool.get().await.unwrap();
    let inserted = roster::db::with_conn!(&mut conn, |c| {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql.clone()), c).await
    })
    .unwrap();
    assert_eq!(inserted, 5000);
    let role = role.to_string();
    app.add_members(
        &[
            ("peter4777@corp.test", "Decoy One", &role),
            ("x@corp.test", "Peter47 Decoy", &role),
        ],
        None,
    )
    .await;
    if app.backend == Backend::Postgres {
        roster::db::with_conn!(&mut conn, |c| {
            diesel_async::RunQueryDsl::execute(diesel::sql_query("ANALYZE members"), c).await
        })
        .unwrap();
        let shares = app.state.search_hints.shares(&mut conn).await;
        let plan = |term| roster::domain::member_search::plan(term, &shares);
        assert_eq!(
            plan("user4777").parts,
            ["er4777"],
            "read from the statistics"
        );
        assert!(plan("user4777").narrowed && plan("user4777").few);
        // user47, user470-479, user4700-4799: few, read through the index and sorted.
        assert!(plan("user47").few && !plan("user").few);
    }
    drop(conn);

    let one = page(&app, &admin, json!({ "filter": { "search": "USER4777" } })).await;
    assert_eq!(emails(&one), ["user4777@example.com"]);
    assert_eq!(one["totalCount"], 1);
    // 111 members: user47, user470-479, user4700-4799. The page is full, so the count
    // runs with the same narrowed search.
    let many = page(
        &app,
        &admin,
        json!({ "first": 50, "filter": { "search": "user47" } }),
    )
    .await;
    assert_eq!(many["totalCount"], 111);
    let newest_first: Vec<String> = (4700..4800)
        .rev()
        .chain((470..480).rev())
        .chain([47])
        .map(|i| format!("user{i}@example.com"))
        .collect();
    assert_eq!(emails(&many), newest_first[..50]);
    let rest = json!({ "first": 100, "after": many["pageInfo"]["endCursor"], "filter": { "search": "user47" } });
    let rest = page(&app, &admin, rest).await;
    assert_eq!(emails(&rest), newest_first[50..]);
    let decoys = page(&app, &admin, json!({ "filter": { "search": "er47" } })).await;
    assert_eq!(
        decoys["totalCount"], 113,
        "the parts alone find the decoys too"
    );
}

async fn member_by_id_resolves_role_and_inviter(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let inviter = app
        .add_members(&[("inviter@example.com", "Inviter", &role)], None)
        .await[0];
    let invited = app
        .add_members(&[("invited@example.com", "Invited", &role)], Some(inviter))
        .await[0];
    let q = "query($id: ID!) { member(id: $id) { id email name status mustChangePassword frozenAt frozenReason
        lastLoginAt createdAt updatedAt version role { name } invitedBy { email invitedBy { id } } } }";
    let m = app
        .ok(Some(&admin), q, json!({ "id": invited.to_string() }))
        .await["member"]
        .clone();
    assert_eq!(m["role"]["name"], "Support");
    assert_eq!(
        m["invitedBy"],
        json!({ "email": "inviter@example.com", "invitedBy": null })
    );
    assert_eq!(
        (m["status"].as_str(), m["version"].as_i64()),
        (Some("ACTIVE"), Some(1))
    );
    assert!(
        m["createdAt"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC: {}",
        m["createdAt"]
    );
    assert_eq!(
        (m["frozenAt"].clone(), m["lastLoginAt"].clone()),
        (json!(null), json!(null))
    );
    for id in ["999999", "abc", "1.5", ""] {
        assert_eq!(
            app.ok(Some(&admin), q, json!({ "id": id })).await["member"],
            json!(null),
            "{id}"
        );
    }
}

async fn a_page_costs_the_same_statements_at_any_size(app: TestApp) {
    let admin = app.admin().await;
    let mut roles = Vec::new();
    for i in 0..5 {
        roles.push(
            app.create_role(&admin, &format!("Role {i}"), &["MEMBERS_VIEW"])
                .await,
        );
    }
    // The inviter's role is on no page member, so resolving it is always a second wave.
    let admin_role = app.admin_role_id().await;
    let inviter = app
        .add_members(&[("root@example.com", "Root", &admin_role)], None)
        .await[0];
    let specs: Vec<String> = (0..120).map(|i| format!("s{i}@example.com")).collect();
    for (i, chunk) in specs.chunks(24).enumerate() {
        let refs: Vec<(&str, &str, &str)> = chunk
            .iter()
            .map(|e| (e.as_str(), "S", roles[i].as_str()))
            .collect();
        app.add_members(&refs, Some(inviter)).await;
    }
    let list = "query($first: Int) { members(first: $first) { totalCount nodes { id email name status role { name } } } }";
    let related = "query($first: Int) { members(first: $first) { nodes { role { name } invitedBy { email } } } }";
    // Nested waves (a role's count, an inviter's role) batch too, but how the keys of a
    // later wave fall into batches depends on scheduling: bounded, not exact.
    let deep = "query($first: Int) { members(first: $first) { nodes { role { memberCount } invitedBy { role { name } } } } }";
    // The session check, the page joined with its roles, and the count or the
    // inviters of the page.
    for (query, exact) in [(list, Some(3)), (related, Some(3)), (deep, None)] {
        let mut costs = Vec::new();
        for first in [1, 10, 50, 100] {
            let before = app.statements();
            let data = app.ok(Some(&admin), query, json!({ "first": first })).await;
            costs.push(app.statements() - before);
            assert_eq!(
                data["members"]["nodes"].as_array().unwrap().len(),
                first as usize
            );
        }
        match exact {
            Some(n) => assert!(
                costs.iter().all(|c| *c == n),
                "{query}: statements per page size 1/10/50/100: {costs:?}"
            ),
            None => assert!(
                costs.iter().all(|c| *c <= 8),
                "{query}: statements per page size 1/10/50/100: {costs:?}"
            ),
        }
    }
}

/// Members of a list resolve on a fast path when their selection has no fragments,
/// directives or repeated keys; anything else goes through the normal executor. Both
/// must answer exactly alike, nulls and enums included, for every field of `Member` and
/// `Role` the exported schema has (read by introspection, so a new field is covered).
async fn list_items_answer_alike_on_both_resolution_paths(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Support", &["MEMBERS_VIEW", "AUDIT_LOG_VIEW"])
        .await;
    let (frozen, _) = app.member_with("frozen@example.com", &role).await;
    app.member_with("signed-in@example.com", &role).await;
    app.add_members(&[("never@example.com", "Never Signed In", &role)], None)
        .await;
    let freeze =
        "mutation($id: ID!) { freeze(memberId: $id, reason: \"left\") { errors { code } } }";
    let done = app
        .ok(Some(&admin), freeze, json!({ "id": frozen.to_string() }))
        .await;
    assert_eq!(done["freeze"]["errors"], json!([]));

    let role_parts = selection_of(&app, &admin, "Role", "").await;
    let role_fields = role_parts.join(" ");
    let mut member_fields = selection_of(&app, &admin, "Member", &role_fields).await;
    member_fields.extend(role_parts.iter().map(|f| format!("role {{ {f} }}")));
    let all = format!("{} {role_fields}", member_fields.join(" "));
    for name in [
        "frozenReason",
        "lastLoginAt",
        "version",
        "memberCount",
        "permissions",
    ] {
        assert!(all.contains(name), "{name} missing from {all}");
    }
    // Field by field (most answer on the fast path), then all of them at once.
    for field in &member_fields {
        let alone = format!("{{ members(first: 10) {{ nodes {{ {field} }} }} }}");
        let spread =
            format!("{{ members(first: 10) {{ nodes {{ ... on Member {{ {field} }} }} }} }}");
        let fast = app.ok(Some(&admin), &alone, json!({})).await;
        assert_eq!(
            app.ok(Some(&admin), &spread, json!({})).await,
            fast,
            "{field}"
        );
    }
    let fields = format!(
        "__typename {} r: role {{ {role_fields} }}",
        member_fields.join(" ")
    );
    let plain = format!(
        "{{ members(first: 10) {{ nodes {{ {fields} }} edges {{ node {{ {fields} }} }} }} }}"
    );
    let fragment = format!(
        "{{ members(first: 10) {{ nodes {{ ... on Member {{ {fields} }} }} edges {{ node {{ ... on Member {{ {fields} }} }} }} }} }}"
    );
    let directive = format!(
        "{{ members(first: 10) {{ nodes {{ id @include(if: true) {fields} }} edges {{ node {{ {fields} email }} }} }} }}"
    );
    let fast = app.ok(Some(&admin), &plain, json!({})).await;
    let nodes = fast["members"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    let frozen_node = nodes
        .iter()
        .find(|n| n["email"] == "frozen@example.com")
        .unwrap();
    assert_eq!(frozen_node["status"], "FROZEN");
    assert_eq!(frozen_node["frozenReason"], "left");
    assert!(frozen_node["frozenAt"].is_string());
    assert_eq!(
        frozen_node["r"]["permissions"],
        json!(["MEMBERS_VIEW", "AUDIT_LOG_VIEW"])
    );
    assert!(nodes.iter().any(|n| n["lastLoginAt"].is_null()));
    assert!(nodes.iter().any(|n| n["lastLoginAt"].is_string()));
    assert_eq!(
        fast["members"]["nodes"],
        fast["members"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect::<Value>()
    );
    for slow in [&fragment, &directive] {
        let slow = app.ok(Some(&admin), slow, json!({})).await;
        assert_eq!(slow, fast, "{slow}");
    }
    // A field that waits on a loader (memberCount) sends its object to the executor.
    let mixed = "{ members(first: 10) { nodes { email role { name memberCount } } } }";
    let data = app.ok(Some(&admin), mixed, json!({})).await;
    let support = data["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["email"] == "frozen@example.com")
        .unwrap();
    assert_eq!(
        support["role"],
        json!({ "name": "Support", "memberCount": 3 })
    );
}

/// totalCount without a search comes from counters kept by database triggers; after
/// inserts, accepted invitations, freezes, recoveries, role changes, a role deleted
/// with reassignment and a direct SQL update, every filter still counts what a
/// page actually lists.
async fn total_counts_stay_exact_through_every_change(app: TestApp) {
    let admin = app.admin().await;
    let a = app.create_role(&admin, "A", &["MEMBERS_VIEW"]).await;
    let b = app.create_role(&admin, "B", &["MEMBERS_VIEW"]).await;
    let specs: Vec<String> = (0..12).map(|i| format!("c{i}@example.com")).collect();
    let refs: Vec<(&str, &str, &str)> = specs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                e.as_str(),
                "C",
                if i % 3 == 0 { b.as_str() } else { a.as_str() },
            )
        })
        .collect();
    let ids = app.add_members(&refs, None).await;
    let (_, secret) = app.invite(&admin, &b, None).await;
    let joined = app
        .accept(&secret, "joined@example.com", "Joined", MEMBER_PASSWORD)
        .await;
    assert_eq!(joined["errors"], json!([]), "{joined}");
    let act = |q: &'static str, vars: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.ok(Some(admin), q, vars).await }
    };
    let freeze = "mutation($id: ID!) { freeze(memberId: $id) { errors { code } } }";
    let recover = "mutation($id: ID!) { recover(memberId: $id) { errors { code } } }";
    let edit = "mutation($id: ID!, $role: ID!) { editPermission(memberId: $id, roleId: $role) { errors { code } } }";
    for id in &ids[0..4] {
        act(freeze, json!({ "id": id.to_string() })).await;
    }
    act(recover, json!({ "id": ids[1].to_string() })).await;
    act(edit, json!({ "id": ids[2].to_string(), "role": b })).await;
    act(edit, json!({ "id": ids[3].to_string(), "role": b })).await;
    act(edit, json!({ "id": ids[6].to_string(), "role": a })).await;
    set_status(&app, ids[5], "FROZEN").await;
    let c = app.create_role(&admin, "C", &["MEMBERS_VIEW"]).await;
    act(edit, json!({ "id": ids[7].to_string(), "role": c })).await;
    act(edit, json!({ "id": ids[8].to_string(), "role": c })).await;
    let delete =
        "mutation($id: ID!, $to: ID) { deleteRole(id: $id, reassignTo: $to) { errors { code } } }";
    let done = act(delete, json!({ "id": c, "to": a })).await;
    assert_eq!(done["deleteRole"]["errors"], json!([]));
    insert_at_once(
        &app,
        &[
            ("bulk0@example.com", &a, "ACTIVE"),
            ("bulk1@example.com", &b, "FROZEN"),
            ("bulk2@example.com", &a, "ACTIVE"),
            ("bulk3@example.com", &b, "FROZEN"),
            ("bulk4@example.com", &a, "FROZEN"),
        ],
    )
    .await;

    let q = "query($filter: MemberFilter) { members(first: 100, filter: $filter) { totalCount nodes { id } } }";
    let mut seen = 0;
    for status in [None, Some("ACTIVE"), Some("FROZEN")] {
        for role in [None, Some(&a), Some(&b), Some(&c)] {
            let filter = json!({ "status": status, "roleId": role });
            let page =
                app.ok(Some(&admin), q, json!({ "filter": filter })).await["members"].clone();
            let listed = page["nodes"].as_array().unwrap().len();
            assert_eq!(page["totalCount"].as_u64(), Some(listed as u64), "{filter}");
            seen += listed;
        }
    }
    // 18 members with these roles, each admitted by 4 of the filters; the
    // administrator only by the 2 without a role.
    assert_eq!(seen, 18 * 4 + 2);
}

/// A selection of every field of `type_name` that takes no arguments, read from the
/// schema by introspection; object fields select `__typename` and `id`, except
/// `role`, which selects `nested`.
async fn selection_of(app: &TestApp, admin: &str, type_name: &str, nested: &str) -> Vec<String> {
    let query = "query($t: String!) { __type(name: $t) { fields { name args { name } \
        type { kind ofType { kind ofType { kind ofType { kind } } } } } } }";
    let data = app.ok(Some(admin), query, json!({ "t": type_name })).await;
    let mut parts = Vec::new();
    for field in data["__type"]["fields"].as_array().unwrap() {
        if !field["args"].as_array().unwrap().is_empty() {
            continue;
        }
        let name = field["name"].as_str().unwrap();
        let mut ty = &field["type"];
        while ty["kind"] == "NON_NULL" || ty["kind"] == "LIST" {
            ty = &ty["ofType"];
        }
        parts.push(match (ty["kind"].as_str().unwrap(), name) {
            ("OBJECT", "role") if !nested.is_empty() => format!("{name} {{ {nested} }}"),
            ("OBJECT", "viewerCan") => {
                format!("{name} {{ freeze {{ allowed reason }} remove {{ allowed reason }} }}")
            }
            ("OBJECT", _) => format!("{name} {{ __typename id }}"),
            _ => name.to_owned(),
        });
    }
    parts
}

async fn inactive_members_are_those_last_signed_in_before_an_instant_or_never(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    app.add_members(
        &[
            ("early@example.com", "Early", role.as_str()),
            ("late@example.com", "Late", role.as_str()),
            ("never@example.com", "Never", role.as_str()),
        ],
        None,
    )
    .await;
    app.login("early@example.com", MEMBER_PASSWORD).await;
    let start = roster::clock::Clock::now(app.clock.as_ref()).and_utc();
    app.clock.advance(chrono::Duration::days(10));
    app.login("late@example.com", MEMBER_PASSWORD).await;
    let admin = app.admin().await;
    let before = (start + chrono::Duration::days(5)).to_rfc3339();
    let q = "query($f: MemberFilter, $after: String) {
      members(first: 2, after: $after, filter: $f) {
        totalCount pageInfo { hasNextPage endCursor } nodes { email }
      }
    }";
    let emails = |data: &Value| -> Vec<String> {
        data["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = app
        .ok(
            Some(&admin),
            q,
            json!({ "f": { "lastLoginBefore": before } }),
        )
        .await;
    assert_eq!(first["members"]["totalCount"], 2, "{first}");
    assert_eq!(emails(&first), ["never@example.com", "early@example.com"]);
    assert_eq!(first["members"]["pageInfo"]["hasNextPage"], false);
    // With the role filter, and paged.
    let f = json!({ "lastLoginBefore": (start + chrono::Duration::days(11)).to_rfc3339(), "roleId": role });
    let page = app.ok(Some(&admin), q, json!({ "f": f })).await;
    assert_eq!(page["members"]["totalCount"], 3);
    assert_eq!(emails(&page), ["never@example.com", "late@example.com"]);
    let cursor = page["members"]["pageInfo"]["endCursor"].clone();
    let rest = app
        .ok(Some(&admin), q, json!({ "f": f, "after": cursor }))
        .await;
    assert_eq!(emails(&rest), ["early@example.com"]);
    // With a status: counted as all of that status less those signed in since.
    let never = app
        .ok(
            Some(&admin),
            "{ members(filter: { search: \"never@\" }) { nodes { id } } }",
            json!({}),
        )
        .await["members"]["nodes"][0]["id"]
        .clone();
    let freeze = "mutation($m: ID!) { freeze(memberId: $m) { changed } }";
    app.ok(Some(&admin), freeze, json!({ "m": never })).await;
    let at = (start + chrono::Duration::days(11)).to_rfc3339();
    for (status, n) in [("FROZEN", 1), ("ACTIVE", 2)] {
        let f = json!({ "lastLoginBefore": at, "roleId": role, "status": status });
        let page = app.ok(Some(&admin), q, json!({ "f": f })).await;
        assert_eq!(page["members"]["totalCount"], n, "{status}: {page}");
    }
    // Not an instant: refused.
    let bad = app
        .gql(
            Some(&admin),
            q,
            json!({ "f": { "lastLoginBefore": "last week" } }),
        )
        .await;
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("RFC 3339"),
        "{bad}"
    );
}
