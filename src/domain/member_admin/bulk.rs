//! Bulk acts: freeze, recover or edit the permission of up to 100 members in one call,
//! with a result per member in input order, each member through the rules and the
//! write of its single act.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDateTime;

use super::*;

/// The most members one bulk act takes.
pub const BULK_MAX: usize = 100;

/// What a bulk act does to each member.
pub enum BulkAct<'a> {
    /// Freeze, with an optional reason and end.
    Freeze {
        /// Why.
        reason: Option<&'a str>,
        /// When the freeze ends by itself.
        until: Option<NaiveDateTime>,
    },
    /// Recover.
    Recover,
    /// Move to this role.
    EditPermission {
        /// The role granted.
        role_id: i64,
    },
}

/// What happens when a member fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkPolicy {
    /// Each member succeeds or fails alone.
    PerMember,
    /// One failure and nothing changes.
    AllOrNothing,
}

/// The outcome for one member.
pub struct BulkResult {
    /// The member's id as given.
    pub member_id: i64,
    /// The member as they are now, when they exist.
    pub member: Option<Member>,
    /// Whether the act changed them (false for all when an all-or-nothing call failed).
    pub changed: bool,
    /// Why the act failed for them.
    pub error: Option<Error>,
}

impl BulkResult {
    fn unchanged(member_id: i64, member: Option<Member>) -> Self {
        BulkResult {
            member_id,
            member,
            changed: false,
            error: None,
        }
    }

    fn failed(member_id: i64, member: Option<Member>, error: Error) -> Self {
        BulkResult {
            member_id,
            member,
            changed: false,
            error: Some(error),
        }
    }
}

/// Whether `e` is a refusal for one member rather than a fault of the call.
fn refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::Rejected(_) | Error::Forbidden(_) | Error::NotCovered
    )
}

/// Does `act` to every member of `ids` (1 to [`BULK_MAX`] distinct ids, else
/// `INVALID_INPUT` on the ids and nothing changes), by `policy`; one audit event per
/// changed member. Needs the permission of the single act.
pub async fn bulk(
    state: &AppState,
    actor: &Actor,
    act: BulkAct<'_>,
    ids: &[i64],
    policy: BulkPolicy,
) -> Result<Vec<BulkResult>> {
    let permission = match act {
        BulkAct::Freeze { .. } | BulkAct::Recover => Permission::MembersFreeze,
        BulkAct::EditPermission { .. } => Permission::MembersEditPermission,
    };
    actor.require(permission)?;
    check_ids(ids)?;
    match act {
        BulkAct::Freeze { reason, until } => {
            let reason = freeze_reason(reason)?;
            let decide =
                |m: &Member, r: &Role, now| freeze_change(m, r, now, until, reason.as_ref());
            run(state, actor, ids, policy, &decide).await
        }
        BulkAct::Recover => {
            let decide = |m: &Member, _: &Role, _| recover_change(m);
            run(state, actor, ids, policy, &decide).await
        }
        BulkAct::EditPermission { role_id } => {
            let new_role = roles::find(&mut state.pool.get().await?, role_id).await?;
            let decide = |m: &Member, old: &Role, _| edit_change(actor, m, old, new_role.as_ref());
            run(state, actor, ids, policy, &decide).await
        }
    }
}

fn check_ids(ids: &[i64]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    let why = if ids.is_empty() || ids.len() > BULK_MAX {
        format!("give 1 to {BULK_MAX} members")
    } else if !ids.iter().all(|id| seen.insert(*id)) {
        "each member may be given once".to_owned()
    } else {
        return Ok(());
    };
    Err(Rejection::new(ErrorCode::InvalidInput, why)
        .on(Input::MemberIds)
        .into())
}

async fn run<F>(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
    policy: BulkPolicy,
    decide: &F,
) -> Result<Vec<BulkResult>>
where
    F: Fn(&Member, &Role, NaiveDateTime) -> Result<Option<Change>>,
{
    match policy {
        BulkPolicy::PerMember => {
            let mut results = Vec::with_capacity(ids.len());
            for &id in ids {
                results.push(match act(state, actor, id, None, decide).await {
                    Ok(o) => BulkResult {
                        member_id: id,
                        member: Some(o.member),
                        changed: o.changed,
                        error: None,
                    },
                    Err(e) if refusal(&e) => {
                        let member = member_rows::find(&mut state.pool.get().await?, id).await?;
                        BulkResult::failed(id, member, e)
                    }
                    Err(e) => return Err(e),
                });
            }
            Ok(results)
        }
        BulkPolicy::AllOrNothing => {
            retrying!(None::<i32>, all_or_nothing(state, actor, ids, decide))
        }
    }
}

/// Each member's change, or the refusal of it; a fault ends the call.
type Plan = Result<(Member, Option<Change>)>;

/// The roles the plans grant (shared) and, when a member leaves it, the administrator
/// role (locked): taken before the members' rows (db::RowLocks), as apply! takes them
/// again member by member.
fn roles_to_lock(plans: &[(Member, Option<Change>)]) -> (Vec<i64>, Vec<i64>) {
    let changes = || plans.iter().filter_map(|(_, change)| change.as_ref());
    let granted = changes().filter_map(|c| c.grants).collect();
    let admin_role = changes()
        .filter_map(|c| c.leaves_admin_role)
        .take(1)
        .collect();
    (granted, admin_role)
}

/// Every member's change read and decided first; any refusal and nothing is written;
/// else one transaction writes them all, and a refusal inside it (the last
/// administrator) undoes every one.
async fn all_or_nothing<F>(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
    decide: &F,
) -> Result<Vec<BulkResult>>
where
    F: Fn(&Member, &Role, NaiveDateTime) -> Result<Option<Change>>,
{
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let plans = plan_each(&mut conn, actor, ids, decide, now).await?;
    if plans.iter().any(Result::is_err) {
        return refused(&mut conn, ids, plans).await;
    }
    let plans: Vec<(Member, Option<Change>)> = plans.into_iter().collect::<Result<_>>()?;
    // The members as read: what a call undone inside its transaction shows.
    let read: Vec<Member> = plans.iter().map(|(member, _)| member.clone()).collect();
    let (granted, admin_role) = roles_to_lock(&plans);
    // Which member was being written when the transaction failed.
    let failing = AtomicUsize::new(usize::MAX);
    let changed: Vec<i64> = plans
        .iter()
        .filter(|(_, change)| change.is_some())
        .map(|(member, _)| member.id)
        .collect();
    let written = transaction!(&mut conn, |c| {
        c.share_roles(&granted).await?;
        c.lock_roles(&admin_role).await?;
        c.lock_members(&changed).await?;
        let mut after = Vec::with_capacity(plans.len());
        for (i, (member, change)) in plans.into_iter().enumerate() {
            failing.store(i, Ordering::Relaxed);
            after.push(match change {
                Some(change) => (apply!(c, actor, member, change, now), true),
                None => (member, false),
            });
        }
        Ok::<_, Error>(after)
    });
    match written {
        Ok(after) => Ok(ids
            .iter()
            .zip(after)
            .map(|(&id, (member, changed))| BulkResult {
                member_id: id,
                member: Some(member),
                changed,
                error: None,
            })
            .collect()),
        Err(e) if refusal(&e) && !is_stale(&e) => Ok(undone(ids, read, failing.into_inner(), e)),
        Err(e) => Err(e),
    }
}

async fn plan_each<F>(
    conn: &mut Conn,
    actor: &Actor,
    ids: &[i64],
    decide: &F,
    now: NaiveDateTime,
) -> Result<Vec<Plan>>
where
    F: Fn(&Member, &Role, NaiveDateTime) -> Result<Option<Change>>,
{
    let mut plans = Vec::with_capacity(ids.len());
    for &id in ids {
        let plan = match target(conn, actor, id, None, now).await {
            Ok((member, role)) => decide(&member, &role, now).map(|change| (member, change)),
            Err(e) => Err(e),
        };
        match plan {
            Err(e) if !refusal(&e) => return Err(e),
            plan => plans.push(plan),
        }
    }
    Ok(plans)
}

/// The results of a call some member's plan refused: nothing was written.
async fn refused(conn: &mut Conn, ids: &[i64], plans: Vec<Plan>) -> Result<Vec<BulkResult>> {
    let mut results = Vec::with_capacity(ids.len());
    for (&id, plan) in ids.iter().zip(plans) {
        results.push(match plan {
            Ok((member, _)) => BulkResult::unchanged(id, Some(member)),
            Err(e) => BulkResult::failed(id, member_rows::find(conn, id).await?, e),
        });
    }
    Ok(results)
}

/// The results of a call whose transaction the write of member `failed` undid.
fn undone(ids: &[i64], read: Vec<Member>, failed: usize, e: Error) -> Vec<BulkResult> {
    let mut error = Some(e);
    ids.iter()
        .zip(read)
        .enumerate()
        .map(|(i, (&id, member))| match error.take_if(|_| i == failed) {
            Some(e) => BulkResult::failed(id, Some(member), e),
            None => BulkResult::unchanged(id, Some(member)),
        })
        .collect()
}
