//! The HTTP surface: health, readiness and what `/graphql` refuses (GraphiQL and the
//! rest of what frontends meet: `frontend.rs`).

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    health_and_readiness_answer,
    graphql_refuses_what_is_not_a_json_request,
    fields_answer_in_selection_order,
);

/// Keys of the response text in the order they appear (serde_json's map sorts them).
fn key_order(text: &str, keys: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, &str)> = keys
        .iter()
        .filter_map(|k| text.find(&format!("\"{k}\":")).map(|at| (at, *k)))
        .collect();
    found.sort();
    found.into_iter().map(|(_, k)| k.to_owned()).collect()
}

async fn fields_answer_in_selection_order(app: TestApp) {
    let admin = app.admin().await;
    // A field waiting on the database came after one that did not.
    let cases = [
        (
            "{ roles { id } me { id } securitySettings { passwordMinLength } }",
            vec!["roles", "me", "securitySettings"],
        ),
        (
            "{ securitySettings { passwordMinLength } me { id } roles { id } }",
            vec!["securitySettings", "me", "roles"],
        ),
        (
            "query { ...F me { id } } fragment F on Query { roles { id } }",
            vec!["roles", "me"],
        ),
        (
            "{ me { email role { name } id } }",
            vec!["email", "role", "id"],
        ),
        (
            "{ members { nodes { name role { name } email } totalCount } }",
            vec!["nodes", "name", "role", "email", "totalCount"],
        ),
    ];
    for (query, expected) in cases {
        let text = app
            .client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains("\"errors\""), "{text}");
        assert_eq!(key_order(&text, &expected), expected, "{query}: {text}");
    }
}

async fn health_and_readiness_answer(app: TestApp) {
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    // Metrics are served on their own address only (ROSTER_METRICS_LISTEN).
    assert_eq!(get("/metrics").await.unwrap().status(), 404);
}

async fn graphql_refuses_what_is_not_a_json_request(app: TestApp) {
    let url = format!("{}/graphql", app.base);
    let query = r#"{"query":"mutation { logout }"}"#;
    let plain = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    let form = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let broken = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let body: serde_json::Value = broken.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    let batch = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(format!("[{query},{query}]"))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400, "batches are off by default");
    let huge = format!(
        r#"{{"query":"{{ me {{ id }} }}","variables":{{"x":"{}"}}}}"#,
        "a".repeat(1024 * 1024 + 1)
    );
    let too_big = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    let body: serde_json::Value = too_big.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE",
        "the error names the limit"
    );
    let get = app
        .client
        .get(format!("{url}?query=mutation%20%7B%20logout%20%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405, "no GraphQL over GET");
}

on_both_databases!(
    internal_errors_reach_clients_as_a_generic_message,
    concurrent_writes_all_land_or_fail_cleanly
);

async fn internal_errors_reach_clients_as_a_generic_message(app: TestApp) {
    let admin = app.admin().await;
    let mut conn = app.state.pool.get().await.unwrap();
    roster::db::with_conn!(&mut conn, |c| {
        diesel_async::SimpleAsyncConnection::batch_execute(c, "DROP TABLE settings").await
    })
    .unwrap();
    drop(conn);
    let query = "mutation { changePassword(currentPassword: \"admin-password-1\", newPassword: \"new-password-11\") { errors { code } } }";
    let answer = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&admin)
        .header("x-request-id", "support-ticket-42")
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "support-ticket-42");
    let resp: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(error_code(&resp), "INTERNAL_SERVER_ERROR");
    // The id a user can quote, to find the detail in the log.
    assert_eq!(
        resp["errors"][0]["extensions"]["requestId"],
        "support-ticket-42"
    );
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("settings") && !message.to_lowercase().contains("table"),
        "no detail leaks: {message}"
    );
}

async fn concurrent_writes_all_land_or_fail_cleanly(app: TestApp) {
    let admin = app.admin().await;
    let create = |name: String| {
        let (app, admin) = (&app, &admin);
        async move {
            app.ok(
                Some(admin),
                CREATE_ROLE,
                serde_json::json!({ "input": { "name": name, "permissions": [] } }),
            )
            .await
        }
    };
    let distinct =
        futures_util::future::join_all((0..16).map(|i| create(format!("Role {i}")))).await;
    assert!(
        distinct
            .iter()
            .all(|d| d["createRole"]["errors"] == serde_json::json!([])),
        "{distinct:?}"
    );
    let same = futures_util::future::join_all((0..8).map(|_| create("Contended".into()))).await;
    let codes: Vec<String> = same
        .iter()
        .filter(|d| d["createRole"]["errors"] != serde_json::json!([]))
        .map(|d| user_error(d, "createRole"))
        .collect();
    assert_eq!(
        codes,
        vec!["NAME_TAKEN"; 7],
        "exactly one wins, the rest are told why"
    );
    let roles = app
        .ok(Some(&admin), "{ roles { id } }", serde_json::json!({}))
        .await;
    assert_eq!(roles["roles"].as_array().unwrap().len(), 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_while_the_database_is_unreachable() {
    let mut urls = vec![roster::db::DatabaseUrl::Sqlite(
        "/nonexistent-dir/roster.db".into(),
    )];
    if std::env::var("ROSTER_TEST_POSTGRES_URL").is_ok() {
        urls.push(roster::db::DatabaseUrl::Postgres(
            "postgres://postgres@127.0.0.1:1/none".into(),
        ));
    }
    for url in urls {
        let statements = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let state = roster::domain::AppState {
            pool: roster::db::Pool::new(&url, 2, statements.clone()).unwrap(),
            clock: std::sync::Arc::new(roster::clock::SystemClock),
            hasher: roster::auth::Hasher::new(1).unwrap(),
            public_url: "http://frontend.test".into(),
            statements,
            requests: Default::default(),
            search_hints: Default::default(),
            feed: roster::domain::feed::Feed::new(&url).unwrap(),
        };
        let (base, server) = serve(state).await;
        let client = reqwest::Client::new();
        assert_eq!(
            client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{url:?}"
        );
        assert_eq!(
            client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            503,
            "{url:?}"
        );
        let body = serde_json::json!({ "query": LOGIN, "variables": { "email": "a@b.c", "password": "x" } });
        let resp: serde_json::Value = client
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{url:?}: {resp}");
        server.abort();
    }
}
