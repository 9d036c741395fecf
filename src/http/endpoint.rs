//! `/graphql` over HTTP: queries by GET or POST, mutations by POST only, answered in
//! the media type the client accepts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, ServerError};
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::media::Media;
use super::observe::{Access, ClientAddr, RequestId};
use super::persisted::PersistedQueries;
use crate::domain::audit::USER_AGENT_MAX;
use crate::domain::{AppState, Viewer};
use crate::graphql::documents::{Documents, Prepared};
use crate::graphql::limits::QueryLimits;
use crate::graphql::loaders::Loaders;
use crate::graphql::{RequestCtx, RosterSchema};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the routes share.
#[derive(Clone)]
pub(super) struct Http {
    pub app: AppState,
    pub schema: RosterSchema,
    /// The same schema without the validation rules, for documents known to pass them.
    pub validated: RosterSchema,
    pub limits: QueryLimits,
    pub documents: Arc<Documents>,
    pub persisted: Arc<PersistedQueries>,
    pub max_batch: usize,
    pub request_timeout: Duration,
    pub body_timeout: Duration,
    pub live: Arc<super::live::Live>,
}

/// A GraphQL-shaped error response for requests that never reach the schema.
fn refuse(media: Media, status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// `POST /graphql`: one operation, or a batch when `ROSTER_MAX_BATCH` allows.
pub async fn post(
    State(http): State<Http>,
    Extension(client): Extension<ClientAddr>,
    Extension(id): Extension<RequestId>,
    request: axum::extract::Request,
) -> Response {
    let Some(media) = Media::negotiate(request.headers()) else {
        return Media::not_acceptable();
    };
    let headers = request.headers().clone();
    let body = match read_body(&http, media, request).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    count(&http);
    match operations(&http, media, &headers, &body) {
        Ok(batch) => run(&http, media, Verb::Post, batch, &headers, (client, id)).await,
        Err(response) => *response,
    }
}

/// `GET /graphql?query=...`: one query, its variables and extensions as JSON in the
/// URL (the spec's GET, and what urql sends by default).
pub async fn get(
    State(http): State<Http>,
    Extension(client): Extension<ClientAddr>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(media) = Media::negotiate(&headers) else {
        return Media::not_acceptable();
    };
    count(&http);
    match from_url(query.as_deref().unwrap_or_default()) {
        Ok(request) => {
            let batch = BatchRequest::Single(request);
            run(&http, media, Verb::Get, batch, &headers, (client, id)).await
        }
        Err(why) => refuse(media, StatusCode::BAD_REQUEST, "BAD_REQUEST", &why),
    }
}

fn count(http: &Http) {
    http.app
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
}

/// The request a GET's URL parameters describe.
fn from_url(query: &str) -> Result<async_graphql::Request, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        query: Option<String>,
        operation_name: Option<String>,
        variables: Option<String>,
        extensions: Option<String>,
    }
    let params: Params = serde_urlencoded::from_str(query)
        .map_err(|e| format!("the URL's parameters are not a GraphQL request: {e}"))?;
    fn json<T: serde::de::DeserializeOwned + Default>(
        name: &str,
        text: Option<String>,
    ) -> Result<T, String> {
        match text {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| format!("the {name} parameter is not a JSON object: {e}")),
            None => Ok(T::default()),
        }
    }
    let variables = json("variables", params.variables)?;
    let extensions = json("extensions", params.extensions)?;
    let mut request = async_graphql::Request::new(params.query.unwrap_or_default());
    request.operation_name = params.operation_name;
    request.variables = variables;
    request.extensions = extensions;
    if request.query.is_empty() && !request.extensions.contains_key("persistedQuery") {
        return Err("the query parameter is missing".to_owned());
    }
    Ok(request)
}

fn is_json(headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err("send the request as application/json");
    };
    let value = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let mut parts = value.split(';').map(str::trim);
    let mime = parts.next().unwrap_or_default();
    if mime != "application/json" && mime != "application/graphql-response+json" {
        return Err("send the request as application/json");
    }
    let charset = parts.find_map(|p| p.strip_prefix("charset="));
    match charset.map(|c| c.trim_matches('"')) {
        None | Some("utf-8") => Ok(()),
        Some(_) => Err("send the request in the utf-8 charset"),
    }
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The body of `request`, read within the body time limit.
async fn read_body(
    http: &Http,
    media: Media,
    request: axum::extract::Request,
) -> Result<Bytes, Box<Response>> {
    use axum::extract::FromRequest;
    match tokio::time::timeout(http.body_timeout, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let why = format!("the body exceeds the limit of {MAX_BODY_BYTES} bytes");
            tracing::warn!("refused by a limit: {why}");
            super::metrics::limit_refused("body size");
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            Err(Box::new(refuse(media, status, "PAYLOAD_TOO_LARGE", &why)))
        }
        Ok(Err(e)) => Err(Box::new(refuse(
            media,
            e.status(),
            "BAD_REQUEST",
            &e.body_text(),
        ))),
        Err(_) => {
            let why = format!(
                "the body took longer than {} s to arrive (ROSTER_BODY_TIMEOUT_SECS)",
                http.body_timeout.as_secs()
            );
            tracing::warn!("refused by a limit: {why}");
            super::metrics::limit_refused("body time");
            let mut response = refuse(media, StatusCode::REQUEST_TIMEOUT, "BODY_TIMEOUT", &why);
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
    media: Media,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<BatchRequest, Box<Response>> {
    if let Err(why) = is_json(headers) {
        let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return Err(Box::new(refuse(
            media,
            status,
            "UNSUPPORTED_MEDIA_TYPE",
            why,
        )));
    }
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|e| {
        let why = format!("the body is not a GraphQL request: {e}");
        Box::new(refuse(media, StatusCode::BAD_REQUEST, "BAD_REQUEST", &why))
    })?;
    if let BatchRequest::Batch(list) = &batch
        && (http.max_batch == 0 || list.len() > http.max_batch)
    {
        let why = format!(
            "batches of {} operations are refused; the limit is {} (ROSTER_MAX_BATCH)",
            list.len(),
            http.max_batch
        );
        tracing::warn!("refused by a limit: {why}");
        super::metrics::limit_refused("batch size");
        let refusal = refuse(media, StatusCode::BAD_REQUEST, "BATCH_LIMIT_EXCEEDED", &why);
        return Err(Box::new(refusal));
    }
    let missing = |r: &async_graphql::Request| {
        r.query.is_empty() && !r.extensions.contains_key("persistedQuery")
    };
    if batch.iter().any(missing) {
        let why = "the request has no query";
        return Err(Box::new(refuse(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            why,
        )));
    }
    Ok(batch)
}

/// [`answer`], within the request time limit.
async fn run(
    http: &Http,
    media: Media,
    verb: Verb,
    batch: BatchRequest,
    headers: &HeaderMap,
    caller: (ClientAddr, RequestId),
) -> Response {
    let answering = answer(http, media, verb, batch, headers, caller);
    match tokio::time::timeout(http.request_timeout, answering).await {
        Ok(response) => response,
        Err(_) => {
            let why = format!(
                "the request ran longer than {} s (ROSTER_REQUEST_TIMEOUT_SECS)",
                http.request_timeout.as_secs()
            );
            refuse(
                media,
                StatusCode::SERVICE_UNAVAILABLE,
                "REQUEST_TIMEOUT",
                &why,
            )
        }
    }
}

/// Prepares, authenticates and runs the operations of `batch`.
async fn answer(
    http: &Http,
    media: Media,
    verb: Verb,
    mut batch: BatchRequest,
    headers: &HeaderMap,
    (client, id): (ClientAddr, RequestId),
) -> Response {
    let prepared = prepare(http, &mut batch).await;
    let mut access = describe(&batch, &prepared);
    if verb == Verb::Get
        && let (BatchRequest::Single(request), [Ok(prepared)]) = (&batch, prepared.as_slice())
        && !is_query(prepared, request.operation_name.as_deref())
    {
        let why = "only queries may be sent by GET; send mutations by POST";
        let mut response = refuse(
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            why,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if let (BatchRequest::Single(_), [Err(error)]) = (&batch, prepared.as_slice()) {
        let response = async_graphql::Response::from_errors(vec![error.clone()]);
        return finish(media, BatchResponse::Single(response), access, &id);
    }
    let viewer = match bearer(headers) {
        Some(token) => match Viewer::from_token(&http.app, token).await {
            Ok(v) => v,
            Err(e) => return finish(media, error_response(e), access, &id),
        },
        None => None,
    };
    access.member_id = viewer.as_ref().map(|v| v.member.id);
    let agent = user_agent(headers);
    let caller = (viewer.as_ref(), client.0, agent.as_deref());
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
    finish(media, response, access, &id)
}

/// What the access line and the metrics say of `batch`: its first operation's name
/// and type.
fn describe(batch: &BatchRequest, prepared: &[Result<Prepared, ServerError>]) -> Access {
    let asked = batch.iter().next().and_then(|r| r.operation_name.clone());
    let prepared = prepared.first().and_then(|p| p.as_ref().ok());
    // A document's only operation may go unnamed in the request (the parser keeps
    // named operations in a map, even one).
    let named = prepared.and_then(|p| match &p.doc.as_ref()?.operations {
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|name| name.to_string())
        }
        _ => None,
    });
    let name = asked.or(named);
    let kind = prepared.and_then(|p| operation_type(p, name.as_deref()));
    Access {
        operation_name: name,
        operation_type: Some(kind.unwrap_or("unknown")),
        member_id: None,
    }
}

/// Writes `response` in `media`, after marking its internal errors with the request
/// id (so that a user can quote it) and counting its errors.
fn finish(media: Media, mut response: BatchResponse, access: Access, id: &RequestId) -> Response {
    let responses: &mut [async_graphql::Response] = match &mut response {
        BatchResponse::Single(single) => std::slice::from_mut(single),
        BatchResponse::Batch(list) => list,
    };
    let errors = responses.iter_mut().flat_map(|r| r.errors.iter_mut());
    for error in errors {
        let code = error.extensions.as_ref().and_then(|e| match e.get("code") {
            Some(async_graphql::Value::String(code)) => Some(code.clone()),
            _ => None,
        });
        if code.as_deref() == Some("INTERNAL_SERVER_ERROR") {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("requestId", &*id.0);
        }
        if code.as_deref() == Some("QUERY_LIMIT_EXCEEDED") {
            tracing::warn!(error = %error.message, "refused by a limit");
            super::metrics::limit_refused("operation shape");
        }
        super::metrics::error_answered(code.as_deref());
    }
    let mut answer = media.render(response);
    answer.extensions_mut().insert(access);
    answer
}

/// Whether the operation `name` of the prepared document is a query (unknown ones are
/// left to the executor to report).
fn is_query(prepared: &Prepared, name: Option<&str>) -> bool {
    operation_type(prepared, name).is_none_or(|kind| kind == "query")
}

/// The type of the operation `name` of the prepared document, when there is one.
pub(super) fn operation_type(prepared: &Prepared, name: Option<&str>) -> Option<&'static str> {
    let doc = prepared.doc.as_ref()?;
    let operation = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(_), None) => None,
    }?;
    Some(match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    })
}

/// Resolves persisted queries, then parses and measures every operation of `batch`
/// before the session is even looked up, so that an oversized operation costs
/// nothing; the schema reuses the parsed document.
async fn prepare(http: &Http, batch: &mut BatchRequest) -> Vec<Result<Prepared, ServerError>> {
    let mut prepared = Vec::new();
    // Not batch.iter_mut(): its iterator is not Send, and preparing may await.
    let requests = match batch {
        BatchRequest::Single(r) => std::slice::from_mut(r),
        BatchRequest::Batch(list) => list.as_mut_slice(),
    };
    for request in requests {
        let outcome = match http.persisted.resolve(request) {
            Ok(()) => http.documents.prepare_async(request, http.limits).await,
            Err(error) => Err(error),
        };
        prepared.push(outcome);
    }
    prepared
}

/// Runs one prepared operation for the caller (viewer and address).
async fn execute(
    http: &Http,
    (viewer, ip, user_agent): (Option<&Viewer>, IpAddr, Option<&str>),
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
            user_agent: user_agent.map(str::to_owned),
        })
        // Each operation of a batch gets its own loaders: a mutation earlier in the
        // batch must not leave stale rows cached for a query after it.
        .data(Loaders::new(&http.app.pool));
    let mut response = schema.execute(request).await;
    if let Some(doc) = &prepared.doc {
        crate::graphql::nulls::propagate(&mut response, doc, operation.as_deref());
        crate::graphql::ordering::order_response(&mut response.data, doc, operation.as_deref());
    }
    if let Some(text) = prepared.unproven
        && response.errors.is_empty()
    {
        http.documents.passed(&text);
    }
    response
}

/// The request's `User-Agent`, cut to what the session list keeps.
pub(super) fn user_agent(headers: &HeaderMap) -> Option<String> {
    let text = headers.get(header::USER_AGENT)?.to_str().ok()?.trim();
    let kept: String = text.chars().take(USER_AGENT_MAX).collect();
    (!kept.is_empty()).then_some(kept)
}

/// A GraphQL response carrying only `e`, mapped like every other error.
fn error_response(e: crate::error::Error) -> BatchResponse {
    let error = async_graphql::Error::from(e).into_server_error(Default::default());
    BatchResponse::Single(async_graphql::Response::from_errors(vec![error]))
}
