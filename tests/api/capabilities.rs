//! `Member.viewerCan` against the acts themselves: for every viewer and every member of
//! a set of roles and states, each capability says exactly what the mutation then
//! answers. And a page with `viewerCan` costs at most one statement more.

use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    every_capability_matches_its_act_over_every_pair,
    a_page_with_capabilities_costs_one_statement_more,
);

const CAPS: &str = "query($id: ID!) { member(id: $id) { role { id } viewerCan {
  editPermission { allowed reason } freeze { allowed reason } recover { allowed reason }
  resetPassword { allowed reason } remove { allowed reason } revokeSessions { allowed reason }
} } }";

#[derive(Clone, Copy, Debug)]
enum Act {
    Freeze,
    EditPermission,
    Remove,
    ResetPassword,
    RevokeSessions,
    Recover,
}

impl Act {
    fn capability(self) -> &'static str {
        match self {
            Act::Freeze => "freeze",
            Act::EditPermission => "editPermission",
            Act::Remove => "remove",
            Act::ResetPassword => "resetPassword",
            Act::RevokeSessions => "revokeSessions",
            Act::Recover => "recover",
        }
    }

    fn mutation(self) -> (&'static str, &'static str) {
        match self {
            Act::Freeze => (
                "freeze",
                "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code } } }",
            ),
            Act::EditPermission => (
                "editPermission",
                "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { changed errors { code } } }",
            ),
            Act::Remove => (
                "removeMember",
                "mutation($m: ID!) { removeMember(memberId: $m) { changed errors { code } } }",
            ),
            Act::ResetPassword => (
                "resetPassword",
                "mutation($m: ID!) { resetPassword(memberId: $m, mode: TEMPORARY_PASSWORD) { errors { code } } }",
            ),
            Act::RevokeSessions => (
                "revokeAllSessions",
                "mutation($m: ID!) { revokeAllSessions(memberId: $m) { errors { code } } }",
            ),
            Act::Recover => (
                "recover",
                "mutation($m: ID!) { recover(memberId: $m) { changed errors { code } } }",
            ),
        }
    }
}

struct World {
    roles: Vec<(&'static str, String)>,
    empty: String,
    viewer_role: String,
    admin_role: String,
}

impl World {
    async fn new(app: &TestApp, admin: &str) -> World {
        let specs: [(&str, &[&str]); 5] = [
            ("Almost", &EVERY_PERMISSION),
            (
                "Manager",
                &[
                    "MEMBERS_VIEW",
                    "MEMBERS_EDIT_PERMISSION",
                    "MEMBERS_FREEZE",
                    "MEMBERS_RESET_PASSWORD",
                    "MEMBERS_REMOVE",
                    "MEMBERS_SESSIONS_MANAGE",
                ],
            ),
            ("Freezer", &["MEMBERS_VIEW", "MEMBERS_FREEZE"]),
            ("Viewer", &["MEMBERS_VIEW"]),
            ("Empty", &[]),
        ];
        let mut roles = Vec::new();
        for (name, permissions) in specs {
            roles.push((name, app.create_role(admin, name, permissions).await));
        }
        let find = |n: &str| roles.iter().find(|(r, _)| *r == n).unwrap().1.clone();
        World {
            empty: find("Empty"),
            viewer_role: find("Viewer"),
            admin_role: app.admin_role_id().await,
            roles,
        }
    }

    /// Fresh targets of every role, one of each frozen too; their ids.
    async fn targets(&self, app: &TestApp, arranger: &str, round: usize) -> Vec<i64> {
        let mut specs: Vec<(String, String)> =
            vec![(format!("admin-{round}@t.example"), self.admin_role.clone())];
        for (name, id) in &self.roles {
            specs.push((
                format!("{}-{round}@t.example", name.to_lowercase()),
                id.clone(),
            ));
        }
        let frozen = [0, 4];
        let as_refs: Vec<(&str, &str, &str)> = specs
            .iter()
            .map(|(e, r)| (e.as_str(), "Target", r.as_str()))
            .collect();
        let ids = app.add_members(&as_refs, None).await;
        let mut frozen_ids = Vec::new();
        for i in frozen {
            frozen_ids.push(ids[i]);
            // A frozen copy of the same role beside the active one, except for the
            // administrator, who is only ever frozen (an active copy would change
            // how many administrators remain).
            if i != 0 {
                let extra = app
                    .add_members(
                        &[(
                            &format!("frozen-{i}-{round}@t.example"),
                            "Target",
                            &specs[i].1,
                        )],
                        None,
                    )
                    .await;
                frozen_ids.push(extra[0]);
            }
        }
        let freeze = "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code } } }";
        for id in &frozen_ids {
            let data = app
                .ok(Some(arranger), freeze, json!({ "m": id.to_string() }))
                .await;
            assert_eq!(data["freeze"]["changed"], true, "{data}");
        }
        let mut all = ids;
        all.extend(frozen_ids.iter().skip(1));
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Whether the answer of the act agrees with the capability.
fn agrees(capability: &Value, field: &str, resp: &Value) -> bool {
    let payload = &resp["data"][field];
    let code = payload["errors"][0]["code"]
        .as_str()
        .or(resp["errors"][0]["extensions"]["code"].as_str());
    let changed = payload["changed"].as_bool().unwrap_or(code.is_none());
    match (
        capability["allowed"].as_bool().unwrap(),
        capability["reason"].as_str(),
    ) {
        (true, _) => code.is_none() && changed,
        (false, None) => code.is_none() && !changed,
        (false, Some(reason)) => code == Some(reason),
    }
}

async fn every_capability_matches_its_act_over_every_pair(app: TestApp) {
    let admin = app.admin().await;
    let world = World::new(&app, &admin).await;
    let find = |n: &str| world.roles.iter().find(|(r, _)| *r == n).unwrap().1.clone();
    // The viewers; the bootstrap administrator acts first: "almost" later resets them.
    let mut viewers: Vec<(String, i64, String)> = vec![("admin".into(), 1, admin.clone())];
    for name in ["Almost", "Manager", "Freezer", "Viewer"] {
        let email = format!("{}@v.example", name.to_lowercase());
        let (id, token) = app.member_with(&email, &find(name)).await;
        viewers.push((name.into(), id, token));
    }
    // Targets are arranged by "almost", who holds every permission and is never
    // acted on by anyone but themselves.
    let arranger = viewers[1].2.clone();
    let acts = [
        Act::Freeze,
        Act::EditPermission,
        Act::Remove,
        Act::ResetPassword,
        Act::RevokeSessions,
        Act::Recover,
    ];
    let (mut round, mut compared, mut reasons) = (0, 0, std::collections::BTreeSet::new());
    for (name, viewer_id, token) in &viewers {
        for act in acts {
            round += 1;
            let fresh = world.targets(&app, &arranger, round).await;
            let mut targets = fresh.clone();
            targets.extend([1, *viewer_id]);
            targets.dedup();
            let (field, q) = act.mutation();
            for &target in &targets {
                let caps = app
                    .ok(Some(token), CAPS, json!({ "id": target.to_string() }))
                    .await;
                let capability = caps["member"]["viewerCan"][act.capability()].clone();
                let to = match caps["member"]["role"]["id"] == json!(world.empty) {
                    true => &world.viewer_role,
                    false => &world.empty,
                };
                let resp = app
                    .gql(Some(token), q, json!({ "m": target.to_string(), "r": to }))
                    .await;
                assert!(
                    agrees(&capability, field, &resp),
                    "{name} {act:?} member {target}: capability {capability}, act {resp}"
                );
                if let Some(r) = capability["reason"].as_str() {
                    reasons.insert(r.to_owned());
                }
                compared += 1;
            }
            // An administrator recovered in this round is frozen again: later rounds
            // count on one active administrator.
            if matches!(act, Act::Recover) && name == "admin" {
                let freeze =
                    "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code } } }";
                app.ok(Some(token), freeze, json!({ "m": fresh[0].to_string() }))
                    .await;
            }
        }
    }
    assert!(compared > 200, "{compared}");
    for code in [
        "FORBIDDEN",
        "SELF_ACTION",
        "PRIVILEGE_ESCALATION",
        "LAST_ADMINISTRATOR",
    ] {
        assert!(reasons.contains(code), "{code} never came up: {reasons:?}");
    }
}

async fn a_page_with_capabilities_costs_one_statement_more(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let emails: Vec<String> = (0..60).map(|i| format!("m{i}@example.com")).collect();
    app.add_members_as(&emails, "M", &role).await;
    let plain = "{ members(first: 50) { nodes { id email status role { name } } } }";
    let with = "{ members(first: 50) { nodes { id email status role { name }
      viewerCan { freeze { allowed reason } remove { allowed reason } editPermission { allowed } } } } }";
    let mut cost = Vec::new();
    for q in [plain, with, with] {
        let before = app.statements();
        let data = app.ok(Some(&admin), q, json!({})).await;
        cost.push(app.statements() - before);
        assert_eq!(data["members"]["nodes"].as_array().unwrap().len(), 50);
    }
    assert!(cost[1] <= cost[0] + 1, "{cost:?}");
    assert_eq!(cost[1], cost[2], "{cost:?}");
    let data = app.ok(Some(&admin), with, json!({})).await;
    let node = &data["members"]["nodes"][0]["viewerCan"];
    assert_eq!(node["freeze"], json!({ "allowed": true, "reason": null }));
}
