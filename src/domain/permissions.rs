//! Permissions and sets of them, stored as a comma-separated list of names.

/// One thing a role may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See members and invitations.
    MembersView,
    /// Invite members and manage invitations.
    MembersInvite,
    /// Change a member's role.
    MembersEditPermission,
    /// Freeze and recover members.
    MembersFreeze,
    /// Reset members' passwords.
    MembersResetPassword,
    /// Create, edit and delete roles.
    RolesManage,
    /// Read and change the security settings.
    SecuritySettingsManage,
    /// Read the audit log.
    AuditLogView,
    /// See and end other members' sessions.
    MembersSessionsManage,
    /// Remove members for good, erasing their personal data.
    MembersRemove,
}

impl Permission {
    /// Every permission, in canonical order.
    pub const ALL: [Permission; 10] = [
        Permission::MembersView,
        Permission::MembersInvite,
        Permission::MembersEditPermission,
        Permission::MembersFreeze,
        Permission::MembersResetPassword,
        Permission::RolesManage,
        Permission::SecuritySettingsManage,
        Permission::AuditLogView,
        Permission::MembersSessionsManage,
        Permission::MembersRemove,
    ];

    /// The stored and displayed name, e.g. `MEMBERS_VIEW`.
    pub fn name(self) -> &'static str {
        match self {
            Permission::MembersView => "MEMBERS_VIEW",
            Permission::MembersInvite => "MEMBERS_INVITE",
            Permission::MembersEditPermission => "MEMBERS_EDIT_PERMISSION",
            Permission::MembersFreeze => "MEMBERS_FREEZE",
            Permission::MembersResetPassword => "MEMBERS_RESET_PASSWORD",
            Permission::RolesManage => "ROLES_MANAGE",
            Permission::SecuritySettingsManage => "SECURITY_SETTINGS_MANAGE",
            Permission::AuditLogView => "AUDIT_LOG_VIEW",
            Permission::MembersSessionsManage => "MEMBERS_SESSIONS_MANAGE",
            Permission::MembersRemove => "MEMBERS_REMOVE",
        }
    }

    /// The permission's own bit: an exhaustive match, so a new permission cannot
    /// share another's bit (a lookup in [`Permission::ALL`] fell back to bit 0).
    fn bit(self) -> u16 {
        let position = match self {
            Permission::MembersView => 0,
            Permission::MembersInvite => 1,
            Permission::MembersEditPermission => 2,
            Permission::MembersFreeze => 3,
            Permission::MembersResetPassword => 4,
            Permission::RolesManage => 5,
            Permission::SecuritySettingsManage => 6,
            Permission::AuditLogView => 7,
            Permission::MembersSessionsManage => 8,
            Permission::MembersRemove => 9,
        };
        1 << position
    }
}

/// A set of permissions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet(u16);

impl PermissionSet {
    /// The set as bits, one per permission.
    pub fn bits(self) -> u64 {
        u64::from(self.0)
    }

    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether every permission of `other` is in this set.
    pub fn covers(self, other: PermissionSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permissions in canonical order.
    pub fn to_vec(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.contains(*p))
            .collect()
    }

    /// The stored form: names joined by commas, in canonical order.
    pub fn to_db(self) -> String {
        self.to_vec()
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form; unknown names (from a newer version) are skipped.
    pub fn from_db(s: &str) -> Self {
        s.split(',')
            .filter_map(|name| Permission::ALL.into_iter().find(|p| p.name() == name))
            .collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermissionSet(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_in_canonical_order() {
        let set: PermissionSet = [Permission::AuditLogView, Permission::MembersView]
            .into_iter()
            .collect();
        assert_eq!(set.to_db(), "MEMBERS_VIEW,AUDIT_LOG_VIEW");
        assert_eq!(PermissionSet::from_db(&set.to_db()), set);
        assert_eq!(PermissionSet::from_db(""), PermissionSet::default());
    }

    #[test]
    fn every_permission_has_a_bit_of_its_own_and_is_listed() {
        let mut seen = 0u16;
        for p in Permission::ALL {
            assert_eq!(p.bit().count_ones(), 1, "{p:?}");
            assert_eq!(seen & p.bit(), 0, "{p:?} shares a bit");
            seen |= p.bit();
            let alone: PermissionSet = [p].into_iter().collect();
            assert_eq!(alone.to_vec(), vec![p]);
            assert_eq!(PermissionSet::from_db(p.name()), alone, "{p:?}");
            for other in Permission::ALL.into_iter().filter(|o| *o != p) {
                assert!(!alone.contains(other), "{p:?} implies {other:?}");
            }
        }
        // ALL lists every variant: the bits of the exhaustive match fill 0..len.
        assert_eq!(seen, (1u16 << Permission::ALL.len()) - 1);
        assert_eq!(PermissionSet::all().to_vec(), Permission::ALL.to_vec());
    }

    #[test]
    fn covers_means_superset() {
        let all = PermissionSet::all();
        let one: PermissionSet = [Permission::RolesManage].into_iter().collect();
        assert!(all.covers(one));
        assert!(!one.covers(all));
        assert!(one.covers(PermissionSet::default()));
    }
}
