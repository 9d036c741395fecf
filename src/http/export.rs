//! `GET /audit-events.ndjson`: every audit event matching the filter, newest first, one
//! JSON object a line, streamed a batch at a time so memory stays flat however long
//! the log. Bearer auth and AUDIT_LOG_VIEW, like `auditEvents`, whose filter the query
//! parameters carry: `action`, `actorId`, `targetMemberId`, `targetRoleId`, `from`
//! (inclusive) and `to` (exclusive, RFC 3339).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::endpoint::{Http, bearer};
use crate::domain::audit::{self, AuditAction, AuditEvent, AuditFilter, Origin};
use crate::domain::{Actor, AppState, Permission, Viewer};
use crate::error::Error;

/// Events read per statement.
const BATCH: i64 = 500;

/// The export, or a JSON error with its status.
pub(super) async fn audit_events(
    State(http): State<Http>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let filter = match filter(&params) {
        Ok(f) => f,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &why),
    };
    let actor = match actor(&http.app, &headers).await {
        Ok(a) => a,
        Err(e) => {
            let (status, code) = match e {
                Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
                Error::Forbidden(_) | Error::PasswordChangeRequired => {
                    (StatusCode::FORBIDDEN, "FORBIDDEN")
                }
                e => {
                    tracing::error!(error = %e.detail(), "audit export failed");
                    let why = "internal error";
                    return refuse(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_SERVER_ERROR",
                        why,
                    );
                }
            };
            return refuse(status, code, &e.detail());
        }
    };
    let state = http.app.clone();
    let stream = futures_util::stream::unfold(Some(None), move |after| {
        let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
        async move {
            let after = after?;
            match audit::page(&state, &actor, &filter, after, BATCH).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = (rows.len() as i64 == BATCH).then(|| rows.last().map(|e| e.id));
                    Some((Ok(lines(&rows)), next))
                }
                Err(e) => {
                    // The status is sent already: the stream ends short, and says so.
                    tracing::error!(error = %e.detail(), "audit export failed mid-stream");
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn actor(app: &AppState, headers: &HeaderMap) -> Result<Actor, Error> {
    let token = bearer(headers).ok_or(Error::Unauthenticated)?;
    let viewer = Viewer::from_token(app, token)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if viewer.member.must_change_password {
        return Err(Error::PasswordChangeRequired);
    }
    let actor = Actor {
        member_id: viewer.member.id,
        permissions: viewer.permissions,
        origin: Origin::default(),
    };
    actor.require(Permission::AuditLogView)?;
    Ok(actor)
}

fn lines(rows: &[AuditEvent]) -> Bytes {
    let mut out = Vec::with_capacity(rows.len() * 256);
    for e in rows {
        let details: serde_json::Value =
            serde_json::from_str(&e.details).unwrap_or_else(|_| json!(e.details));
        let changes: serde_json::Value =
            serde_json::from_str(&e.changes).unwrap_or_else(|_| json!([]));
        let line = json!({
            "id": e.id.to_string(),
            "action": e.action,
            "actorId": e.actor_id.map(|i| i.to_string()),
            "targetMemberId": e.target_member_id.map(|i| i.to_string()),
            "targetRoleId": e.target_role_id.map(|i| i.to_string()),
            "details": details,
            "changes": changes,
            "reason": e.reason,
            "ip": e.ip,
            "createdAt": audit::instant(e.created_at),
        });
        // Writing JSON values to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &line);
        out.push(b'\n');
    }
    Bytes::from(out)
}

fn filter(params: &HashMap<String, String>) -> Result<AuditFilter, String> {
    let mut f = AuditFilter::default();
    for (key, value) in params {
        let id = || {
            value
                .parse::<i64>()
                .map_err(|_| format!("{key} must be an id"))
        };
        let instant = || {
            chrono::DateTime::parse_from_rfc3339(value)
                .map(|t| t.naive_utc())
                .map_err(|_| format!("{key} must be an RFC 3339 date-time"))
        };
        match key.as_str() {
            "action" => {
                f.action = Some(
                    AuditAction::parse(value).ok_or_else(|| format!("unknown action {value}"))?,
                )
            }
            "actorId" => f.actor = Some(id()?),
            "targetMemberId" => f.target_member = Some(id()?),
            "targetRoleId" => f.target_role = Some(id()?),
            "from" => f.from = Some(instant()?),
            "to" => f.to = Some(instant()?),
            other => return Err(format!("unknown parameter {other}")),
        }
    }
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from > to
    {
        return Err("from must not be after to".to_owned());
    }
    Ok(f)
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}
