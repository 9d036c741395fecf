//! Test helpers: a real server on a fresh database per test, driven over HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use roster::clock::ManualClock;
use roster::db::DatabaseUrl;
use roster::domain::AppState;
use roster::domain::members::{self, NewMember};
use roster::domain::validate;
use serde_json::{Value, json};

/// Password of the administrator every test app starts with.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// Password of members made by [`TestApp::add_member`].
pub const MEMBER_PASSWORD: &str = "member-password-1";
/// Every permission: a custom role holding them all covers the Administrator role
/// without being it.
pub const EVERY_PERMISSION: [&str; 10] = [
    "MEMBERS_VIEW",
    "MEMBERS_INVITE",
    "MEMBERS_EDIT_PERMISSION",
    "MEMBERS_FREEZE",
    "MEMBERS_RESET_PASSWORD",
    "ROLES_MANAGE",
    "SECURITY_SETTINGS_MANAGE",
    "AUDIT_LOG_VIEW",
    "MEMBERS_SESSIONS_MANAGE",
    "MEMBERS_REMOVE",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A fresh database, removed when dropped (also when the test fails).
pub struct TestDb {
    pub url: DatabaseUrl,
    pub raw_url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { base: String, schema: String },
}

impl TestDb {
    /// The backend this database is on.
    pub fn backend(&self) -> Backend {
        match self.url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }

    /// A fresh database on `backend`; `None` for PostgreSQL when
    /// `ROSTER_TEST_POSTGRES_URL` is not set.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique("roster_test")));
                let raw_url = format!("sqlite://{}", path.display());
                Some(TestDb {
                    url: DatabaseUrl::parse(&raw_url).unwrap(),
                    raw_url,
                    cleanup: Cleanup::File(path),
                })
            }
            Backend::Postgres => {
                let base = std::env::var("ROSTER_TEST_POSTGRES_URL")
                    .ok()
                    .filter(|s| !s.is_empty())?;
                let schema = unique("t");
                let mut conn = AsyncPgConnection::establish(&base)
                    .await
                    .expect("connect to ROSTER_TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let raw_url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Some(TestDb {
                    url: DatabaseUrl::parse(&raw_url).unwrap(),
                    raw_url,
                    cleanup: Cleanup::Schema { base, schema },
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { base, schema } => {
                let (base, schema) = (base.clone(), schema.clone());
                // Drop runs inside the test's runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(mut conn) = AsyncPgConnection::establish(&base).await {
                            let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
                                .execute(&mut conn)
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A running Roster server on its own fresh database.
pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub db: Arc<TestDb>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// A server with a bootstrapped administrator ([`ADMIN_EMAIL`], [`ADMIN_PASSWORD`]).
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, roster::http::HttpOptions::default(), 8).await
    }

    /// Like [`TestApp::start`], with HTTP options and a pool size of the test's choosing.
    pub async fn start_with(
        backend: Backend,
        options: roster::http::HttpOptions,
        pool_size: usize,
    ) -> Option<TestApp> {
        let db = Arc::new(TestDb::new(backend).await?);
        let app = Self::on_with(db, Arc::new(ManualClock::new()), &options, pool_size).await;
        roster::domain::bootstrap::bootstrap(&app.state, ADMIN_EMAIL, Some(ADMIN_PASSWORD))
            .await
            .unwrap();
        Some(app)
    }

    /// A server on `db` with nothing bootstrapped beyond what migrations make.
    pub async fn start_empty(db: Arc<TestDb>) -> TestApp {
        Self::on(db, Arc::new(ManualClock::new())).await
    }

    /// A server on `db` after a first start without a configured password: the first
    /// administrator (`first@example.com`) has a generated one, to change at sign-in.
    pub async fn first_start(db: Arc<TestDb>) -> (TestApp, String) {
        let app = Self::start_empty(db).await;
        let created = roster::domain::bootstrap::bootstrap(&app.state, "first@example.com", None)
            .await
            .unwrap()
            .unwrap();
        let password = created.generated_password.unwrap();
        (app, password)
    }

    /// Another server on the same database and clock, as a second instance would be.
    pub async fn second_instance(&self) -> TestApp {
        Self::on(self.db.clone(), self.clock.clone()).await
    }

    /// Another server sharing this one's state, changed by `change` (a smaller hasher,
    /// say); the database, clock and pool stay shared.
    pub async fn with_state(&self, change: impl FnOnce(&mut AppState)) -> TestApp {
        let mut state = self.state.clone();
        change(&mut state);
        let options = roster::http::HttpOptions::default();
        Self::serving(state, self.db.clone(), self.clock.clone(), &options).await
    }

    async fn on(db: Arc<TestDb>, clock: Arc<ManualClock>) -> TestApp {
        Self::on_with(db, clock, &roster::http::HttpOptions::default(), 8).await
    }

    async fn on_with(
        db: Arc<TestDb>,
        clock: Arc<ManualClock>,
        options: &roster::http::HttpOptions,
        pool_size: usize,
    ) -> TestApp {
        let state = roster::open(&db.url, pool_size, "http://frontend.test", clock.clone())
            .await
            .unwrap();
        Self::serving(state, db, clock, options).await
    }

    /// Serves `state` (built on `db` and `clock`) on a port of its own.
    async fn serving(
        state: AppState,
        db: Arc<TestDb>,
        clock: Arc<ManualClock>,
        options: &roster::http::HttpOptions,
    ) -> TestApp {
        let (base, server) = serve_with(state.clone(), options).await;
        TestApp {
            backend: db_backend(&db),
            base,
            client: reqwest::Client::new(),
            state,
            clock,
            db,
            server,
        }
    }

    /// Sends a GraphQL request and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_body(token, &body).await
    }

    /// POSTs any JSON body (one operation or a batch) to /graphql; expects HTTP 200.
    pub async fn post_body(&self, token: Option<&str>, body: &Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "GraphQL requests answer 200");
        resp.json().await.unwrap()
    }

    /// Sends a request that must succeed and returns its `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let resp = self.gql(token, query, variables).await;
        assert!(resp.get("errors").is_none(), "unexpected errors: {resp}");
        resp["data"].clone()
    }

    /// One sign-in attempt, the whole JSON response.
    pub async fn login_attempt(&self, email: &str, password: &str) -> Value {
        self.gql(None, LOGIN, json!({ "email": email, "password": password }))
            .await
    }

    /// How a sign-in attempt ends: `OK`, its payload error code, or a top-level one.
    pub async fn login_outcome(&self, email: &str, password: &str) -> String {
        login_outcome_of(&self.login_attempt(email, password).await)
    }

    /// Signs in and returns the token; panics on failure.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let data = self
            .ok(None, LOGIN, json!({ "email": email, "password": password }))
            .await;
        assert_eq!(data["login"]["errors"], json!([]), "login failed: {data}");
        data["login"]["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A token of the bootstrapped administrator.
    pub async fn admin(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a role through the API and returns its id.
    pub async fn create_role(&self, token: &str, name: &str, permissions: &[&str]) -> String {
        let data = self
            .ok(
                Some(token),
                CREATE_ROLE,
                json!({ "input": { "name": name, "permissions": permissions } }),
            )
            .await;
        assert_eq!(
            data["createRole"]["errors"],
            json!([]),
            "createRole failed: {data}"
        );
        data["createRole"]["role"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Arranges members directly in the database (invitations are the API way), all
    /// with [`MEMBER_PASSWORD`], hashed once. Returns their ids in creation order.
    pub async fn add_members(
        &self,
        specs: &[(&str, &str, &str)],
        invited_by: Option<i64>,
    ) -> Vec<i64> {
        let hash = self.state.hasher.hash(MEMBER_PASSWORD).await.unwrap();
        let mut ids = Vec::new();
        for (email, name, role_id) in specs {
            let now = roster::clock::Clock::now(self.clock.as_ref());
            let new = NewMember {
                email,
                email_key: &validate::key(email),
                name,
                search_key: &members::search_key(email, name),
                role_id: role_id.parse().unwrap(),
                status: roster::domain::members::MemberStatus::Active,
                password_hash: &hash,
                must_change_password: false,
                invited_by,
                created_at: now,
                updated_at: now,
            };
            let mut conn = self.state.pool.get().await.unwrap();
            ids.push(members::insert(&mut conn, &new).await.unwrap().id);
        }
        ids
    }

    /// Inserts members with these emails, one name and one role; returns their ids.
    pub async fn add_members_as(
        &self,
        emails: &[impl AsRef<str>],
        name: &str,
        role_id: &str,
    ) -> Vec<i64> {
        let specs: Vec<(&str, &str, &str)> =
            emails.iter().map(|e| (e.as_ref(), name, role_id)).collect();
        self.add_members(&specs, None).await
    }

    /// One member with a role, signed in; returns (member id, token).
    pub async fn member_with(&self, email: &str, role_id: &str) -> (i64, String) {
        let id = self
            .add_members(&[(email, "Test Member", role_id)], None)
            .await[0];
        (id, self.login(email, MEMBER_PASSWORD).await)
    }

    /// The id of the built-in Administrator role.
    pub async fn admin_role_id(&self) -> String {
        let mut conn = self.state.pool.get().await.unwrap();
        roster::domain::roles::administrator_id(&mut conn)
            .await
            .unwrap()
            .to_string()
    }

    /// SQL statements run so far by this server's pool.
    pub fn statements(&self) -> u64 {
        AtomicU64::load(&self.state.statements, Ordering::SeqCst)
    }
}

/// Serves the real router for `state` on a free local port; returns its base URL.
pub async fn serve(state: AppState) -> (String, tokio::task::JoinHandle<()>) {
    serve_with(state, &roster::http::HttpOptions::default()).await
}

/// [`serve`] with HTTP options.
pub async fn serve_with(
    state: AppState,
    options: &roster::http::HttpOptions,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = roster::http::router(state, options);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (format!("http://{addr}"), server)
}

fn db_backend(db: &TestDb) -> Backend {
    match db.url {
        DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        DatabaseUrl::Postgres(_) => Backend::Postgres,
    }
}

/// A GraphQL request to the server at `base` (a spawned process); the JSON response.
pub async fn post(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// The `extensions.code` of the first top-level error.
pub fn error_code(resp: &Value) -> &str {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {resp}"))
}

/// The code of the first payload error of `mutation`.
pub fn user_error(data: &Value, mutation: &str) -> String {
    data[mutation]["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no user error in {data}"))
        .to_owned()
}

pub const LOGIN: &str = "mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    session { token expiresAt member { id email mustChangePassword } }
    errors { code field message }
  }
}";

pub const CREATE_ROLE: &str = "mutation($input: CreateRoleInput!) {
  createRole(input: $input) {
    role { id name description permissions builtIn memberCount }
    errors { code field message }
  }
}";

pub const INVITE: &str = "mutation($roleId: ID!, $validity: InvitationValidity!, $email: String) {
  invite(roleId: $roleId, validity: $validity, email: $email) {
    invitation { id status email expiresAt role { id name } createdBy { email } }
    link
    errors { code field message }
  }
}";

pub const ACCEPT: &str =
    "mutation($token: String!, $email: String!, $name: String!, $password: String!) {
  acceptInvitation(token: $token, email: $email, name: $name, password: $password) {
    session { token member { id email name status role { name } invitedBy { email } } }
    errors { code field message }
  }
}";

/// The secret at the end of a link.
pub fn secret_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

impl TestApp {
    /// Invites through the API; returns (invitation id, secret of the link).
    pub async fn invite(
        &self,
        token: &str,
        role_id: &str,
        email: Option<&str>,
    ) -> (String, String) {
        let data = self
            .ok(
                Some(token),
                INVITE,
                json!({ "roleId": role_id, "validity": "SEVEN_DAYS", "email": email }),
            )
            .await;
        assert_eq!(data["invite"]["errors"], json!([]), "invite failed: {data}");
        let link = data["invite"]["link"].as_str().unwrap();
        (
            data["invite"]["invitation"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            secret_of(link),
        )
    }

    /// Accepts an invitation; returns the payload.
    pub async fn accept(&self, secret: &str, email: &str, name: &str, password: &str) -> Value {
        let vars = json!({ "token": secret, "email": email, "name": name, "password": password });
        self.ok(None, ACCEPT, vars).await["acceptInvitation"].clone()
    }

    /// Audit events, newest first, as (action, actor email, target email, details).
    pub async fn audit(&self, token: &str) -> Vec<Value> {
        let q = "{ auditEvents(first: 100) { nodes { action actor { email } targetMember { email } targetRole { name } details ip } } }";
        self.ok(Some(token), q, json!({})).await["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Like [`on_both_databases!`], for tests that build their own [`TestApp`]: each gets
/// the backend to use.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("ROSTER_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        }
    )*};
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL (the
/// latter only when `ROSTER_TEST_POSTGRES_URL` is set).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::start($crate::common::Backend::Sqlite).await.unwrap();
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::common::TestApp::start($crate::common::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

/// Like [`on_both_databases!`], but hands each test a fresh, empty [`TestDb`].
#[macro_export]
macro_rules! on_both_databases_raw {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await.unwrap();
                super::$name(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await {
                    super::$name(db).await;
                }
            }
        }
    )*};
}

/// The outcome of a sign-in response: `OK`, its payload error code, or a top-level one.
pub fn login_outcome_of(resp: &Value) -> String {
    if let Some(code) = resp["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    resp["data"]["login"]["errors"][0]["code"]
        .as_str()
        .unwrap_or("OK")
        .to_owned()
}
