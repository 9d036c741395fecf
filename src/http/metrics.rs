//! Metrics in Prometheus' text format, served on their own address
//! (`ROSTER_METRICS_LISTEN`), never on the public port. Counters and histograms are
//! recorded where things happen (`metrics` macros, no-ops until [`install`]); gauges
//! of the pool, the hasher, the process and the SQL counter are read at each scrape.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::observe::Access;
use crate::domain::AppState;

/// Most distinct operation names given their own series; later ones count as `other`,
/// so a client sending random names cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 100;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric Roster records, with its help text.
fn describe() {
    describe_histogram!(
        "roster_http_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's arrival to its answer, every route, by status class."
    );
    describe_histogram!(
        "roster_graphql_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a GraphQL request, by operation type (query, mutation)."
    );
    describe_histogram!(
        "roster_graphql_operation_duration_seconds",
        Unit::Seconds,
        "Time to answer a GraphQL request, by operation name (the first 100 names seen, then `other`; `anonymous` without a name)."
    );
    describe_counter!(
        "roster_graphql_requests_total",
        "GraphQL requests that reached /graphql."
    );
    describe_counter!(
        "roster_graphql_errors_total",
        "GraphQL errors answered, by extensions.code (REQUEST_ERROR for parse and validation errors)."
    );
    describe_resources();
    describe_signins();
}

/// What the instance holds: connections, the pool, memory.
fn describe_resources() {
    describe_counter!(
        "roster_sql_statements_total",
        "SQL statements run by the pool's connections."
    );
    describe_gauge!(
        "roster_db_pool_size",
        "Database connections the pool may hold."
    );
    describe_gauge!("roster_db_pool_open", "Database connections open now.");
    describe_gauge!(
        "roster_db_pool_in_use",
        "Database connections checked out now."
    );
    describe_gauge!(
        "roster_db_pool_waiting",
        "Requests waiting for a database connection now."
    );
    describe_gauge!("roster_open_connections", "Client connections open now.");
    describe_gauge!(
        "roster_live_connections",
        "Live (WebSocket) connections open now."
    );
    describe_gauge!(
        "roster_process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory of the process."
    );
}

/// Sign-ins, their hashing and the limits that refuse requests.
fn describe_signins() {
    describe_gauge!(
        "roster_password_hashing_running",
        "Password hashes (argon2id) computing now."
    );
    describe_gauge!(
        "roster_password_hashing_waiting",
        "Password hashes queued for a hashing thread now."
    );
    describe_counter!(
        "roster_server_busy_total",
        "Sign-ins and password changes refused with SERVER_BUSY (hashing queue full or waited too long)."
    );
    describe_counter!(
        "roster_signins_total",
        "Sign-in attempts, by outcome (ok, invalid_credentials, member_frozen, rate_limited, server_busy, invalid_input)."
    );
    describe_counter!(
        "roster_throttle_hits_total",
        "Attempts refused with RATE_LIMITED, by what was counted (signin_account, signin_address, token_address)."
    );
    describe_counter!(
        "roster_limit_refusals_total",
        "Requests refused by a limit on their shape or size, by limit."
    );
}

/// Whether a recorder is installed: without one, requests skip the bookkeeping.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the global recorder (once per process) and returns its handle.
pub fn install() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    describe();
    INSTALLED.store(true, Ordering::Relaxed);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    app: AppState,
}

/// The router of the metrics address: `GET /metrics`.
pub fn router(handle: PrometheusHandle, app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(Arc::new(Scrape { handle, app }))
}

async fn render(State(scrape): State<Arc<Scrape>>) -> Response {
    let app = &scrape.app;
    let relaxed = Ordering::Relaxed;
    counter!("roster_sql_statements_total").absolute(app.statements.load(relaxed));
    counter!("roster_graphql_requests_total").absolute(app.requests.load(relaxed));
    let pool = app.pool.status();
    gauge!("roster_db_pool_size").set(pool.max_size as f64);
    gauge!("roster_db_pool_open").set(pool.open as f64);
    gauge!("roster_db_pool_in_use").set(pool.in_use as f64);
    gauge!("roster_db_pool_waiting").set(pool.waiting as f64);
    let (running, waiting) = app.hasher.load();
    gauge!("roster_password_hashing_running").set(running as f64);
    gauge!("roster_password_hashing_waiting").set(waiting as f64);
    if let Some(bytes) = resident_memory() {
        gauge!("roster_process_resident_memory_bytes").set(bytes as f64);
    }
    let mut response = scrape.handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Resident memory from `/proc/self/statm` (Linux), in bytes.
fn resident_memory() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Records a finished request.
pub fn request_done(status: u16, access: &Access, elapsed: Duration) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return;
    }
    let seconds = elapsed.as_secs_f64();
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    histogram!("roster_http_request_duration_seconds", "status" => class).record(seconds);
    let Some(kind) = access.operation_type else {
        return;
    };
    histogram!("roster_graphql_request_duration_seconds", "operation_type" => kind).record(seconds);
    let name = bounded_name(access.operation_name.as_deref());
    histogram!("roster_graphql_operation_duration_seconds", "operation_name" => name)
        .record(seconds);
}

fn bounded_name(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        return name.to_owned();
    }
    "other".to_owned()
}

/// Counts one error answered, by its code (`REQUEST_ERROR` when it has none).
pub fn error_answered(code: Option<&str>) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return;
    }
    let code = code.unwrap_or("REQUEST_ERROR").to_owned();
    counter!("roster_graphql_errors_total", "code" => code).increment(1);
}

/// Counts a request refused by a limit.
pub fn limit_refused(limit: &'static str) {
    counter!("roster_limit_refusals_total", "limit" => limit).increment(1);
}
