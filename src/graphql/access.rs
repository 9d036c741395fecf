//! Who the request acts as, and the checks every resolver starts with.

use std::net::IpAddr;

use async_graphql::{Context, ContextBase};

use crate::domain::Actor;
use crate::domain::AppState;
use crate::domain::Viewer;
use crate::domain::audit::Origin;
pub use crate::domain::sight::{self, Sight};
use crate::error::Error;
use crate::graphql::loaders::Loaders;

/// Per-request data: the signed-in member (if any) and the client's address.
#[derive(Clone)]
pub struct RequestCtx {
    /// The viewer, when a live session token came with the request.
    pub viewer: Option<Viewer>,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// The shared state.
pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The per-request loaders.
pub fn loaders<'a, T>(ctx: &ContextBase<'a, T>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// The viewer, even one who must change the password first (for `me`,
/// `changePassword` and `logout`).
pub fn signed_in<'a>(ctx: &Context<'a>) -> Result<&'a Viewer, Error> {
    ctx.data_unchecked::<RequestCtx>()
        .viewer
        .as_ref()
        .ok_or(Error::Unauthenticated)
}

/// Who acts, and from where: the signed-in viewer, who must not be due a password
/// change. Each use case checks the permission it needs on it.
pub fn actor(ctx: &Context<'_>) -> Result<Actor, Error> {
    let viewer = signed_in(ctx)?;
    if viewer.member.must_change_password {
        return Err(Error::PasswordChangeRequired);
    }
    Ok(Actor {
        member_id: viewer.member.id,
        permissions: viewer.permissions,
        origin: origin(ctx),
    })
}

/// Who acts (if anyone is signed in) and from where, for the audit log.
pub fn origin(ctx: &Context<'_>) -> Origin {
    let request = ctx.data_unchecked::<RequestCtx>();
    Origin {
        actor: request.viewer.as_ref().map(|v| v.member.id),
        ip: request.ip.map(|ip| ip.to_string()),
        user_agent: request.user_agent.clone(),
    }
}

/// How much the request's viewer may see of member `member_id` ([`sight::of`]).
pub fn sight(ctx: &Context<'_>, member_id: i64, in_audit: bool) -> Sight {
    let viewer = ctx.data_unchecked::<RequestCtx>().viewer.as_ref();
    sight::of(viewer, member_id, in_audit)
}
