//! Who the request acts as, and the checks every resolver starts with.

use std::net::IpAddr;

use async_graphql::{Context, ContextBase};

use crate::domain::AppState;
use crate::domain::Viewer;
use crate::domain::audit::Origin;
use crate::domain::{Actor, Permission};
use crate::error::Error;
use crate::graphql::loaders::Loaders;

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

/// Who acts (if anyone is signed in) and from where, for the audit log.
pub fn origin(ctx: &Context<'_>) -> Origin {
    let request = ctx.data_unchecked::<RequestCtx>();
    Origin {
        actor: request.viewer.as_ref().map(|v| v.member.id),
        ip: request.ip.map(|ip| ip.to_string()),
    }
}

/// The viewer as an [`Actor`], after the same checks as [`allowed`] with `permission`.
pub fn actor(ctx: &Context<'_>, permission: Permission) -> Result<Actor, Error> {
    let viewer = allowed(ctx, Some(permission))?;
    Ok(Actor {
        member_id: viewer.member.id,
        permissions: viewer.permissions,
        origin: origin(ctx),
    })
}

/// How much of a member the viewer may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sight {
    /// Every field: the viewer themselves, or anyone to a holder of MEMBERS_VIEW.
    Full,
    /// Id, email and name only: the members of the audit log, to a reader without
    /// MEMBERS_VIEW.
    Basic,
    /// Nothing: another member, reached without MEMBERS_VIEW.
    Hidden,
    /// Every field: the member of a session being handed out (sign-in, sign-up), who
    /// is not yet the request's viewer; members reached from them are seen with their
    /// own role's permissions.
    Session,
}

/// How much the viewer may see of member `member_id` reached by any path; `in_audit`
/// when the path is the audit log (whose readers may see who acted on whom). The one
/// rule for every member shown other than through a list that needed MEMBERS_VIEW.
pub fn sight(ctx: &Context<'_>, member_id: i64, in_audit: bool) -> Sight {
    let viewer = ctx.data_unchecked::<RequestCtx>().viewer.as_ref();
    match viewer {
        Some(v) if v.member.id == member_id || v.can(Permission::MembersView) => Sight::Full,
        Some(v) if in_audit && v.can(Permission::AuditLogView) => Sight::Basic,
        _ => Sight::Hidden,
    }
}
