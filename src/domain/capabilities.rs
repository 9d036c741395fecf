//! What the signed-in member may do to another, and why not: answered by the same
//! functions the acts run ([`member_admin::may`], [`sessions::check_revoke_all`]), so a
//! capability and its act cannot disagree.

use chrono::NaiveDateTime;

use crate::domain::member_admin::{self, Act};
use crate::domain::members::Member;
use crate::domain::roles::Role;
use crate::domain::sessions;
use crate::domain::{Actor, AppState};
use crate::error::{Error, ErrorCode, Result};

/// Whether an act is allowed now; if not, the code the act would answer (none when it
/// would change nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The act would be done.
    pub allowed: bool,
    /// Why not.
    pub reason: Option<ErrorCode>,
}

impl Capability {
    /// The capability a decision amounts to; faults stay errors.
    fn of(decision: Result<bool>) -> Result<Self> {
        let refused = |code| Capability {
            allowed: false,
            reason: Some(code),
        };
        match decision {
            Ok(allowed) => Ok(Capability {
                allowed,
                reason: None,
            }),
            Err(Error::Forbidden(_)) => Ok(refused(ErrorCode::Forbidden)),
            Err(Error::NotCovered) => Ok(refused(ErrorCode::PrivilegeEscalation)),
            Err(Error::Rejected(r)) => Ok(refused(r.code)),
            Err(e) => Err(e),
        }
    }
}

/// What the viewer may do to one member.
#[derive(Clone, Copy, Debug)]
pub struct MemberCapabilities {
    /// Move them to another role.
    pub edit_permission: Capability,
    /// Freeze them.
    pub freeze: Capability,
    /// Recover them.
    pub recover: Capability,
    /// Reset their password.
    pub reset_password: Capability,
    /// Remove them.
    pub remove: Capability,
    /// End all their sessions.
    pub revoke_sessions: Capability,
}

/// What `actor` may do to `member` (holding `role`) now, with `active_admins`
/// members holding the built-in role actively ([`roles::active_admins`]).
///
/// [`roles::active_admins`]: crate::domain::roles::active_admins
pub fn now(
    state: &AppState,
    actor: &Actor,
    member: &Member,
    role: &Role,
    active_admins: i64,
) -> Result<MemberCapabilities> {
    of(actor, member, role, state.clock.now(), active_admins)
}

/// What `actor` may do to `member` (holding `role`) at `now`; see [`now`].
pub fn of(
    actor: &Actor,
    member: &Member,
    role: &Role,
    now: NaiveDateTime,
    active_admins: i64,
) -> Result<MemberCapabilities> {
    let act = |act| {
        Capability::of(member_admin::may(
            actor,
            act,
            member,
            role,
            now,
            active_admins,
        ))
    };
    Ok(MemberCapabilities {
        edit_permission: act(Act::EditPermission)?,
        freeze: act(Act::Freeze)?,
        recover: act(Act::Recover)?,
        reset_password: act(Act::ResetPassword)?,
        remove: act(Act::Remove)?,
        revoke_sessions: Capability::of(
            sessions::check_revoke_all(actor, member, role).map(|()| true),
        )?,
    })
}
