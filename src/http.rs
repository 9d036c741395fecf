//! HTTP routes: `POST /graphql`, `GET /` (GraphiQL), `GET /healthz`, `GET /readyz`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, ServerError, ValidationMode};
use async_graphql_axum::GraphQLResponse;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::AppState;
use crate::domain::Viewer;
use crate::graphql::documents::{Documents, Prepared};
use crate::graphql::limits::QueryLimits;
use crate::graphql::loaders::Loaders;
use crate::graphql::{RequestCtx, RosterSchema};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
        }
    }
}

#[derive(Clone)]
struct Http {
    app: AppState,
    schema: RosterSchema,
    /// The same schema without the validation rules, for documents known to pass them.
    validated: RosterSchema,
    limits: QueryLimits,
    documents: Arc<Documents>,
    max_batch: usize,
    request_timeout: Duration,
    body_timeout: Duration,
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
        max_batch: options.max_batch,
        request_timeout: options.request_timeout,
        body_timeout: options.body_timeout,
    };
    let mut router = Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if options.graphiql {
        router = router.route("/", get(graphiql));
    }
    let router = router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(http);
    let router = if options.cors_origins.is_empty() {
        router
    } else {
        router.layer(cors(&options.cors_origins))
    };
    security_headers(router)
}

fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::POST, Method::GET])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(Duration::from_secs(600))
}

/// Headers every response carries; GraphiQL sets its own content security policy.
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

/// A GraphQL-shaped error response for requests that never reach the schema.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || mime == "application/graphql-response+json"
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The body of `request`, read within the body time limit.
async fn read_body(http: &Http, request: axum::extract::Request) -> Result<Bytes, Box<Response>> {
    use axum::extract::FromRequest;
    match tokio::time::timeout(http.body_timeout, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let why = format!("the body exceeds the limit of {MAX_BODY_BYTES} bytes");
            Err(Box::new(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &why,
            )))
        }
        Ok(Err(e)) => Err(Box::new(refuse(e.status(), "BAD_REQUEST", &e.body_text()))),
        Err(_) => {
            let why = format!(
                "the body took longer than {} s to arrive (ROSTER_BODY_TIMEOUT_SECS)",
                http.body_timeout.as_secs()
            );
            let mut response = refuse(StatusCode::REQUEST_TIMEOUT, "BODY_TIMEOUT", &why);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(Box::new(response))
        }
    }
}

/// The request's operations, once its body is known to be a GraphQL request within
/// the batch limit.
fn operations(
    http: &Http,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<BatchRequest, Box<Response>> {
    if !is_json(headers) {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as application/json",
        )));
    }
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|e| {
        let why = format!("the body is not a GraphQL request: {e}");
        Box::new(refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &why))
    })?;
    if let BatchRequest::Batch(list) = &batch
        && (http.max_batch == 0 || list.len() > http.max_batch)
    {
        let why = format!(
            "batches of {} operations are refused; the limit is {} (ROSTER_MAX_BATCH)",
            list.len(),
            http.max_batch
        );
        let refusal = refuse(StatusCode::BAD_REQUEST, "BATCH_LIMIT_EXCEEDED", &why);
        return Err(Box::new(refusal));
    }
    Ok(batch)
}

async fn graphql(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let headers = request.headers().clone();
    let body = match read_body(&http, request).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    http.app
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let batch = match operations(&http, &headers, &body) {
        Ok(batch) => batch,
        Err(response) => return *response,
    };
    match tokio::time::timeout(http.request_timeout, answer(&http, batch, &headers, peer)).await {
        Ok(response) => response,
        Err(_) => {
            let why = format!(
                "the request ran longer than {} s (ROSTER_REQUEST_TIMEOUT_SECS)",
                http.request_timeout.as_secs()
            );
            refuse(StatusCode::SERVICE_UNAVAILABLE, "REQUEST_TIMEOUT", &why)
        }
    }
}

/// Prepares, authenticates and runs the operations of `batch`.
async fn answer(
    http: &Http,
    mut batch: BatchRequest,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    let prepared = prepare(http, &mut batch).await;
    if let (BatchRequest::Single(_), [Err(error)]) = (&batch, prepared.as_slice()) {
        let response = async_graphql::Response::from_errors(vec![error.clone()]);
        return GraphQLResponse::from(response).into_response();
    }
    let viewer = match bearer(headers) {
        Some(token) => match Viewer::from_token(&http.app, token).await {
            Ok(v) => v,
            Err(e) => return error_response(e),
        },
        None => None,
    };
    let caller = (viewer.as_ref(), peer.ip());
    let response = match batch {
        BatchRequest::Single(r) => {
            let prepared = prepared
                .into_iter()
                .next()
                .unwrap_or(Ok(Prepared::default()));
            BatchResponse::Single(execute(http, caller, r, prepared).await)
        }
        // One after another, in order, as a client that batches expects.
        BatchRequest::Batch(list) => {
            let mut responses = Vec::with_capacity(list.len());
            for (r, prepared) in list.into_iter().zip(prepared) {
                responses.push(execute(http, caller, r, prepared).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    GraphQLResponse::from(response).into_response()
}

/// Parses and measures every operation of `batch` before the session is even looked
/// up, so that an oversized operation costs nothing; the schema reuses the parsed
/// document.
async fn prepare(http: &Http, batch: &mut BatchRequest) -> Vec<Result<Prepared, ServerError>> {
    let mut prepared = Vec::new();
    // Not batch.iter_mut(): its iterator is not Send, and preparing may await.
    let requests = match batch {
        BatchRequest::Single(r) => std::slice::from_mut(r),
        BatchRequest::Batch(list) => list.as_mut_slice(),
    };
    for request in requests {
        prepared.push(http.documents.prepare_async(request, http.limits).await);
    }
    prepared
}

/// Runs one prepared operation for the caller (viewer and address).
async fn execute(
    http: &Http,
    (viewer, ip): (Option<&Viewer>, IpAddr),
    request: async_graphql::Request,
    prepared: Result<Prepared, ServerError>,
) -> async_graphql::Response {
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return async_graphql::Response::from_errors(vec![error]),
    };
    let schema = match prepared.valid {
        true => &http.validated,
        false => &http.schema,
    };
    let operation = request.operation_name.clone();
    let request = request
        .data(RequestCtx {
            viewer: viewer.cloned(),
            ip: Some(ip),
        })
        // Each operation of a batch gets its own loaders: a mutation earlier in the
        // batch must not leave stale rows cached for a query after it.
        .data(Loaders::new(&http.app.pool));
    let mut response = schema.execute(request).await;
    if let Some(doc) = &prepared.doc {
        crate::graphql::ordering::order_response(&mut response.data, doc, operation.as_deref());
    }
    if let Some(text) = prepared.unproven
        && response.errors.is_empty()
    {
        http.documents.passed(&text);
    }
    response
}

/// A GraphQL response carrying only `e`, mapped like every other error.
fn error_response(e: crate::error::Error) -> Response {
    let error = async_graphql::Error::from(e).into_server_error(Default::default());
    GraphQLResponse::from(async_graphql::Response::from_errors(vec![error])).into_response()
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Roster")
            .finish(),
    )
}

/// Counters in Prometheus' text format: SQL statements run and GraphQL requests served.
async fn metrics(State(http): State<Http>) -> String {
    let statements = http
        .app
        .statements
        .load(std::sync::atomic::Ordering::Relaxed);
    let requests = http.app.requests.load(std::sync::atomic::Ordering::Relaxed);
    format!(
        "# TYPE roster_sql_statements_total counter\nroster_sql_statements_total {statements}\n\
         # TYPE roster_graphql_requests_total counter\nroster_graphql_requests_total {requests}\n"
    )
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
