//! Live updates: `Subscription.memberChanged` over graphql-transport-ws, through real
//! WebSocket clients, on both databases (two instances on one database).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;
use crate::live_client::*;
use crate::on_both_backends;
use crate::on_both_databases;

on_both_databases!(
    the_handshake_follows_graphql_transport_ws,
    every_change_is_delivered_in_the_audit_logs_order_without_secrets,
    a_storm_on_two_instances_reaches_every_subscriber_in_order_across_a_resume,
    an_old_or_foreign_cursor_is_refused,
    the_subscription_stops_when_the_session_may_no_longer_watch,
    an_instance_reads_each_change_once_for_all_its_subscribers,
    a_change_shared_by_subscribers_still_answers_each_viewer_for_themselves,
    a_role_change_restarts_the_subscription_with_the_new_permissions,
    a_change_rendered_with_an_error_reaches_each_subscriber_with_it,
);

on_both_backends!(
    the_limits_hold,
    a_subscriber_that_falls_behind_is_told_to_resume_and_loses_nothing,
);

const SECOND: Duration = Duration::from_secs(1);
const FREEZE: &str =
    "mutation($m: ID!) { freeze(memberId: $m) { changed errors { code message } } }";
const RECOVER: &str = "mutation($m: ID!) { recover(memberId: $m) { changed errors { code } } }";
const EDIT: &str = "mutation($m: ID!, $r: ID!) { editPermission(memberId: $m, roleId: $r) { changed errors { code } } }";

fn member(id: i64) -> Value {
    json!({ "m": id.to_string() })
}

/// The audit log's member, invitation and role events after `after`, oldest first,
/// read page by page through the API: (id, event).
async fn audit_live_events(app: &TestApp, admin: &str, after: i64) -> Vec<(i64, Value)> {
    let q = "query($after: String) { auditEvents(first: 100, after: $after) {
        nodes { id action targetMember { id } } pageInfo { endCursor hasNextPage } } }";
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app.ok(Some(admin), q, json!({ "after": cursor })).await;
        let list = &page["auditEvents"];
        for node in list["nodes"].as_array().unwrap() {
            let action = node["action"].as_str().unwrap();
            let live = ["MEMBER_", "INVITATION_", "ROLE_"]
                .iter()
                .any(|p| action.starts_with(p));
            let id: i64 = node["id"].as_str().unwrap().parse().unwrap();
            if live && id > after {
                events.push((id, node.clone()));
            }
        }
        if list["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = list["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    events.sort_by_key(|(id, _)| *id);
    events
}

/// The ids of the audit log's member, invitation and role events after `after`, oldest
/// first.
async fn audit_live_ids(app: &TestApp, admin: &str, after: i64) -> Vec<i64> {
    let events = audit_live_events(app, admin, after).await;
    events.into_iter().map(|(id, _)| id).collect()
}

/// The audit log's member events after `after` as (member id, action), grouped by
/// member: each member's acts in the order they ran.
async fn audit_acts_by_member(
    app: &TestApp,
    admin: &str,
    after: i64,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let events = audit_live_events(app, admin, after).await;
    let members = events
        .iter()
        .filter(|(_, e)| e["action"].as_str().unwrap().starts_with("MEMBER_"));
    acts_by_member(members.map(|(_, e)| (&e["targetMember"]["id"], &e["action"])))
}

/// (member id, action) pairs grouped by member, in the order given.
fn acts_by_member<'a>(
    pairs: impl Iterator<Item = (&'a Value, &'a Value)>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut acts = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (member, action) in pairs {
        let member = member.as_str().unwrap().to_owned();
        acts.entry(member)
            .or_default()
            .push(action.as_str().unwrap().to_owned());
    }
    acts
}

/// The newest audit event's id.
async fn newest_event(app: &TestApp, admin: &str) -> i64 {
    let q = "{ auditEvents(first: 1) { nodes { id } } }";
    let page = app.ok(Some(admin), q, json!({})).await;
    page["auditEvents"]["nodes"][0]["id"]
        .as_str()
        .map_or(0, |id| id.parse().unwrap())
}

async fn the_handshake_follows_graphql_transport_ws(app: TestApp) {
    let admin = app.admin().await;
    let wait = Duration::from_secs(5);

    // A bad token, and none, close with 4403 Forbidden.
    for payload in [json!({ "Authorization": "Bearer nope" }), json!({})] {
        let mut socket = open_with(&app.base, "graphql-transport-ws", None)
            .await
            .unwrap();
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        assert_eq!(closed(&mut socket, wait).await.0, 4403, "{payload}");
    }
    // Subscribing before the acknowledgement closes with 4401.
    let mut socket = open_with(&app.base, "graphql-transport-ws", None)
        .await
        .unwrap();
    send(
        &mut socket,
        json!({ "type": "subscribe", "id": "1", "payload": { "query": CHANGES } }),
    )
    .await;
    assert_eq!(closed(&mut socket, wait).await.0, 4401);
    // Not speaking the protocol closes with 4406; a page of another origin is refused.
    let mut socket = open_with(&app.base, "", None).await.unwrap();
    assert_eq!(closed(&mut socket, wait).await.0, 4406);
    assert!(
        open_with(
            &app.base,
            "graphql-transport-ws",
            Some("https://evil.example")
        )
        .await
        .is_err()
    );
    let own = app.base.clone();
    let mut socket = open_with(&app.base, "graphql-transport-ws", Some(&own))
        .await
        .unwrap();
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": admin.clone() } }),
    )
    .await;
    assert_eq!(next_json(&mut socket, wait).await["type"], "connection_ack");
    // A second init closes with 4429; garbage with 4400.
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(closed(&mut socket, wait).await.0, 4429);
    let mut live = Live::connect(&app.base, &admin).await;
    send(&mut live.socket, json!({ "type": "bogus" })).await;
    assert_eq!(closed(&mut live.socket, wait).await.0, 4400);

    // Ping is answered with pong; a query is refused (HTTP serves it); a repeated id
    // closes with 4409.
    let mut live = Live::connect(&app.base, &admin).await;
    send(&mut live.socket, json!({ "type": "ping" })).await;
    assert_eq!(live.next(wait).await["type"], "pong");
    // And a WebSocket ping frame with a pong frame carrying its bytes.
    live.socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(wait, async {
        loop {
            match live.socket.next().await {
                Some(Ok(Message::Pong(bytes))) => return bytes,
                Some(Ok(Message::Ping(_))) => continue,
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    })
    .await
    .expect("no pong");
    assert_eq!(&pong[..], b"are you there");
    let query = json!({ "type": "subscribe", "id": "q", "payload": { "query": "{ me { id } }" } });
    send(&mut live.socket, query).await;
    let refused = live.next(wait).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "BAD_REQUEST");
    let invalid =
        json!({ "type": "subscribe", "id": "v", "payload": { "query": "subscription { nope }" } });
    send(&mut live.socket, invalid).await;
    let refused = live.next(wait).await;
    assert_eq!(refused["type"], "error", "{refused}");
    live.subscribe("a", None).await;
    // Completing one subscription leaves the connection serving.
    send(&mut live.socket, json!({ "type": "complete", "id": "a" })).await;
    live.subscribe("a", None).await;
    live.subscribe("a", None).await;
    assert_eq!(closed(&mut live.socket, wait).await.0, 4409);

    // Without MEMBERS_VIEW the subscription ends at once with FORBIDDEN.
    let role = app
        .create_role(&admin, "Freezer", &["MEMBERS_FREEZE"])
        .await;
    let (_, token) = app.member_with("no-view@example.com", &role).await;
    let mut live = Live::connect(&app.base, &token).await;
    live.subscribe("s", None).await;
    let next = live.next(wait).await;
    assert_eq!(
        next["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{next}"
    );
    assert_eq!(live.next(wait).await["type"], "complete");
}

/// Silent for 10 s after connecting: closed with 4408. Run apart from the handshake
/// test so that its wait overlaps the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_init_within_ten_seconds_closes_with_4408() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let mut socket = open_with(&app.base, "graphql-transport-ws", None)
        .await
        .unwrap();
    let started = Instant::now();
    let (code, _) = closed(&mut socket, Duration::from_secs(15)).await;
    assert_eq!(code, 4408);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
}

/// Takes changes of subscription "w" into `seen` up to one with this action.
async fn until_action(live: &mut Live, action: &str, seen: &mut Vec<Value>) {
    loop {
        let change = live.change("w", 5 * SECOND).await;
        let found = change["action"] == action;
        seen.push(change);
        if found {
            return;
        }
    }
}

async fn every_change_is_delivered_in_the_audit_logs_order_without_secrets(app: TestApp) {
    let admin = app.admin().await;
    let viewer_role = app.create_role(&admin, "Watcher", &["MEMBERS_VIEW"]).await;
    let (_, watcher) = app.member_with("watcher@example.com", &viewer_role).await;
    let before = newest_event(&app, &admin).await;
    let mut live = Live::connect(&app.base, &watcher).await;
    live.subscribe("w", None).await;
    until_subscribed(&app.state.feed, 1).await;
    let role = app
        .create_role(&admin, "Developer", &["MEMBERS_VIEW"])
        .await;
    let first = live.change("w", 5 * SECOND).await;
    assert_eq!(first["action"], "ROLE_CREATED", "{first}");
    assert_eq!(first["role"]["name"], "Developer");
    assert_eq!(first["actor"]["email"], ADMIN_EMAIL);

    // Every kind of change, and acts that are not changes to members, invitations or
    // roles (a sign-in, a password change by its owner, settings).
    let (_, secret) = app.invite(&admin, &role, Some("new@example.com")).await;
    let accepted = app
        .accept(&secret, "new@example.com", "New Member", MEMBER_PASSWORD)
        .await;
    let new_id: i64 = accepted["session"]["member"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let member_token = app.login("new@example.com", MEMBER_PASSWORD).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { errors { code } } }";
    app.ok(
        Some(&member_token),
        change,
        json!({ "c": MEMBER_PASSWORD, "n": "another-password-9" }),
    )
    .await;
    app.ok(Some(&admin), FREEZE, member(new_id)).await;
    // A change shows its member as it is when delivered (and the feed reads at most
    // every 100 ms): take the freeze before the recovery, and the recovery before the
    // removal, or a late read would show the later state.
    let mut early = Vec::new();
    until_action(&mut live, "MEMBER_FROZEN", &mut early).await;
    app.ok(Some(&admin), RECOVER, member(new_id)).await;
    until_action(&mut live, "MEMBER_RECOVERED", &mut early).await;
    let admin_role = app.admin_role_id().await;
    app.ok(
        Some(&admin),
        EDIT,
        json!({ "m": new_id.to_string(), "r": viewer_role }),
    )
    .await;
    app.ok(
        Some(&admin),
        EDIT,
        json!({ "m": new_id.to_string(), "r": role }),
    )
    .await;
    let reset = "mutation($m: ID!) { resetPassword(memberId: $m, mode: TEMPORARY_PASSWORD) { temporaryPassword errors { code } } }";
    let reset = app.ok(Some(&admin), reset, member(new_id)).await;
    let temporary = reset["resetPassword"]["temporaryPassword"]
        .as_str()
        .unwrap()
        .to_owned();
    let (invitation, _) = app.invite(&admin, &role, None).await;
    let reissue = "mutation($id: ID!) { reissueInvitation(id: $id) { link errors { code } } }";
    let reissued = app
        .ok(Some(&admin), reissue, json!({ "id": invitation }))
        .await;
    let link = reissued["reissueInvitation"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = "mutation($id: ID!) { revokeInvitation(id: $id) { errors { code } } }";
    app.ok(Some(&admin), revoke, json!({ "id": invitation }))
        .await;
    let update = "mutation($id: ID!) { updateRole(id: $id, input: { description: \"Builds\" }) { errors { code } } }";
    app.ok(Some(&admin), update, json!({ "id": role })).await;
    let spare = app.create_role(&admin, "Spare", &[]).await;
    let delete = "mutation($id: ID!) { deleteRole(id: $id) { errors { code } } }";
    app.ok(Some(&admin), delete, json!({ "id": spare })).await;
    let settings =
        "mutation { updateSecuritySettings(input: { sessionTtlHours: 24 }) { errors { code } } }";
    app.gql(Some(&admin), settings, json!({})).await;
    let remove = "mutation($m: ID!) { removeMember(memberId: $m) { changed errors { code } } }";
    app.ok(Some(&admin), remove, member(new_id)).await;
    let _ = admin_role;

    let mut seen = vec![first];
    seen.extend(early);
    seen.extend(live.drain("w", 2 * SECOND).await);
    let expected = audit_live_ids(&app, &admin, before).await;
    let got: Vec<i64> = seen.iter().map(cursor_id).collect();
    assert_eq!(got, expected, "{seen:#?}");
    let actions: Vec<&str> = seen.iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "ROLE_CREATED",
            "MEMBER_INVITED",
            "INVITATION_ACCEPTED",
            "MEMBER_FROZEN",
            "MEMBER_RECOVERED",
            "MEMBER_PERMISSION_EDITED",
            "MEMBER_PERMISSION_EDITED",
            "MEMBER_PASSWORD_RESET",
            "MEMBER_INVITED",
            "INVITATION_REISSUED",
            "INVITATION_REVOKED",
            "ROLE_UPDATED",
            "ROLE_CREATED",
            "ROLE_DELETED",
            "MEMBER_REMOVED",
        ]
    );
    // The member as it was when each change was delivered; the invitation and role too.
    assert_eq!(seen[3]["member"]["status"], "FROZEN", "{}", seen[3]);
    assert_eq!(seen[4]["member"]["status"], "ACTIVE", "{}", seen[4]);
    assert_eq!(seen[10]["invitation"]["status"], "REVOKED", "{}", seen[10]);
    assert_eq!(
        seen[13]["role"],
        Value::Null,
        "a deleted role: {}",
        seen[13]
    );
    assert_eq!(seen[14]["member"]["status"], "REMOVED", "{}", seen[14]);
    // No secret: neither link nor token appears anywhere.
    let text = serde_json::to_string(&seen).unwrap();
    let secrets = [
        &secret,
        &secret_of(&link),
        &member_token,
        &admin,
        &temporary,
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "a secret was delivered");
    }
}

/// A storm of concurrent member acts through two instances: a subscriber on each sees
/// exactly the audit log's sequence, one of them across a disconnect and a resume on the
/// other instance; an act through one instance reaches a subscriber on the other within
/// a second.
async fn a_storm_on_two_instances_reaches_every_subscriber_in_order_across_a_resume(app: TestApp) {
    let admin = app.admin().await;
    let other = app.second_instance().await;
    let role_a = app.create_role(&admin, "Team A", &["MEMBERS_VIEW"]).await;
    let role_b = app.create_role(&admin, "Team B", &["MEMBERS_VIEW"]).await;
    let emails: Vec<String> = (0..8).map(|i| format!("storm{i}@example.com")).collect();
    let ids = app.add_members_as(&emails, "Storm", &role_a).await;
    let before = newest_event(&app, &admin).await;
    let mut steady = Live::connect(&other.base, &admin).await;
    steady.subscribe("s", None).await;
    let mut resumer = Live::connect(&other.base, &admin).await;
    resumer.subscribe("r", None).await;
    until_subscribed(&other.state.feed, 2).await;

    let writers = ids.chunks(2).enumerate().map(|(w, pair)| {
        let (bases, admin, pair) = (
            [app.base.clone(), other.base.clone()],
            admin.clone(),
            pair.to_vec(),
        );
        let (role_a, role_b) = (role_a.clone(), role_b.clone());
        tokio::spawn(async move {
            for round in 0..6 {
                for (k, m) in pair.iter().enumerate() {
                    let base = &bases[(w + round + k) % 2];
                    let target = if round % 2 == 0 { &role_b } else { &role_a };
                    for (q, vars) in [
                        (FREEZE, member(*m)),
                        (EDIT, json!({ "m": m.to_string(), "r": target })),
                        (RECOVER, member(*m)),
                    ] {
                        let answer = post(base, Some(&admin), q, vars).await;
                        assert!(answer["errors"].is_null(), "{answer}");
                    }
                }
            }
        })
    });
    let writers: Vec<_> = writers.collect();

    // The resumer reads a while, drops its connection, and resumes on the other instance.
    let mut resumed = Vec::new();
    while resumed.len() < 20 {
        resumed.push(resumer.change("r", 10 * SECOND).await);
    }
    drop(resumer);
    let last = resumed.last().unwrap()["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut resumer = Live::connect(&app.base, &admin).await;
    resumer.subscribe("r2", Some(&last)).await;
    for writer in writers {
        writer.await.unwrap();
    }
    let expected = audit_live_ids(&app, &admin, before).await;
    assert_eq!(expected.len(), 8 * 6 * 3);
    resumed.extend(resumer.drain("r2", 2 * SECOND).await);
    let steady_seen = steady.drain("s", 2 * SECOND).await;
    let ids_of = |changes: &[Value]| changes.iter().map(cursor_id).collect::<Vec<_>>();
    let positions = ids_of(&steady_seen);
    assert_eq!(ids_of(&resumed), positions, "the subscriber that resumed");
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Every act of the audit log, once, each member's in the order they ran. Acts on
    // different members commit in whichever order they finish, which need not be the
    // order of their events' ids.
    let seen = acts_by_member(
        steady_seen
            .iter()
            .map(|c| (&c["member"]["id"], &c["action"])),
    );
    assert_eq!(
        seen,
        audit_acts_by_member(&app, &admin, before).await,
        "the steady subscriber"
    );

    // One more act through the first instance reaches the second's subscriber within 1 s.
    let started = Instant::now();
    app.ok(Some(&admin), FREEZE, member(ids[0])).await;
    let change = steady.change("s", 5 * SECOND).await;
    let took = started.elapsed();
    assert_eq!(change["action"], "MEMBER_FROZEN");
    assert!(took < SECOND, "delivered after {took:?}");
}

async fn an_old_or_foreign_cursor_is_refused(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Old", &[]).await;
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("a", None).await;
    until_subscribed(&app.state.feed, 1).await;
    let update = "mutation($id: ID!) { updateRole(id: $id, input: { description: \"Older\" }) { errors { code } } }";
    app.ok(Some(&admin), update, json!({ "id": role })).await;
    let old = live.change("a", 5 * SECOND).await;
    let old_cursor = old["cursor"].as_str().unwrap().to_owned();

    // The same cursor resumes with nothing while nothing happened since.
    live.subscribe("b", Some(&old_cursor)).await;
    assert!(live.drain("b", SECOND).await.is_empty());

    // Once the retention deleted its event, it is CURSOR_EXPIRED.
    let retention =
        "mutation { updateSecuritySettings(input: { auditRetentionDays: 1 }) { errors { code } } }";
    app.ok(Some(&admin), retention, json!({})).await;
    app.clock.advance(chrono::Duration::days(2));
    let mut conn = app.state.pool.get().await.unwrap();
    let now = roster::clock::Clock::now(app.clock.as_ref());
    assert!(
        roster::domain::retention::sweep(&mut conn, now)
            .await
            .unwrap()
            > 0
    );
    let admin = app.admin().await;
    app.ok(Some(&admin), update, json!({ "id": role })).await;
    let q = "{ auditEvents(first: 100) { nodes { id action } } }";
    eprintln!("{}", app.ok(Some(&admin), q, json!({})).await);
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("c", Some(&old_cursor)).await;
    let expired = live.next(5 * SECOND).await;
    assert_eq!(
        expired["payload"]["errors"][0]["extensions"]["code"], "CURSOR_EXPIRED",
        "{expired}"
    );
    assert_eq!(live.next(SECOND).await["type"], "complete");
    // Something that is no cursor, or a cursor of a page, is bad input.
    for bad in ["nonsense", "aWQ6MQ", "Y2hhbmdlOjk5OTk5OTk"] {
        live.subscribe(bad, Some(bad)).await;
        let refused = live.next(5 * SECOND).await;
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}: {refused}"
        );
        assert_eq!(live.next(SECOND).await["type"], "complete");
    }
}

/// Sign-out, a freeze, a removal, a reset, the session's expiry and the role losing
/// MEMBERS_VIEW each stop the subscription within a second.
/// A subscription renders with the permissions its session had when it started; when
/// the role changes, it ends within 1 s telling the client to resume, and the resumed
/// one (same connection) renders with the new permissions.
async fn a_role_change_restarts_the_subscription_with_the_new_permissions(app: TestApp) {
    let admin = app.admin().await;
    let role = app
        .create_role(&admin, "Freezer", &["MEMBERS_VIEW", "MEMBERS_FREEZE"])
        .await;
    let plain = app.create_role(&admin, "Plain", &[]).await;
    let (target, _) = app.member_with("target@example.com", &plain).await;
    let (_, token) = app.member_with("freezer@example.com", &role).await;
    let query = "subscription($after: String) { memberChanged(after: $after) { cursor action member { id viewerCan { freeze { allowed } recover { allowed } } } } }";
    let mut live = Live::connect(&app.base, &token).await;
    live.subscribe_to("v", query, json!({ "after": null }))
        .await;
    until_subscribed(&app.state.feed, 1).await;
    app.ok(Some(&admin), FREEZE, member(target)).await;
    let frozen = live.change("v", 5 * SECOND).await;
    assert_eq!(
        frozen["member"]["viewerCan"]["recover"]["allowed"], true,
        "{frozen}"
    );
    let update = "mutation($id: ID!) { updateRole(id: $id, input: { permissions: [MEMBERS_VIEW] }) { errors { code } } }";
    app.ok(Some(&admin), update, json!({ "id": role })).await;
    let started = Instant::now();
    let ended = loop {
        let message = live.next(2 * SECOND).await;
        if message["payload"]["errors"].is_array() {
            break message;
        }
    };
    assert!(
        started.elapsed() < SECOND,
        "ended after {:?}",
        started.elapsed()
    );
    let error = &ended["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "RESUME_REQUIRED", "{ended}");
    assert_eq!(live.next(SECOND).await["type"], "complete");
    let after = error["extensions"]["after"].as_str().unwrap().to_owned();
    live.subscribe_to("v", query, json!({ "after": after }))
        .await;
    app.ok(Some(&admin), RECOVER, member(target)).await;
    let mut resumed = live.drain("v", 2 * SECOND).await;
    let recovered = resumed.pop().expect("the recovery");
    assert_eq!(recovered["action"], "MEMBER_RECOVERED", "{recovered}");
    assert_eq!(
        recovered["member"]["viewerCan"]["freeze"]["allowed"], false,
        "rendered with the new permissions: {recovered}"
    );
}

async fn the_subscription_stops_when_the_session_may_no_longer_watch(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Watcher", &["MEMBERS_VIEW"]).await;
    type Act = &'static str;
    let cases: [(Act, &str); 5] = [
        ("sign-out", "mutation { logout }"),
        ("freeze", FREEZE),
        (
            "removal",
            "mutation($m: ID!) { removeMember(memberId: $m) { changed } }",
        ),
        (
            "reset",
            "mutation($m: ID!) { resetPassword(memberId: $m, mode: TEMPORARY_PASSWORD) { errors { code } } }",
        ),
        (
            "role",
            "mutation($id: ID!) { updateRole(id: $id, input: { permissions: [] }) { errors { code } } }",
        ),
    ];
    for (i, (case, act)) in cases.into_iter().enumerate() {
        let (id, token) = app
            .member_with(&format!("watch{i}@example.com"), &role)
            .await;
        let mut live = Live::connect(&app.base, &token).await;
        live.subscribe("w", None).await;
        until_subscribed(&app.state.feed, 1).await;
        let started = Instant::now();
        let (caller, vars) = match case {
            "sign-out" => (&token, json!({})),
            "role" => (&admin, json!({ "id": role })),
            _ => (&admin, member(id)),
        };
        let answer = app.gql(Some(caller), act, vars).await;
        assert!(answer["errors"].is_null(), "{case}: {answer}");
        let ended = loop {
            let Some(message) = try_next_json(&mut live.socket, 2 * SECOND).await else {
                panic!("{case}: the subscription did not stop");
            };
            if message["type"] == "next" && message["payload"]["errors"].is_array() {
                break message;
            }
        };
        let took = started.elapsed();
        let code = &ended["payload"]["errors"][0]["extensions"]["code"];
        let expected = if case == "role" {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(code, expected, "{case}: {ended}");
        assert!(took < SECOND, "{case}: stopped after {took:?}");
        assert_eq!(live.next(SECOND).await["type"], "complete", "{case}");
        if expected == "UNAUTHENTICATED" {
            assert_eq!(closed(&mut live.socket, SECOND).await.0, 4403, "{case}");
        }
        if case == "role" {
            let restore = "mutation($id: ID!) { updateRole(id: $id, input: { permissions: [MEMBERS_VIEW] }) { errors { code } } }";
            app.ok(Some(&admin), restore, json!({ "id": role })).await;
        }
    }
    // Expiry: the session's end passes.
    let (_, token) = app.member_with("expiring@example.com", &role).await;
    let mut live = Live::connect(&app.base, &token).await;
    live.subscribe("w", None).await;
    until_subscribed(&app.state.feed, 1).await;
    let started = Instant::now();
    app.clock.advance(chrono::Duration::hours(13));
    let ended = live.next(2 * SECOND).await;
    assert_eq!(
        ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{ended}"
    );
    assert!(
        started.elapsed() < SECOND,
        "expiry: stopped after {:?}",
        started.elapsed()
    );
}

async fn the_limits_hold(backend: Backend) {
    let options = roster::http::HttpOptions {
        live: roster::http::LiveLimits {
            connections: 3,
            per_session: 2,
            subscriptions: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let Some(app) = TestApp::start_with(backend, options, 8).await else {
        return;
    };
    let admin = app.admin().await;
    let wait = Duration::from_secs(5);
    let mut first = Live::connect(&app.base, &admin).await;
    first.subscribe("1", None).await;
    first.subscribe("2", None).await;
    first.subscribe("3", None).await;
    let refused = first.next(wait).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    // A session's third connection is closed with 1013 (try again later).
    let _second = Live::connect(&app.base, &admin).await;
    let mut third = open_with(&app.base, "graphql-transport-ws", None)
        .await
        .unwrap();
    send(&mut third, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {admin}") } })).await;
    assert_eq!(closed(&mut third, wait).await.0, 1013);
    drop(third);
    // The instance's cap: with three open, a fourth is refused at the upgrade.
    let mut hold = None;
    for _ in 0..100 {
        if let Ok(socket) = open_with(&app.base, "graphql-transport-ws", None).await {
            hold = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        hold.is_some(),
        "the closed connection's place was not given back"
    );
    let refused = open_with(&app.base, "graphql-transport-ws", None).await;
    assert!(refused.is_err(), "the cap let a connection in");
}

/// A subscriber that cannot keep up with a burst falls out of the ring: it is told to
/// resume, and resuming from its last cursor loses nothing.
async fn a_subscriber_that_falls_behind_is_told_to_resume_and_loses_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let url = app.db.url.clone();
    let app = app
        .with_state(move |state| {
            state.feed = roster::domain::feed::Feed::with_ring(&url, 4).unwrap()
        })
        .await;
    let admin = app.admin().await;
    let role = app.admin_role_id().await;
    let emails: Vec<String> = (0..60).map(|i| format!("burst{i}@example.com")).collect();
    let ids = app.add_members_as(&emails, "Burst", &role).await;
    let before = newest_event(&app, &admin).await;
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("b", None).await;
    until_subscribed(&app.state.feed, 1).await;
    let bulk = "mutation($ids: [ID!]!) { bulkFreeze(memberIds: $ids, policy: ALL_OR_NOTHING) { succeeded } }";
    let all: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    app.ok(Some(&admin), bulk, json!({ "ids": all })).await;
    let mut seen = Vec::new();
    let ended = loop {
        let message = live.next(5 * SECOND).await;
        let change = &message["payload"]["data"]["memberChanged"];
        if change.is_object() {
            seen.push(change.clone());
        } else {
            break message;
        }
    };
    let error = &ended["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "RESUME_REQUIRED", "{ended}");
    assert!(seen.len() < 60, "nothing fell behind: {}", seen.len());
    // The error names where to resume: the last change received, or the start.
    let after = error["extensions"]["after"].as_str().unwrap().to_owned();
    if let Some(last) = seen.last() {
        assert_eq!(last["cursor"], after);
    }
    let mut live = Live::connect(&app.base, &admin).await;
    live.subscribe("c", Some(&after)).await;
    seen.extend(live.drain("c", 2 * SECOND).await);
    let expected = audit_live_ids(&app, &admin, before).await;
    assert_eq!(
        seen.iter().map(cursor_id).collect::<Vec<_>>(),
        expected,
        "resumed after {after}"
    );
}

/// Ten subscribers on one instance, an act through another: the instance that serves
/// them runs a few statements for the change (the events, then the rows they concern),
/// not some per subscriber.
async fn an_instance_reads_each_change_once_for_all_its_subscribers(app: TestApp) {
    let admin = app.admin().await;
    let other = app.second_instance().await;
    let role = app.create_role(&admin, "Watched", &["MEMBERS_VIEW"]).await;
    let ids = app
        .add_members_as(&["counted@example.com"], "Counted", &role)
        .await;
    // Two connections (a session holds at most eight), five subscriptions on each.
    let mut connections = Vec::new();
    for c in 0..2 {
        let mut live = Live::connect(&other.base, &admin).await;
        for i in 0..5 {
            live.subscribe(&format!("s{}", c * 5 + i), None).await;
        }
        connections.push(live);
    }
    until_subscribed(&other.state.feed, 10).await;
    // Quiet first: only the sessions' check runs, once per 400 ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = other.statements();
    app.ok(Some(&admin), FREEZE, member(ids[0])).await;
    let mut seen = std::collections::BTreeSet::new();
    for live in &mut connections {
        for _ in 0..5 {
            let message = live.next(5 * SECOND).await;
            let change = &message["payload"]["data"]["memberChanged"];
            assert_eq!(change["member"]["status"], "FROZEN", "{message}");
            assert_eq!(change["member"]["role"]["name"], "Watched", "{message}");
            seen.insert(message["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 10);
    let ran = other.statements() - before;
    // 3 or 4 for the change (events, invitations if any, members, roles), at most 3 checks of
    // the sessions meanwhile; 10 or more would mean one a subscriber.
    assert!(
        ran <= 7,
        "{ran} statements for one change and 10 subscribers"
    );
}

/// Subscribers of the same role share how a change renders, except what depends on
/// who they are: `viewerCan` says SELF_ACTION to the member acted on, allowed to the
/// other.
async fn a_change_shared_by_subscribers_still_answers_each_viewer_for_themselves(app: TestApp) {
    let admin = app.admin().await;
    let both = ["MEMBERS_VIEW", "MEMBERS_FREEZE"];
    let first = app.create_role(&admin, "First", &both).await;
    let second = app.create_role(&admin, "Second", &both).await;
    let (ana, ana_token) = app.member_with("ana@example.com", &first).await;
    let (_, bo_token) = app.member_with("bo@example.com", &first).await;
    let query = "subscription { memberChanged { action member { email viewerCan { freeze { allowed reason } } } } }";
    let mut views = Vec::new();
    for token in [&ana_token, &bo_token, &ana_token] {
        let mut live = Live::connect(&app.base, token).await;
        live.subscribe_to("v", query, json!({})).await;
        views.push(live);
    }
    until_subscribed(&app.state.feed, 3).await;
    app.ok(
        Some(&admin),
        EDIT,
        json!({ "m": ana.to_string(), "r": second }),
    )
    .await;
    let mut seen = Vec::new();
    for live in &mut views {
        let change = live.change("v", 5 * SECOND).await;
        assert_eq!(change["member"]["email"], "ana@example.com", "{change}");
        seen.push(change["member"]["viewerCan"]["freeze"].clone());
    }
    assert_eq!(
        seen[0],
        json!({ "allowed": false, "reason": "SELF_ACTION" })
    );
    assert_eq!(seen[1], json!({ "allowed": true, "reason": null }));
    assert_eq!(seen[2], seen[0]);
}

/// A change whose render has an error is not shared: each subscriber of the same key
/// gets the executor's answer, data and error alike.
async fn a_change_rendered_with_an_error_reaches_each_subscriber_with_it(app: TestApp) {
    let admin = app.admin().await;
    let watcher = app.create_role(&admin, "Watcher", &["MEMBERS_VIEW"]).await;
    let plain = app.create_role(&admin, "Plain", &[]).await;
    let (target, _) = app.member_with("target@example.com", &plain).await;
    let (_, token) = app.member_with("watcher@example.com", &watcher).await;
    // Another member's sessions need MEMBERS_SESSIONS_MANAGE: the field fails.
    let query = "subscription { memberChanged { action member { id sessions { id } } } }";
    let mut views = Vec::new();
    for _ in 0..2 {
        let mut live = Live::connect(&app.base, &token).await;
        live.subscribe_to("s", query, json!({})).await;
        views.push(live);
    }
    until_subscribed(&app.state.feed, 2).await;
    app.ok(Some(&admin), FREEZE, member(target)).await;
    for live in &mut views {
        let message = live.next(5 * SECOND).await;
        assert_eq!(message["type"], "next", "{message}");
        let payload = &message["payload"];
        assert_eq!(
            payload["data"]["memberChanged"]["action"], "MEMBER_FROZEN",
            "{message}"
        );
        assert_eq!(
            payload["data"]["memberChanged"]["member"],
            Value::Null,
            "{message}"
        );
        assert_eq!(
            payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{message}"
        );
        assert_eq!(
            payload["errors"][0]["path"],
            json!(["memberChanged", "member", "sessions"]),
            "{message}"
        );
    }
}
