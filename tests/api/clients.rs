//! Roster as frontend teams meet it: the GraphQL-over-HTTP audit, graphql-js's
//! introspection, Apollo Client, urql and graphql-request (4 and 7) with their default
//! options, graphql-codegen against the live URL, and GraphiQL in headless Chromium
//! with the network cut. Each runs a Node script of `tests/clients` against the real
//! server on each database.
//!
//! Their npm packages and Chromium are installed by `.ci/run`. Without them the tests
//! say so and pass, so that `cargo test` passes on a fresh machine; with
//! `ROSTER_REQUIRE_CLIENTS=1` (CI sets it) a missing one fails instead.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(
    graphql_over_http_audit_passes,
    graphql_js_introspection_builds_a_schema,
    clients_run_the_member_management_flow,
    codegen_types_the_operations_from_the_live_url,
    graphiql_works_offline_in_chromium,
    graphql_ws_and_apollo_client_subscribe_and_resume,
);

/// MUST and SHOULD audits of graphql-http that Roster fails on purpose (see README's
/// "GraphQL over HTTP"): none.
const REFUSED_AUDITS: &[&str] = &[];

fn clients_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients"))
}

fn chromium() -> PathBuf {
    std::env::var_os("ROSTER_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Whether the scripts can run here (and the browser, when `browser`).
fn ready(browser: bool) -> bool {
    let mut missing = Vec::new();
    if !clients_dir().join("node_modules").is_dir() {
        missing.push("tests/clients/node_modules (npm ci --prefix tests/clients)");
    }
    if browser && !chromium().exists() {
        missing.push("Chromium (apt-get install chromium)");
    }
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var_os("ROSTER_REQUIRE_CLIENTS").is_some_and(|v| v == "1");
    assert!(
        !required,
        "ROSTER_REQUIRE_CLIENTS=1 but missing: {missing:?}"
    );
    eprintln!("skipped: missing {missing:?} (.ci/run installs them)");
    false
}

/// Runs `node <script> <args>` in `tests/clients`; its status and the JSON it printed.
async fn node(script: &str, args: &[&str]) -> (bool, Value) {
    let run = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(clients_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .unwrap_or_else(|_| panic!("{script} ran over 240 s"))
        .unwrap_or_else(|e| panic!("node {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!("{script} printed no JSON ({e}):\n{stdout}\n{stderr}")
    });
    (output.status.success(), value)
}

fn graphql_url(app: &TestApp) -> String {
    format!("{}/graphql", app.base)
}

async fn graphql_over_http_audit_passes(app: TestApp) {
    if !ready(false) {
        return;
    }
    let (_, report) = node("audit.mjs", &[&graphql_url(&app)]).await;
    let failed: Vec<&str> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .filter(|name| !REFUSED_AUDITS.contains(name))
        .collect();
    assert!(failed.is_empty(), "{report}");
    assert!(report["ok"].as_u64().unwrap() >= 55, "{report}");
}

async fn graphql_js_introspection_builds_a_schema(app: TestApp) {
    if !ready(false) {
        return;
    }
    let admin = app.admin().await;
    for args in [vec![graphql_url(&app)], vec![graphql_url(&app), admin]] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, report) = node("introspect.mjs", &args).await;
        for (variant, outcome) in report.as_object().unwrap() {
            assert_eq!(outcome["ok"], true, "{variant}: {outcome}");
            assert_eq!(outcome["hasMembers"], true, "{variant}: {outcome}");
        }
    }
}

async fn clients_run_the_member_management_flow(app: TestApp) {
    if !ready(false) {
        return;
    }
    let (_, report) = node(
        "flow.mjs",
        &[&graphql_url(&app), ADMIN_EMAIL, ADMIN_PASSWORD],
    )
    .await;
    let clients = report.as_object().unwrap();
    assert_eq!(clients.len(), 5, "{report}");
    for (client, outcome) in clients {
        assert_eq!(outcome["ok"], true, "{client}: {outcome}");
        assert_eq!(outcome["steps"].as_array().unwrap().len(), 10, "{client}");
    }
    // urql's default sends queries by GET; Apollo's persisted queries, by hash and GET.
    for client in ["urql", "apollo-client-persisted-queries"] {
        let methods = &report[client]["methods"];
        assert!(
            methods.as_array().unwrap().contains(&"GET".into()),
            "{client}: {methods}"
        );
    }
}

async fn codegen_types_the_operations_from_the_live_url(app: TestApp) {
    if !ready(false) {
        return;
    }
    let dir = tempdir();
    let output = dir.join("types.ts");
    let output = output.to_str().unwrap();
    let (ok, report) = node("codegen.mjs", &[&graphql_url(&app), output]).await;
    assert!(ok, "{report}");
    let types = std::fs::read_to_string(output).unwrap();
    for name in [
        "export type MemberListQuery",
        "export type InviteDeveloperMutation",
        "export enum MemberStatus",
    ] {
        assert!(types.contains(name), "{name} missing");
    }
    // A document that no longer fits the schema fails the build.
    let broken = dir.join("broken.graphql");
    std::fs::write(
        &broken,
        "query Broken { members { nodes { lastSignInAt } } }\n",
    )
    .unwrap();
    let (ok, report) = node(
        "codegen.mjs",
        &[&graphql_url(&app), output, broken.to_str().unwrap()],
    )
    .await;
    assert!(!ok, "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("lastSignInAt"),
        "{report}"
    );
    std::fs::remove_dir_all(dir).ok();
}

async fn graphql_ws_and_apollo_client_subscribe_and_resume(app: TestApp) {
    if !ready(false) {
        return;
    }
    let admin = app.admin().await;
    let (_, report) = node("live.mjs", &[&app.base, &admin]).await;
    assert_eq!(report["ok"], true, "{report}");
    for client in ["graphqlWs", "resumed", "apollo"] {
        assert_eq!(
            report[client]["action"], "ROLE_CREATED",
            "{client}: {report}"
        );
        assert_eq!(
            report[client]["actor"]["email"], ADMIN_EMAIL,
            "{client}: {report}"
        );
    }
    // The resumed subscription starts with the role created after the first change:
    // the next one, not the first again.
    assert_ne!(report["resumed"]["cursor"], report["graphqlWs"]["cursor"]);
    assert_eq!(
        report["resumed"]["role"]["name"], report["createdMeanwhile"],
        "{report}"
    );
}

async fn graphiql_works_offline_in_chromium(app: TestApp) {
    if !ready(true) {
        return;
    }
    let (_, report) = node("graphiql.mjs", &[&app.base, ADMIN_EMAIL, ADMIN_PASSWORD]).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["external"],
        serde_json::json!([]),
        "no request leaves the page"
    );
    assert_eq!(report["violations"], serde_json::json!([]), "{report}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert!(
        report["defaultQuery"]
            .as_str()
            .unwrap()
            .contains("mutation SignIn")
    );
    let variables = report["defaultVariables"].as_str().unwrap_or_default();
    assert!(variables.contains("\"admin@localhost\""), "{report}");
    assert_eq!(report["docsListMembers"], true);
    assert!(
        report["completion"].as_str().unwrap().contains("members"),
        "{report}"
    );
    assert_eq!(
        report["signIn"]["data"]["login"]["session"]["member"]["email"],
        ADMIN_EMAIL
    );
    let change = &report["subscription"]["data"]["memberChanged"];
    assert_eq!(change["action"], "ROLE_CREATED", "{report}");
    assert_eq!(change["actor"]["email"], ADMIN_EMAIL, "{report}");
    // Signing in from the page made the next request carry the session.
    assert!(
        report["members"]["data"]["members"]["totalCount"]
            .as_u64()
            .unwrap()
            >= 1,
        "{report}"
    );
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("roster-codegen-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
