//! The rules and the SQL of Roster, free of GraphQL types.

pub mod audit;
pub mod bootstrap;
pub mod capabilities;
pub mod counters;
pub mod erasure;
pub mod feed;
pub mod invitations;
pub mod invite_many;
pub mod keys;
pub mod live_order;
pub mod member_admin;
pub mod member_list;
pub mod member_search;
pub mod members;
pub mod permissions;
pub mod resets;
pub mod retention;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod sight;
pub mod signin;
pub mod state;
pub mod sweeps;
pub mod thaw;
pub mod throttle;
pub mod validate;
pub mod viewer;

pub use permissions::{Permission, PermissionSet};
pub use state::AppState;
pub use viewer::Viewer;

/// A signed-in member acting through the API: who, with which permissions, from where.
/// Every use case that needs a permission checks it on its actor ([`Actor::require`]).
#[derive(Clone)]
pub struct Actor {
    /// The acting member.
    pub member_id: i64,
    /// What their role allows, as read at the start of the request.
    pub permissions: PermissionSet,
    /// Actor and client address for the audit log.
    pub origin: audit::Origin,
}

impl Actor {
    /// `FORBIDDEN` unless the actor's role has `permission`.
    pub fn require(&self, permission: Permission) -> crate::error::Result<()> {
        match self.permissions.contains(permission) {
            true => Ok(()),
            false => Err(crate::error::Error::Forbidden(permission.name())),
        }
    }
}
