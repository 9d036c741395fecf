//! inviteMany: one invitation per email, each bound to its address, each row succeeding
//! or failing on its own.

use crate::domain::invitations::{self, InvitationView};
use crate::domain::roles as role_rows;
use crate::domain::{Actor, AppState, Permission, validate};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

/// The most emails one call takes.
pub const INVITE_MAX: usize = 100;

/// One row of inviteMany: the invitation and its link (shown once), or why not.
pub type Row = Result<(InvitationView, String)>;

/// Invites every email of `emails` (1 to [`INVITE_MAX`]) with `role_id`, valid for
/// `validity_days`; rows in input order. A malformed address, one given twice (the
/// later rows) or one that is a member's fails on its row only. Needs MEMBERS_INVITE and
/// every permission of the role; a role that cannot be granted refuses the whole call.
pub async fn invite_many(
    state: &AppState,
    actor: &Actor,
    role_id: i64,
    validity_days: i32,
    emails: &[String],
) -> Result<Vec<Row>> {
    actor.require(Permission::MembersInvite)?;
    if emails.is_empty() || emails.len() > INVITE_MAX {
        let why = format!("give 1 to {INVITE_MAX} emails");
        return Err(Rejection::new(ErrorCode::InvalidInput, why)
            .on(Input::Emails)
            .into());
    }
    let role =
        role_rows::require(&mut state.pool.get().await?, role_id, Input::GrantedRole).await?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(invitations::escalation(Input::GrantedRole));
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(emails.len());
    for email in emails {
        if !seen.insert(validate::key(email.trim())) {
            let twice = Rejection::new(ErrorCode::InvalidInput, "this email is given twice");
            rows.push(Err(Error::from(twice.on(Input::Email))));
            continue;
        }
        match invitations::invite(state, actor, role.id, validity_days, Some(email)).await {
            Err(e) if !matches!(e, Error::Rejected(_)) => return Err(e),
            row => rows.push(row),
        }
    }
    Ok(rows)
}
