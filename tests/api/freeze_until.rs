//! Time-bound freezes: `freeze(..., until)` ends by itself at `until`: the member reads
//! ACTIVE from that instant, signs in, and exactly one `MEMBER_RECOVERED` (no actor,
//! "freeze ended") is recorded whatever the number of instances sweeping.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::cli::{spawn_serve, terminate};
use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    a_time_bound_freeze_ends_by_itself_at_its_instant,
    until_must_be_ahead_and_within_a_year,
    freezing_again_replaces_until_and_recover_clears_it,
    the_end_is_recorded_once_however_many_sweep,
);
crate::on_both_databases_raw!(a_running_server_ends_a_freeze_within_seconds);

const FREEZE: &str = "mutation($m: ID!, $until: DateTime, $reason: String) {
  freeze(memberId: $m, until: $until, reason: $reason) {
    changed member { status frozenUntil version } errors { code field message }
  }
}";
const STATUS: &str = "query($id: ID!) { member(id: $id) { status frozenUntil version } }";

fn at(app: &TestApp, ahead: Duration) -> String {
    let now = roster::clock::Clock::now(app.clock.as_ref()).and_utc();
    (now + ahead).to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn recoveries(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["action"] == "MEMBER_RECOVERED")
        .collect()
}

async fn a_time_bound_freeze_ends_by_itself_at_its_instant(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (id, _) = app.member_with("dev@example.com", &role).await;
    let until = at(&app, Duration::hours(1));
    let vars = json!({ "m": id.to_string(), "until": until, "reason": "On leave" });
    let frozen = app.ok(Some(&admin), FREEZE, vars).await;
    assert_eq!(frozen["freeze"]["errors"], json!([]));
    assert_eq!(frozen["freeze"]["member"]["status"], "FROZEN");
    let shown = frozen["freeze"]["member"]["frozenUntil"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(shown).unwrap(),
        chrono::DateTime::parse_from_rfc3339(&until).unwrap()
    );
    assert_eq!(
        app.login_outcome("dev@example.com", MEMBER_PASSWORD).await,
        "MEMBER_FROZEN"
    );
    // A microsecond before: still frozen. At the instant: ACTIVE, with nothing written.
    app.clock
        .advance(Duration::hours(1) - Duration::microseconds(1));
    let before = app
        .ok(Some(&admin), STATUS, json!({ "id": id.to_string() }))
        .await;
    assert_eq!(before["member"]["status"], "FROZEN");
    app.clock.advance(Duration::microseconds(1));
    let after = app
        .ok(Some(&admin), STATUS, json!({ "id": id.to_string() }))
        .await;
    assert_eq!(after["member"]["status"], "ACTIVE");
    assert_eq!(after["member"]["frozenUntil"], Value::Null);
    assert!(
        recoveries(&app.audit(&admin).await).is_empty(),
        "not written yet"
    );
    // Signing in works, and writes the end once.
    let token = app.login("dev@example.com", MEMBER_PASSWORD).await;
    app.ok(Some(&token), "{ me { id } }", json!({})).await;
    let mut conn = app.state.pool.get().await.unwrap();
    let now = roster::clock::Clock::now(app.clock.as_ref());
    assert_eq!(
        roster::domain::thaw::due(&mut conn, now, None)
            .await
            .unwrap(),
        0
    );
    let events = app.audit(&admin).await;
    let ended = recoveries(&events);
    assert_eq!(ended.len(), 1, "{events:?}");
    assert_eq!(ended[0]["actor"], Value::Null);
    assert_eq!(ended[0]["targetMember"]["email"], "dev@example.com");
    let details: Value = serde_json::from_str(ended[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["reason"], "freeze ended");
    assert_eq!(details["frozenReason"], "On leave");
}

async fn until_must_be_ahead_and_within_a_year(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (id, _) = app.member_with("dev@example.com", &role).await;
    let version = app
        .ok(Some(&admin), STATUS, json!({ "id": id.to_string() }))
        .await;
    for ahead in [
        Duration::zero(),
        Duration::seconds(-1),
        Duration::days(366) + Duration::seconds(1),
    ] {
        let vars = json!({ "m": id.to_string(), "until": at(&app, ahead) });
        let refused = app.ok(Some(&admin), FREEZE, vars).await;
        assert_eq!(
            refused["freeze"]["errors"][0]["code"], "INVALID_INPUT",
            "{ahead}"
        );
        assert_eq!(refused["freeze"]["errors"][0]["field"], json!(["until"]));
    }
    let unchanged = app
        .ok(Some(&admin), STATUS, json!({ "id": id.to_string() }))
        .await;
    assert_eq!(unchanged, version, "refusals change nothing");
    for ahead in [Duration::seconds(1), Duration::days(366)] {
        let vars = json!({ "m": id.to_string(), "until": at(&app, ahead) });
        let done = app.ok(Some(&admin), FREEZE, vars).await;
        assert_eq!(done["freeze"]["errors"], json!([]), "{ahead}");
    }
}

async fn freezing_again_replaces_until_and_recover_clears_it(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let (id, _) = app.member_with("dev@example.com", &role).await;
    let m = id.to_string();
    let first = at(&app, Duration::days(1));
    app.ok(Some(&admin), FREEZE, json!({ "m": m, "until": first }))
        .await;
    let later = at(&app, Duration::days(7));
    let again = app
        .ok(Some(&admin), FREEZE, json!({ "m": m, "until": later }))
        .await;
    assert_eq!(again["freeze"]["changed"], true);
    // At the first end nothing happens: the second replaced it.
    app.clock.advance(Duration::days(2));
    let admin = app.admin().await;
    let still = app.ok(Some(&admin), STATUS, json!({ "id": m })).await;
    assert_eq!(still["member"]["status"], "FROZEN");
    // The same again changes nothing; recover clears the end.
    let same = app
        .ok(Some(&admin), FREEZE, json!({ "m": m, "until": later }))
        .await;
    assert_eq!(same["freeze"]["changed"], false);
    let recover = "mutation($m: ID!) { recover(memberId: $m) { member { status frozenUntil } errors { code } } }";
    let recovered = app.ok(Some(&admin), recover, json!({ "m": m })).await;
    assert_eq!(
        recovered["recover"],
        json!({ "member": { "status": "ACTIVE", "frozenUntil": null }, "errors": [] })
    );
    // Past the old end, no second recovery is recorded.
    app.clock.advance(Duration::days(10));
    let admin = app.admin().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let now = roster::clock::Clock::now(app.clock.as_ref());
    assert_eq!(
        roster::domain::thaw::due(&mut conn, now, None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(recoveries(&app.audit(&admin).await).len(), 1);
}

async fn the_end_is_recorded_once_however_many_sweep(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Developer", &[]).await;
    let emails: Vec<String> = (0..6).map(|i| format!("dev{i}@example.com")).collect();
    let specs: Vec<(&str, &str, &str)> = emails
        .iter()
        .map(|e| (e.as_str(), "Dev", role.as_str()))
        .collect();
    let ids = app.add_members(&specs, None).await;
    for id in &ids {
        let vars = json!({ "m": id.to_string(), "until": at(&app, Duration::minutes(5)) });
        app.ok(Some(&admin), FREEZE, vars).await;
    }
    app.clock.advance(Duration::minutes(5));
    let other = app.second_instance().await;
    let now = roster::clock::Clock::now(app.clock.as_ref());
    let sweeps = (0..8).map(|i| {
        let pool = if i % 2 == 0 {
            app.state.pool.clone()
        } else {
            other.state.pool.clone()
        };
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            roster::domain::thaw::due(&mut conn, now, None)
                .await
                .unwrap()
        })
    });
    let ended: usize = futures_util::future::join_all(sweeps)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert_eq!(ended, 6, "each freeze ended once");
    assert_eq!(recoveries(&app.audit(&admin).await).len(), 6);
    for email in &emails {
        app.login(email, MEMBER_PASSWORD).await;
    }
}

/// Two real servers on one database, real time: a freeze of two seconds ends by
/// itself, recorded once.
async fn a_running_server_ends_a_freeze_within_seconds(db: TestDb) {
    let env = [
        ("ROSTER_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("ROSTER_ADMIN_EMAIL", ADMIN_EMAIL),
    ];
    let first = spawn_serve(&db.raw_url, &env);
    let second = spawn_serve(&db.raw_url, &env);
    let admin = crate::cli::login(&first.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = admin["session"]["token"].as_str().unwrap().to_owned();
    let role = post(
        &first.base,
        Some(&admin),
        CREATE_ROLE,
        json!({ "input": { "name": "Developer", "permissions": [] } }),
    )
    .await;
    let role = role["data"]["createRole"]["role"]["id"].clone();
    let invite = post(
        &first.base,
        Some(&admin),
        INVITE,
        json!({ "roleId": role, "validity": "ONE_DAY", "email": null }),
    )
    .await;
    let secret = secret_of(invite["data"]["invite"]["link"].as_str().unwrap());
    let vars = json!({ "token": secret, "email": "dev@example.com", "name": "Dev", "password": MEMBER_PASSWORD });
    let joined = post(&second.base, None, ACCEPT, vars).await;
    let id = joined["data"]["acceptInvitation"]["session"]["member"]["id"].clone();
    let until = (Utc::now() + Duration::seconds(2)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let frozen = post(
        &second.base,
        Some(&admin),
        FREEZE,
        json!({ "m": id, "until": until }),
    )
    .await;
    assert_eq!(frozen["data"]["freeze"]["errors"], json!([]), "{frozen}");
    let refused = crate::cli::login(&first.base, "dev@example.com", MEMBER_PASSWORD).await;
    assert_eq!(refused["errors"][0]["code"], "MEMBER_FROZEN");
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    // Both sweeps have run by now; nobody asked.
    let events = post(
        &first.base,
        Some(&admin),
        "{ auditEvents(filter: { action: MEMBER_RECOVERED }) { nodes { actor { id } details } } }",
        json!({}),
    )
    .await;
    let nodes = events["data"]["auditEvents"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{events}");
    assert_eq!(nodes[0]["actor"], Value::Null);
    let status = post(&second.base, Some(&admin), STATUS, json!({ "id": id })).await;
    assert_eq!(status["data"]["member"]["status"], "ACTIVE");
    let back = crate::cli::login(&second.base, "dev@example.com", MEMBER_PASSWORD).await;
    assert_eq!(back["errors"], json!([]), "{back}");
    terminate(first);
    terminate(second);
}
