//! Security settings.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::domain::settings::{self, Settings, SettingsChanges};
use crate::graphql::access::{actor, state};
use crate::graphql::errors::{UserError, split};
use crate::graphql::scalars::DateTime;

/// Password and session policy.
pub struct SecuritySettingsNode(pub Settings);

/// Password and session policy.
#[Object(name = "SecuritySettings")]
impl SecuritySettingsNode {
    /// The one settings object's id, always the same: a normalized client cache
    /// (Apollo's, urql's Graphcache) then updates its copy after `updateSecuritySettings`.
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID::from("security-settings")
    }
    /// Whether a default password is set; the password itself is never readable.
    async fn default_password_configured(&self) -> bool {
        self.0.default_password_hash.is_some()
    }
    /// Shortest password accepted.
    async fn password_min_length(&self) -> i32 {
        self.0.password_min_length
    }
    /// How long a session lasts, in minutes.
    async fn session_ttl_minutes(&self) -> i32 {
        self.0.session_ttl_minutes
    }
    /// How long a password set by a reset (default or temporary) signs in, in hours.
    async fn reset_password_valid_hours(&self) -> i32 {
        self.0.reset_password_valid_hours
    }
    /// Audit events older than this many days are deleted by a periodic sweep; null
    /// keeps them for ever.
    async fn audit_retention_days(&self) -> Option<i32> {
        self.0.audit_retention_days
    }
    /// When the settings last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// Changes to the security settings; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSecuritySettingsInput {
    /// A new default password (stored only as a hash), at least the minimum length.
    pub default_password: Option<String>,
    /// Shortest password accepted, 8 to 128.
    pub password_min_length: Option<i32>,
    /// Session lifetime in minutes, 5 to 43200 (30 days); applies to new sessions.
    pub session_ttl_minutes: Option<i32>,
    /// How long a password set by a reset signs in, 1 to 720 hours.
    pub reset_password_valid_hours: Option<i32>,
    /// Keep audit events this many days, 1 to 3650; null keeps them for ever.
    pub audit_retention_days: MaybeUndefined<i32>,
}

/// The outcome of changing the security settings.
#[derive(SimpleObject)]
pub struct SecuritySettingsPayload {
    /// The settings as they are now; null when refused.
    pub security_settings: Option<SecuritySettingsNode>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

/// Security settings queries.
#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The security settings. Needs SECURITY_SETTINGS_MANAGE.
    async fn security_settings(&self, ctx: &Context<'_>) -> Result<SecuritySettingsNode> {
        let settings = settings::view(state(ctx), &actor(ctx)?).await?;
        Ok(SecuritySettingsNode(settings))
    }
}

/// Security settings changes.
#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes the security settings. Needs SECURITY_SETTINGS_MANAGE.
    async fn update_security_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateSecuritySettingsInput,
    ) -> Result<SecuritySettingsPayload> {
        let changes = SettingsChanges {
            default_password: input.default_password,
            password_min_length: input.password_min_length,
            session_ttl_minutes: input.session_ttl_minutes,
            reset_password_valid_hours: input.reset_password_valid_hours,
            audit_retention_days: match input.audit_retention_days {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(days) => Some(Some(days)),
            },
        };
        let result = settings::update(state(ctx), &actor(ctx)?, changes).await;
        let (settings, errors) = split(result)?;
        Ok(SecuritySettingsPayload {
            security_settings: settings.map(SecuritySettingsNode),
            errors,
        })
    }
}
