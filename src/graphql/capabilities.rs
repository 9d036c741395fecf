//! `Member.viewerCan`: what the signed-in member may do to a member, and why not.

use async_graphql::SimpleObject;

use crate::domain::capabilities;
use crate::graphql::errors::UserErrorCode;

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

/// What the viewer may do to one member now, decided by the rules the acts run.
#[derive(SimpleObject)]
#[graphql(name = "MemberCapabilities")]
pub struct MemberCapabilitiesNode {
    /// `editPermission`, to some other role (the role named decides the rest).
    pub edit_permission: CapabilityNode,
    /// `freeze` (without an end: a frozen member is not allowed, with no reason).
    pub freeze: CapabilityNode,
    /// `recover`.
    pub recover: CapabilityNode,
    /// `resetPassword`.
    pub reset_password: CapabilityNode,
    /// `removeMember`.
    pub remove: CapabilityNode,
    /// `revokeAllSessions`.
    pub revoke_sessions: CapabilityNode,
}

impl From<capabilities::MemberCapabilities> for MemberCapabilitiesNode {
    fn from(c: capabilities::MemberCapabilities) -> Self {
        MemberCapabilitiesNode {
            edit_permission: c.edit_permission.into(),
            freeze: c.freeze.into(),
            recover: c.recover.into(),
            reset_password: c.reset_password.into(),
            remove: c.remove.into(),
            revoke_sessions: c.revoke_sessions.into(),
        }
    }
}
