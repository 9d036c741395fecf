//! `Member.viewerCan`: what the signed-in member may do to a member, and why not.

use async_graphql::SimpleObject;

use crate::domain::capabilities;
use crate::graphql::errors::UserErrorCode;
use crate::graphql::fast::Fast;

/// Whether the viewer may do an act now; `reason` is the code the mutation would
/// answer. Not allowed with no reason: the act would change nothing (freezing a
/// frozen member).
#[derive(SimpleObject)]
#[graphql(name = "Capability")]
pub struct CapabilityNode {
    /// The act would be done.
    pub allowed: bool,
    /// Why not: FORBIDDEN (the permission is missing), SELF_ACTION,
    /// PRIVILEGE_ESCALATION, LAST_ADMINISTRATOR or NOT_FOUND.
    pub reason: Option<UserErrorCode>,
}

impl From<capabilities::Capability> for CapabilityNode {
    fn from(c: capabilities::Capability) -> Self {
        CapabilityNode {
            allowed: c.allowed,
            reason: c.reason.map(Into::into),
        }
    }
}

// Its objects take the list fast path ([`Fast`]): a page asks for 50 of them at once.
/// What the viewer may do to one member now, decided by the rules the acts run.
#[derive(SimpleObject)]
#[graphql(name = "MemberCapabilities")]
pub struct MemberCapabilitiesNode {
    /// `editPermission`, to some other role (the role named decides the rest).
    pub edit_permission: Fast<CapabilityNode>,
    /// `freeze` (without an end: a frozen member is not allowed, with no reason).
    pub freeze: Fast<CapabilityNode>,
    /// `recover`.
    pub recover: Fast<CapabilityNode>,
    /// `resetPassword`.
    pub reset_password: Fast<CapabilityNode>,
    /// `removeMember`.
    pub remove: Fast<CapabilityNode>,
    /// `revokeAllSessions`.
    pub revoke_sessions: Fast<CapabilityNode>,
}

impl From<capabilities::MemberCapabilities> for MemberCapabilitiesNode {
    fn from(c: capabilities::MemberCapabilities) -> Self {
        MemberCapabilitiesNode {
            edit_permission: Fast(c.edit_permission.into()),
            freeze: Fast(c.freeze.into()),
            recover: Fast(c.recover.into()),
            reset_password: Fast(c.reset_password.into()),
            remove: Fast(c.remove.into()),
            revoke_sessions: Fast(c.revoke_sessions.into()),
        }
    }
}
