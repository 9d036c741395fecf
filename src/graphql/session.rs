//! Signing in and out, `me`, and changing one's own password.

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::domain::signin::{self, IssuedSession};
use crate::graphql::access::{origin, signed_in, state};
use crate::graphql::errors::{UserError, split};
use crate::graphql::member::MemberNode;
use crate::graphql::scalars::DateTime;

/// A signed-in session.
#[derive(SimpleObject)]
pub struct Session {
    /// Bearer token: send it as `Authorization: Bearer <token>`. Shown only here.
    pub token: String,
    /// When the session ends.
    pub expires_at: DateTime,
    /// The member signed in.
    pub member: MemberNode,
}

impl From<IssuedSession> for Session {
    fn from(s: IssuedSession) -> Self {
        Session {
            token: s.token,
            expires_at: s.expires_at.into(),
            member: MemberNode(s.member, crate::graphql::access::Sight::Session, None),
        }
    }
}

/// The outcome of an operation that opens a session.
#[derive(SimpleObject)]
pub struct SessionPayload {
    /// The new session; null when refused.
    pub session: Option<Session>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

pub fn session_payload(result: crate::error::Result<IssuedSession>) -> Result<SessionPayload> {
    let (session, errors) = split(result)?;
    Ok(SessionPayload {
        session: session.map(Session::from),
        errors,
    })
}

/// Queries about the caller.
#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in member.
    async fn me(&self, ctx: &Context<'_>) -> Result<MemberNode> {
        Ok(MemberNode::full(signed_in(ctx)?.member.clone()))
    }
}

/// Signing in and out.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in. Public. Unknown email and wrong password give the same error.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<SessionPayload> {
        session_payload(signin::login(state(ctx), &email, &password, &origin(ctx)).await)
    }

    /// Sets a new password with the secret of a reset link, and signs in. Public.
    async fn complete_password_reset(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> Result<SessionPayload> {
        session_payload(
            crate::domain::resets::complete(state(ctx), &token, &new_password, &origin(ctx)).await,
        )
    }

    /// Ends the current session.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        signin::logout(state(ctx), signed_in(ctx)?).await?;
        Ok(true)
    }

    /// Changes your password; ends all your sessions and returns a fresh one.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<SessionPayload> {
        let viewer = signed_in(ctx)?;
        session_payload(
            signin::change_password(
                state(ctx),
                viewer,
                &current_password,
                &new_password,
                &origin(ctx),
            )
            .await,
        )
    }
}
