//! The HTTP surface: health, readiness, GraphiQL and what `/graphql` refuses.

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    health_and_readiness_answer,
    graphiql_is_served,
    graphql_refuses_what_is_not_a_json_request
);

async fn health_and_readiness_answer(app: TestApp) {
    for path in ["/healthz", "/readyz"] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
}

async fn graphiql_is_served(app: TestApp) {
    let resp = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap().to_lowercase();
    assert!(page.contains("graphiql") && page.contains("/graphql"));
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
    assert_eq!(batch.status(), 400, "batches are off");
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
    let get = app
        .client
        .get(format!("{url}?query=mutation%20%7B%20logout%20%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405, "no GraphQL over GET");
}
