//! Invitations: single-use links that let a new member sign up with a given role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::auth::token;
use crate::db::Conn;
use crate::db::RowLocks;
use crate::db::schema::{invitations, members, roles, sessions};
use crate::db::{text_enum, transaction, with_conn};
use crate::domain::AppState;
use crate::domain::audit::{self, AuditAction, Event, Origin};
use crate::domain::members::{self as member_rows, Member, MemberStatus, NewMember};
use crate::domain::roles::{self as role_rows, Role, held_by, locked};
use crate::domain::sessions::NewSession;
use crate::domain::signin::IssuedSession;
use crate::domain::{Actor, Permission, settings, throttle, validate};
use crate::error::{Error, ErrorCode, Input, Rejection, Result};

text_enum! {
    /// Where an invitation stands. Only PENDING, ACCEPTED and REVOKED are stored; EXPIRED
    /// is a pending one past `expires_at` ([`Invitation::status`]).
    pub enum InvitationStatus {
        /// Can be accepted.
        Pending => "PENDING",
        /// Used: the member exists.
        Accepted => "ACCEPTED",
        /// Not used in time.
        Expired => "EXPIRED",
        /// Withdrawn by an administrator (or its creator was frozen).
        Revoked => "REVOKED",
    }
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
    /// Stored status: pending, accepted or revoked.
    pub status: InvitationStatus,
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
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            stored => stored,
        }
    }
}

/// An invitation and where it stood when it was read.
#[derive(Clone)]
pub struct InvitationView {
    /// The invitation as stored.
    pub invitation: Invitation,
    /// Its status at the moment it was read.
    pub status: InvitationStatus,
}

impl InvitationView {
    fn at(invitation: Invitation, now: NaiveDateTime) -> Self {
        let status = invitation.status(now);
        InvitationView { invitation, status }
    }
}

#[derive(Insertable)]
#[diesel(table_name = invitations)]
struct NewInvitation<'a> {
    token_hash: &'a str,
    role_id: i64,
    email: Option<&'a str>,
    email_key: Option<String>,
    status: InvitationStatus,
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
    .on(Input::Token)
    .into()
}

fn not_pending() -> Error {
    Rejection::new(
        ErrorCode::InvitationNotPending,
        "this invitation was already accepted or revoked",
    )
    .on(Input::Invitation)
    .into()
}

pub(crate) fn escalation(input: Input) -> Error {
    Rejection::new(
        ErrorCode::PrivilegeEscalation,
        "you can only invite to a role whose permissions you hold",
    )
    .on(input)
    .into()
}

/// Creates a pending invitation valid for `validity_days`; returns it and its link
/// (the only time the link is shown). Needs MEMBERS_INVITE and every permission of
/// the role.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    role_id: i64,
    validity_days: i32,
    email: Option<&str>,
) -> Result<(InvitationView, String)> {
    actor.require(Permission::MembersInvite)?;
    let mut conn = state.pool.get().await?;
    let role = role_rows::require(&mut conn, role_id, Input::GrantedRole).await?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(escalation(Input::GrantedRole));
    }
    let email = email
        .map(|e| validate::email(e).map_err(|r| r.on(Input::Email)))
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
        status: InvitationStatus::Pending,
        validity_days,
        expires_at: now + chrono::Duration::days(i64::from(validity_days)),
        created_by: actor.member_id,
        created_at: now,
        issued_by: Some(actor.member_id),
    };
    let invitation = transaction!(&mut conn, |c| {
        // A role deleted since it was read is not found, instead of failing the insert.
        c.share_roles(&[role.id]).await?;
        locked!(c, role.id, Input::GrantedRole);
        let invitation = diesel::insert_into(invitations::table)
            .values(&new)
            .returning(Invitation::as_returning())
            .get_result(c)
            .await?;
        audit::insert(&actor.origin, invited_event(&role, &invitation), now)
            .execute(c)
            .await?;
        Ok::<_, Error>(invitation)
    })?;
    Ok((InvitationView::at(invitation, now), link(state, &secret)))
}

fn invited_event(role: &Role, invitation: &Invitation) -> Event {
    let email = invitation.email.as_deref();
    let details = json!({ "invitationId": invitation.id.to_string(), "roleName": role.name, "email": email, "validityDays": invitation.validity_days });
    Event::role(AuditAction::MemberInvited, role.id, details)
        .changed(
            "invitationStatus",
            None::<&str>,
            Some(InvitationStatus::Pending.as_str()),
        )
        .changed("email", None::<&str>, email)
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

/// The invitations with these ids, as they stand at `now`.
pub async fn by_ids(
    pool: &crate::db::Pool,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<Vec<InvitationView>> {
    let q = invitations::table.filter(invitations::id.eq_any(ids.to_vec()));
    let rows = with_conn!(&mut pool.get().await?, |c| q
        .select(Invitation::as_select())
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|i| InvitationView::at(i, now))
        .collect())
}

macro_rules! status_filtered {
    ($query:expr, $status:expr, $now:expr) => {{
        let mut q = $query;
        match $status {
            None => {}
            Some(InvitationStatus::Pending) => {
                q = q
                    .filter(invitations::status.eq(InvitationStatus::Pending))
                    .filter(invitations::expires_at.gt($now));
            }
            Some(InvitationStatus::Expired) => {
                q = q
                    .filter(invitations::status.eq(InvitationStatus::Pending))
                    .filter(invitations::expires_at.le($now));
            }
            Some(InvitationStatus::Accepted) => {
                q = q.filter(invitations::status.eq(InvitationStatus::Accepted))
            }
            Some(InvitationStatus::Revoked) => {
                q = q.filter(invitations::status.eq(InvitationStatus::Revoked))
            }
        }
        q
    }};
}

/// A page of invitations, newest first, after the invitation `after`. Needs
/// MEMBERS_VIEW.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    status: Option<InvitationStatus>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<InvitationView>> {
    actor.require(Permission::MembersView)?;
    let now = state.clock.now();
    let rows: Vec<Invitation> = with_conn!(&mut state.pool.get().await?, |c| {
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
    })?;
    Ok(rows
        .into_iter()
        .map(|i| InvitationView::at(i, now))
        .collect())
}

/// How many invitations have this status. Needs MEMBERS_VIEW.
pub async fn count(
    state: &AppState,
    actor: &Actor,
    status: Option<InvitationStatus>,
) -> Result<i64> {
    actor.require(Permission::MembersView)?;
    let now = state.clock.now();
    Ok(with_conn!(&mut state.pool.get().await?, |c| {
        status_filtered!(invitations::table.count().into_boxed(), status, now)
            .get_result(c)
            .await
    })?)
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
            .filter(invitations::status.eq(InvitationStatus::Pending))
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

/// What the public accept page shows: the invitation behind `secret` and its role, if
/// it can be accepted now. Counted against the caller's address: a token that turns
/// out valid gives its attempt back, so only guesses use up the allowance.
pub async fn preview(
    state: &AppState,
    secret: &str,
    origin: &Origin,
) -> Result<Option<(Invitation, Role)>> {
    let (now, mut conn) = (state.clock.now(), state.pool.get().await?);
    let key = throttle::token_key(origin.ip.as_deref());
    throttle::reserve(&mut conn, &key, throttle::TOKENS, now).await?;
    let found = acceptable(&mut conn, secret, now).await?;
    match found {
        Some(_) => throttle::refund(&mut conn, &key).await?,
        None => tracing::warn!(
            kind = "invitation",
            ip = origin.ip.as_deref(),
            "invalid token"
        ),
    }
    Ok(found)
}

fn email_taken() -> Error {
    Rejection::new(
        ErrorCode::NameTaken,
        "a member with this email exists already",
    )
    .on(Input::Email)
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
                .filter(invitations::status.eq(InvitationStatus::Pending))
                .filter(invitations::expires_at.gt($claim.now)),
        )
        .set((
            invitations::status.eq(InvitationStatus::Accepted),
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
    let (invitation, email, name, settings) = checked_sign_up(state, &input, origin).await?;
    crate::domain::signin::check_new_password(
        state,
        &settings,
        input.password,
        None,
        Input::Password,
    )
    .await?;
    let hash = state.hasher.hash(input.password).await?;
    let session_secret = token::generate();
    let now = state.clock.now();
    let claim = Claim {
        invitation_id: invitation.id,
        role_id: invitation.role_id,
        issuer: invitation.issuer(),
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
    let member = join(state, &claim, origin).await?;
    Ok(IssuedSession {
        token: claim.session_secret,
        expires_at: now + claim.ttl,
        member,
    })
}

/// The invitation a sign-up uses, its email and name checked, and the settings, before
/// any password is hashed; counted against the caller's address until the email is
/// known to be free.
async fn checked_sign_up(
    state: &AppState,
    input: &SignUp<'_>,
    origin: &Origin,
) -> Result<(Invitation, String, String, settings::Settings)> {
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let key = throttle::token_key(origin.ip.as_deref());
    throttle::reserve(&mut conn, &key, throttle::TOKENS, now).await?;
    let Some((invitation, _)) = acceptable(&mut conn, input.token, now).await? else {
        tracing::warn!(
            kind = "invitation",
            ip = origin.ip.as_deref(),
            "invalid token"
        );
        return Err(token_invalid());
    };
    let email = validate::email(input.email).map_err(|r| r.on(Input::Email))?;
    if invitation
        .email
        .as_deref()
        .is_some_and(|bound| validate::key(bound) != validate::key(&email))
    {
        return Err(Rejection::new(
            ErrorCode::InvalidInput,
            "this invitation is for another email address",
        )
        .on(Input::Email)
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
    let name = validate::label(input.name, "name", member_rows::NAME_MAX)
        .map_err(|r| r.on(Input::Name))?;
    let settings = settings::get(&mut conn).await?;
    Ok((invitation, email, name, settings))
}

/// Claims the invitation and creates the member with a session, in one transaction.
async fn join(state: &AppState, claim: &Claim<'_>, origin: &Origin) -> Result<Member> {
    let now = claim.now;
    transaction!(&mut state.pool.get().await?, |c| {
        // The role granted and the issuer stay as read until commit: updateRole and
        // deleteRole wait for it, and so does an act on the issuer. Both are locked
        // before the invitation's row, in the order of those acts (deleteRole locks the
        // role, then moves its invitations; freeze updates the issuer, then revokes
        // theirs); the role again if it moved meanwhile.
        c.share_roles(&[claim.role_id]).await?;
        c.share_member(claim.issuer).await?;
        let invitation = claim_invitation!(c, claim);
        if invitation.role_id != claim.role_id {
            c.share_roles(&[invitation.role_id]).await?;
        }
        let issuer = invitation.issuer();
        let role = locked!(c, invitation.role_id, Input::Token);
        if !held_by!(c, issuer).is_some_and(|held| held.covers(role.permissions())) {
            return Err(token_invalid());
        }
        let member: Member = diesel::insert_into(members::table)
            .values(&claim.member(role.id, issuer))
            .returning(Member::as_returning())
            .get_result(c)
            .await
            .map_err(member_rows::email_taken)?;
        diesel::update(invitations::table.find(invitation.id))
            .set(invitations::accepted_by.eq(Some(member.id)))
            .execute(c)
            .await?;
        diesel::insert_into(sessions::table)
            .values(&claim.session(member.id, origin))
            .execute(c)
            .await?;
        let details = json!({ "invitationId": invitation.id.to_string(), "invitedBy": issuer.to_string(), "roleName": role.name });
        let event = Event::new(
            AuditAction::InvitationAccepted,
            Some(member.id),
            Some(role.id),
            details,
        )
        .changed(
            "invitationStatus",
            Some(InvitationStatus::Pending.as_str()),
            Some(InvitationStatus::Accepted.as_str()),
        )
        .changed("role", None::<&str>, Some(&role.name));
        audit::insert(origin, event, now).execute(c).await?;
        Ok::<_, Error>(member)
    })
}

/// What accepting writes, prepared before its transaction.
struct Claim<'a> {
    invitation_id: i64,
    /// The role the invitation granted when read, locked before it is claimed.
    role_id: i64,
    /// Who issued it, whose row is shared before it is claimed.
    issuer: i64,
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
            status: MemberStatus::Active,
            password_hash: self.password_hash,
            must_change_password: false,
            invited_by: Some(invited_by),
            created_at: self.now,
            updated_at: self.now,
        }
    }

    fn session<'s>(&'s self, member_id: i64, origin: &'s Origin) -> NewSession<'s> {
        NewSession::new(&self.session_hash, member_id, self.now, self.ttl, origin)
    }
}

/// The invitation `id` if the actor may manage it and it is not yet used or revoked.
async fn manageable(conn: &mut Conn, actor: &Actor, id: i64) -> Result<Invitation> {
    let not_found =
        || Rejection::new(ErrorCode::NotFound, "no such invitation").on(Input::Invitation);
    let invitation = find(conn, id).await?.ok_or_else(not_found)?;
    // Without MEMBERS_VIEW one sees only one's own invitations: another's id answers
    // like an unknown one, so probing ids tells nothing of their state.
    let own = [invitation.created_by, invitation.issuer()].contains(&actor.member_id);
    if !own && !actor.permissions.contains(Permission::MembersView) {
        return Err(not_found().into());
    }
    let role = role_rows::find(conn, invitation.role_id)
        .await?
        .ok_or_else(|| Error::Internal("invitation without role".into()))?;
    if !actor.permissions.covers(role.permissions()) {
        return Err(escalation(Input::Invitation));
    }
    if invitation.status != InvitationStatus::Pending {
        return Err(not_pending());
    }
    Ok(invitation)
}

/// Gives a pending (or expired) invitation a new link and a fresh validity period;
/// the old link stops working. Needs MEMBERS_INVITE.
pub async fn reissue(state: &AppState, actor: &Actor, id: i64) -> Result<(InvitationView, String)> {
    actor.require(Permission::MembersInvite)?;
    let mut conn = state.pool.get().await?;
    let invitation = manageable(&mut conn, actor, id).await?;
    let (now, secret) = (state.clock.now(), token::generate());
    let hash = token::hash(&secret);
    let expires_at = now + chrono::Duration::days(i64::from(invitation.validity_days));
    let invitation = transaction!(&mut conn, |c| {
        let updated = diesel::update(
            invitations::table
                .find(invitation.id)
                .filter(invitations::status.eq(InvitationStatus::Pending)),
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
            Event::role(AuditAction::InvitationReissued, invitation.role_id, details)
                .changed_secret("link")
                .changed(
                    "expiresAt",
                    Some(audit::instant(invitation.expires_at)),
                    Some(audit::instant(expires_at)),
                ),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })?;
    Ok((InvitationView::at(invitation, now), link(state, &secret)))
}

/// Revokes a pending (or expired) invitation; its link stops working. Needs
/// MEMBERS_INVITE.
pub async fn revoke(state: &AppState, actor: &Actor, id: i64) -> Result<InvitationView> {
    actor.require(Permission::MembersInvite)?;
    let mut conn = state.pool.get().await?;
    let invitation = manageable(&mut conn, actor, id).await?;
    let now = state.clock.now();
    let revoked = transaction!(&mut conn, |c| {
        let updated = diesel::update(
            invitations::table
                .find(invitation.id)
                .filter(invitations::status.eq(InvitationStatus::Pending)),
        )
        .set((
            invitations::status.eq(InvitationStatus::Revoked),
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
            Event::role(AuditAction::InvitationRevoked, invitation.role_id, details).changed(
                "invitationStatus",
                Some("PENDING"),
                Some("REVOKED"),
            ),
            now,
        )
        .execute(c)
        .await?;
        Ok::<_, Error>(updated)
    })?;
    Ok(InvitationView::at(revoked, now))
}
