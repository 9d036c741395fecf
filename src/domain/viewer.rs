//! The signed-in member a request acts as.

use crate::auth::token;
use crate::domain::members::Member;
use crate::domain::{AppState, Permission, PermissionSet, sessions};
use crate::error::Result;

/// Who is calling: the session, the member and what their role allows right now.
#[derive(Clone)]
pub struct Viewer {
    /// The session in use.
    pub session_id: i64,
    /// The member, as read at the start of this request.
    pub member: Member,
    /// The permissions of the member's role, as read at the start of this request.
    pub permissions: PermissionSet,
}

impl Viewer {
    /// The viewer behind a bearer token, if the session is live and the member active.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Option<Viewer>> {
        let mut conn = state.pool.get().await?;
        let hash = token::hash(token);
        let now = state.clock.now();
        let found = sessions::authenticate(&mut conn, &hash, now).await?;
        if let Some((session, _, _)) = &found {
            sessions::touch(&mut conn, session, now).await?;
        }
        Ok(found.map(|(session, member, role)| Viewer {
            session_id: session.id,
            permissions: role.permissions(),
            member,
        }))
    }

    /// Whether the viewer's role has `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }
}
