//! `GET /audit-events.ndjson` (the audit log streamed as JSON lines, with the filters of
//! `auditEvents`) and the audit retention sweep.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    the_export_streams_every_matching_event_as_json_lines,
    the_export_needs_a_session_and_the_permission_and_good_parameters,
    events_past_the_retention_are_swept_by_any_instance,
);

async fn export(app: &TestApp, token: Option<&str>, query: &str) -> (u16, String, String) {
    let mut req = app
        .client
        .get(format!("{}/audit-events.ndjson{query}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.text().await.unwrap())
}

fn parse(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `n` refused sign-ins recorded straight into the log, a second apart.
async fn many_events(app: &TestApp, n: usize) {
    use roster::domain::audit::{self, AuditAction, Event, Origin};
    let mut conn = app.state.pool.get().await.unwrap();
    for _ in 0..n {
        let now = roster::clock::Clock::now(app.clock.as_ref());
        let event = Event::new(
            AuditAction::LoginFailed,
            None,
            None,
            json!({ "reason": "unknown email" }),
        );
        audit::record(&mut conn, &Origin::default(), event, now)
            .await
            .unwrap();
        app.clock.advance(Duration::seconds(1));
    }
}

async fn the_export_streams_every_matching_event_as_json_lines(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (id, _) = app.member_with("dev@example.com", &role).await;
    let start = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(
        roster::clock::Clock::now(app.clock.as_ref()),
        chrono::Utc,
    );
    many_events(&app, 1_234).await;
    let freeze = "mutation($m: ID!) { freeze(memberId: $m, reason: \"Away\") { changed } }";
    app.ok(Some(&admin), freeze, json!({ "m": id.to_string() }))
        .await;

    let (status, kind, body) = export(&app, Some(&admin), "").await;
    assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"));
    let lines = parse(&body);
    let total = app
        .ok(Some(&admin), "{ auditEvents { totalCount } }", json!({}))
        .await;
    assert_eq!(
        lines.len() as i64,
        total["auditEvents"]["totalCount"].as_i64().unwrap()
    );
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, each once"
    );
    let frozen = &lines[0];
    assert_eq!(frozen["action"], "MEMBER_FROZEN");
    assert_eq!(frozen["reason"], "Away");
    assert_eq!(frozen["targetMemberId"], id.to_string());
    assert!(
        frozen["changes"]
            .as_array()
            .unwrap()
            .contains(&json!({ "field": "status", "before": "ACTIVE", "after": "FROZEN" }))
    );
    assert_eq!(frozen["details"]["reason"], "Away");

    // The filters of auditEvents, as query parameters.
    let (_, _, body) = export(&app, Some(&admin), "?action=MEMBER_FROZEN").await;
    assert_eq!(parse(&body).len(), 1);
    let (_, _, body) = export(&app, Some(&admin), &format!("?targetMemberId={id}")).await;
    assert!(
        parse(&body)
            .iter()
            .all(|l| l["targetMemberId"] == json!(id.to_string()))
    );
    let from = (start + Duration::seconds(10)).to_rfc3339();
    let to = (start + Duration::seconds(20)).to_rfc3339();
    let q = format!(
        "?action=LOGIN_FAILED&from={}&to={}",
        urlencode(&from),
        urlencode(&to)
    );
    let (_, _, body) = export(&app, Some(&admin), &q).await;
    assert_eq!(parse(&body).len(), 10, "from inclusive, to exclusive");
    let (_, _, body) = export(&app, Some(&admin), &format!("?targetRoleId={role}")).await;
    let by_role = parse(&body);
    assert_eq!(by_role.len(), 1);
    assert_eq!(by_role[0]["action"], "ROLE_CREATED");
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn the_export_needs_a_session_and_the_permission_and_good_parameters(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, viewer) = app.member_with("viewer@example.com", &role).await;
    let cases = [
        (None, "", 401, "UNAUTHENTICATED"),
        (Some("not-a-token"), "", 401, "UNAUTHENTICATED"),
        (Some(viewer.as_str()), "", 403, "FORBIDDEN"),
        (Some(admin.as_str()), "?action=NOPE", 400, "BAD_USER_INPUT"),
        (Some(admin.as_str()), "?actorId=x", 400, "BAD_USER_INPUT"),
        (
            Some(admin.as_str()),
            "?from=yesterday",
            400,
            "BAD_USER_INPUT",
        ),
        (Some(admin.as_str()), "?page=2", 400, "BAD_USER_INPUT"),
        (
            Some(admin.as_str()),
            "?from=2026-01-02T00%3A00%3A00Z&to=2026-01-01T00%3A00%3A00Z",
            400,
            "BAD_USER_INPUT",
        ),
    ];
    for (token, query, status, code) in cases {
        let (got, _, body) = export(&app, token, query).await;
        assert_eq!(got, status, "{query}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{query}");
    }
}

async fn events_past_the_retention_are_swept_by_any_instance(app: TestApp) {
    let admin = app.admin().await;
    let update = "mutation($d: Int) { updateSecuritySettings(input: { auditRetentionDays: $d }) {
      securitySettings { auditRetentionDays } errors { code field } } }";
    for bad in [0, 3_651] {
        let data = app.ok(Some(&admin), update, json!({ "d": bad })).await;
        let errors = &data["updateSecuritySettings"]["errors"];
        assert_eq!(
            errors[0]["field"],
            json!(["input", "auditRetentionDays"]),
            "{data}"
        );
    }
    many_events(&app, 5).await;
    app.clock.advance(Duration::days(40));
    many_events(&app, 3).await;
    // Sessions last hours: sign in again, forty days on.
    let admin = app.admin().await;
    let data = app.ok(Some(&admin), update, json!({ "d": 30 })).await;
    assert_eq!(
        data["updateSecuritySettings"]["securitySettings"]["auditRetentionDays"],
        30
    );
    let setting = &app.audit(&admin).await[0];
    assert_eq!(setting["action"], "SECURITY_SETTINGS_UPDATED");
    let changes = app
        .ok(
            Some(&admin),
            "{ auditEvents(first: 1) { nodes { changes { field before after } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        changes["auditEvents"]["nodes"][0]["changes"],
        json!([{ "field": "auditRetentionDays", "before": null, "after": "30" }])
    );
    let count = "{ auditEvents { totalCount } }";
    let before = app.ok(Some(&admin), count, json!({})).await["auditEvents"]["totalCount"]
        .as_i64()
        .unwrap();
    // Two instances sweep at once: each old event goes once, the recent ones stay.
    let other = app.second_instance().await;
    let now = roster::clock::Clock::now(app.clock.as_ref());
    let (mut c1, mut c2) = (
        app.state.pool.get().await.unwrap(),
        other.state.pool.get().await.unwrap(),
    );
    let (a, b) = tokio::join!(
        roster::domain::retention::sweep(&mut c1, now),
        roster::domain::retention::sweep(&mut c2, now),
    );
    let swept = a.unwrap() + b.unwrap();
    drop((c1, c2));
    // The five old refusals and what the admin's first sign-in and role set-up wrote.
    let after = app.ok(Some(&admin), count, json!({})).await["auditEvents"]["totalCount"]
        .as_i64()
        .unwrap();
    assert_eq!(before - after, swept as i64);
    assert!(swept >= 5, "{swept}");
    let oldest = app
        .ok(
            Some(&admin),
            "{ auditEvents(first: 100) { nodes { action } } }",
            json!({}),
        )
        .await;
    let left = oldest["auditEvents"]["nodes"].as_array().unwrap();
    assert_eq!(
        left.iter()
            .filter(|e| e["action"] == "LOGIN_FAILED")
            .count(),
        3
    );
    // Null keeps every event again.
    let data = app.ok(Some(&admin), update, json!({ "d": null })).await;
    assert_eq!(
        data["updateSecuritySettings"]["securitySettings"]["auditRetentionDays"],
        Value::Null
    );
    app.clock.advance(Duration::days(400));
    let mut conn = app.state.pool.get().await.unwrap();
    let now = roster::clock::Clock::now(app.clock.as_ref());
    assert_eq!(
        roster::domain::retention::sweep(&mut conn, now)
            .await
            .unwrap(),
        0
    );
}
