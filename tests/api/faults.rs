//! Faults: PostgreSQL going away under a running server, and `kill -9` mid-storm.
//! The PostgreSQL cases run on a private cluster of their own, so that stopping it
//! leaves every other test alone.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{spawn_serve, terminate};
use crate::common::*;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL cluster on a free port, removed when dropped.
struct PrivateCluster {
    dir: PathBuf,
    port: u16,
}

fn as_postgres(args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .unwrap()
}

impl PrivateCluster {
    /// A new cluster, or `None` where PostgreSQL tests are off or its binaries are missing.
    fn new() -> Option<PrivateCluster> {
        if std::env::var("ROSTER_TEST_POSTGRES_URL").map_or(true, |u| u.is_empty())
            || !PathBuf::from(BIN).exists()
        {
            eprintln!("skipped: no PostgreSQL to run a private cluster");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("roster-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Command::new("chown")
            .args(["postgres:postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        let data = dir.join("data");
        let out = as_postgres(&[
            &format!("{BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = PrivateCluster { dir, port };
        cluster.start();
        Some(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let out = as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        let data = self.dir.join("data");
        as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn ready(base: &str) -> u16 {
    reqwest::get(format!("{base}/readyz"))
        .await
        .unwrap()
        .status()
        .as_u16()
}

const ENV: &[(&str, &str)] = &[
    ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
    ("ROSTER_ADMIN_PASSWORD", "boss-password-1"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_reported_and_recovered_without_restart() {
    let Some(cluster) = PrivateCluster::new() else {
        return;
    };
    let server = spawn_serve(&cluster.url(), ENV);
    let token = crate::cli::login(&server.base, "boss@example.com", "boss-password-1").await["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(ready(&server.base).await, 200);

    cluster.stop();
    assert_eq!(ready(&server.base).await, 503);
    for query in ["{ me { id } }", "{ members { totalCount } }"] {
        let started = Instant::now();
        let resp = post(&server.base, Some(&token), query, json!({})).await;
        assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "answered within the checkout timeout"
        );
    }
    let resp = post(
        &server.base,
        None,
        LOGIN,
        json!({ "email": "boss@example.com", "password": "boss-password-1" }),
    )
    .await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(15);
    while ready(&server.base).await != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut answer = Value::Null;
    for _ in 0..5 {
        answer = post(&server.base, Some(&token), "{ me { email } }", json!({})).await;
        if answer["errors"].is_null() {
            break;
        }
    }
    assert_eq!(
        answer["data"]["me"]["email"], "boss@example.com",
        "sessions survive the outage: {answer}"
    );
    assert_eq!(terminate(server), Some(0));
}

crate::on_both_databases_raw!(kill_9_mid_storm_leaves_every_invariant);

/// One mutation of the storm, by number; the storm mixes every kind of write.
async fn storm_step(base: &str, token: &str, i: usize, role: &str) {
    match i % 4 {
        0 => {
            post(base, Some(token), CREATE_ROLE, json!({ "input": { "name": format!("Storm {i}"), "permissions": ["MEMBERS_VIEW"] } })).await;
        }
        1 => {
            let invite = post(
                base,
                Some(token),
                INVITE,
                json!({ "roleId": role, "validity": "ONE_DAY" }),
            )
            .await;
            if let Some(link) = invite["data"]["invite"]["link"].as_str() {
                let vars = json!({ "token": secret_of(link), "email": format!("s{i}@example.com"), "name": "S", "password": "storm-password-1" });
                post(base, None, ACCEPT, vars).await;
            }
        }
        2 => {
            let members = post(
                base,
                Some(token),
                "{ members(first: 1) { nodes { id } } }",
                json!({}),
            )
            .await;
            if let Some(id) = members["data"]["members"]["nodes"][0]["id"].as_str() {
                post(
                    base,
                    Some(token),
                    "mutation($id: ID!) { freeze(memberId: $id) { changed } }",
                    json!({ "id": id }),
                )
                .await;
            }
        }
        _ => {
            let members = post(
                base,
                Some(token),
                "{ members(first: 1, filter: { status: FROZEN }) { nodes { id } } }",
                json!({}),
            )
            .await;
            if let Some(id) = members["data"]["members"]["nodes"][0]["id"].as_str() {
                post(
                    base,
                    Some(token),
                    "mutation($id: ID!) { recover(memberId: $id) { changed } }",
                    json!({ "id": id }),
                )
                .await;
            }
        }
    }
}

async fn kill_9_mid_storm_leaves_every_invariant(db: TestDb) {
    let mut server = spawn_serve(&db.raw_url, ENV);
    let token = crate::cli::login(&server.base, "boss@example.com", "boss-password-1").await["session"]["token"].as_str().unwrap().to_owned();
    let role = post(
        &server.base,
        Some(&token),
        CREATE_ROLE,
        json!({ "input": { "name": "Storm", "permissions": ["MEMBERS_VIEW"] } }),
    )
    .await;
    let role = role["data"]["createRole"]["role"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let storm: Vec<_> = (0..6)
        .map(|worker| {
            let (base, token, role) = (server.base.clone(), token.clone(), role.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let step = storm_step(&base, &token, worker * 1000 + i, &role);
                    if tokio::time::timeout(Duration::from_secs(5), step)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for worker in storm {
        worker.abort();
    }

    let restarted = spawn_serve(&db.raw_url, ENV);
    let token =
        crate::cli::login(&restarted.base, "boss@example.com", "boss-password-1").await["session"]
            ["token"]
            .as_str()
            .unwrap()
            .to_owned();
    let check = |q: &'static str| post(&restarted.base, Some(&token), q, json!({}));
    let admins =
        check("{ members(filter: { roleId: \"1\", status: ACTIVE }) { totalCount } }").await;
    assert!(
        admins["data"]["members"]["totalCount"].as_i64().unwrap() >= 1,
        "{admins}"
    );
    let audit = "{ auditEvents(first: 100, filter: { action: ROLE_CREATED }) { totalCount } }";
    let created = check(audit).await["data"]["auditEvents"]["totalCount"]
        .as_i64()
        .unwrap();
    let roles = check("{ roles { id } }").await["data"]["roles"]
        .as_array()
        .unwrap()
        .len() as i64;
    assert_eq!(created, roles - 1, "one ROLE_CREATED per committed role");
    let accepted = check(
        "{ invitations(first: 100, status: ACCEPTED) { totalCount nodes { acceptedBy { id } } } }",
    )
    .await;
    let joined = check(
        "{ auditEvents(first: 100, filter: { action: INVITATION_ACCEPTED }) { totalCount } } ",
    )
    .await;
    let members = check("{ members(first: 100) { totalCount nodes { role { id } } } }").await;
    let accepted_count = accepted["data"]["invitations"]["totalCount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        accepted_count,
        joined["data"]["auditEvents"]["totalCount"]
            .as_i64()
            .unwrap(),
        "one event per acceptance"
    );
    assert_eq!(
        members["data"]["members"]["totalCount"].as_i64().unwrap(),
        accepted_count + 1,
        "no member without its acceptance, none half-written"
    );
    assert!(
        accepted["data"]["invitations"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["acceptedBy"]["id"].is_string())
    );
    let frozen =
        check("{ auditEvents(first: 1, filter: { action: MEMBER_FROZEN }) { totalCount } }").await;
    let recovered =
        check("{ auditEvents(first: 1, filter: { action: MEMBER_RECOVERED }) { totalCount } }")
            .await;
    let now_frozen = check("{ members(filter: { status: FROZEN }) { totalCount } }").await;
    let (f, r) = (
        frozen["data"]["auditEvents"]["totalCount"]
            .as_i64()
            .unwrap(),
        recovered["data"]["auditEvents"]["totalCount"]
            .as_i64()
            .unwrap(),
    );
    assert_eq!(
        f - r,
        now_frozen["data"]["members"]["totalCount"]
            .as_i64()
            .unwrap(),
        "freeze and recover events match the statuses"
    );
    assert!(
        f + created + accepted_count > 3,
        "the storm did some work before the kill"
    );
    assert_eq!(terminate(restarted), Some(0));
}
