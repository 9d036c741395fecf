//! How much of a member a viewer may see, by whatever path the member is reached.

use crate::domain::{Permission, Viewer};

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

/// How much `viewer` may see of member `member_id` reached by any path; `in_audit`
/// when the path is the audit log (whose readers may see who acted on whom). The one
/// rule for every member shown other than through a list that needed MEMBERS_VIEW.
pub fn of(viewer: Option<&Viewer>, member_id: i64, in_audit: bool) -> Sight {
    match viewer {
        Some(v) if v.member.id == member_id || v.can(Permission::MembersView) => Sight::Full,
        Some(v) if in_audit && v.can(Permission::AuditLogView) => Sight::Basic,
        _ => Sight::Hidden,
    }
}
