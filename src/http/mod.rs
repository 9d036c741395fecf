//! HTTP routes: `/graphql` (GET and POST), `GET /` (GraphiQL) and its assets,
//! `GET /healthz`, `GET /readyz`; metrics are served on their own address ([`metrics`]).

mod assets;
mod endpoint;
mod export;
mod live;
mod media;
pub mod metrics;
mod observe;
mod persisted;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::ValidationMode;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::AppState;
use crate::graphql::limits::QueryLimits;

use endpoint::{Http, MAX_BODY_BYTES};
pub use live::LiveLimits;

/// How the HTTP surface is exposed; see `config.rs` for the variables behind each.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Limits on the shape of operations.
    pub limits: QueryLimits,
    /// Most operations in one JSON-array batch; 0 turns batches off.
    pub max_batch: usize,
    /// Longest a request may run, from its body's arrival to its answer.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Whether introspection answers.
    pub introspection: bool,
    /// Whether `GET /` serves GraphiQL.
    pub graphiql: bool,
    /// Browser origins allowed to call the API (CORS); none by default.
    pub cors_origins: Vec<HeaderValue>,
    /// Request headers browsers may send besides [`CORS_HEADERS`].
    pub cors_headers: Vec<HeaderName>,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Limits of live (WebSocket) connections.
    pub live: LiveLimits,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            limits: QueryLimits::default(),
            max_batch: 0,
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            introspection: true,
            graphiql: true,
            cors_origins: Vec::new(),
            cors_headers: Vec::new(),
            trusted_proxies: Vec::new(),
            live: LiveLimits::default(),
        }
    }
}

/// The router serving the whole API.
pub fn router(app: AppState, options: &HttpOptions) -> Router {
    let schema = |mode| crate::graphql::schema(app.clone(), options.introspection, mode);
    let (strict, validated) = (schema(ValidationMode::Strict), schema(ValidationMode::Fast));
    let http = Http {
        app,
        schema: strict,
        validated,
        limits: options.limits,
        documents: Arc::default(),
        persisted: Arc::default(),
        max_batch: options.max_batch,
        request_timeout: options.request_timeout,
        body_timeout: options.body_timeout,
        live: live::Live::new(options.live, &options.cors_origins),
    };
    let mut router = Router::new()
        .route("/graphql", get(websocket::get).post(endpoint::post))
        .route("/audit-events.ndjson", get(export::audit_events))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/admin", get(assets::admin_page))
        .route("/admin/{*screen}", get(assets::admin_page))
        .route("/invite/{token}", get(assets::public_page))
        .route("/reset-password/{token}", get(assets::public_page))
        .route("/assets/{hash}/{name}", get(assets::serve));
    if options.graphiql {
        router = router.route("/", get(assets::graphiql));
    }
    let router = router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(http);
    let router = if options.cors_origins.is_empty() {
        router
    } else {
        router.layer(cors(options))
    };
    let trusted = Arc::new(observe::TrustedProxies(options.trusted_proxies.clone()));
    security_headers(router).layer(axum::middleware::from_fn_with_state(
        trusted,
        observe::observe,
    ))
}

/// Request headers a browser frontend commonly sends: content negotiation and
/// authorization, Apollo's client awareness and CSRF headers, and tracing (W3C Trace
/// Context, Sentry, request ids).
pub const CORS_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "content-type",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-client-name",
    "graphql-client-version",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
    "x-request-id",
    "x-correlation-id",
];

fn cors(options: &HttpOptions) -> CorsLayer {
    let headers = CORS_HEADERS
        .iter()
        .map(|name| HeaderName::from_static(name))
        .chain(options.cors_headers.iter().cloned());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(options.cors_origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(headers.collect::<Vec<_>>())
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Headers every response carries; GraphiQL sets its own content security policy and
/// assets their own caching.
fn security_headers(router: Router) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// `GET /healthz`: the process is up, and which version it runs.
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(State(http): State<Http>) -> Response {
    match http.app.pool.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e.detail(), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
