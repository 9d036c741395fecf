//! Where Roster's errors become GraphQL errors: expected refusals as payload data
//! (`UserError` and its codes), everything else as a top-level error with
//! `extensions.code`.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

use crate::error::{Error, Input, Rejection, is_connection_lost};

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
    /// Would leave no active member holding the built-in Administrator role.
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
    /// `viewerCan`: the viewer lacks the act's permission.
    Forbidden,
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
            field: r.field.map(path),
            message: r.message,
        }
    }
}

/// The argument path that carries `input`, as `UserError.field` shows it.
fn path(input: Input) -> Vec<String> {
    let path: &[&str] = match input {
        Input::Member => &["memberId"],
        Input::Role | Input::Invitation | Input::Session => &["id"],
        Input::MemberIds => &["memberIds"],
        Input::Emails => &["emails"],
        Input::GrantedRole => &["roleId"],
        Input::ReassignTo => &["reassignTo"],
        Input::ExpectedVersion => &["expectedVersion"],
        Input::FreezeReason | Input::RemoveReason => &["reason"],
        Input::FreezeUntil => &["until"],
        Input::ResetMode => &["mode"],
        Input::Email => &["email"],
        Input::Name => &["name"],
        Input::Password => &["password"],
        Input::CurrentPassword => &["currentPassword"],
        Input::NewPassword => &["newPassword"],
        Input::Token => &["token"],
        Input::RoleName => &["input", "name"],
        Input::RoleDescription => &["input", "description"],
        Input::RolePermissions => &["input", "permissions"],
        Input::DefaultPassword => &["input", "defaultPassword"],
        Input::PasswordMinLength => &["input", "passwordMinLength"],
        Input::SessionTtl => &["input", "sessionTtlMinutes"],
        Input::ResetPasswordValidity => &["input", "resetPasswordValidHours"],
        Input::AuditRetention => &["input", "auditRetentionDays"],
    };
    path.iter().map(|s| (*s).to_owned()).collect()
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

/// A refusal as a `UserError` (a missing permission as `FORBIDDEN`), for results of
/// their own inside a payload; a fault stays a top-level error.
pub fn user_error(e: Error) -> async_graphql::Result<UserError> {
    match e {
        Error::Rejected(r) => Ok(r.into()),
        e @ (Error::Forbidden(_) | Error::NotCovered) => Ok(UserError {
            code: UserErrorCode::Forbidden,
            field: None,
            message: e.detail(),
        }),
        e => Err(e.into()),
    }
}

/// The `extensions.code` a client sees for `e`.
pub fn code(e: &Error) -> &'static str {
    match e {
        Error::Rejected(_) | Error::BadInput(_) => "BAD_USER_INPUT",
        Error::Unauthenticated => "UNAUTHENTICATED",
        Error::Forbidden(_) | Error::NotCovered => "FORBIDDEN",
        Error::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
        Error::CursorExpired => "CURSOR_EXPIRED",
        Error::ResumeRequired(_) => "RESUME_REQUIRED",
        Error::RateLimited(_) => "RATE_LIMITED",
        Error::Busy(_) => "SERVER_BUSY",
        Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
        Error::Db(e) if is_connection_lost(e) => "SERVICE_UNAVAILABLE",
        Error::Db(_) | Error::Internal(_) => "INTERNAL_SERVER_ERROR",
    }
}

impl From<Error> for async_graphql::Error {
    /// Faults are logged with their detail and reach the client as a generic message.
    fn from(e: Error) -> Self {
        let code = code(&e);
        let message = match code {
            "INTERNAL_SERVER_ERROR" => {
                tracing::error!(error = %e.detail(), "internal error");
                "internal server error; the details are in the server log".to_owned()
            }
            "SERVICE_UNAVAILABLE" => {
                tracing::warn!(error = %e.detail(), "database unavailable");
                "the database is unavailable; try again shortly".to_owned()
            }
            _ => e.detail(),
        };
        let retry_after = match e {
            Error::RateLimited(s) => Some(s),
            _ => None,
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(s) = retry_after {
                ext.set("retryAfterSeconds", s);
            }
        })
    }
}
