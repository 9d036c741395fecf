//! What frontend tooling meets over HTTP: GraphiQL's page and assets, introspection,
//! GraphQL over HTTP (Accept, status codes, GET), null propagation, persisted queries,
//! CORS, cache ids and `Retry-After`. Real clients and a browser: `clients.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::{on_both_backends, on_both_databases};

on_both_databases!(
    graphiql_page_loads_only_its_own_assets_under_a_strict_policy,
    standard_introspection_queries_answer_signed_in_or_not,
    introspection_stays_bounded,
    accept_decides_the_media_type_and_the_status_of_request_errors,
    queries_answer_by_get_and_mutations_do_not,
    a_failed_field_nulls_up_to_its_nearest_nullable_parent,
    persisted_queries_follow_apollos_protocol,
    security_settings_have_a_stable_id,
    rate_limited_answers_say_when_to_retry,
);
on_both_backends!(cors_admits_client_and_tracing_headers);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `body` to `/graphql` with `accept` (none when empty), returning status,
/// headers and the body as JSON (`Value::Null` when it is not JSON).
async fn send(
    app: &TestApp,
    method: Method,
    query_string: &str,
    accept: &str,
    body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .client
        .request(method, format!("{}/graphql{query_string}", app.base));
    if !accept.is_empty() {
        request = request.header("accept", accept);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn content_type(headers: &reqwest::header::HeaderMap) -> &str {
    headers["content-type"].to_str().unwrap()
}

async fn graphiql_page_loads_only_its_own_assets_under_a_strict_policy(app: TestApp) {
    let page = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(part), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<style"),
        "no inline code: {html}"
    );
    // Every script and stylesheet it names is served from the binary, byte for byte
    // the committed file, and cached for good under its content hash.
    let vendor = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
    let paths: Vec<&str> = html
        .split('"')
        .filter(|part| part.starts_with("/assets/"))
        .collect();
    assert_eq!(paths.len(), 7, "{html}");
    for path in paths {
        let name = path.rsplit('/').next().unwrap();
        let dir = if name.starts_with("graphiql.") && !name.contains(".min.") {
            "graphiql"
        } else {
            "vendor"
        };
        let file = std::fs::read(format!("{vendor}/{dir}/{name}")).unwrap();
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            kind.starts_with(if name.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            }),
            "{kind}"
        );
        let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(cache.contains("immutable"), "{cache}");
        assert!(
            resp.bytes().await.unwrap() == file,
            "{path} differs from the file"
        );
        let stale = path.replacen("/assets/", "/assets/0", 1);
        let resp = app
            .client
            .get(format!("{}{stale}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{stale}");
    }
    // The vendored files are the ones the manifest names, with its checksums.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{vendor}/vendor/manifest.json")).unwrap(),
    )
    .unwrap();
    for package in manifest.as_array().unwrap() {
        assert!(
            !package["license"].as_str().unwrap().is_empty(),
            "{package}"
        );
        let files = package["files"]
            .as_array()
            .unwrap()
            .iter()
            .chain([&package["licenseFile"]]);
        for file in files {
            let bytes = std::fs::read(format!(
                "{vendor}/vendor/{}",
                file["name"].as_str().unwrap()
            ))
            .unwrap();
            assert_eq!(hex(&Sha256::digest(&bytes)), file["sha256"], "{file}");
        }
    }
    // Other routes keep the strict policy.
    let api = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

async fn standard_introspection_queries_answer_signed_in_or_not(app: TestApp) {
    let admin = app.admin().await;
    for file in [
        "introspection-graphql15.graphql",
        "introspection-graphql16.graphql",
    ] {
        let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let query = std::fs::read_to_string(path).unwrap();
        for token in [None, Some(admin.as_str())] {
            let resp = app.gql(token, &query, json!({})).await;
            assert!(resp.get("errors").is_none(), "{file}: {resp}");
            let types = resp["data"]["__schema"]["types"].as_array().unwrap();
            let query_type = types.iter().find(|t| t["name"] == "Query").unwrap();
            let fields = query_type["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["name"] == "members"), "{file}");
            let scalar = types.iter().find(|t| t["name"] == "String").unwrap();
            // graphql-js 15 asks the old spelling and reads its answer under it.
            let key = if file.contains("15") {
                "specifiedByUrl"
            } else {
                "specifiedByURL"
            };
            assert!(
                scalar.as_object().unwrap().contains_key(key),
                "{file}: {scalar}"
            );
        }
    }
}

async fn introspection_stays_bounded(app: TestApp) {
    let limit = |resp: &Value| {
        resp["errors"][0]["extensions"]["limit"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    // Lists of types nested three deep multiply the answer by the schema, cubed.
    let lists =
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    assert_eq!(
        limit(&app.gql(None, lists, json!({})).await),
        "introspection lists"
    );
    let two = "{ __schema { types { fields { type { fields { name } } } } } }";
    let resp = app.gql(None, two, json!({}));
    assert!(resp.await.get("errors").is_none());
    // An ofType chain deeper than any tool sends.
    let chain = format!(
        "{{ __type(name: \"Member\") {{ {}name{} }} }}",
        "ofType { ".repeat(30),
        " }".repeat(30)
    );
    assert_eq!(
        limit(&app.gql(None, &chain, json!({})).await),
        "introspection depth"
    );
    // Beside introspection, the API's own selections keep the depth limit.
    let deep = format!(
        "{{ __schema {{ queryType {{ name }} }} me {{ {}id{} }} }}",
        "invitedBy { ".repeat(10),
        " }".repeat(10)
    );
    assert_eq!(limit(&app.gql(None, &deep, json!({})).await), "depth");
    let smuggled = format!(
        "query {{ ...T me {{ {}id{} }} }} fragment T on Query {{ __type(name: \"Member\") {{ name }} }}",
        "invitedBy { ".repeat(10),
        " }".repeat(10)
    );
    assert_eq!(limit(&app.gql(None, &smuggled, json!({})).await), "depth");
}

async fn accept_decides_the_media_type_and_the_status_of_request_errors(app: TestApp) {
    let good = json!({ "query": "{ __typename }" });
    for (accept, expected) in [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (
            "application/graphql-response+json",
            "application/graphql-response+json",
        ),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json",
        ),
    ] {
        let (status, headers, body) = send(&app, Method::POST, "", accept, Some(&good)).await;
        assert_eq!(status, 200, "{accept}");
        assert!(
            content_type(&headers).starts_with(expected),
            "{accept}: {headers:?}"
        );
        assert_eq!(body["data"]["__typename"], "Query");
    }
    let (status, _, body) = send(&app, Method::POST, "", "text/html", Some(&good)).await;
    assert_eq!(status, 406);
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
    // Unparsable, invalid, over a limit: 4xx and no data with the newer type, 200
    // without data with application/json.
    let deep = format!(
        "{{ me {{ {}id{} }} }}",
        "invitedBy { ".repeat(12),
        " }".repeat(12)
    );
    for bad in ["{ me { ", "{ nope }", deep.as_str()] {
        let body = json!({ "query": bad });
        let graphql = "application/graphql-response+json";
        let (status, _, resp) = send(&app, Method::POST, "", graphql, Some(&body)).await;
        assert_eq!(status, 400, "{bad}: {resp}");
        assert!(
            resp.get("data").is_none() && resp["errors"][0]["message"].is_string(),
            "{resp}"
        );
        let (status, _, resp) = send(&app, Method::POST, "", "application/json", Some(&body)).await;
        assert_eq!(status, 200, "{bad}: {resp}");
        assert!(resp.get("data").is_none(), "{resp}");
    }
    // Field errors are results: 200 with data. (A token naming no session is no
    // session: a stale token left in a client's headers must not block signing in.)
    let (status, _, resp) = send(
        &app,
        Method::POST,
        "",
        "application/graphql-response+json",
        Some(&json!({ "query": "{ __typename me { id } }" })),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn queries_answer_by_get_and_mutations_do_not(app: TestApp) {
    let admin = app.admin().await;
    let url = format!("{}/graphql", app.base);
    let get = |params: &[(&str, &str)]| {
        app.client
            .get(&url)
            .bearer_auth(&admin)
            .query(params)
            .send()
    };
    let resp = get(&[
        ("query", "query Q($n: Int) { members(first: $n) { totalCount nodes { email } } } query Other { __typename }"),
        ("operationName", "Q"),
        ("variables", r#"{"n": 1}"#),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["data"]["members"]["nodes"][0]["email"], ADMIN_EMAIL,
        "{body}"
    );
    // A mutation by GET changes nothing: the session stays.
    for query in [
        "mutation { logout }",
        "query A { __typename } mutation B { logout }",
    ] {
        let resp = get(&[("query", query), ("operationName", "B")])
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{query}");
        assert_eq!(resp.headers()["allow"], "POST");
    }
    app.ok(Some(&admin), "{ me { id } }", json!({})).await;
    for params in [
        vec![],
        vec![("query", "{ __typename }"), ("variables", "[")],
    ] {
        let resp = get(&params).await.unwrap();
        assert_eq!(resp.status(), 400, "{params:?}");
    }
}

async fn a_failed_field_nulls_up_to_its_nearest_nullable_parent(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Viewer", &["MEMBERS_VIEW"]).await;
    let (_, viewer) = app.member_with("viewer@example.com", &role).await;
    // A non-null root field failed: the whole data is null.
    let resp = app
        .gql(
            Some(&viewer),
            "{ members { totalCount } auditEvents { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(resp["data"], Value::Null, "{resp}");
    assert_eq!(resp["errors"][0]["path"], json!(["auditEvents"]));
    // A nullable one: its key is there, null, beside the rest.
    let nobody = app.create_role(&admin, "Nobody", &[]).await;
    let (_, outsider) = app.member_with("outsider@example.com", &nobody).await;
    let resp = app
        .gql(
            Some(&outsider),
            "{ me { email } member(id: \"1\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        resp["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{resp}"
    );
    assert_eq!(
        resp["data"],
        json!({ "me": { "email": "outsider@example.com" }, "member": null })
    );
}

async fn persisted_queries_follow_apollos_protocol(app: TestApp) {
    let query = "query PersistedMe { me { email } }";
    let hash = hex(&Sha256::digest(query.as_bytes()));
    let admin = app.admin().await;
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        app.client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let first = post(json!({ "extensions": extensions })).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        first["errors"][0]["message"], "PersistedQueryNotFound",
        "{first}"
    );
    assert_eq!(
        first["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let resp: Value = post(json!({ "query": query, "extensions": extensions }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["me"]["email"], ADMIN_EMAIL, "{resp}");
    // From now on the hash alone, by POST or by GET.
    let resp: Value = post(json!({ "extensions": extensions }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["me"]["email"], ADMIN_EMAIL, "{resp}");
    let resp: Value = app
        .client
        .get(format!("{}/graphql", app.base))
        .bearer_auth(&admin)
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["me"]["email"], ADMIN_EMAIL, "{resp}");
    // A hash that is not the query's, and an unknown version, are refused.
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": hex(&[0; 32]) } });
    let resp: Value = post(json!({ "query": query, "extensions": wrong }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp["errors"][0]["message"],
        "provided sha does not match query"
    );
    let future = json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } });
    let resp: Value = post(json!({ "extensions": future }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{resp}"
    );
}

async fn cors_admits_client_and_tracing_headers(backend: Backend) {
    let options = roster::http::HttpOptions {
        cors_origins: vec![axum::http::HeaderValue::from_static(
            "https://admin.example.com",
        )],
        cors_headers: vec![axum::http::HeaderName::from_static("x-tenant-id")],
        ..Default::default()
    };
    let app = TestApp::start_with(backend, options, 4).await.unwrap();
    let preflight = |method: &'static str, headers: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", "https://admin.example.com")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    let common = "content-type,authorization,apollographql-client-name,\
                  apollographql-client-version,traceparent,tracestate,sentry-trace,baggage,\
                  x-request-id,x-tenant-id";
    let resp = preflight("POST", common).await.unwrap();
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in common.split(',') {
        assert!(
            allowed.split(',').any(|h| h.trim() == header),
            "{header}: {allowed}"
        );
    }
    assert!(!allowed.contains("x-unknown"));
    let methods = resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut methods: Vec<&str> = methods.split(',').map(str::trim).collect();
    methods.sort();
    assert_eq!(methods, ["GET", "POST"]);
    let get = app
        .client
        .get(format!("{}/graphql?query=%7B__typename%7D", app.base))
        .header("origin", "https://admin.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200, "the advertised GET works");
    assert_eq!(
        get.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
}

async fn security_settings_have_a_stable_id(app: TestApp) {
    let admin = app.admin().await;
    let id = |data: &Value| data["securitySettings"]["id"].as_str().unwrap().to_owned();
    let before = id(&app
        .ok(Some(&admin), "{ securitySettings { id } }", json!({}))
        .await);
    let update = "mutation { updateSecuritySettings(input: { passwordMinLength: 12 }) { securitySettings { id passwordMinLength } errors { code } } }";
    let data = app.ok(Some(&admin), update, json!({})).await;
    assert_eq!(
        data["updateSecuritySettings"]["securitySettings"]["id"],
        before.as_str()
    );
    assert!(!before.is_empty());
}

async fn rate_limited_answers_say_when_to_retry(app: TestApp) {
    let mut limited = None;
    for attempt in 0..40 {
        let resp = app
            .client
            .post(format!("{}/graphql", app.base))
            .json(&json!({ "query": LOGIN, "variables": { "email": ADMIN_EMAIL, "password": format!("wrong-{attempt}") } }))
            .send()
            .await
            .unwrap();
        let retry = resp.headers().get("retry-after").cloned();
        let body: Value = resp.json().await.unwrap();
        if login_outcome_of(&body) == "RATE_LIMITED" {
            limited = Some((retry, body));
            break;
        }
        assert!(retry.is_none(), "{body}");
    }
    let (retry, body) = limited.expect("sign-in is throttled");
    let seconds = body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert_eq!(
        retry.expect("Retry-After").to_str().unwrap(),
        seconds.to_string()
    );
}
