//! Expected failures as payload data: `UserError` and its codes.

use async_graphql::{Enum, SimpleObject};

use crate::error::{Error, Rejection};

/// Why a mutation was refused.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "UserErrorCode", remote = "crate::error::ErrorCode")]
pub enum UserErrorCode {
    /// A field failed validation (`field` names it).
    InvalidInput,
    /// The member, role or invitation does not exist.
    NotFound,
    /// `expectedVersion` no longer matches.
    StaleVersion,
    /// Nobody may freeze, recover, reset or re-role themselves.
    SelfAction,
    /// Would leave no active member able to manage members and roles.
    LastAdministrator,
    /// Granting or touching a role with permissions the caller lacks.
    PrivilegeEscalation,
    /// Deleting a role that members hold, without `reassignTo`.
    RoleInUse,
    /// Deleting or narrowing the Administrator role.
    BuiltInRole,
    /// Role name or member email already in use.
    NameTaken,
    /// Invitation or reset token unknown, expired, revoked or used.
    TokenInvalid,
    /// The invitation is no longer pending.
    InvitationNotPending,
    /// Sign-in: unknown email or wrong password.
    InvalidCredentials,
    /// Sign-in: right password, frozen member.
    MemberFrozen,
    /// New password too short, equal to the current or the default one.
    PasswordPolicy,
    /// Reset to the default password before one is configured.
    NoDefaultPassword,
}

/// An expected failure of a mutation.
#[derive(SimpleObject)]
pub struct UserError {
    /// What kind of failure.
    pub code: UserErrorCode,
    /// Path of the input field at fault, e.g. `["input", "name"]`.
    pub field: Option<Vec<String>>,
    /// A message fit to show the user.
    pub message: String,
}

impl From<Rejection> for UserError {
    fn from(r: Rejection) -> Self {
        UserError {
            code: r.code.into(),
            field: r.field,
            message: r.message,
        }
    }
}

/// Splits a domain result into payload parts: a refusal becomes `errors`, a fault a
/// top-level GraphQL error.
pub fn split<T>(result: Result<T, Error>) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(v) => Ok((Some(v), Vec::new())),
        Err(Error::Rejected(r)) => Ok((None, vec![r.into()])),
        Err(e) => Err(e.into()),
    }
}
