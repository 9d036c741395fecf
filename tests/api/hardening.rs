//! Hostile input: operation limits, batches, switches, CORS, headers and time limits.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::{on_both_backends, on_both_databases};

on_both_databases!(
    aliased_logins_are_refused_before_any_runs,
    deep_and_wide_operations_are_refused_naming_the_limit,
    security_headers_are_on_every_response,
    batches_are_refused_by_default,
);
on_both_backends!(
    configured_batches_run_each_operation,
    introspection_and_graphiql_can_be_switched_off,
    cors_allows_only_configured_origins,
    requests_stop_at_the_time_limit,
);

fn limit_hit(resp: &Value) -> &str {
    assert_eq!(error_code(resp), "QUERY_LIMIT_EXCEEDED", "{resp}");
    assert!(resp["data"].is_null(), "nothing ran: {resp}");
    resp["errors"][0]["extensions"]["limit"].as_str().unwrap()
}

async fn aliased_logins_are_refused_before_any_runs(app: TestApp) {
    let logins: String = (0..200)
        .map(|i| format!("l{i}: login(email: \"{ADMIN_EMAIL}\", password: \"guess-{i}\") {{ errors {{ code }} }}\n"))
        .collect();
    let resp = app
        .gql(None, &format!("mutation {{ {logins} }}"), json!({}))
        .await;
    assert_eq!(limit_hit(&resp), "root fields");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ROSTER_MAX_ROOT_FIELDS")
    );
    let admin = app.admin().await;
    let failed = app
        .audit(&admin)
        .await
        .into_iter()
        .filter(|e| e["action"] == "LOGIN_FAILED")
        .count();
    assert_eq!(failed, 0, "no login ran");
}

async fn deep_and_wide_operations_are_refused_naming_the_limit(app: TestApp) {
    let admin = app.admin().await;
    let chain = format!(
        "{{ me {{ {}id{} }} }}",
        "invitedBy { ".repeat(40),
        " }".repeat(40)
    );
    assert_eq!(
        limit_hit(&app.gql(Some(&admin), &chain, json!({})).await),
        "depth"
    );
    let aliases: String = (0..25).map(|i| format!("a{i}: id ")).collect();
    assert_eq!(
        limit_hit(
            &app.gql(
                Some(&admin),
                &format!("{{ me {{ {aliases} }} }}"),
                json!({})
            )
            .await
        ),
        "alias"
    );
    let fields = "email ".repeat(450);
    assert_eq!(
        limit_hit(
            &app.gql(Some(&admin), &format!("{{ me {{ {fields} }} }}"), json!({}))
                .await
        ),
        "field count"
    );
    let via_fragments = "query { ...A } fragment A on Query { me { ...B } } fragment B on Member { invitedBy { ...B } }";
    let resp = app.gql(Some(&admin), via_fragments, json!({})).await;
    assert!(
        resp["errors"].is_array() && resp["data"].is_null(),
        "a self-spreading fragment is refused: {resp}"
    );
    let fine = format!(
        "{{ me {{ {}id{} }} }}",
        "invitedBy { ".repeat(8),
        " }".repeat(8)
    );
    app.ok(Some(&admin), &fine, json!({})).await;
    // Parsed operations are remembered by their text: a refused one stays refused, a
    // remembered one still answers with the variables of each request.
    assert_eq!(
        limit_hit(&app.gql(Some(&admin), &chain, json!({})).await),
        "depth"
    );
    let by_id = "query($id: ID!) { member(id: $id) { email } }";
    let me = app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    for (id, email) in [
        (me["me"]["id"].clone(), json!(ADMIN_EMAIL)),
        (json!("999999"), json!(null)),
    ] {
        let data = app.ok(Some(&admin), by_id, json!({ "id": id })).await;
        assert_eq!(data["member"]["email"], email, "{data}");
    }
    // A remembered document skips validation only once it ran without errors and only
    // when it has no variables, whose values validation checks too.
    let message = |resp: &Value| {
        resp["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let unknown_field = "{ me { id nope } }";
    for _ in 0..3 {
        let resp = app.gql(Some(&admin), unknown_field, json!({})).await;
        assert!(resp["data"].is_null(), "{resp}");
        assert!(message(&resp).contains("nope"), "{resp}");
    }
    let first = "query($n: Int) { members(first: $n) { nodes { id } } }";
    for _ in 0..3 {
        app.ok(Some(&admin), first, json!({ "n": 1 })).await;
    }
    let resp = app.gql(Some(&admin), first, json!({ "n": "one" })).await;
    assert!(resp["data"].is_null(), "{resp}");
    assert!(message(&resp).contains("Int"), "{resp}");
    // Refused by validation, before any field ran (an executed field names its path).
    assert!(resp["errors"][0].get("path").is_none(), "{resp}");
    for _ in 0..3 {
        let data = app.ok(Some(&admin), "{ me { id } }", json!({})).await;
        assert_eq!(data["me"]["id"], me["me"]["id"]);
    }
}

async fn security_headers_are_on_every_response(app: TestApp) {
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/"),
        ("POST", "/graphql"),
        ("GET", "/nowhere"),
    ] {
        let req = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base));
        let resp = req
            .header("content-type", "application/json")
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "no CORS unless configured"
        );
    }
}

async fn batches_are_refused_by_default(app: TestApp) {
    let body = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "BATCH_LIMIT_EXCEEDED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ROSTER_MAX_BATCH")
    );
}

async fn configured_batches_run_each_operation(backend: Backend) {
    let options = roster::http::HttpOptions {
        max_batch: 2,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 8).await.unwrap();
    let url = format!("{}/graphql", app.base);
    let two = json!([{ "query": "{ __typename }" }, { "query": "mutation { logout }" }]);
    let resp = app.post_body(None, &two).await;
    assert_eq!(resp[0]["data"]["__typename"], "Query");
    assert_eq!(
        resp[1]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // Operations run in order (a query sees the mutation before it), and one refused by
    // the limits answers in its place in the array, even alone.
    let admin = app.admin().await;
    let deep = format!(
        "{{ me {{ {}id{} }} }}",
        "invitedBy { ".repeat(20),
        " }".repeat(20)
    );
    let create = "mutation { createRole(input: { name: \"Ordered\", permissions: [MEMBERS_VIEW] }) { errors { code } } }";
    let batches = [
        json!([{ "query": create }, { "query": "{ roles { name } }" }]),
        json!([{ "query": deep }, { "query": "{ __typename }" }]),
        json!([{ "query": deep }]),
    ];
    let mut answers = Vec::new();
    for batch in &batches {
        answers.push(app.post_body(Some(&admin), batch).await);
    }
    let roles: Vec<&str> = answers[0][1]["data"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"Ordered"), "{}", answers[0]);
    assert_eq!(error_code(&answers[1][0]), "QUERY_LIMIT_EXCEEDED");
    assert_eq!(answers[1][1]["data"]["__typename"], "Query");
    assert_eq!(
        answers[2].as_array().map(Vec::len),
        Some(1),
        "{}",
        answers[2]
    );
    assert_eq!(error_code(&answers[2][0]), "QUERY_LIMIT_EXCEEDED");
    let three = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    assert_eq!(
        app.client
            .post(&url)
            .json(&three)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

async fn introspection_and_graphiql_can_be_switched_off(backend: Backend) {
    let introspect = "{ __schema { queryType { name } } }";
    let on = TestApp::start(backend).await.unwrap();
    assert_eq!(
        on.ok(None, introspect, json!({})).await["__schema"]["queryType"]["name"],
        "Query"
    );
    let options = roster::http::HttpOptions {
        introspection: false,
        graphiql: false,
        ..Default::default()
    };
    let off = TestApp::start_with(backend, options, 8).await.unwrap();
    let resp = off.gql(None, introspect, json!({})).await;
    assert_eq!(
        resp["data"]["__schema"],
        json!(null),
        "introspection answers nothing: {resp}"
    );
    let resp = off
        .gql(None, "{ __type(name: \"Member\") { name } }", json!({}))
        .await;
    assert_eq!(resp["data"]["__type"], json!(null), "{resp}");
    assert_eq!(
        off.client
            .get(format!("{}/", off.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let admin = off.admin().await;
    off.ok(Some(&admin), "{ me { id } }", json!({})).await;
}

async fn cors_allows_only_configured_origins(backend: Backend) {
    let origin = axum::http::HeaderValue::from_static("https://admin.example.com");
    let options = roster::http::HttpOptions {
        cors_origins: vec![origin],
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 8).await.unwrap();
    let preflight = |from: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", from)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };
    let allowed = preflight("https://admin.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
    let denied = preflight("https://evil.example").await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

async fn requests_stop_at_the_time_limit(backend: Backend) {
    let options = roster::http::HttpOptions {
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 1).await.unwrap();
    // Hold the only pooled connection: the request cannot get one within its time.
    let held = app.state.pool.get().await.unwrap();
    let started = std::time::Instant::now();
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": LOGIN, "variables": { "email": "a@b.c", "password": "x" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(held);
    app.admin().await;
}

crate::on_both_databases_raw!(slow_clients_do_not_starve_others);

async fn slow_clients_do_not_starve_others(db: TestDb) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = [
        ("ROSTER_HEADER_TIMEOUT_SECS", "2"),
        ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
        ("ROSTER_ADMIN_PASSWORD", "boss-password-1"),
    ];
    let server = crate::cli::spawn_serve(&db.raw_url, &env);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: roster\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    let trickle = tokio::spawn(async move {
        for _ in 0..8 {
            for stream in &mut slow {
                let _ = stream.write_all(b"a").await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        slow
    });
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let session = crate::cli::login(&server.base, "boss@example.com", "boss-password-1").await;
        assert_eq!(session["errors"], json!([]));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a normal client waited {:?}",
            started.elapsed()
        );
    }
    let slow = trickle.await.unwrap();
    for mut stream in slow {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
        let closed = match read {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            Err(_) => false,
        };
        assert!(
            closed,
            "a connection trickling headers past the timeout is closed"
        );
    }
    assert_eq!(crate::cli::terminate(server), Some(0));
}
