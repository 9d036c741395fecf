//! First start: the built-in role, default settings and a first administrator.

use crate::auth::token;
use crate::domain::AppState;
use crate::domain::members::{self, MemberStatus, NewMember};
use crate::domain::{roles, settings, validate};
use crate::error::{Error, Result};

/// The first administrator, when this start created one.
pub struct CreatedAdmin {
    /// Its email.
    pub email: String,
    /// The generated password, when none was configured (show it once).
    pub generated_password: Option<String>,
}

/// Makes an empty database usable; does nothing to one already set up. Safe when
/// several instances start at once: every insert tolerates a concurrent twin.
pub async fn bootstrap(
    state: &AppState,
    admin_email: &str,
    admin_password: Option<&str>,
) -> Result<Option<CreatedAdmin>> {
    let admin_role = prepare(state).await?;
    if members::any(&mut state.pool.get().await?).await? {
        return Ok(None);
    }
    let generated = admin_password.is_none().then(token::random_password);
    let password = admin_password.or(generated.as_deref()).unwrap_or_default();
    let created = create_administrator(
        state,
        admin_role,
        admin_email,
        "Administrator",
        password,
        generated.is_some(),
    )
    .await;
    match created {
        Ok(_) => Ok(Some(CreatedAdmin {
            email: admin_email.to_owned(),
            generated_password: generated,
        })),
        // Another instance created the same administrator a moment ago.
        Err(Error::Rejected(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the default settings and the built-in role unless they exist; returns
/// the built-in role's id.
pub async fn prepare(state: &AppState) -> Result<i64> {
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    settings::ensure_defaults(&mut conn, now).await?;
    roles::ensure_administrator(&mut conn, now).await
}

/// Creates an active member with the Administrator role (for `roster create-admin`).
pub async fn create_admin(
    state: &AppState,
    email: &str,
    name: &str,
    password: &str,
) -> Result<members::Member> {
    let email = validate::email(email)?;
    let name = validate::label(name, "name", members::NAME_MAX)?;
    let min = settings::get(&mut state.pool.get().await?)
        .await?
        .min_length();
    validate::password_shape(password, min)?;
    let role = roles::administrator_id(&mut state.pool.get().await?).await?;
    create_administrator(state, role, &email, &name, password, false).await
}

async fn create_administrator(
    state: &AppState,
    role_id: i64,
    email: &str,
    name: &str,
    password: &str,
    must_change_password: bool,
) -> Result<members::Member> {
    let hash = state.hasher.hash(password).await?;
    let now = state.clock.now();
    let new = NewMember {
        email,
        email_key: &validate::key(email),
        name,
        search_key: &members::search_key(email, name),
        role_id,
        status: MemberStatus::Active,
        password_hash: &hash,
        must_change_password,
        invited_by: None,
        created_at: now,
        updated_at: now,
    };
    members::insert(&mut state.pool.get().await?, &new).await
}
