//! Security settings: one row, created with defaults on first start.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::db::schema::settings;
use crate::db::{transaction, with_conn};
use crate::domain::audit::{self, AuditAction, Event};
use crate::domain::{Actor, AppState, Permission, validate};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

/// Minimum password length until an administrator changes it.
pub const DEFAULT_PASSWORD_MIN_LENGTH: usize = 10;
/// Session lifetime until an administrator changes it: 12 hours.
pub const DEFAULT_SESSION_TTL_MINUTES: i32 = 12 * 60;

/// The security settings as stored.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = settings)]
pub struct Settings {
    /// argon2id hash of the default password, if one is configured.
    pub default_password_hash: Option<String>,
    /// Shortest password accepted.
    pub password_min_length: i32,
    /// Session lifetime.
    pub session_ttl_minutes: i32,
    /// When they last changed.
    pub updated_at: NaiveDateTime,
    /// How long a password set by a reset signs in.
    pub reset_password_valid_hours: i32,
    /// The member who last set the default password (none before this was recorded).
    pub default_password_set_by: Option<i64>,
    /// Audit events older than this many days are deleted; `None` keeps them.
    pub audit_retention_days: Option<i32>,
}

impl Settings {
    /// The minimum password length as a count.
    pub fn min_length(&self) -> usize {
        usize::try_from(self.password_min_length).unwrap_or(DEFAULT_PASSWORD_MIN_LENGTH)
    }

    /// The session lifetime.
    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.session_ttl_minutes))
    }
}

/// Creates the settings row with defaults unless it exists.
pub async fn ensure_defaults(conn: &mut Conn, now: NaiveDateTime) -> Result<()> {
    let q = diesel::insert_into(settings::table)
        .values((
            settings::id.eq(1),
            settings::password_min_length.eq(DEFAULT_PASSWORD_MIN_LENGTH as i32),
            settings::session_ttl_minutes.eq(DEFAULT_SESSION_TTL_MINUTES),
            settings::updated_at.eq(now),
        ))
        .on_conflict_do_nothing();
    with_conn!(conn, |c| q.execute(c).await)?;
    Ok(())
}

/// The current settings.
pub async fn get(conn: &mut Conn) -> Result<Settings> {
    Ok(with_conn!(conn, |c| settings::table
        .find(1)
        .select(Settings::as_select())
        .first(c)
        .await)?)
}

/// Changes to the security settings; `None` keeps a value.
#[derive(Default)]
pub struct SettingsChanges {
    /// A new default password (stored only as its hash).
    pub default_password: Option<String>,
    /// A new minimum password length.
    pub password_min_length: Option<i32>,
    /// A new session lifetime.
    pub session_ttl_minutes: Option<i32>,
    /// A new validity of passwords set by a reset.
    pub reset_password_valid_hours: Option<i32>,
    /// A new audit retention: `Some(None)` keeps events for ever.
    pub audit_retention_days: Option<Option<i32>>,
}

/// Accepted ranges: (min, max).
const MIN_LENGTH_RANGE: (i32, i32) = (8, 128);
const SESSION_TTL_RANGE: (i32, i32) = (5, 43_200);
const RESET_VALID_RANGE: (i32, i32) = (1, 720);
/// Audit retention: from a day to ten years.
const AUDIT_RETENTION_RANGE: (i32, i32) = (1, 3_650);

/// `value` if it lies in `(min, max)`; the message names the setting as `name`.
fn in_range(value: Option<i32>, (min, max): (i32, i32), name: &str, input: Input) -> Result<()> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(Rejection::new(
            ErrorCode::InvalidInput,
            format!("{name} must be from {min} to {max}"),
        )
        .on(input)
        .into()),
        _ => Ok(()),
    }
}

impl SettingsChanges {
    /// Checks every range; the default password is checked against the new minimum.
    fn check(&self, before: &Settings) -> Result<()> {
        let min_length = self.password_min_length;
        in_range(
            min_length,
            MIN_LENGTH_RANGE,
            "passwordMinLength",
            Input::PasswordMinLength,
        )?;
        in_range(
            self.session_ttl_minutes,
            SESSION_TTL_RANGE,
            "sessionTtlMinutes",
            Input::SessionTtl,
        )?;
        let valid = self.reset_password_valid_hours;
        in_range(
            valid,
            RESET_VALID_RANGE,
            "resetPasswordValidHours",
            Input::ResetPasswordValidity,
        )?;
        in_range(
            self.audit_retention_days.flatten(),
            AUDIT_RETENTION_RANGE,
            "auditRetentionDays",
            Input::AuditRetention,
        )?;
        if let Some(password) = &self.default_password {
            let min = min_length.map_or(before.min_length(), |m| m as usize);
            validate::password_shape(password, min).map_err(|r| r.on(Input::DefaultPassword))?;
        }
        Ok(())
    }

    /// What the audit log keeps of the change (never the default password).
    fn details(&self, before: &Settings) -> serde_json::Value {
        let min = self
            .password_min_length
            .unwrap_or(before.password_min_length);
        let ttl = self
            .session_ttl_minutes
            .unwrap_or(before.session_ttl_minutes);
        let valid = self
            .reset_password_valid_hours
            .unwrap_or(before.reset_password_valid_hours);
        let retention = self
            .audit_retention_days
            .unwrap_or(before.audit_retention_days);
        serde_json::json!({
            "before": { "passwordMinLength": before.password_min_length, "sessionTtlMinutes": before.session_ttl_minutes,
                        "resetPasswordValidHours": before.reset_password_valid_hours,
                        "auditRetentionDays": before.audit_retention_days },
            "after": { "passwordMinLength": min, "sessionTtlMinutes": ttl, "resetPasswordValidHours": valid,
                       "auditRetentionDays": retention },
            "defaultPasswordChanged": self.default_password.is_some(),
        })
    }
}

/// The security settings. Needs SECURITY_SETTINGS_MANAGE.
pub async fn view(state: &AppState, actor: &Actor) -> Result<Settings> {
    actor.require(Permission::SecuritySettingsManage)?;
    get(&mut state.pool.get().await?).await
}

/// Validates and applies `changes` in one statement, recording the act; returns the
/// new settings. Needs SECURITY_SETTINGS_MANAGE.
pub async fn update(state: &AppState, actor: &Actor, changes: SettingsChanges) -> Result<Settings> {
    actor.require(Permission::SecuritySettingsManage)?;
    let before = get(&mut state.pool.get().await?).await?;
    changes.check(&before)?;
    let default_hash = match &changes.default_password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let now = state.clock.now();
    let details = changes.details(&before);
    let mut event = Event::new(
        AuditAction::SecuritySettingsUpdated,
        None,
        None,
        details.clone(),
    )
    .diffed(&details["before"], &details["after"]);
    if changes.default_password.is_some() {
        event = event.changed_secret("defaultPassword");
    }
    let row = SettingsRow {
        default_password_hash: default_hash.as_deref(),
        default_password_set_by: default_hash.as_ref().map(|_| actor.member_id),
        password_min_length: changes.password_min_length,
        session_ttl_minutes: changes.session_ttl_minutes,
        reset_password_valid_hours: changes.reset_password_valid_hours,
        audit_retention_days: changes.audit_retention_days,
        updated_at: now,
    };
    transaction!(&mut state.pool.get().await?, |c| {
        let updated = diesel::update(settings::table.find(1))
            .set(&row)
            .returning(Settings::as_returning())
            .get_result(c)
            .await?;
        audit::insert(&actor.origin, event, now).execute(c).await?;
        Ok::<_, Error>(updated)
    })
}

/// What an update writes: every `None` keeps its column.
#[derive(AsChangeset)]
#[diesel(table_name = settings)]
struct SettingsRow<'a> {
    default_password_hash: Option<&'a str>,
    default_password_set_by: Option<i64>,
    password_min_length: Option<i32>,
    session_ttl_minutes: Option<i32>,
    reset_password_valid_hours: Option<i32>,
    audit_retention_days: Option<Option<i32>>,
    updated_at: NaiveDateTime,
}
