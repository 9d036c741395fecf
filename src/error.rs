//! The application's error type; `graphql/errors.rs` is the one place where it becomes
//! a GraphQL error.

/// Why an expected operation was refused; becomes a `UserError` in a mutation payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A field failed validation.
    InvalidInput,
    /// The member, role or invitation does not exist.
    NotFound,
    /// `expectedVersion` no longer matches.
    StaleVersion,
    /// Nobody may act on themselves.
    SelfAction,
    /// Would leave no active administrator.
    LastAdministrator,
    /// Granting or touching a role with permissions the caller lacks.
    PrivilegeEscalation,
    /// Deleting a role that members hold.
    RoleInUse,
    /// Deleting or narrowing the built-in role.
    BuiltInRole,
    /// A role name or member email already in use.
    NameTaken,
    /// An invitation or reset token that cannot be used.
    TokenInvalid,
    /// The invitation is no longer pending.
    InvitationNotPending,
    /// Unknown email or wrong password.
    InvalidCredentials,
    /// Right password, frozen member.
    MemberFrozen,
    /// A new password the policy refuses.
    PasswordPolicy,
    /// No default password is configured.
    NoDefaultPassword,
    /// The caller lacks the act's permission (a capability's reason; the act itself
    /// answers a top-level `FORBIDDEN` error).
    Forbidden,
}

/// The input a refusal concerns, by its meaning; the API maps each to the argument
/// that carries it (`graphql/errors.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// The member acted on.
    Member,
    /// The role acted on (updated or deleted).
    Role,
    /// The invitation acted on.
    Invitation,
    /// When a freeze ends.
    FreezeUntil,
    /// The session acted on.
    Session,
    /// The members of a bulk act.
    MemberIds,
    /// The emails of inviteMany.
    Emails,
    /// How long audit events are kept.
    AuditRetention,
    /// The role granted to a member or an invitee.
    GrantedRole,
    /// The role a deleted role's members move to.
    ReassignTo,
    /// The version the caller last saw.
    ExpectedVersion,
    /// Why a member is frozen.
    FreezeReason,
    /// The reason given for a removal.
    RemoveReason,
    /// How a password is reset.
    ResetMode,
    /// An email address.
    Email,
    /// A member's display name.
    Name,
    /// The password of a new member.
    Password,
    /// The caller's current password.
    CurrentPassword,
    /// A replacement password.
    NewPassword,
    /// The secret of an invitation or reset link.
    Token,
    /// A role's name.
    RoleName,
    /// A role's description.
    RoleDescription,
    /// A role's permissions.
    RolePermissions,
    /// The default password of the security settings.
    DefaultPassword,
    /// The minimum password length.
    PasswordMinLength,
    /// The session lifetime.
    SessionTtl,
    /// How long a password set by a reset signs in.
    ResetPasswordValidity,
}

/// An expected refusal: its code, the input it concerns, and a readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// What kind of refusal.
    pub code: ErrorCode,
    /// The input at fault, if one is.
    pub field: Option<Input>,
    /// A message fit to show the user.
    pub message: String,
}

impl Rejection {
    /// A refusal with no particular field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            field: None,
            message: message.into(),
        }
    }

    /// The same refusal, naming the input at fault.
    pub fn on(mut self, input: Input) -> Self {
        self.field = Some(input);
        self
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Error::Rejected(r)
    }
}

/// Everything that can go wrong in Roster.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error
/// showing its text, which would leak internal detail. [`Error::detail`] is for logs;
/// clients get the mapping below.
#[derive(Debug)]
pub enum Error {
    /// An expected refusal, reported in the payload.
    Rejected(Rejection),
    /// No valid session.
    Unauthenticated,
    /// The session lacks the permission.
    Forbidden(&'static str),
    /// The caller lacks a permission of the role of the member acted on.
    NotCovered,
    /// The member must change the password before anything else.
    PasswordChangeRequired,
    /// A query argument that cannot be used (a bad cursor, a negative page size).
    BadInput(String),
    /// A live feed's cursor older than the audit retention: reload, then subscribe.
    CursorExpired,
    /// A live subscription must start again (it fell too far behind, or its role's
    /// permissions changed): subscribe again after this event (the last it received,
    /// or where it started).
    ResumeRequired(i64),
    /// Too many attempts; retry after this many seconds.
    RateLimited(u64),
    /// Too much work queued; the client may retry shortly.
    Busy(&'static str),
    /// The database cannot be reached.
    Unavailable(String),
    /// A database error nobody expected.
    Db(diesel::result::Error),
    /// Any other fault.
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Db(e)
    }
}

/// Shorthand for results of Roster operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A full description, for logs and the command line.
    pub fn detail(&self) -> String {
        match self {
            Error::Rejected(r) => r.message.clone(),
            Error::Unauthenticated => "sign in first".into(),
            Error::Forbidden(p) => format!("this needs the {p} permission"),
            Error::NotCovered => "this needs every permission of the member's role".into(),
            Error::PasswordChangeRequired => "change your password first".into(),
            Error::BadInput(m) => m.clone(),
            Error::CursorExpired => {
                "this cursor is older than the audit retention: reload, then subscribe without it".into()
            }
            Error::ResumeRequired(_) => {
                "this subscription must start again (it fell behind, or the role's permissions changed): subscribe again with `after` set to the last cursor received".into()
            }
            Error::RateLimited(s) => format!("too many attempts; retry in {s} s"),
            Error::Busy(m) => format!("the server is busy: {m}"),
            Error::Unavailable(m) => format!("database unavailable: {m}"),
            Error::Db(e) => format!("database error: {e}"),
            Error::Internal(m) => format!("internal error: {m}"),
        }
    }
}

/// Whether a database error means the database went away (stopping, restarting, the
/// connection dropped) rather than a fault of the statement.
pub fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    // PostgreSQL's own words when it is stopping or starting; diesel keeps no SQLSTATE.
    const GOING_AWAY: [&str; 4] = [
        "terminating connection",
        "shutting down",
        "starting up",
        "in recovery mode",
    ];
    match e {
        E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _)
        | E::BrokenTransactionManager => true,
        E::DatabaseError(K::Unknown, info) => GOING_AWAY.iter().any(|w| info.message().contains(w)),
        _ => false,
    }
}
