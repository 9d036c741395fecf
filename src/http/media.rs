//! GraphQL over HTTP's media types: which one a client accepts, and how a GraphQL
//! response is written in it (status, body, headers).

use async_graphql::{BatchResponse, Response as GqlResponse, Value};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A media type Roster answers GraphQL in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: request errors answer 4xx without `data`.
    GraphqlResponse,
    /// `application/json`: every well-formed request answers 200, as older clients expect.
    Json,
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

impl Media {
    /// The media type `headers` accept: `application/json` when `Accept` is missing or
    /// a wildcard welcomes both alike (as the spec asks, for clients that predate the
    /// newer type), `application/graphql-response+json` when named at least as welcome
    /// as `application/json`; `None` when neither is acceptable (406).
    pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let accept: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if accept.iter().all(|v| v.trim().is_empty()) {
            return Some(Media::Json);
        }
        let ranges: Vec<Range> = accept
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(Range::parse)
            .collect();
        let graphql = quality(&ranges, "application", "graphql-response+json");
        let json = quality(&ranges, "application", "json");
        match (graphql, json) {
            ((0, _), (0, _)) => None,
            ((g, _), (j, _)) if g > j => Some(Media::GraphqlResponse),
            ((g, EXACT), (j, _)) if g == j => Some(Media::GraphqlResponse),
            _ => Some(Media::Json),
        }
    }

    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }

    /// The answer to a request whose `Accept` allows neither media type.
    pub fn not_acceptable() -> Response {
        let message = format!("accept {GRAPHQL_RESPONSE} or {JSON}");
        let body = serde_json::json!({
            "errors": [{ "message": message, "extensions": { "code": "NOT_ACCEPTABLE" } }]
        });
        let mut response = (StatusCode::NOT_ACCEPTABLE, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
        response
    }

    /// `response` written in this media type.
    pub fn render(self, response: BatchResponse) -> Response {
        let (status, body) = match &response {
            BatchResponse::Single(single) if is_request_error(single) => {
                (self.request_error_status(single), without_data(single))
            }
            BatchResponse::Single(single) => (StatusCode::OK, serde_json::to_vec(single)),
            BatchResponse::Batch(list) => (StatusCode::OK, batch_body(list)),
        };
        let body = body.unwrap_or_else(|e| {
            tracing::error!(error = %e, "a response could not be serialized");
            br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#
                .to_vec()
        });
        let mut answer = (status, body).into_response();
        let headers = answer.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type());
        headers.insert(header::VARY, HeaderValue::from_static("accept"));
        if let Some(seconds) = retry_after(&response) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        answer
    }

    fn request_error_status(self, response: &GqlResponse) -> StatusCode {
        if self == Media::Json {
            return StatusCode::OK;
        }
        match first_code(response) {
            Some("INTERNAL_SERVER_ERROR") => StatusCode::INTERNAL_SERVER_ERROR,
            Some("SERVICE_UNAVAILABLE" | "SERVER_BUSY" | "REQUEST_TIMEOUT") => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // Apollo's persisted-query link retries with the query on this answer, and
            // gives persisted queries up for good on a 4xx.
            Some("PERSISTED_QUERY_NOT_FOUND") => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A media range of an `Accept` header: type, subtype and weight (in thousandths).
struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: u16,
}

impl<'a> Range<'a> {
    fn parse(text: &'a str) -> Option<Range<'a>> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1000;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                let value: f32 = value.trim().parse().ok()?;
                q = (value.clamp(0.0, 1.0) * 1000.0).round() as u16;
            }
        }
        Some(Range {
            kind: kind.trim(),
            subtype: subtype.trim(),
            q,
        })
    }

    /// How specifically this range names `kind/subtype`: 3 exactly, 2 by `kind/*`,
    /// 1 by `*/*`, `None` not at all.
    fn specificity(&self, kind: &str, subtype: &str) -> Option<u8> {
        let kind_matches = self.kind.eq_ignore_ascii_case(kind);
        match (self.kind, self.subtype) {
            ("*", "*") => Some(1),
            (_, "*") if kind_matches => Some(2),
            (_, s) if kind_matches && s.eq_ignore_ascii_case(subtype) => Some(3),
            _ => None,
        }
    }
}

/// The weight `ranges` give `kind/subtype` (that of the most specific range naming
/// it) and that range's specificity.
fn quality(ranges: &[Range], kind: &str, subtype: &str) -> (u16, u8) {
    ranges
        .iter()
        .filter_map(|r| r.specificity(kind, subtype).map(|s| (r.q, s)))
        .max_by_key(|(_, specificity)| *specificity)
        .unwrap_or((0, 0))
}

/// [`Range::specificity`] of a range naming the type exactly.
const EXACT: u8 = 3;

/// Whether `response` failed before execution (unparsable, invalid, over a limit, an
/// unknown token): no data and no error at a field's path.
fn is_request_error(response: &GqlResponse) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn first_code(response: &GqlResponse) -> Option<&str> {
    let error = response.errors.first()?;
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// A request error's body: its errors and extensions, no `data` (the spec's "the data
/// entry must not be present" for errors raised before execution).
fn without_data(response: &GqlResponse) -> serde_json::Result<Vec<u8>> {
    let mut value = serde_json::to_value(response)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("data");
    }
    serde_json::to_vec(&value)
}

fn batch_body(list: &[GqlResponse]) -> serde_json::Result<Vec<u8>> {
    let items: serde_json::Result<Vec<serde_json::Value>> = list
        .iter()
        .map(|item| match is_request_error(item) {
            true => without_data(item).and_then(|body| serde_json::from_slice(&body)),
            false => serde_json::to_value(item),
        })
        .collect();
    serde_json::to_vec(&items?)
}

/// The longest wait a `RATE_LIMITED` error of `response` names, for `Retry-After`.
fn retry_after(response: &BatchResponse) -> Option<u64> {
    let responses: &[GqlResponse] = match response {
        BatchResponse::Single(single) => std::slice::from_ref(single),
        BatchResponse::Batch(list) => list,
    };
    responses
        .iter()
        .flat_map(|r| &r.errors)
        .filter_map(|e| e.extensions.as_ref())
        .filter(|ext| matches!(ext.get("code"), Some(Value::String(c)) if c == "RATE_LIMITED"))
        .filter_map(|ext| match ext.get("retryAfterSeconds") {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request error carrying `code`, as Roster's error mapping writes it.
    fn failed_with(code: &str) -> GqlResponse {
        let mut error = async_graphql::ServerError::new("failed", None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        GqlResponse::from_errors(vec![error])
    }

    #[test]
    fn request_errors_answer_the_status_their_code_names() {
        let status = |code: &str| Media::GraphqlResponse.request_error_status(&failed_with(code));
        assert_eq!(
            status("INTERNAL_SERVER_ERROR"),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status("SERVICE_UNAVAILABLE"),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status("SERVER_BUSY"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status("QUERY_LIMIT_EXCEEDED"), StatusCode::BAD_REQUEST);
        assert_eq!(status("PERSISTED_QUERY_NOT_FOUND"), StatusCode::OK);
        let json = Media::Json.request_error_status(&failed_with("INTERNAL_SERVER_ERROR"));
        assert_eq!(json, StatusCode::OK);
    }

    fn accepting(accept: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        Media::negotiate(&headers)
    }

    #[test]
    fn accept_picks_the_most_specific_weight() {
        use Media::*;
        assert_eq!(Media::negotiate(&HeaderMap::new()), Some(Json));
        assert_eq!(accepting("application/json"), Some(Json));
        assert_eq!(accepting("application/json; charset=utf-8"), Some(Json));
        assert_eq!(accepting("*/*"), Some(Json));
        assert_eq!(accepting("application/*"), Some(Json));
        assert_eq!(
            accepting("application/graphql-response+json, application/json"),
            Some(GraphqlResponse)
        );
        assert_eq!(
            accepting("application/graphql-response+json,application/json;q=0.9"),
            Some(GraphqlResponse)
        );
        assert_eq!(
            accepting("application/graphql-response+json, */*"),
            Some(GraphqlResponse)
        );
        assert_eq!(
            accepting("application/graphql-response+json"),
            Some(GraphqlResponse)
        );
        assert_eq!(
            accepting("application/graphql-response+json;q=0.5, application/json"),
            Some(Json)
        );
        assert_eq!(accepting("application/json, */*;q=0.1"), Some(Json));
        assert_eq!(accepting("text/html"), None);
        assert_eq!(accepting("text/html, */*;q=0"), None);
        assert_eq!(accepting("application/json;q=0, text/plain"), None);
    }
}
