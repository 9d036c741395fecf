//! What a capability asks of the acts: whether one would be done now, decided by the
//! acts' own rules, without their arguments.

use super::*;

/// The acts [`may`] answers for, as a capability asks: without their arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// editPermission to some other role.
    EditPermission,
    /// freeze, without an end or a reason.
    Freeze,
    /// recover.
    Recover,
    /// resetPassword.
    ResetPassword,
    /// removeMember.
    Remove,
}

impl Act {
    /// The permission the act needs.
    pub fn permission(self) -> Permission {
        match self {
            Act::EditPermission => Permission::MembersEditPermission,
            Act::Freeze | Act::Recover => Permission::MembersFreeze,
            Act::ResetPassword => Permission::MembersResetPassword,
            Act::Remove => Permission::MembersRemove,
        }
    }
}

/// Whether `actor` may do `act` to `member` (holding `role`) at `now`, by the rules the
/// act itself runs, given how many members hold the built-in role actively: the act's
/// refusal, `Ok(false)` when it would change nothing, `Ok(true)` when it would change
/// something.
pub fn may(
    actor: &Actor,
    act: Act,
    member: &Member,
    role: &Role,
    now: NaiveDateTime,
    active_admins: i64,
) -> Result<bool> {
    actor.require(act.permission())?;
    let member = &member.at(now);
    check_target(actor, member, role)?;
    let change = match act {
        // Any other role: what that role allows is decided when it is named.
        Act::EditPermission => Some(admin_role_left(member, role)),
        Act::Freeze => freeze_change(member, role, now, None, None)?.map(|c| c.leaves_admin_role),
        Act::Recover => recover_change(member)?.map(|c| c.leaves_admin_role),
        Act::ResetPassword => Some(None),
        Act::Remove => remove_change(member, role, now, None)?.map(|c| c.leaves_admin_role),
    };
    match change {
        None => Ok(false),
        // The member is one of the active administrators counted.
        Some(Some(_)) => guard_last_admin(active_admins - 1).map(|()| true),
        Some(None) => Ok(true),
    }
}
