//! Several `roster serve` processes on one database, and token hygiene across a whole
//! run: no secret in any log line or in any response but the one that issues it.

use serde_json::{Value, json};

use crate::cli::{ServerProcess, login, spawn_serve, terminate};
use crate::common::*;

crate::on_both_databases_raw!(
    two_instances_share_sessions_freezes_and_throttling,
    no_secret_reaches_a_log_or_another_response
);

fn start_two(
    db: &TestDb,
    env: &'static [(&'static str, &'static str)],
) -> (ServerProcess, ServerProcess) {
    // Both start at the same moment on an empty database: migrations and bootstrap race.
    let url = db.raw_url.clone();
    let other = std::thread::spawn(move || spawn_serve(&url, env));
    let first = spawn_serve(&db.raw_url, env);
    (first, other.join().unwrap())
}

const ENV: &[(&str, &str)] = &[
    ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
    ("ROSTER_ADMIN_PASSWORD", "boss-password-1"),
];

async fn two_instances_share_sessions_freezes_and_throttling(db: TestDb) {
    let (a, b) = start_two(&db, ENV);
    let session = login(&a.base, "boss@example.com", "boss-password-1").await;
    let boss = session["session"]["token"]
        .as_str()
        .expect("one administrator, usable on either")
        .to_owned();
    let me = post(
        &b.base,
        Some(&boss),
        "{ me { email } members { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(
        me["data"]["me"]["email"], "boss@example.com",
        "a session made on one instance works on the other"
    );
    assert_eq!(
        me["data"]["members"]["totalCount"], 1,
        "exactly one administrator was bootstrapped"
    );

    let role = post(
        &a.base,
        Some(&boss),
        CREATE_ROLE,
        json!({ "input": { "name": "Viewer", "permissions": ["MEMBERS_VIEW"] } }),
    )
    .await;
    let role = role["data"]["createRole"]["role"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invite = post(
        &a.base,
        Some(&boss),
        INVITE,
        json!({ "roleId": role, "validity": "ONE_DAY" }),
    )
    .await;
    let secret = secret_of(invite["data"]["invite"]["link"].as_str().unwrap());
    let vars = json!({ "token": secret, "email": "m@example.com", "name": "M", "password": "member-password-1" });
    let accepted = post(&b.base, None, ACCEPT, vars).await;
    let member_token = accepted["data"]["acceptInvitation"]["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let member_id = accepted["data"]["acceptInvitation"]["session"]["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        post(&b.base, Some(&member_token), "{ me { id } }", json!({})).await["errors"].is_null()
    );
    let frozen = post(
        &a.base,
        Some(&boss),
        "mutation($id: ID!) { freeze(memberId: $id) { changed } }",
        json!({ "id": member_id }),
    )
    .await;
    assert_eq!(frozen["data"]["freeze"]["changed"], true);
    let after = post(&b.base, Some(&member_token), "{ me { id } }", json!({})).await;
    assert_eq!(
        error_code(&after),
        "UNAUTHENTICATED",
        "a freeze on one instance ends the sessions on the other at once"
    );

    for i in 0..5 {
        post(
            &a.base,
            None,
            LOGIN,
            json!({ "email": "boss@example.com", "password": format!("a-{i}") }),
        )
        .await;
        post(
            &b.base,
            None,
            LOGIN,
            json!({ "email": "boss@example.com", "password": format!("b-{i}") }),
        )
        .await;
    }
    let limited = post(
        &a.base,
        None,
        LOGIN,
        json!({ "email": "boss@example.com", "password": "boss-password-1" }),
    )
    .await;
    assert_eq!(
        error_code(&limited),
        "RATE_LIMITED",
        "throttling counts across instances"
    );
    assert_eq!((terminate(a), terminate(b)), (Some(0), Some(0)));
}

/// Every response body, with the secrets it may legitimately show.
struct Seen {
    responses: Vec<(String, Vec<String>)>,
}

impl Seen {
    async fn call(
        &mut self,
        base: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
        issues: &[&str],
    ) -> Value {
        let resp = post(base, token, query, variables).await;
        assert!(resp["errors"].is_null(), "{resp}");
        self.responses.push((
            resp.to_string(),
            issues.iter().map(|s| s.to_string()).collect(),
        ));
        resp
    }
}

async fn no_secret_reaches_a_log_or_another_response(db: TestDb) {
    let server = spawn_serve(
        &db.raw_url,
        &[
            ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
            ("RUST_LOG", "trace"),
        ],
    );
    let banner_password = server
        .stdout
        .iter()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .unwrap()
        .trim()
        .to_owned();
    let base = server.base.clone();
    let mut seen = Seen {
        responses: Vec::new(),
    };
    let mut secrets = vec![banner_password.clone()];
    let str_at = |v: &Value, path: &[&str]| {
        path.iter()
            .fold(v.clone(), |v, p| v[p].clone())
            .as_str()
            .unwrap()
            .to_owned()
    };

    let r = seen
        .call(
            &base,
            None,
            LOGIN,
            json!({ "email": "boss@example.com", "password": banner_password }),
            &[],
        )
        .await;
    let t1 = str_at(&r, &["data", "login", "session", "token"]);
    seen.responses.last_mut().unwrap().1.push(t1.clone());
    let q = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { session { token } } }";
    let r = seen
        .call(
            &base,
            Some(&t1),
            q,
            json!({ "c": banner_password, "n": "boss-password-2" }),
            &[],
        )
        .await;
    let t2 = str_at(&r, &["data", "changePassword", "session", "token"]);
    seen.responses.last_mut().unwrap().1.push(t2.clone());
    seen.call(
        &base,
        None,
        LOGIN,
        json!({ "email": "boss@example.com", "password": "wrong-password-x" }),
        &[],
    )
    .await;
    let r = seen
        .call(
            &base,
            Some(&t2),
            INVITE,
            json!({ "roleId": "1", "validity": "ONE_DAY" }),
            &[],
        )
        .await;
    let invite_secret = secret_of(&str_at(&r, &["data", "invite", "link"]));
    seen.responses
        .last_mut()
        .unwrap()
        .1
        .push(invite_secret.clone());
    seen.call(
        &base,
        None,
        "query($t: String!) { invitationPreview(token: $t) { roleName } }",
        json!({ "t": invite_secret }),
        &[],
    )
    .await;
    let vars = json!({ "token": invite_secret, "email": "m@example.com", "name": "M", "password": "member-password-1" });
    let r = seen.call(&base, None, ACCEPT, vars, &[]).await;
    let t3 = str_at(&r, &["data", "acceptInvitation", "session", "token"]);
    let member = str_at(&r, &["data", "acceptInvitation", "session", "member", "id"]);
    seen.responses.last_mut().unwrap().1.push(t3.clone());
    let reset = "mutation($id: ID!, $m: PasswordResetMode) { resetPassword(memberId: $id, mode: $m) { temporaryPassword resetLink } }";
    let r = seen
        .call(
            &base,
            Some(&t2),
            reset,
            json!({ "id": member, "m": "TEMPORARY_PASSWORD" }),
            &[],
        )
        .await;
    let temporary = str_at(&r, &["data", "resetPassword", "temporaryPassword"]);
    seen.responses.last_mut().unwrap().1.push(temporary.clone());
    let r = seen
        .call(
            &base,
            Some(&t2),
            reset,
            json!({ "id": member, "m": "RESET_LINK" }),
            &[],
        )
        .await;
    let reset_secret = secret_of(&str_at(&r, &["data", "resetPassword", "resetLink"]));
    seen.responses
        .last_mut()
        .unwrap()
        .1
        .push(reset_secret.clone());
    let complete = "mutation($t: String!) { completePasswordReset(token: $t, newPassword: \"member-password-2\") { session { token } } }";
    let r = seen
        .call(&base, None, complete, json!({ "t": reset_secret }), &[])
        .await;
    let t4 = str_at(&r, &["data", "completePasswordReset", "session", "token"]);
    seen.responses.last_mut().unwrap().1.push(t4.clone());
    let settings = "mutation { updateSecuritySettings(input: { defaultPassword: \"Default-Pass-123\" }) { securitySettings { defaultPasswordConfigured } } }";
    seen.call(&base, Some(&t2), settings, json!({}), &[]).await;
    let audit = "{ auditEvents(first: 100) { nodes { action details } } }";
    seen.call(&base, Some(&t2), audit, json!({}), &[]).await;
    let output = server.output.clone();
    assert_eq!(terminate(server), Some(0));
    // The first-start banner shows the generated password once, by design.
    let logs: Vec<String> = output
        .lock()
        .unwrap()
        .iter()
        .filter(|l| !l.trim().starts_with("password:"))
        .cloned()
        .collect();

    secrets.extend([t1, t2, t3, t4, invite_secret, reset_secret, temporary]);
    secrets.extend(
        [
            "boss-password-2",
            "wrong-password-x",
            "member-password-1",
            "member-password-2",
            "Default-Pass-123",
        ]
        .map(String::from),
    );
    let hashes: Vec<String> = secrets
        .iter()
        .map(|s| roster::auth::token::hash(s))
        .collect();
    secrets.extend(hashes);
    for (body, issued) in &seen.responses {
        for secret in secrets.iter().filter(|s| !issued.contains(s)) {
            assert!(
                !body.contains(secret.as_str()),
                "{secret} in a response: {body}"
            );
        }
        assert!(
            !body.contains("$argon2"),
            "a password hash in a response: {body}"
        );
    }
    assert!(logs.len() > 5, "the run logged: {logs:?}");
    for line in &logs {
        assert!(
            !line.contains("$argon2"),
            "a password hash in the log: {line}"
        );
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "{secret} in the log: {line}"
            );
        }
    }
}
