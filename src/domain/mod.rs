//! The rules and the SQL of Roster, free of GraphQL types.

pub mod bootstrap;
pub mod members;
pub mod permissions;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod validate;

pub use permissions::{Permission, PermissionSet};
