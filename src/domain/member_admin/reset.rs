//! resetPassword: to the default password, a temporary one, or a single-use link.

use super::*;

/// How a password is reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMode {
    /// To the default password from the security settings.
    DefaultPassword,
    /// To a random password, shown once.
    TemporaryPassword,
    /// A single-use link, shown once.
    ResetLink,
}

/// The outcome of a reset: the member, and the secret to hand over (shown once).
pub struct ResetOutcome {
    /// The member after the reset.
    pub member: Member,
    /// The temporary password (TEMPORARY_PASSWORD).
    pub temporary_password: Option<String>,
    /// The reset link (RESET_LINK).
    pub reset_link: Option<String>,
}

/// How long a reset link works.
const RESET_LINK_VALID_HOURS: i64 = 1;

/// What a reset hands over and stores, prepared before its transaction (hashing is
/// slow): the default password is read inside it.
enum ResetSecret {
    Default,
    Temporary { password: String, hash: String },
    Link { secret: String },
}

impl ResetSecret {
    async fn new(state: &AppState, mode: ResetMode) -> Result<Self> {
        Ok(match mode {
            ResetMode::DefaultPassword => ResetSecret::Default,
            ResetMode::TemporaryPassword => {
                let password = token::random_password();
                let hash = state.hasher.hash(&password).await?;
                ResetSecret::Temporary { password, hash }
            }
            ResetMode::ResetLink => ResetSecret::Link {
                secret: token::generate(),
            },
        })
    }

    fn mode_name(&self) -> &'static str {
        match self {
            ResetSecret::Default => "DEFAULT_PASSWORD",
            ResetSecret::Temporary { .. } => "TEMPORARY_PASSWORD",
            ResetSecret::Link { .. } => "RESET_LINK",
        }
    }

    /// The hash of the link's secret, stored to recognise the link.
    fn link_hash(&self) -> Option<String> {
        match self {
            ResetSecret::Link { secret } => Some(token::hash(secret)),
            _ => None,
        }
    }

    /// The password hash to store, with the settings and, for the default password,
    /// what its setter holds, both read inside the reset's transaction; `None` for a
    /// link, which leaves the old password disabled.
    fn password(
        &self,
        settings: &settings::Settings,
        setter_holds: Option<PermissionSet>,
        role: &Role,
    ) -> Result<Option<String>> {
        match self {
            ResetSecret::Default => {
                let hash = settings
                    .default_password_hash
                    .clone()
                    .ok_or_else(no_default_password)?;
                // Whoever set it must still be active and hold the target's permissions:
                // the default password is a credential for every account reset to it.
                if !setter_holds.is_some_and(|held| held.covers(role.permissions())) {
                    return Err(default_setter_lacks(role));
                }
                Ok(Some(hash))
            }
            ResetSecret::Temporary { hash, .. } => Ok(Some(hash.clone())),
            ResetSecret::Link { .. } => Ok(None),
        }
    }

    /// What the caller is handed, once: the temporary password or the link.
    fn handed_out(self, public_url: &str) -> (Option<String>, Option<String>) {
        match self {
            ResetSecret::Default => (None, None),
            ResetSecret::Temporary { password, .. } => (Some(password), None),
            ResetSecret::Link { secret } => {
                (None, Some(format!("{public_url}/reset-password/{secret}")))
            }
        }
    }
}

fn no_default_password() -> Error {
    Rejection::new(
        ErrorCode::NoDefaultPassword,
        "no default password is configured in the security settings",
    )
    .on(Input::ResetMode)
    .into()
}

fn default_setter_lacks(role: &Role) -> Error {
    let why = format!(
        "the default password was set by someone who does not hold every permission of \
         the role {}; reset with TEMPORARY_PASSWORD or RESET_LINK",
        role.name
    );
    escalation(&why, Input::ResetMode)
}

/// Resets a member's password; every mode ends the old password and every session
/// of the member, kills earlier reset links and requires a change at next sign-in.
/// The write is conditional on the member's version as checked, like the other acts.
/// Needs MEMBERS_RESET_PASSWORD.
pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    mode: ResetMode,
    expected_version: Option<i32>,
) -> Result<ResetOutcome> {
    actor.require(Permission::MembersResetPassword)?;
    retrying!(
        expected_version,
        reset_password_once(state, actor, member_id, mode, expected_version)
    )
}

/// The password hash of member `$id` made unusable, unless it already is: the old
/// password ends when a reset link is handed out, not when the link is used.
macro_rules! disable_password {
    ($c:expr, $id:expr) => {{
        let disabled = crate::auth::password::DISABLED.to_string();
        diesel::update(
            members::table
                .find($id)
                .filter(members::password_hash.not_like(format!("{disabled}%"))),
        )
        .set(members::password_hash.eq(disabled.into_sql::<Text>().concat(members::password_hash)))
        .execute($c)
        .await?
    }};
}

/// Stores `$hash` as member `$id`'s password.
macro_rules! set_hash {
    ($c:expr, $id:expr, $hash:expr) => {
        diesel::update(members::table.find($id))
            .set(members::password_hash.eq($hash))
            .execute($c)
            .await?
    };
}

fn reset_event(member: &Member, secret: &ResetSecret) -> Event {
    Event::member(
        AuditAction::MemberPasswordReset,
        member.id,
        json!({ "mode": secret.mode_name() }),
    )
    .changed_secret("password")
    .changed(
        "mustChangePassword",
        Some(member.must_change_password),
        Some(true),
    )
}

async fn reset_password_once(
    state: &AppState,
    actor: &Actor,
    member_id: i64,
    mode: ResetMode,
    expected_version: Option<i32>,
) -> Result<ResetOutcome> {
    let mut conn = state.pool.get().await?;
    let read_at = state.clock.now();
    let (member, role) = target(&mut conn, actor, member_id, expected_version, read_at).await?;
    // Not held while hashing, which takes long.
    drop(conn);
    let secret = ResetSecret::new(state, mode).await?;
    let now = state.clock.now();
    let link_hash = secret.link_hash();
    let link_expires = link_hash
        .as_ref()
        .map(|_| now + chrono::Duration::hours(RESET_LINK_VALID_HOURS));
    let event = reset_event(&member, &secret);
    let updated = transaction!(&mut state.pool.get().await?, |c| {
        let settings = settings_table::table
            .find(1)
            .select(settings::Settings::as_select())
            .first::<settings::Settings>(c)
            .await?;
        let setter_holds = match (&secret, settings.default_password_set_by) {
            (ResetSecret::Default, Some(setter)) => roles::held_by!(c, setter),
            _ => None,
        };
        let password = secret.password(&settings, setter_holds, &role)?;
        let valid = chrono::Duration::hours(i64::from(settings.reset_password_valid_hours));
        let changes = (
            members::password_expires_at.eq(password.as_ref().map(|_| now + valid)),
            members::must_change_password.eq(true),
            members::reset_token_hash.eq(link_hash.clone()),
            members::reset_expires_at.eq(link_expires),
        );
        let updated = update_member!(c, member, now, changes);
        match password {
            Some(hash) => set_hash!(c, member.id, hash),
            None => disable_password!(c, member.id),
        };
        diesel::delete(sessions::table.filter(sessions::member_id.eq(member.id)))
            .execute(c)
            .await?;
        audit::insert(&actor.origin, event, now).execute(c).await?;
        Ok::<_, Error>(updated)
    })?;
    let (temporary_password, reset_link) = secret.handed_out(&state.public_url);
    Ok(ResetOutcome {
        member: updated,
        temporary_password,
        reset_link,
    })
}
