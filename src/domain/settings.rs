//! Security settings: one row, created with defaults on first start.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::db::schema::settings;
use crate::error::Result;
use crate::with_conn;

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
