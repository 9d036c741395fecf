//! Bulk acts on members and inviteMany: a result per member or email, in input order.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use crate::domain::invite_many;
use crate::domain::member_admin::{self, BulkAct, BulkResult};
use crate::graphql::access::{actor, state};
use crate::graphql::errors::{UserError, split, user_error};
use crate::graphql::ids::domain_id;
use crate::graphql::invitation::{InvitationNode, InvitationValidity};
use crate::graphql::member::MemberNode;
use crate::graphql::scalars::DateTime;

/// What happens when the act fails for one member.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::member_admin::BulkPolicy")]
pub enum BulkPolicy {
    /// Each member succeeds or fails alone (the default).
    PerMember,
    /// One failure and nothing changes.
    AllOrNothing,
}

/// The outcome for one member of a bulk act.
#[derive(SimpleObject)]
pub struct BulkMemberResult {
    /// The member's id as given.
    pub member_id: ID,
    /// The member as they are now; null when the id names nobody visible.
    pub member: Option<MemberNode>,
    /// Whether the act changed them; false for every member when an ALL_OR_NOTHING
    /// call failed.
    pub changed: bool,
    /// Why the act failed for this member.
    pub errors: Vec<UserError>,
}

/// The outcome of a bulk act.
#[derive(SimpleObject)]
pub struct BulkMemberPayload {
    /// One per given member, in the order given.
    pub results: Vec<BulkMemberResult>,
    /// Members the act succeeded for (changed or already as asked); 0 when an
    /// ALL_OR_NOTHING call failed.
    pub succeeded: i32,
    /// Members it failed for.
    pub failed: i32,
    /// Why the whole call was refused (the ids); nothing changed then.
    pub errors: Vec<UserError>,
}

/// One row of inviteMany.
#[derive(SimpleObject)]
pub struct InviteManyResult {
    /// The email as given.
    pub email: String,
    /// The invitation, bound to this email; null when this row failed.
    pub invitation: Option<InvitationNode>,
    /// The link for this invitee; shown only here.
    pub link: Option<String>,
    /// Why this row failed.
    pub errors: Vec<UserError>,
}

/// The outcome of inviteMany.
#[derive(SimpleObject)]
pub struct InviteManyPayload {
    /// One per given email, in the order given.
    pub results: Vec<InviteManyResult>,
    /// Why the whole call was refused (the emails, the role); nothing changed then.
    pub errors: Vec<UserError>,
}

fn bulk_payload(
    ctx: &Context<'_>,
    policy: BulkPolicy,
    result: crate::error::Result<Vec<BulkResult>>,
) -> Result<BulkMemberPayload> {
    let (rows, errors) = split(result)?;
    let mut results = Vec::new();
    for row in rows.unwrap_or_default() {
        results.push(BulkMemberResult {
            member_id: ID(row.member_id.to_string()),
            member: MemberNode::reached(ctx, row.member),
            changed: row.changed,
            errors: row.error.map(user_error).transpose()?.into_iter().collect(),
        });
    }
    let failed = results.iter().filter(|r| !r.errors.is_empty()).count();
    let succeeded = match (policy, failed) {
        // An all-or-nothing call that failed did nothing for anyone.
        (BulkPolicy::AllOrNothing, 1..) => 0,
        _ => results.len() - failed,
    };
    Ok(BulkMemberPayload {
        succeeded: i32::try_from(succeeded).unwrap_or(i32::MAX),
        failed: i32::try_from(failed).unwrap_or(i32::MAX),
        results,
        errors,
    })
}

/// Runs a bulk act for the request's actor.
async fn run(
    ctx: &Context<'_>,
    act: BulkAct<'_>,
    member_ids: &[ID],
    policy: Option<BulkPolicy>,
) -> Result<BulkMemberPayload> {
    let policy = policy.unwrap_or(BulkPolicy::PerMember);
    let actor = actor(ctx)?;
    let ids: Vec<i64> = member_ids.iter().map(domain_id).collect();
    let result = member_admin::bulk(state(ctx), &actor, act, &ids, policy.into()).await;
    bulk_payload(ctx, policy, result)
}

/// Bulk acts.
#[derive(Default)]
pub struct BulkMutation;

#[Object]
impl BulkMutation {
    /// Freezes 1 to 100 members, each as `freeze` would (with the same reason and
    /// end). Needs MEMBERS_FREEZE.
    async fn bulk_freeze(
        &self,
        ctx: &Context<'_>,
        member_ids: Vec<ID>,
        reason: Option<String>,
        until: Option<DateTime>,
        #[graphql(default_with = "Some(BulkPolicy::PerMember)")] policy: Option<BulkPolicy>,
    ) -> Result<BulkMemberPayload> {
        let act = BulkAct::Freeze {
            reason: reason.as_deref(),
            until: until.map(DateTime::stored),
        };
        run(ctx, act, &member_ids, policy).await
    }

    /// Recovers 1 to 100 members. Needs MEMBERS_FREEZE.
    async fn bulk_recover(
        &self,
        ctx: &Context<'_>,
        member_ids: Vec<ID>,
        #[graphql(default_with = "Some(BulkPolicy::PerMember)")] policy: Option<BulkPolicy>,
    ) -> Result<BulkMemberPayload> {
        run(ctx, BulkAct::Recover, &member_ids, policy).await
    }

    /// Moves 1 to 100 members to a role. Needs MEMBERS_EDIT_PERMISSION.
    async fn bulk_edit_permission(
        &self,
        ctx: &Context<'_>,
        member_ids: Vec<ID>,
        role_id: ID,
        #[graphql(default_with = "Some(BulkPolicy::PerMember)")] policy: Option<BulkPolicy>,
    ) -> Result<BulkMemberPayload> {
        let act = BulkAct::EditPermission {
            role_id: domain_id(&role_id),
        };
        run(ctx, act, &member_ids, policy).await
    }

    /// Invites 1 to 100 emails with one role, each invitation bound to its address and
    /// its link shown once, in its row; a malformed, repeated or already-member address
    /// fails on its row only. Needs MEMBERS_INVITE.
    async fn invite_many(
        &self,
        ctx: &Context<'_>,
        role_id: ID,
        validity: InvitationValidity,
        emails: Vec<String>,
    ) -> Result<InviteManyPayload> {
        let actor = actor(ctx)?;
        let role_id = domain_id(&role_id);
        let result =
            invite_many::invite_many(state(ctx), &actor, role_id, validity.days(), &emails);
        let (rows, errors) = split(result.await)?;
        let mut results = Vec::new();
        for (email, row) in emails.into_iter().zip(rows.unwrap_or_default()) {
            results.push(match row {
                Ok((invitation, link)) => InviteManyResult {
                    email,
                    invitation: Some(InvitationNode(invitation)),
                    link: Some(link),
                    errors: Vec::new(),
                },
                Err(e) => InviteManyResult {
                    email,
                    invitation: None,
                    link: None,
                    errors: vec![user_error(e)?],
                },
            });
        }
        Ok(InviteManyPayload { results, errors })
    }
}
