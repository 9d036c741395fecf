//! What operators meet: JSON logs with request ids, metrics on their own address,
//! client addresses behind trusted proxies, backups while serving, the version.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::cli::{BIN, ServerProcess, roster, spawn_serve, terminate};
use crate::common::*;
use crate::{on_both_backends, on_both_databases_raw};

on_both_databases_raw!(
    logs_are_json_lines_that_carry_the_request_id,
    metrics_are_served_apart_and_parse,
);
on_both_backends!(a_trusted_proxy_names_the_client_and_a_spoofed_header_changes_nothing,);

/// A sample's labels, as a scrape is searched by them.
type Labels<'a> = &'a [(&'a str, &'a str)];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn lines(server: &ServerProcess) -> Vec<String> {
    server.output.lock().unwrap().clone()
}

async fn post(
    base: &str,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> (reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

async fn logs_are_json_lines_that_carry_the_request_id(db: TestDb) {
    let password = "operator-password-1";
    let server = spawn_serve(
        &db.raw_url,
        &[
            ("ROSTER_LOG_FORMAT", "json"),
            ("ROSTER_ADMIN_PASSWORD", password),
        ],
    );
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (headers, resp) = post(
        &server.base,
        &[
            ("x-request-id", "req-login-1"),
            ("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01")),
        ],
        "mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { session { token } errors { code } } }",
        json!({ "email": "admin@localhost", "password": password }),
    )
    .await;
    assert_eq!(headers["x-request-id"], "req-login-1");
    assert!(
        resp["data"]["login"]["session"]["token"].is_string(),
        "{resp}"
    );
    let wrong = "wrong-password-typed-here";
    let (headers, _) = post(
        &server.base,
        &[("x-request-id", "bad id with spaces")],
        LOGIN,
        json!({ "email": "admin@localhost", "password": wrong }),
    )
    .await;
    let generated = headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        generated.len() >= 16 && !generated.contains(' '),
        "{generated}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let output = lines(&server);
    assert_eq!(terminate(server), Some(0));
    let logged: Vec<Value> = output
        .iter()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(logged.len() >= 4, "{output:?}");
    assert!(
        output.iter().all(|l| !l.contains('\u{1b}')),
        "no colour codes in a pipe"
    );
    let of = |id: &str| -> Vec<&Value> {
        logged
            .iter()
            .filter(|l| l["span"]["request_id"] == id)
            .collect()
    };
    // The sign-in's lines: its own, and its access line, each with the ids.
    let signin = of("req-login-1");
    let access = signin
        .iter()
        .find(|l| l["target"] == "roster::access")
        .unwrap_or_else(|| panic!("no access line: {signin:?}"));
    assert_eq!(access["span"]["trace_id"], trace);
    assert_eq!(access["method"], "POST");
    assert_eq!(access["path"], "/graphql");
    assert_eq!(access["status"], 200);
    assert_eq!(access["operation_name"], "SignIn");
    assert_eq!(access["operation_type"], "mutation");
    assert_eq!(access["client"], "127.0.0.1");
    assert!(access["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(
        signin
            .iter()
            .any(|l| l["fields"]["message"] == "signed in" || l["message"] == "signed in"),
        "{signin:?}"
    );
    // The failed sign-in: a warning, without the password, under the generated id.
    let failed = of(&generated);
    let warning = failed
        .iter()
        .find(|l| l["level"] == "WARN" && l["message"] == "sign-in failed")
        .unwrap_or_else(|| panic!("no warning: {failed:?}"));
    assert_eq!(warning["outcome"], "invalid_credentials");
    assert!(
        output.iter().all(|l| !l.contains(wrong)),
        "the password is never logged"
    );
}

async fn metrics_are_served_apart_and_parse(db: TestDb) {
    let port = free_port();
    let metrics_listen = format!("127.0.0.1:{port}");
    let password = "operator-password-1";
    let server = spawn_serve(
        &db.raw_url,
        &[
            ("ROSTER_METRICS_LISTEN", &metrics_listen),
            ("ROSTER_ADMIN_PASSWORD", password),
        ],
    );
    let base = server.base.clone();
    let token = super::cli::login(&base, "admin@localhost", password).await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");
    post(
        &base,
        &[],
        LOGIN,
        json!({ "email": "admin@localhost", "password": "wrong-one-1" }),
    )
    .await;
    post(
        &base,
        &[("authorization", &bearer)],
        "query Page { members { totalCount } }",
        json!({}),
    )
    .await;
    post(&base, &[], "{ me { id } }", json!({})).await;
    let deep = format!(
        "{{ me {{ {}id{} }} }}",
        "invitedBy { ".repeat(12),
        " }".repeat(12)
    );
    post(&base, &[], &deep, json!({})).await;
    // More operation names than the cap: the rest count as `other`.
    for i in 0..105 {
        post(
            &base,
            &[],
            &format!("query Q{i} {{ __typename }}"),
            json!({}),
        )
        .await;
    }
    let public = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(public.status(), 404, "not on the public port");
    let text = reqwest::get(format!("http://{metrics_listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(terminate(server), Some(0));
    // Every family has its HELP and TYPE, and a real parser reads it all.
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    for family in &families {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family} has no HELP"
        );
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(_) => 0.0,
            })
            .sum()
    };
    let at_least: &[(&str, Labels, f64)] = &[
        ("roster_signins_total", &[("outcome", "ok")], 1.0),
        (
            "roster_signins_total",
            &[("outcome", "invalid_credentials")],
            1.0,
        ),
        (
            "roster_graphql_request_duration_seconds",
            &[("operation_type", "query")],
            107.0,
        ),
        (
            "roster_graphql_request_duration_seconds",
            &[("operation_type", "mutation")],
            2.0,
        ),
        (
            "roster_graphql_operation_duration_seconds",
            &[("operation_name", "Page")],
            1.0,
        ),
        (
            "roster_graphql_operation_duration_seconds",
            &[("operation_name", "other")],
            1.0,
        ),
        (
            "roster_graphql_errors_total",
            &[("code", "UNAUTHENTICATED")],
            1.0,
        ),
        (
            "roster_graphql_errors_total",
            &[("code", "QUERY_LIMIT_EXCEEDED")],
            1.0,
        ),
        (
            "roster_limit_refusals_total",
            &[("limit", "operation shape")],
            1.0,
        ),
        ("roster_sql_statements_total", &[], 3.0),
        ("roster_graphql_requests_total", &[], 110.0),
        ("roster_db_pool_size", &[], 1.0),
        ("roster_process_resident_memory_bytes", &[], 1e6),
    ];
    for (name, labels, min) in at_least {
        let found = value(name, labels);
        assert!(found >= *min, "{name}{labels:?} = {found} < {min}:\n{text}");
    }
    let names: HashSet<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "roster_graphql_operation_duration_seconds")
        .filter_map(|s| s.labels.get("operation_name"))
        .collect();
    // The cap of 100, `other` and `anonymous`.
    assert!(names.len() <= 102, "names are bounded: {}", names.len());
    let present: HashSet<&str> = families.iter().copied().collect();
    for family in [
        "roster_db_pool_in_use",
        "roster_db_pool_waiting",
        "roster_db_pool_open",
        "roster_password_hashing_running",
        "roster_password_hashing_waiting",
        "roster_open_connections",
        "roster_http_request_duration_seconds",
    ] {
        assert!(present.contains(family), "{family} missing:\n{text}");
    }
}

async fn a_trusted_proxy_names_the_client_and_a_spoofed_header_changes_nothing(backend: Backend) {
    let preview = "query($t: String!) { invitationPreview(token: $t) { roleName } }";
    let guesses = |app: &TestApp, forwarded: &'static str, n: usize| {
        let (base, client) = (app.base.clone(), app.client.clone());
        async move {
            let mut codes = Vec::new();
            for i in 0..n {
                let resp: Value = client
                    .post(format!("{base}/graphql"))
                    .header("x-forwarded-for", forwarded)
                    .json(&json!({ "query": preview, "variables": { "t": format!("guess-{i}") } }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let code = resp["errors"][0]["extensions"]["code"].as_str();
                codes.push(code.unwrap_or("none").to_owned());
            }
            codes
        }
    };
    // Behind a trusted proxy, each forwarded client has its own allowance.
    let options = roster::http::HttpOptions {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 4).await.unwrap();
    let first = guesses(&app, "203.0.113.7", 21).await;
    assert_eq!(first.last().unwrap(), "RATE_LIMITED", "{first:?}");
    let other = guesses(&app, "198.51.100.1, 127.0.0.1", 1).await;
    assert_ne!(other[0], "RATE_LIMITED", "another client behind the proxy");
    // ... and the audit log names the client, not the proxy.
    let (_, resp) = post(
        &app.base,
        &[("x-forwarded-for", "203.0.113.9")],
        LOGIN,
        json!({ "email": ADMIN_EMAIL, "password": "wrong-password-1" }),
    )
    .await;
    assert_eq!(login_outcome_of(&resp), "INVALID_CREDENTIALS");
    let admin = app.admin().await;
    let events = app.audit(&admin).await;
    let failed = events
        .iter()
        .find(|e| e["action"] == "LOGIN_FAILED")
        .unwrap();
    assert_eq!(failed["ip"], "203.0.113.9", "{failed}");
    // From a peer that is not trusted, the header is only a claim: it changes nothing.
    let options = roster::http::HttpOptions {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 4).await.unwrap();
    let first = guesses(&app, "203.0.113.7", 20).await;
    assert!(first.iter().all(|c| c != "RATE_LIMITED"), "{first:?}");
    let spoofed = guesses(&app, "198.51.100.1", 1).await;
    assert_eq!(
        spoofed[0], "RATE_LIMITED",
        "a new header is the same client"
    );
    let (_, _) = post(
        &app.base,
        &[("x-forwarded-for", "203.0.113.9")],
        LOGIN,
        json!({ "email": ADMIN_EMAIL, "password": "wrong-password-1" }),
    )
    .await;
    let admin = app.admin().await;
    let events = app.audit(&admin).await;
    let failed = events
        .iter()
        .find(|e| e["action"] == "LOGIN_FAILED")
        .unwrap();
    assert_eq!(failed["ip"], "127.0.0.1", "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_a_write_storm_restores_every_committed_act() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let password = "operator-password-1";
    let server = spawn_serve(&db.raw_url, &[("ROSTER_ADMIN_PASSWORD", password)]);
    let base = server.base.clone();
    let token = super::cli::login(&base, "admin@localhost", password).await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let roles: Value = post(
        &base,
        &[("authorization", &format!("Bearer {token}"))],
        "{ roles { id } }",
        json!({}),
    )
    .await
    .1;
    let role = roles["data"]["roles"][0]["id"].as_str().unwrap().to_owned();
    // Four writers invite members without pause; each remembers the acts answered.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, token, role) = (base.clone(), token.clone(), role.clone());
            let (stop, answered) = (stop.clone(), answered.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let email = format!("w{w}-{i}@example.com");
                    let (_, resp) = post(
                        &base,
                        &[("authorization", &format!("Bearer {token}"))],
                        INVITE,
                        json!({ "roleId": role, "validity": "ONE_DAY", "email": email }),
                    )
                    .await;
                    assert!(resp["data"]["invite"]["link"].is_string(), "{resp}");
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    i += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let copy = std::env::temp_dir().join(format!("roster-backup-{}.db", rand::random::<u64>()));
    let before = answered.load(std::sync::atomic::Ordering::SeqCst);
    let out = roster(&db.raw_url)
        .args(["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    let after = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(
        after > before,
        "the storm went on during the backup ({before} -> {after})"
    );
    // Taking another copy onto an existing file is refused.
    let again = roster(&db.raw_url)
        .args(["backup", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(terminate(server), Some(0));
    // The copy serves: every act answered before the backup began is in it, each whole
    // with its audit event.
    let restored = spawn_serve(&format!("sqlite://{}", copy.display()), &[]);
    let token =
        super::cli::login(&restored.base, "admin@localhost", password).await["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
    let (_, resp) = post(
        &restored.base,
        &[("authorization", &format!("Bearer {token}"))],
        "{ invitations { totalCount } auditEvents(filter: { action: MEMBER_INVITED }) { totalCount } }",
        json!({}),
    )
    .await;
    let invitations = resp["data"]["invitations"]["totalCount"].as_u64().unwrap() as usize;
    let events = resp["data"]["auditEvents"]["totalCount"].as_u64().unwrap() as usize;
    assert!(
        invitations >= before && invitations <= after + 4,
        "{before} <= {invitations} <= {after}"
    );
    assert_eq!(invitations, events, "each act with its audit event");
    assert_eq!(terminate(restored), Some(0));
    std::fs::remove_file(&copy).ok();
}

#[test]
fn backup_of_postgres_points_to_pg_dump_and_version_is_printed() {
    let out = roster("postgres://postgres@127.0.0.1:5432/postgres")
        .args(["backup", "/tmp/never.db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    let version = Command::new(BIN).arg("--version").output().unwrap();
    let printed = String::from_utf8_lossy(&version.stdout);
    assert_eq!(
        printed.trim(),
        format!("roster {}", env!("CARGO_PKG_VERSION"))
    );
}
