//! Signing in and out, and changing one's own password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::schema::{members, sessions as sessions_table};
use crate::db::transaction;
use crate::domain::AppState;
use crate::domain::Viewer;
use crate::domain::audit::{self, AuditAction, Event, Origin};
use crate::domain::members::{self as member_rows, Member, MemberStatus, find_by_email};
use crate::domain::sessions::{self, NewSession};
use crate::domain::settings::{self, Settings};
use crate::domain::thaw;
use crate::domain::{throttle, validate};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

/// A session just opened; the token is shown to the client this once.
pub struct IssuedSession {
    /// The bearer token.
    pub token: String,
    /// When the session ends.
    pub expires_at: NaiveDateTime,
    /// The member signed in.
    pub member: Member,
}

fn invalid_credentials() -> Error {
    Rejection::new(ErrorCode::InvalidCredentials, "wrong email or password").into()
}

fn frozen() -> Error {
    Rejection::new(
        ErrorCode::MemberFrozen,
        "this member is frozen; ask an administrator to recover it",
    )
    .into()
}

/// Why a sign-in with a matching password is refused, if it is.
fn refusal(member: &Member, now: NaiveDateTime) -> Option<(Error, &'static str)> {
    if member.status_at(now) == MemberStatus::Frozen {
        return Some((frozen(), "member frozen"));
    }
    if member
        .password_expires_at
        .is_some_and(|deadline| deadline <= now)
    {
        let e = Rejection::new(
            ErrorCode::InvalidCredentials,
            "this reset password has expired; ask an administrator for a new one",
        );
        return Some((e.into(), "reset password expired"));
    }
    None
}

/// Whether `member`'s password was set by a reset (default or temporary) and not yet
/// replaced: what such a password opens is marked in the audit log (`viaReset`),
/// since whoever reset it knows it too.
fn from_reset(member: &Member) -> bool {
    member.must_change_password && member.password_expires_at.is_some()
}

/// The audit details of an act done with a password or link a reset handed out.
fn reset_mark(via_reset: bool) -> serde_json::Value {
    match via_reset {
        true => json!({ "viaReset": true }),
        false => json!({}),
    }
}

/// Signs a member in by email and password. Unknown email and wrong password cost
/// the same (a dummy hash is verified) and give the same answer.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<IssuedSession> {
    let result = attempt(state, email, password, origin).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(Error::Rejected(r)) if r.code == ErrorCode::InvalidCredentials => "invalid_credentials",
        Err(Error::Rejected(r)) if r.code == ErrorCode::MemberFrozen => "member_frozen",
        Err(Error::Rejected(_)) => "invalid_input",
        Err(Error::RateLimited(_)) => "rate_limited",
        Err(Error::Busy(_)) => "server_busy",
        Err(_) => "error",
    };
    metrics::counter!("roster_signins_total", "outcome" => outcome).increment(1);
    match &result {
        // Neither the password nor the typed email: the email may be a password typed
        // into the wrong field.
        Err(_) => tracing::warn!(outcome, ip = origin.ip.as_deref(), "sign-in failed"),
        Ok(issued) => tracing::info!(member_id = issued.member.id, "signed in"),
    }
    result
}

/// One sign-in attempt; [`login`] records its outcome.
async fn attempt(
    state: &AppState,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<IssuedSession> {
    // What is no address names nobody: it is refused before an account key is made
    // of it (the throttle table would keep it in full), counting against the address.
    let Ok(email) = validate::email(email) else {
        return refuse_malformed(state, origin).await;
    };
    let keys = Attempt {
        account: throttle::account_key(&email),
        address: throttle::address_key(origin.ip.as_deref()),
    };
    let (mut conn, started) = (state.pool.get().await?, state.clock.now());
    throttle::reserve(&mut conn, &keys.address, throttle::ADDRESS, started).await?;
    throttle::reserve(&mut conn, &keys.account, throttle::ACCOUNT, started).await?;
    let (member, hash) = find_by_email(&mut conn, &email).await?.unzip();
    drop(conn);
    let matches = keys.verify(state, password, hash.as_deref()).await?;
    let now = state.clock.now();
    let checked = match &member {
        Some(m) if matches => refusal(m, now).map_or(Ok(m), Err),
        _ => Err((invalid_credentials(), "wrong email or password")),
    };
    match checked {
        Ok(member) => open_session(state, member, &keys, origin, now).await,
        Err((error, why)) => {
            // The typed email is kept only when it names a member: a password typed into
            // the email field must not land in the log.
            let why = if member.is_some() {
                why
            } else {
                "unknown email"
            };
            let event = Event::new(
                AuditAction::LoginFailed,
                member.as_ref().map(|m| m.id),
                None,
                json!({ "reason": why }),
            );
            audit::record(&mut state.pool.get().await?, origin, event, now).await?;
            Err(error)
        }
    }
}

/// The throttle keys a sign-in counts against.
struct Attempt {
    account: String,
    address: String,
}

impl Attempt {
    /// Whether `password` matches `hash` (a dummy hash when `None`, so that unknown
    /// emails cost the same). Not checked because the server is busy: the attempt
    /// gives its counts back.
    async fn verify(&self, state: &AppState, password: &str, hash: Option<&str>) -> Result<bool> {
        let too_long = password.chars().count() > validate::PASSWORD_MAX_LENGTH;
        let hash = hash.filter(|_| !too_long);
        match state.hasher.verify(password, hash).await {
            Ok(matches) => Ok(matches),
            Err(e) => {
                let mut conn = state.pool.get().await?;
                throttle::refund(&mut conn, &self.account).await?;
                throttle::refund(&mut conn, &self.address).await?;
                Err(e)
            }
        }
    }
}

/// Opens a session for `member` after a successful sign-in: the account's failures
/// are forgotten, the address's attempt given back, LOGIN_SUCCEEDED recorded.
async fn open_session(
    state: &AppState,
    member: &Member,
    keys: &Attempt,
    origin: &Origin,
    now: NaiveDateTime,
) -> Result<IssuedSession> {
    let mut conn = state.pool.get().await?;
    if member.thawed_at(now) {
        thaw::due(&mut conn, now, Some(member.id)).await?;
    }
    throttle::clear(&mut conn, &keys.account).await?;
    throttle::refund(&mut conn, &keys.address).await?;
    let ttl = settings::get(&mut conn).await?.session_ttl();
    let secret = token::generate();
    let hash = token::hash(&secret);
    let new = NewSession::new(&hash, member.id, now, ttl, origin);
    let origin = origin.as_member(member.id);
    let member = transaction!(&mut conn, |c| {
        let member = diesel::update(
            members::table
                .find(member.id)
                .filter(members::status.eq(MemberStatus::Active)),
        )
        .set(members::last_login_at.eq(now))
        .returning(Member::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or_else(frozen)?;
        diesel::insert_into(sessions_table::table)
            .values(&new)
            .execute(c)
            .await?;
        let details = reset_mark(from_reset(&member));
        audit::insert(
            &origin,
            Event::member(AuditAction::LoginSucceeded, member.id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(member)
    })?;
    Ok(IssuedSession {
        token: secret,
        expires_at: new.expires_at,
        member,
    })
}

/// A sign-in whose email is no address: counted against the client address and
/// recorded like an unknown email, without the work of a password check.
async fn refuse_malformed(state: &AppState, origin: &Origin) -> Result<IssuedSession> {
    let address = throttle::address_key(origin.ip.as_deref());
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    throttle::reserve(&mut conn, &address, throttle::ADDRESS, now).await?;
    let event = Event::new(
        AuditAction::LoginFailed,
        None,
        None,
        json!({ "reason": "unknown email" }),
    );
    audit::record(&mut conn, origin, event, now).await?;
    Err(invalid_credentials())
}

/// Ends the viewer's session.
pub async fn logout(state: &AppState, viewer: &Viewer) -> Result<()> {
    let mut conn = state.pool.get().await?;
    sessions::delete(&mut conn, viewer.session_id).await
}

/// Checks a new password against the policy: its length, and that it is neither the
/// member's current password (`current_hash`) nor the default password.
pub async fn check_new_password(
    state: &AppState,
    settings: &Settings,
    new: &str,
    current_hash: Option<&str>,
    input: Input,
) -> Result<()> {
    let policy = |m: &str| Error::from(Rejection::new(ErrorCode::PasswordPolicy, m).on(input));
    validate::password_shape(new, settings.min_length()).map_err(|r| r.on(input))?;
    if let Some(current) = current_hash
        && state.hasher.verify(new, Some(current)).await?
    {
        return Err(policy("the new password must differ from the current one"));
    }
    if let Some(default) = settings.default_password_hash.as_deref()
        && state.hasher.verify(new, Some(default)).await?
    {
        return Err(policy("the new password must not be the default password"));
    }
    Ok(())
}

/// Changes the viewer's password, ends all their sessions and opens a fresh one.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current: &str,
    new: &str,
    origin: &Origin,
) -> Result<IssuedSession> {
    let mut conn = state.pool.get().await?;
    let settings = settings::get(&mut conn).await?;
    let old_hash = member_rows::password_hash(&mut conn, viewer.member.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    // Not held while hashing, which takes long.
    drop(conn);
    let old_hash = old_hash.as_str();
    if current.chars().count() > validate::PASSWORD_MAX_LENGTH
        || !state.hasher.verify(current, Some(old_hash)).await?
    {
        return Err(Rejection::new(
            ErrorCode::InvalidCredentials,
            "the current password is wrong",
        )
        .on(Input::CurrentPassword)
        .into());
    }
    if new == current {
        validate::password_shape(new, settings.min_length())
            .map_err(|r| r.on(Input::NewPassword))?;
        return Err(Rejection::new(
            ErrorCode::PasswordPolicy,
            "the new password must differ from the current one",
        )
        .on(Input::NewPassword)
        .into());
    }
    check_new_password(state, &settings, new, None, Input::NewPassword).await?;
    let new_hash = state.hasher.hash(new).await?;
    let target = members::table
        .find(viewer.member.id)
        .filter(members::status.eq(MemberStatus::Active))
        .filter(members::password_hash.eq(old_hash));
    let via_reset = from_reset(&viewer.member);
    set_password(
        state,
        target,
        &new_hash,
        settings.session_ttl(),
        origin,
        via_reset,
    )
    .await?
    .ok_or(Error::Unauthenticated)
}

/// Ends every session of `$session`'s member and opens `$session` instead.
macro_rules! replace_sessions {
    ($c:expr, $session:expr) => {
        diesel::delete(
            sessions_table::table.filter(sessions_table::member_id.eq($session.member_id)),
        )
        .execute($c)
        .await?;
        diesel::insert_into(sessions_table::table)
            .values(&$session)
            .execute($c)
            .await?;
    };
}

/// What storing a new password sets: the reset state goes, and the version bumps.
#[derive(AsChangeset)]
#[diesel(table_name = members)]
struct NewPassword<'a> {
    password_hash: &'a str,
    must_change_password: bool,
    password_expires_at: Option<Option<NaiveDateTime>>,
    reset_token_hash: Option<Option<String>>,
    reset_expires_at: Option<Option<NaiveDateTime>>,
    updated_at: NaiveDateTime,
}

/// Stores a new password for the one member `target` selects (if it still does),
/// clears reset state, ends the member's sessions, opens a fresh one and records
/// PASSWORD_CHANGED (marked `viaReset` when done with what a reset handed out), all in
/// one transaction. `None` when `target` selects nobody.
pub(crate) async fn set_password<T>(
    state: &AppState,
    target: T,
    new_hash: &str,
    ttl: chrono::Duration,
    origin: &Origin,
    via_reset: bool,
) -> Result<Option<IssuedSession>>
where
    T: diesel::query_builder::IntoUpdateTarget<Table = members::table> + Clone + Send + Sync,
    diesel::query_builder::UpdateStatement<members::table, T::WhereClause>: Send,
    T::WhereClause: Send
        + Sync
        + Clone
        + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
        + diesel::query_builder::QueryFragment<diesel::pg::Pg>
        + diesel::query_builder::QueryId,
{
    let (now, secret) = (state.clock.now(), token::generate());
    let session_hash = token::hash(&secret);
    let change = NewPassword {
        password_hash: new_hash,
        must_change_password: false,
        password_expires_at: Some(None),
        reset_token_hash: Some(None),
        reset_expires_at: Some(None),
        updated_at: now,
    };
    let member = transaction!(&mut state.pool.get().await?, |c| {
        let member = diesel::update(target.clone())
            .set((&change, members::version.eq(members::version + 1)))
            .returning(Member::as_returning())
            .get_result(c)
            .await
            .optional()?;
        let Some(member) = member else {
            return Ok::<_, Error>(None);
        };
        let session = NewSession::new(&session_hash, member.id, now, ttl, origin);
        replace_sessions!(c, session);
        let origin = origin.as_member(member.id);
        let event = Event::member(
            AuditAction::PasswordChanged,
            member.id,
            reset_mark(via_reset),
        )
        .changed_secret("password");
        audit::insert(&origin, event, now).execute(c).await?;
        Ok(Some(member))
    })?;
    Ok(member.map(|member| IssuedSession {
        token: secret,
        expires_at: now + ttl,
        member,
    }))
}
