//! Who the request acts as, and the checks every resolver starts with.

use std::net::IpAddr;

use async_graphql::Context;

use crate::auth::Viewer;
use crate::domain::Permission;
use crate::error::Error;
use crate::graphql::loaders::Loaders;
use crate::state::AppState;

/// Per-request data: the signed-in member (if any) and the client's address.
pub struct RequestCtx {
    /// The viewer, when a live session token came with the request.
    pub viewer: Option<Viewer>,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
}

/// The shared state.
pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The per-request loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
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

/// The viewer, who must not be due a password change and, with `Some(p)`, must have `p`.
pub fn allowed<'a>(ctx: &Context<'a>, permission: Option<Permission>) -> Result<&'a Viewer, Error> {
    let viewer = signed_in(ctx)?;
    if viewer.member.must_change_password {
        return Err(Error::PasswordChangeRequired);
    }
    match permission {
        Some(p) if !viewer.can(p) => Err(Error::Forbidden(p.name())),
        _ => Ok(viewer),
    }
}
