//! A member's sessions: `Member.sessions`, `revokeSession`, `revokeAllSessions`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::domain::sessions::{self, SessionView};
use crate::graphql::access::{actor, signed_in, state};
use crate::graphql::errors::{UserError, split};
use crate::graphql::ids::domain_id;
use crate::graphql::scalars::DateTime;

/// A signed-in device or browser of a member.
#[derive(SimpleObject)]
#[graphql(name = "MemberSession")]
pub struct MemberSessionNode {
    pub id: ID,
    /// When it was opened (the sign-in).
    pub created_at: DateTime,
    /// When it was last used, at most a minute behind.
    pub last_seen_at: DateTime,
    /// When it ends.
    pub expires_at: DateTime,
    /// The client address it signed in from.
    pub ip: Option<String>,
    /// The `User-Agent` it signed in with.
    pub user_agent: Option<String>,
    /// Whether it is the session making this request.
    pub current: bool,
}

impl MemberSessionNode {
    pub fn new(view: SessionView, current: i64) -> Self {
        MemberSessionNode {
            id: ID(view.id.to_string()),
            created_at: view.created_at.into(),
            last_seen_at: view.last_seen_at.into(),
            expires_at: view.expires_at.into(),
            ip: view.ip,
            user_agent: view.user_agent,
            current: view.id == current,
        }
    }
}

/// The outcome of revoking sessions.
#[derive(SimpleObject)]
pub struct RevokeSessionsPayload {
    /// How many sessions ended.
    pub revoked_count: i32,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

fn revoked(result: crate::error::Result<usize>) -> Result<RevokeSessionsPayload> {
    let (count, errors) = split(result)?;
    Ok(RevokeSessionsPayload {
        revoked_count: count.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
        errors,
    })
}

/// Ending sessions.
#[derive(Default)]
pub struct SessionsMutation;

#[Object]
impl SessionsMutation {
    /// Ends one session: one's own (the current one included), or another member's with
    /// MEMBERS_SESSIONS_MANAGE and every permission of their role. `NOT_FOUND` for a
    /// session that is not live or not visible.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<RevokeSessionsPayload> {
        let actor = actor(ctx)?;
        revoked(sessions::revoke(state(ctx), &actor, domain_id(&id)).await)
    }

    /// Ends every session of a member; for oneself, all but the current one. Another
    /// member's need MEMBERS_SESSIONS_MANAGE and every permission of their role.
    async fn revoke_all_sessions(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
    ) -> Result<RevokeSessionsPayload> {
        let actor = actor(ctx)?;
        let current = signed_in(ctx)?.session_id;
        revoked(sessions::revoke_all(state(ctx), &actor, current, domain_id(&member_id)).await)
    }
}
