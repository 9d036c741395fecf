//! The `roster` command: configuration errors, `schema`, `migrate`, `create-admin`,
//! and `serve` from first start to a graceful stop.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_roster");
const VARS: [&str; 19] = [
    "ROSTER_TRUSTED_PROXIES",
    "ROSTER_METRICS_LISTEN",
    "ROSTER_LOG_FORMAT",
    "ROSTER_CORS_HEADERS",
    "DATABASE_URL",
    "ROSTER_LISTEN",
    "ROSTER_PUBLIC_URL",
    "ROSTER_ADMIN_EMAIL",
    "ROSTER_ADMIN_PASSWORD",
    "ROSTER_DB_POOL_SIZE",
    "ROSTER_GRAPHIQL",
    "ROSTER_INTROSPECTION",
    "ROSTER_CORS_ORIGINS",
    "ROSTER_MAX_DEPTH",
    "ROSTER_MAX_BATCH",
    "ROSTER_REQUEST_TIMEOUT_SECS",
    "ROSTER_MAX_ALIASES",
    "ROSTER_MAX_ROOT_FIELDS",
    "ROSTER_MAX_FIELDS",
];

pub(crate) fn roster(db_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    for var in VARS {
        cmd.env_remove(var);
    }
    cmd.env("DATABASE_URL", db_url).env("RUST_LOG", "info");
    cmd
}

#[test]
fn bad_configuration_stops_with_exit_2_naming_the_variable() {
    let cases = [
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "sqlite://"),
        ("ROSTER_LISTEN", "not-an-address"),
        ("ROSTER_PUBLIC_URL", "ftp://example.com"),
        ("ROSTER_ADMIN_EMAIL", "no-at-sign"),
        ("ROSTER_ADMIN_PASSWORD", "short"),
        ("ROSTER_DB_POOL_SIZE", "0"),
        ("ROSTER_DB_POOL_SIZE", "many"),
        ("ROSTER_GRAPHIQL", "maybe"),
        ("ROSTER_INTROSPECTION", "2"),
        ("ROSTER_CORS_ORIGINS", "admin.example.com"),
        ("ROSTER_MAX_DEPTH", "0"),
        ("ROSTER_MAX_BATCH", "-1"),
        ("ROSTER_REQUEST_TIMEOUT_SECS", "0"),
        ("ROSTER_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("ROSTER_TRUSTED_PROXIES", "proxy.example.com"),
        ("ROSTER_METRICS_LISTEN", "9090"),
        ("ROSTER_LOG_FORMAT", "xml"),
        ("ROSTER_CORS_HEADERS", "bad header"),
    ];
    let dir = std::env::temp_dir().join(format!("roster-cli-{}", std::process::id()));
    let db = format!("sqlite://{}/never.db", dir.display());
    for (var, value) in cases {
        let out = roster(&db).env(var, value).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "{var} named in {stderr}");
    }
    assert!(!dir.exists(), "nothing was created");
    let flag = roster(&db)
        .args(["serve", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&flag.stderr).contains("ROSTER_LISTEN"));
}

#[test]
fn schema_command_prints_the_sdl() {
    let out = roster("sqlite://unused.db").arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        roster::graphql::sdl()
    );
}

/// A `roster serve` process with its announced address and its output so far.
pub(crate) struct ServerProcess {
    pub child: Child,
    pub base: String,
    /// Lines printed to stdout before the server listened (the first-start banner).
    pub stdout: Vec<String>,
    /// Every line printed to stdout and stderr, as it comes.
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Drop for ServerProcess {
    /// A test that fails mid-way must not leave its server running (one spinning on a
    /// hostile request took a core for the rest of the suite).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn spawn_serve(db_url: &str, env: &[(&str, &str)]) -> ServerProcess {
    let mut cmd = roster(db_url);
    cmd.env("ROSTER_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (out_tx, out_rx) = mpsc::channel();
    let (stderr, stdout) = (child.stderr.take().unwrap(), child.stdout.take().unwrap());
    let log = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("GraphQL at http://").nth(1) {
                let _ = addr_tx.send(rest.split('/').next().unwrap_or_default().to_owned());
            }
            log.lock().unwrap().push(line);
        }
    });
    let log = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            log.lock().unwrap().push(line.clone());
            let _ = out_tx.send(line);
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server announces its address");
    // The first-start banner is printed before the server listens: it is in the pipe.
    let stdout =
        std::iter::from_fn(|| out_rx.recv_timeout(Duration::from_millis(300)).ok()).collect();
    ServerProcess {
        child,
        base: format!("http://{addr}"),
        stdout,
        output,
    }
}

pub(crate) fn terminate(mut server: ServerProcess) -> Option<i32> {
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    server.child.wait().unwrap().code()
}

pub(crate) async fn login(base: &str, email: &str, password: &str) -> serde_json::Value {
    let body = json!({ "query": LOGIN, "variables": { "email": email, "password": password } });
    let resp = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    resp.json::<serde_json::Value>().await.unwrap()["data"]["login"].clone()
}

crate::on_both_databases_raw!(
    first_start_prints_credentials_then_serves_and_stops_on_sigterm,
    sigterm_lets_in_flight_requests_finish,
    create_admin_reads_the_password_from_stdin,
    migrate_is_idempotent
);

async fn first_start_prints_credentials_then_serves_and_stops_on_sigterm(db: TestDb) {
    let server = spawn_serve(&db.raw_url, &[("ROSTER_ADMIN_EMAIL", "boss@example.com")]);
    let banner = server.stdout.join("\n");
    let password = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .expect(&banner)
        .trim()
        .to_owned();
    assert!(banner.contains("boss@example.com"));
    let session = login(&server.base, "boss@example.com", &password).await;
    assert_eq!(
        session["session"]["member"]["mustChangePassword"], true,
        "{session}"
    );
    assert_eq!(terminate(server), Some(0), "graceful stop exits 0");

    // A second start on the same database creates nobody and prints no password.
    let again = spawn_serve(
        &db.raw_url,
        &[("ROSTER_ADMIN_PASSWORD", "another-password-1")],
    );
    assert!(!again.stdout.join("").contains("password:"));
    let still = login(&again.base, "boss@example.com", &password).await;
    assert_eq!(still["errors"], json!([]), "the first password still works");
    assert_eq!(terminate(again), Some(0));
}

async fn create_admin_reads_the_password_from_stdin(db: TestDb) {
    let run = |email: &str, password: &str| {
        let mut child = roster(&db.raw_url)
            .args(["create-admin", "--email", email, "--name", "Ops"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("ops@example.com", "ops-password-123");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let short = run("short@example.com", "short");
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));
    let twice = run("OPS@example.com", "ops-password-123");
    assert_eq!(twice.status.code(), Some(1), "the email is taken");

    let app = TestApp::start_empty(Arc::new(db)).await;
    let token = app.login("ops@example.com", "ops-password-123").await;
    let me = app
        .ok(
            Some(&token),
            "{ me { name mustChangePassword role { builtIn } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["me"],
        json!({ "name": "Ops", "mustChangePassword": false, "role": { "builtIn": true } })
    );
}

async fn migrate_is_idempotent(db: TestDb) {
    let backend = match db.raw_url.starts_with("sqlite") {
        true => "sqlite",
        false => "postgres",
    };
    let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let all = std::fs::read_dir(dir).unwrap().count();
    for expected in [
        format!("applied {all} migration(s)"),
        "applied 0 migration(s)".to_owned(),
    ] {
        let out = roster(&db.raw_url).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    }
}

async fn sigterm_lets_in_flight_requests_finish(db: TestDb) {
    let server = spawn_serve(
        &db.raw_url,
        &[
            ("ROSTER_ADMIN_EMAIL", "boss@example.com"),
            ("ROSTER_ADMIN_PASSWORD", "boss-password-1"),
        ],
    );
    // Hashing runs a few at a time, so eight sign-ins are still running when SIGTERM comes
    // (fewer than the per-account allowance of concurrent attempts).
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let base = server.base.clone();
            tokio::spawn(async move { login(&base, "boss@example.com", "boss-password-1").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let code = tokio::task::spawn_blocking(move || terminate(server))
        .await
        .unwrap();
    for login in logins {
        let session = login.await.unwrap();
        assert_eq!(session["errors"], json!([]), "{session}");
    }
    assert_eq!(code, Some(0));
}
