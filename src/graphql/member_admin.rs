//! Member mutations: editPermission, freeze, recover, removeMember, resetPassword.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use crate::domain::member_admin::{self, Outcome, ResetMode};
use crate::graphql::access::{actor, state};
use crate::graphql::errors::{UserError, split};
use crate::graphql::ids::domain_id;
use crate::graphql::member::MemberNode;
use crate::graphql::scalars::DateTime;

/// The outcome of an act on a member.
#[derive(SimpleObject)]
pub struct MemberPayload {
    /// The member as it is now; null when refused.
    pub member: Option<MemberNode>,
    /// False when the member already was as asked (or the act was refused).
    pub changed: bool,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

fn member_payload(
    ctx: &Context<'_>,
    result: crate::error::Result<Outcome>,
) -> Result<MemberPayload> {
    let (outcome, errors) = split(result)?;
    let changed = outcome.as_ref().is_some_and(|o| o.changed);
    Ok(MemberPayload {
        member: outcome.and_then(|o| MemberNode::reached(ctx, Some(o.member))),
        changed,
        errors,
    })
}

/// How `resetPassword` resets.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "PasswordResetMode",
    remote = "crate::domain::member_admin::ResetMode"
)]
pub enum PasswordResetMode {
    /// To the default password from the security settings.
    DefaultPassword,
    /// To a random password, returned once in the payload.
    TemporaryPassword,
    /// A single-use link valid for one hour, returned once; `completePasswordReset` consumes it.
    ResetLink,
}

/// The outcome of a password reset. The secret is shown only here.
#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// The member after the reset; null when refused.
    pub member: Option<MemberNode>,
    /// The temporary password (TEMPORARY_PASSWORD).
    pub temporary_password: Option<String>,
    /// The reset link (RESET_LINK).
    pub reset_link: Option<String>,
    /// Why it was refused; empty on success.
    pub errors: Vec<UserError>,
}

/// Acts on members.
#[derive(Default)]
pub struct MemberAdminMutation;

#[Object]
impl MemberAdminMutation {
    /// Moves a member to another role, effective on their next request. Needs
    /// MEMBERS_EDIT_PERMISSION and every permission of both roles.
    async fn edit_permission(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        role_id: ID,
        expected_version: Option<i32>,
    ) -> Result<MemberPayload> {
        let actor = actor(ctx)?;
        let result = member_admin::edit_permission(
            state(ctx),
            &actor,
            domain_id(&member_id),
            domain_id(&role_id),
            expected_version,
        )
        .await;
        member_payload(ctx, result)
    }

    /// Freezes a member: they cannot sign in, every session of theirs ends now and their
    /// pending invitations are revoked. Needs MEMBERS_FREEZE. With `until` (later than
    /// now, at most 366 days ahead) the freeze ends by itself at that instant; freezing
    /// a frozen member again replaces it.
    async fn freeze(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
        until: Option<DateTime>,
    ) -> Result<MemberPayload> {
        let actor = actor(ctx)?;
        let result = member_admin::freeze(
            state(ctx),
            &actor,
            domain_id(&member_id),
            reason.as_deref(),
            until.map(DateTime::stored),
            expected_version,
        )
        .await;
        member_payload(ctx, result)
    }

    /// Lets a frozen member sign in again (old sessions stay ended). Needs MEMBERS_FREEZE.
    async fn recover(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        expected_version: Option<i32>,
    ) -> Result<MemberPayload> {
        let actor = actor(ctx)?;
        member_payload(
            ctx,
            member_admin::recover(state(ctx), &actor, domain_id(&member_id), expected_version)
                .await,
        )
    }

    /// Removes a member for good. In one transaction: status REMOVED, every session
    /// ended, reset links and their pending invitations revoked, the password unusable,
    /// and their email and name erased from the member, the invitations and every audit
    /// event (audit events still point at the member). The email can be invited again.
    /// Needs MEMBERS_REMOVE; every later act on the member is `NOT_FOUND`.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> Result<MemberPayload> {
        let actor = actor(ctx)?;
        let result = member_admin::remove(
            state(ctx),
            &actor,
            domain_id(&member_id),
            reason.as_deref(),
            expected_version,
        )
        .await;
        member_payload(ctx, result)
    }

    /// Resets a member's password: the old one stops working at once, every session
    /// of theirs ends, and they must choose a new one at the next sign-in. Needs
    /// MEMBERS_RESET_PASSWORD. DEFAULT_PASSWORD applies only while whoever last set
    /// the default password holds every permission of the member's role.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        #[graphql(default_with = "Some(PasswordResetMode::DefaultPassword)")] mode: Option<
            PasswordResetMode,
        >,
        expected_version: Option<i32>,
    ) -> Result<ResetPasswordPayload> {
        let actor = actor(ctx)?;
        let mode: ResetMode = mode.unwrap_or(PasswordResetMode::DefaultPassword).into();
        let member_id = domain_id(&member_id);
        let result =
            member_admin::reset_password(state(ctx), &actor, member_id, mode, expected_version);
        let (outcome, errors) = split(result.await)?;
        Ok(match outcome {
            Some(o) => ResetPasswordPayload {
                member: MemberNode::reached(ctx, Some(o.member)),
                temporary_password: o.temporary_password,
                reset_link: o.reset_link,
                errors,
            },
            None => ResetPasswordPayload {
                member: None,
                temporary_password: None,
                reset_link: None,
                errors,
            },
        })
    }
}
