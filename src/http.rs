//! HTTP routes: `POST /graphql`, `GET /` (GraphiQL), `GET /healthz`, `GET /readyz`.

use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLResponse;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::Viewer;
use crate::graphql::loaders::Loaders;
use crate::graphql::{RequestCtx, RosterSchema};
use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Http {
    app: AppState,
    schema: RosterSchema,
}

/// The router serving the whole API.
pub fn router(app: AppState) -> Router {
    let schema = crate::graphql::schema(app.clone());
    Router::new()
        .route("/graphql", post(graphql))
        .route("/", get(graphiql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Http { app, schema })
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

async fn graphql(
    State(http): State<Http>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as application/json",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let viewer = match bearer(&headers) {
        Some(token) => match Viewer::from_token(&http.app, token).await {
            Ok(v) => v,
            Err(e) => {
                return GraphQLResponse::from(async_graphql::Response::from_errors(vec![
                    async_graphql::Error::from(e).into_server_error(Default::default()),
                ]))
                .into_response();
            }
        },
        None => None,
    };
    let request = request
        .data(RequestCtx {
            viewer,
            ip: Some(peer.ip()),
        })
        .data(Loaders::new(&http.app.pool));
    let response = http.schema.execute(request).await;
    GraphQLResponse::from(response).into_response()
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Roster")
            .finish(),
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
