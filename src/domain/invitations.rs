//! Invitations: single-use links that let a new member sign up with a given role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::Conn;
use crate::db::MemberWriteLock;
use crate::db::schema::{invitations, members, roles, sessions};
use crate::db::{transaction, with_conn};
use crate::domain::AppState;
use crate::domain::audit::{self, AuditAction, Event, Origin};
use crate::domain::members::{self as member_rows, Member, NewMember};
use crate::domain::roles::Role;
use crate::domain::roles::{held_by, locked};
use crate::domain::sessions::NewSession;
use crate::domain::signin::IssuedSession;
use crate::domain::{Actor, settings, throttle, validate};
use crate::error::{Error, ErrorCode, Rejection, Result};

/// Where an invitation stands; EXPIRED is derived from `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Can be accepted.
    Pending,
    /// Used: the member exists.
    Accepted,
    /// Not used in time.
    Expired,
    /// Withdrawn by an administrator (or its creator was frozen).
    Revoked,
}

/// An invitation as stored.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Its id.
    pub id: i64,
    /// The role the new member gets.
    pub role_id: i64,
    /// The only address that may accept, if bound.
    pub email: Option<String>,
    /// Stored status: PENDING, ACCEPTED or REVOKED.
    pub status: String,
    /// Validity chosen at creation, reused by a reissue.
    pub validity_days: i32,
    /// When the link stops working.
    pub expires_at: NaiveDateTime,
    /// Who invited.
    pub created_by: i64,
    /// When.
    pub created_at: NaiveDateTime,
    /// The member created by accepting it.
    pub accepted_by: Option<i64>,
    /// When it was accepted.
    pub accepted_at: Option<NaiveDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Who issued the current link: the creator, or whoever reissued it last.
    pub issued_by: Option<i64>,
}

impl Invitation {
    /// Who issued the link in use: the link works only while they may grant its role,
    /// and they become the new member's inviter.
    pub fn issuer(&self) -> i64 {
        self.issued_by.unwrap_or(self.created_by)
    }

    /// The status as of `now`.
    pub fn status(&self, now: NaiveDateTime) -> InvitationStatus {
        match self.status.as_str() {
            "ACCEPTED" => InvitationStatus::Accepted,
            "REVOKED" => InvitationStatus::Revoked,
            _ if self.expires_at <= now => InvitationStatus::Expired,
            _ => InvitationStatus::Pending,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = invitations)]
struct NewInvitation<'a> {
    token_hash: &'a str,
    role_id: i64,
    email: Option<&'a str>,
    email_key: Option<String>,
    status: &'a str,
    validity_days: i32,
    expires_at: NaiveDateTime,
    created_by: i64,
    created_at: NaiveDateTime,
    issued_by: Option<i64>,
}

fn link(state: &AppState, secret: &str) -> String {
    format!("{}/invite/{secret}", state.public_url)
}

fn token_invalid() -> Error {
    Rejection::new(
        ErrorCode::TokenInvalid,
        "this invitation link is invalid, expired or already used",
    )
    .on(&["token"])
    .into()
}

fn not_pending() -> Error {
    Rejection::new(
        ErrorCode::InvitationNotPending,
        "this invitation was already accepted or revoked",
    )
    .on(&["id"])
    .into()
}

fn escalation(field: &str) -> Error {
    Rejection::new(
        ErrorCode::PrivilegeEscalation,
        "you can only invite to a role whose permissions you hold",
    )
    .on(&[field])
    .into()
}

/// Creates a pending invitation valid for `validity_days`; returns it and its link
/// (the only time the link is shown).
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    role_id: Option<i64>,
    validity_days: i32,
    email: Option<&str>,
) -> Result<(Invitation, String)> {
    let mut conn = state.pool.get().await?;
    let role = crate::domain::roles::require(&mut conn, role_id, "roleId").await?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(escalation("roleId"));
    }
    let email = email
        .map(|e| validate::email(e).map_err(|r| r.on(&["email"])))
        .transpose()?;
    if let Some(email) = &email
        && member_rows::find_by_email(&mut conn, email)
            .await?
            .is_some()
    {
        return Err(email_taken());
    }
    let (now, secret) = (state.clock.now(), token::generate());
    let new = NewInvitation {
        token_hash: &token::hash(&secret),
        role_id: role.id,
        email: email.as_deref(),
        email_key: email.as_deref().map(validate::key),
        status: "PENDING",
        validity_days,
        expires_at: now + chrono::Duration::days(i64::from(validity_days)),
        created_by: actor.member_id,
        created_at: now,
        issued_by: Some(actor.member_id),
    };
    let invitation = transaction!(&mut conn, |c| {
        // A role deleted since it was read is not found, instead of failing the insert.
        c.lock_member_writes().await?;
        locked!(c, role.id, "roleId");
        let invitation = diesel::insert_into(invitations::table)
            .values(&new)
            .returning(Invitation::as_returning())
            .get_result(c)
            .await?;
        let details = json!({ "invitationId": invitation.id.to_string(), "roleName": role.name, "email": email, "validityDays": validity_days });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::MemberInvited, role.id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(invitation)
    })?;
    Ok((invitation, link(state, &secret)))
}

/// One invitation by id.
pub async fn find(conn: &mut Conn, id: i64) -> Result<Option<Invitation>> {
    Ok(with_conn!(conn, |c| invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(c)
        .await
        .optional())?)
}

macro_rules! status_filtered {
    ($query:expr, $status:expr, $now:expr) => {{
        let mut q = $query;
        match $status {
            None => {}
            Some(InvitationStatus::Pending) => {
                q = q
                    .filter(invitations::status.eq("PENDING"))
                    .filter(invitations::expires_at.gt($now));
            }
            Some(InvitationStatus::Expired) => {
                q = q
                    .filter(invitations::status.eq("PENDING"))
                    .filter(invitations::expires_at.le($now));
            }
            Some(InvitationStatus::Accepted) => q = q.filter(invitations::status.eq("ACCEPTED")),
            Some(InvitationStatus::Revoked) => q = q.filter(invitations::status.eq("REVOKED")),
        }
        q
    }};
}

/// A page of invitations, newest first, after the invitation `after`.
pub async fn page(
    conn: &mut Conn,
    status: Option<InvitationStatus>,
    after: Option<i64>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<Invitation>> {
    Ok(with_conn!(conn, |c| {
        let mut q = status_filtered!(
            invitations::table
                .select(Invitation::as_select())
                .into_boxed(),
            status,
            now
        );
        if let Some(after) = after {
            q = q.filter(invitations::id.lt(after));
        }
        q.order(invitations::id.desc()).limit(limit).load(c).await
    })?)
}

/// How many invitations have this status.
pub async fn count(
    conn: &mut Conn,
    status: Option<InvitationStatus>,
    now: NaiveDateTime,
) -> Result<i64> {
    Ok(with_conn!(conn, |c| status_filtered!(
        invitations::table.count().into_boxed(),
        status,
        now
    )
    .get_result(c)
    .await)?)
}

/// The invitation behind `secret` and its role, if it can be accepted now: pending,
/// unexpired, and issued by a member who is still active and holds every permission
/// of its role. [`accept`] checks the same again inside its transaction.
pub async fn acceptable(
    conn: &mut Conn,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Option<(Invitation, Role)>> {
    let hash = token::hash(secret);
    with_conn!(conn, |c| {
        let found: Option<(Invitation, Role)> = invitations::table
            .inner_join(roles::table)
            .filter(invitations::token_hash.eq(&hash))
            .filter(invitations::status.eq("PENDING"))
            .filter(invitations::expires_at.gt(now))
            .select((Invitation::as_select(), Role::as_select()))
            .first(c)
            .await
            .optional()?;
        let Some((invitation, role)) = found else {
            return Ok(None);
        };
        let held = held_by!(c, invitation.issuer());
        let may = held.is_some_and(|held| held.covers(role.permissions()));
        Ok::<_, Error>(may.then_some((invitation, role)))
    })
}

/// [`acceptable`], counted against the caller's address: a token that turns out valid
/// gives its attempt back, so only guesses use up the allowance.
pub async fn guarded(
    conn: &mut Conn,
    secret: &str,
    origin: &Origin,
    now: NaiveDateTime,
) -> Result<Option<(Invitation, Role)>> {
    let key = throttle::token_key(origin.ip.as_deref());
    throttle::reserve(conn, &key, throttle::TOKENS, now).await?;
    let found = acceptable(conn, secret, now).await?;
    if found.is_some() {
        throttle::refund(conn, &key).await?;
    }
    Ok(found)
}

fn email_taken() -> Error {
    Rejection::new(
        ErrorCode::NameTaken,
        "a member with this email exists already",
    )
    .on(&["email"])
    .into()
}

/// What someone signing up through an invitation enters.
pub struct SignUp<'a> {
    /// The secret from the link.
    pub token: &'a str,
    /// Their email.
    pub email: &'a str,
    /// Their name.
    pub name: &'a str,
    /// Their password.
    pub password: &'a str,
}

/// Marks the claim's invitation accepted if its link is still the pending one;
/// `TOKEN_INVALID` otherwise.
macro_rules! claim_invitation {
    ($c:expr, $claim:expr) => {
        diesel::update(
            invitations::table
                .find($claim.invitation_id)
                .filter(invitations::token_hash.eq(&$claim.token_hash))
                .filter(invitations::status.eq("PENDING"))
                .filter(invitations::expires_at.gt($claim.now)),
        )
        .set((
            invitations::status.eq("ACCEPTED"),
            invitations::accepted_at.eq(Some($claim.now)),
        ))
        .returning(Invitation::as_returning())
        .get_result::<Invitation>($c)
        .await
        .optional()?
        .ok_or_else(token_invalid)?
    };
}

/// Creates the member an invitation asks for and signs them in; the link works once,
/// even when many requests use it at the same moment, and only while its issuer may
/// still grant its role.
pub async fn accept(state: &AppState, input: SignUp<'_>, origin: &Origin) -> Result<IssuedSession> {
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let key = throttle::token_key(origin.ip.as_deref());
    throttle::reserve(&mut conn, &key, throttle::TOKENS, now).await?;
    let (invitation, _) = acceptable(&mut conn, input.token, now)
        .await?
        .ok_or_else(token_invalid)?;
    let email = validate::email(input.email).map_err(|r| r.on(&["email"]))?;
    if invitation
        .email
        .as_deref()
        .is_some_and(|bound| validate::key(bound) != validate::key(&email))
    {
        return Err(Rejection::new(
            ErrorCode::InvalidInput,
            "this invitation is for another email address",
        )
        .on(&["email"])
        .into());
    }
    // Before hashing, and still counted: an unbound link must not be an oracle of
    // who is a member, one free argon2 run per guess.
    if member_rows::find_by_email(&mut conn, &email)
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    throttle::refund(&mut conn, &key).await?;
    let name =
        validate::label(input.name, "name", member_rows::NAME_MAX).map_err(|r| r.on(&["name"]))?;
    let settings = settings::get(&mut conn).await?;
    drop(conn);
    crate::domain::signin::check_new_password(state, &settings, input.password, None, "password")
        .await?;
    let hash = state.hasher.hash(input.password).await?;
    let session_secret = token::generate();
    let claim = Claim {
        invitation_id: invitation.id,
        token_hash: token::hash(input.token),
        email_key: validate::key(&email),
        search_key: member_rows::search_key(&email, &name),
        email: &email,
        name: &name,
        password_hash: &hash,
        session_hash: token::hash(&session_secret),
        session_secret,
        ttl: settings.session_ttl(),
        now,
    };
    let mut conn = state.pool.get().await?;
    let member = transaction!(&mut conn, |c| {
        // Held by editPermission, freeze, updateRole and deleteRole: the issuer and
        // the role read below stay as read until commit.
        c.lock_member_writes().await?;
        let invitation = claim_invitation!(c, claim);
        let role = locked!(c, invitation.role_id, "token");
        let issuer = invitation.issuer();
        if !held_by!(c, issuer).is_some_and(|held| held.covers(role.permissions())) {
            return Err(token_invalid());
        }
        let new_member = claim.member(role.id, issuer);
        let member: Member = diesel::insert_into(members::table)
            .values(&new_member)
            .returning(Member::as_returning())
            .get_result(c)
            .await
            .map_err(member_rows::email_taken)?;
        diesel::update(invitations::table.find(invitation.id))
            .set(invitations::accepted_by.eq(Some(member.id)))
            .execute(c)
            .await?;
        diesel::insert_into(sessions::table)
            .values(&claim.session(member.id))
            .execute(c)
            .await?;
        let details = json!({ "invitationId": invitation.id.to_string(), "invitedBy": issuer.to_string(), "roleName": role.name });
        let event = Event {
            action: AuditAction::InvitationAccepted,
            target_member: Some(member.id),
            target_role: Some(role.id),
            details,
        };
        audit::insert(origin, event, now).execute(c).await?;
        Ok::<_, Error>(member)
    })?;
    Ok(IssuedSession {
        token: claim.session_secret,
        expires_at: now + claim.ttl,
        member,
    })
}

/// What accepting writes, prepared before its transaction.
struct Claim<'a> {
    invitation_id: i64,
    token_hash: String,
    email: &'a str,
    email_key: String,
    name: &'a str,
    search_key: String,
    password_hash: &'a str,
    session_secret: String,
    session_hash: String,
    ttl: chrono::Duration,
    now: NaiveDateTime,
}

impl Claim<'_> {
    fn member(&self, role_id: i64, invited_by: i64) -> NewMember<'_> {
        NewMember {
            email: self.email,
            email_key: &self.email_key,
            name: self.name,
            search_key: &self.search_key,
            role_id,
            status: "ACTIVE",
            password_hash: self.password_hash,
            must_change_password: false,
            invited_by: Some(invited_by),
            created_at: self.now,
            updated_at: self.now,
        }
    }

    fn session(&self, member_id: i64) -> NewSession<'_> {
        NewSession {
            token_hash: &self.session_hash,
            member_id,
            created_at: self.now,
            expires_at: self.now + self.ttl,
        }
    }
}

/// The invitation `id` if the actor may manage it and it is not yet used or revoked.
async fn manageable(conn: &mut Conn, actor: &Actor, id: Option<i64>) -> Result<Invitation> {
    let not_found = || Rejection::new(ErrorCode::NotFound, "no such invitation").on(&["id"]);
    let invitation = match id {
        Some(id) => find(conn, id).await?.ok_or_else(not_found)?,
        None => return Err(not_found().into()),
    };
    // Without MEMBERS_VIEW one sees only one's own invitations: another's id answers
    // like an unknown one, so probing ids tells nothing of their state.
    let own = [invitation.created_by, invitation.issuer()].contains(&actor.member_id);
    if !own
        && !actor
            .permissions
            .contains(crate::domain::Permission::MembersView)
    {
        return Err(not_found().into());
    }
    let role = crate::domain::roles::find(conn, invitation.role_id)
        .await?
        .ok_or_else(|| Error::Internal("invitation without role".into()))?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(escalation("id"));
    }
    if invitation.status != "PENDING" {
        return Err(not_pending());
    }
    Ok(invitation)
}

/// Gives a pending (or expired) invitation a new link and a fresh validity period;
/// the old link stops working.
pub async fn reissue(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
) -> Result<(Invitation, String)> {
    let mut conn = state.pool.get().await?;
    let invitation = manageable(&mut conn, actor, id).await?;
    let (now, secret) = (state.clock.now(), token::generate());
    let hash = token::hash(&secret);
    let expires_at = now + chrono::Duration::days(i64::from(invitation.validity_days));
    let invitation = transaction!(&mut conn, |c| {
        let updated = diesel::update(
            invitations::table
                .find(invitation.id)
                .filter(invitations::status.eq("PENDING")),
        )
        .set((
            invitations::token_hash.eq(&hash),
            invitations::expires_at.eq(expires_at),
            invitations::issued_by.eq(Some(actor.member_id)),
        ))
        .returning(Invitation::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or_else(not_pending)?;
        let details = json!({ "invitationId": invitation.id.to_string(), "expiresAt": expires_at.and_utc().to_rfc3339() });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::InvitationReissued, invitation.role_id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })?;
    Ok((invitation, link(state, &secret)))
}

/// Revokes a pending (or expired) invitation; its link stops working.
pub async fn revoke(state: &AppState, actor: &Actor, id: Option<i64>) -> Result<Invitation> {
    let mut conn = state.pool.get().await?;
    let invitation = manageable(&mut conn, actor, id).await?;
    let now = state.clock.now();
    transaction!(&mut conn, |c| {
        let updated = diesel::update(
            invitations::table
                .find(invitation.id)
                .filter(invitations::status.eq("PENDING")),
        )
        .set((
            invitations::status.eq("REVOKED"),
            invitations::revoked_at.eq(Some(now)),
        ))
        .returning(Invitation::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or_else(not_pending)?;
        let details = json!({ "invitationId": invitation.id.to_string() });
        audit::insert(
            &actor.origin,
            Event::role(AuditAction::InvitationRevoked, invitation.role_id, details),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })
}
