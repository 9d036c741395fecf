//! The live feed: the audit log's tail of events about members, invitations and roles,
//! delivered after commit, in commit order, resumable after any change's position.
//!
//! Each such event gets a position (`live_seq`) after it commits, in commit order and
//! only ever growing by whole committed batches (SQLite numbers it as it is inserted,
//! its one writer at a time keeping the order; on PostgreSQL see
//! [`crate::domain::live_order`]), so "every position after this one" is exactly what
//! was numbered since. Each instance reads new changes once per wake-up (PostgreSQL's
//! `NOTIFY` from the sequencer, or the in-process signal after a SQLite commit), at
//! most every 100 ms (`GATHER`), with the rows they concern, and fans them out to its
//! subscribers through one bounded ring: a subscriber that falls a ring behind ends
//! with `RESUME_REQUIRED` instead of holding memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tokio::sync::{Notify, broadcast, watch};

use crate::clock::Clock;
use crate::db::schema::audit_events;
use crate::db::{DatabaseUrl, Pool, with_conn};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::invitations::{self, InvitationView};
use crate::domain::members::{self, Member};
use crate::domain::roles::{self, Role};
use crate::domain::sessions::{self, Standing};
use crate::domain::{Actor, AppState, Permission};
use crate::error::{Error, Result};

/// Changes kept for subscribers that are behind; one who falls further behind must
/// resume from its last cursor.
pub const RING: usize = 4096;

/// Events read per statement.
const BATCH: i64 = 500;

/// How often the sessions of subscribers are checked, so that one whose session ended
/// or whose role lost MEMBERS_VIEW stops within a second.
const STANDING_EVERY: Duration = Duration::from_millis(400);

/// How long the reader waits for a wake-up before it looks anyway.
const QUIET: Duration = Duration::from_secs(2);

/// The least time between two reads. A change after a quiet spell is read at once;
/// under a storm of acts, the changes of this long are read (and reach each
/// subscriber) together, in one wake-up of each connection and one write to it,
/// instead of one each.
const GATHER: Duration = Duration::from_millis(100);

/// The rows a batch of changes concerns, read once for every subscriber.
#[derive(Default)]
pub struct Rows {
    /// Members acted on and actors, by id.
    pub members: HashMap<i64, Member>,
    /// Roles acted on and those of the members, by id.
    pub roles: HashMap<i64, Arc<Role>>,
    /// Invitations acted on, by id.
    pub invitations: HashMap<i64, InvitationView>,
}

/// One committed change.
pub struct Change {
    /// Its position in the feed (its event's `live_seq`): where to resume after.
    pub id: i64,
    /// What happened.
    pub action: AuditAction,
    /// Who acted.
    pub actor_id: Option<i64>,
    /// The member concerned.
    pub member_id: Option<i64>,
    /// The role concerned.
    pub role_id: Option<i64>,
    /// The invitation concerned.
    pub invitation_id: Option<i64>,
    /// When it happened.
    pub at: NaiveDateTime,
    /// The rows it concerns, as they were when it was delivered.
    pub rows: Arc<Rows>,
}

/// One instance's feed: shared by every subscriber of this process.
pub struct Feed {
    /// Where to LISTEN (PostgreSQL), or `None` for the in-process signal (SQLite).
    listen_url: Option<String>,
    ring: broadcast::Sender<Arc<Change>>,
    /// The last event id put in the ring; held while reading, so that a subscriber
    /// joining sees either all of a read or none of it.
    position: tokio::sync::Mutex<Option<i64>>,
    wake: Notify,
    /// The feed's own connections (reading new changes, checking the subscribers'
    /// sessions): under load the shared pool has a queue, and a change waiting in it
    /// reaches every subscriber that much later.
    pool: Pool,
    started: OnceLock<()>,
    /// Live subscriptions by session id.
    watched: Mutex<HashMap<i64, usize>>,
    /// Checks of the subscribers' sessions begun so far.
    checks: AtomicU64,
    /// The latest check: its number, and the sessions that may no longer watch, and why.
    verdicts: watch::Sender<Arc<Verdicts>>,
}

/// One check of the subscribers' sessions. A subscription heeds only checks begun after
/// it joined: session ids can be reused (SQLite), so an older check may speak of an
/// ended session of the same id.
#[derive(Default, PartialEq)]
struct Verdicts {
    check: u64,
    sessions: HashMap<i64, Verdict>,
    /// The permissions (bits) of each session that may still watch: a subscription
    /// whose session's role changed since it started must start again, since it
    /// renders with the permissions it started with.
    permissions: HashMap<i64, u64>,
}

/// Why a subscriber's session may no longer watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Ended,
    Forbidden,
    PasswordChangeRequired,
}

impl Verdict {
    fn of(standing: Option<&Standing>) -> Option<Verdict> {
        match standing {
            None => Some(Verdict::Ended),
            Some(s) if !s.permissions.contains(Permission::MembersView) => Some(Verdict::Forbidden),
            Some(s) if s.must_change_password => Some(Verdict::PasswordChangeRequired),
            Some(_) => None,
        }
    }

    fn error(self) -> Error {
        match self {
            Verdict::Ended => Error::Unauthenticated,
            Verdict::Forbidden => Error::Forbidden(Permission::MembersView.name()),
            Verdict::PasswordChangeRequired => Error::PasswordChangeRequired,
        }
    }
}

impl Feed {
    /// A feed for the database at `url`; it starts with its first subscriber.
    pub fn new(url: &DatabaseUrl) -> Result<Arc<Feed>> {
        Self::with_ring(url, RING)
    }

    /// A feed whose ring holds `ring` changes.
    pub fn with_ring(url: &DatabaseUrl, ring: usize) -> Result<Arc<Feed>> {
        // Its statements are nobody's request's: they count apart.
        let pool = Pool::new(url, crate::db::FEED_CONNECTIONS, Arc::default())?;
        Ok(Arc::new(Feed {
            listen_url: match url {
                DatabaseUrl::Postgres(url) => Some(url.clone()),
                DatabaseUrl::Sqlite(_) => None,
            },
            ring: broadcast::channel(ring).0,
            position: tokio::sync::Mutex::new(None),
            wake: Notify::new(),
            pool,
            started: OnceLock::new(),
            watched: Mutex::default(),
            checks: AtomicU64::new(0),
            verdicts: watch::channel(Arc::default()).0,
        }))
    }

    /// How many subscriptions this instance serves.
    pub fn subscribers(&self) -> usize {
        self.ring.receiver_count()
    }

    fn start(self: &Arc<Self>, clock: &Arc<dyn Clock>) {
        self.started.get_or_init(|| {
            let weak = Arc::downgrade(self);
            tokio::spawn(read_loop(weak.clone(), clock.clone()));
            tokio::spawn(standing_loop(weak.clone(), clock.clone()));
            match &self.listen_url {
                Some(url) => tokio::spawn(listen_loop(weak, url.clone())),
                None => tokio::spawn(sqlite_wakeups(weak)),
            };
        });
    }

    /// The position, read from the database the first time.
    async fn position(&self) -> Result<tokio::sync::MutexGuard<'_, Option<i64>>> {
        let mut position = self.position.lock().await;
        if position.is_none() {
            *position = Some(newest_position(&self.pool).await?);
        }
        Ok(position)
    }

    /// Reads what committed since the position and puts it in the ring.
    async fn advance(&self, now: NaiveDateTime) -> Result<()> {
        let mut position = self.position.lock().await;
        if self.ring.receiver_count() == 0 {
            // Nobody watches: nothing is read. The next subscriber starts from the
            // database's newest event (and one resuming reads its way up to it).
            *position = None;
            return Ok(());
        }
        if position.is_none() {
            drop(position);
            position = self.position().await?;
        }
        loop {
            let from = position.unwrap_or(0);
            let changes = read(&self.pool, from, BATCH, now).await?;
            let Some(last) = changes.last().map(|c| c.id) else {
                return Ok(());
            };
            let full = changes.len() as i64 == BATCH;
            for change in changes {
                // No receiver is no error: nobody is watching.
                let _ = self.ring.send(Arc::new(change));
            }
            *position = Some(last);
            if !full {
                return Ok(());
            }
        }
    }
}

/// Numbers the committed, unnumbered changes (PostgreSQL: see
/// [`crate::domain::live_order`]); how many.
pub async fn number_committed(conn: &mut diesel_async::AsyncPgConnection) -> Result<i32> {
    #[derive(diesel::QueryableByName)]
    struct Numbered {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        roster_live_sequence: i32,
    }
    Ok(diesel::sql_query("SELECT roster_live_sequence()")
        .get_result::<Numbered>(conn)
        .await?
        .roster_live_sequence)
}

/// The position after every change committed so far: on PostgreSQL the committed
/// changes are numbered first, so that none that committed before is numbered after it.
async fn position_now(pool: &Pool) -> Result<i64> {
    if matches!(pool, Pool::Pg(_))
        && let crate::db::Conn::Pg(c) = &mut pool.get().await?
    {
        number_committed(c).await?;
    }
    newest_position(pool).await
}

/// The position of the newest numbered change (0 before the first).
async fn newest_position(pool: &Pool) -> Result<i64> {
    let q = audit_events::table.select(diesel::dsl::max(audit_events::live_seq));
    let max: Option<i64> = with_conn!(&mut pool.get().await?, |c| q.first(c).await)?;
    Ok(max.unwrap_or(0))
}

/// Up to `limit` changes after position `after`, in order, with their rows.
async fn read(pool: &Pool, after: i64, limit: i64, now: NaiveDateTime) -> Result<Vec<Change>> {
    let q = audit_events::table
        .filter(audit_events::live_seq.gt(after))
        .order(audit_events::live_seq.asc())
        .limit(limit);
    let events: Vec<(Option<i64>, AuditEvent)> = with_conn!(&mut pool.get().await?, |c| q
        .select((audit_events::live_seq, AuditEvent::as_select()))
        .load(c)
        .await)?;
    let mut changes = Vec::with_capacity(events.len());
    for (position, e) in events {
        let action = AuditAction::parse(&e.action)
            .ok_or_else(|| Error::Internal(format!("unknown audit action {}", e.action)))?;
        let invitation_id = serde_json::from_str::<serde_json::Value>(&e.details)
            .ok()
            .and_then(|d| d["invitationId"].as_str().and_then(|s| s.parse().ok()));
        changes.push(Change {
            id: position.unwrap_or(e.id),
            action,
            actor_id: e.actor_id,
            member_id: e.target_member_id,
            role_id: e.target_role_id,
            invitation_id,
            at: e.created_at,
            rows: Arc::default(),
        });
    }
    if !changes.is_empty() {
        let rows = Arc::new(rows_of(pool, &changes, now).await?);
        for change in &mut changes {
            change.rows = rows.clone();
        }
    }
    Ok(changes)
}

/// The rows `changes` concern, as they are now: at most three statements however many.
async fn rows_of(pool: &Pool, changes: &[Change], now: NaiveDateTime) -> Result<Rows> {
    let invitation_ids: Vec<i64> = unique(changes.iter().filter_map(|c| c.invitation_id));
    let invitations = match invitation_ids.is_empty() {
        true => Vec::new(),
        false => invitations::by_ids(pool, &invitation_ids, now).await?,
    };
    let member_ids = unique(
        changes
            .iter()
            .flat_map(|c| [c.member_id, c.actor_id])
            .flatten()
            .chain(
                invitations
                    .iter()
                    .flat_map(|i| {
                        let i = &i.invitation;
                        [Some(i.created_by), Some(i.issuer()), i.accepted_by]
                    })
                    .flatten(),
            ),
    );
    let members = members::by_ids(pool, &member_ids).await?;
    let role_ids = unique(
        changes
            .iter()
            .filter_map(|c| c.role_id)
            .chain(members.iter().map(|m| m.role_id))
            .chain(invitations.iter().map(|i| i.invitation.role_id)),
    );
    let roles = roles::by_ids(pool, &role_ids).await?;
    Ok(Rows {
        members: members.into_iter().map(|m| (m.id, m)).collect(),
        roles: roles.into_iter().map(|r| (r.id, Arc::new(r))).collect(),
        invitations: invitations
            .into_iter()
            .map(|i| (i.invitation.id, i))
            .collect(),
    })
}

fn unique(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

async fn read_loop(feed: Weak<Feed>, clock: Arc<dyn Clock>) {
    loop {
        let Some(strong) = feed.upgrade() else { return };
        let read_at = tokio::time::Instant::now();
        if let Err(e) = strong.advance(clock.now()).await {
            tracing::error!(error = %e.detail(), "the live feed could not read new events");
        }
        let woken = async { strong.wake.notified().await };
        let _ = tokio::time::timeout(QUIET, woken).await;
        drop(strong);
        tokio::time::sleep_until(read_at + GATHER).await;
    }
}

async fn listen_loop(feed: Weak<Feed>, url: String) {
    loop {
        let outcome = crate::db::listen(&url, "roster_live", |_| match feed.upgrade() {
            Some(feed) => {
                feed.wake.notify_one();
                true
            }
            None => false,
        })
        .await;
        match outcome {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e.detail(), "the live feed's LISTEN connection failed; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
                if feed.strong_count() == 0 {
                    return;
                }
            }
        }
    }
}

async fn sqlite_wakeups(feed: Weak<Feed>) {
    let mut commits = crate::db::commits();
    loop {
        let changed = tokio::time::timeout(QUIET, commits.changed()).await;
        let Some(feed) = feed.upgrade() else { return };
        if matches!(changed, Ok(Ok(()))) {
            feed.wake.notify_one();
        }
    }
}

async fn standing_loop(feed: Weak<Feed>, clock: Arc<dyn Clock>) {
    loop {
        tokio::time::sleep(STANDING_EVERY).await;
        let Some(feed) = feed.upgrade() else { return };
        let check = feed.checks.fetch_add(1, Ordering::SeqCst) + 1;
        let ids: Vec<i64> = feed
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        if ids.is_empty() {
            continue;
        }
        let (mut verdicts, mut permissions) = (HashMap::new(), HashMap::new());
        let mut failed = false;
        for chunk in ids.chunks(BATCH as usize) {
            match sessions::standing(&feed.pool, chunk, clock.now()).await {
                Ok(standing) => {
                    for id in chunk {
                        let now = standing.get(id);
                        if let Some(verdict) = Verdict::of(now) {
                            verdicts.insert(*id, verdict);
                        } else if let Some(now) = now {
                            permissions.insert(*id, now.permissions.bits());
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e.detail(), "the live feed could not check its subscribers' sessions");
                    failed = true;
                }
            }
        }
        if !failed {
            feed.verdicts.send_if_modified(|old| {
                // The same verdicts again still wake: a subscriber that joined since
                // (same session id) ignored the older check.
                let changed = old.sessions != verdicts
                    || old.permissions != permissions
                    || !verdicts.is_empty();
                *old = Arc::new(Verdicts {
                    check,
                    sessions: verdicts,
                    permissions,
                });
                changed
            });
        }
    }
}

/// A subscription's place in the watch list; leaving drops it.
struct Watching {
    feed: Arc<Feed>,
    session: i64,
}

impl Watching {
    fn new(feed: Arc<Feed>, session: i64) -> Self {
        *feed
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(session)
            .or_insert(0) += 1;
        Watching { feed, session }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut watched = self.feed.watched.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = watched.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                watched.remove(&self.session);
            }
        }
    }
}

/// Whether position `after` can be resumed from: `CURSOR_EXPIRED` when the audit
/// retention deleted its event, `BAD_USER_INPUT` when there never was such a position.
/// Position 0, the start of a feed that had no change yet, resumes from the oldest kept.
async fn check_resumable(pool: &Pool, after: i64) -> Result<()> {
    if after == 0 {
        return Ok(());
    }
    let oldest = audit_events::table.select(diesel::dsl::min(audit_events::live_seq));
    let found = audit_events::table
        .filter(audit_events::live_seq.eq(after))
        .select(audit_events::live_seq);
    let (oldest, found): (Option<i64>, Option<Option<i64>>) =
        with_conn!(&mut pool.get().await?, |c| {
            let oldest = oldest.first(c).await?;
            let found = found.first(c).await.optional()?;
            Ok::<_, diesel::result::Error>((oldest, found))
        })?;
    match oldest {
        _ if found.is_some() => Ok(()),
        Some(oldest) if after > oldest => {
            Err(Error::BadInput("after: not a cursor of this feed".into()))
        }
        _ => Err(Error::CursorExpired),
    }
}

/// The position of the newest change: a cursor to subscribe after once a list is
/// loaded, so that nothing committed in between is missed. Needs MEMBERS_VIEW.
pub async fn newest(state: &AppState, actor: &Actor) -> Result<i64> {
    actor.require(Permission::MembersView)?;
    position_now(&state.pool).await
}

/// One subscription to the feed: where it stands. [`Subscriber::next`] gives its
/// changes.
pub struct Subscriber {
    state: AppState,
    ring: broadcast::Receiver<Arc<Change>>,
    verdicts: watch::Receiver<Arc<Verdicts>>,
    /// Checks begun before this subscription joined, which it does not heed.
    joined_after: u64,
    _watching: Watching,
    session: i64,
    /// The permissions (bits) the subscription renders with.
    permissions: u64,
    /// The last event delivered (or the position it started after).
    last: i64,
    /// Up to where the database is read before the ring takes over.
    catch_up_to: i64,
    pending: std::collections::VecDeque<Change>,
    done: bool,
}

/// Every change committed after event `after` (or from now on), in commit order, until
/// the subscriber's session ends or its role loses MEMBERS_VIEW (then one error ends
/// it). Needs MEMBERS_VIEW.
pub async fn subscribe(
    state: &AppState,
    actor: &Actor,
    session: i64,
    after: Option<i64>,
) -> Result<Subscriber> {
    actor.require(Permission::MembersView)?;
    if let Some(after) = after {
        check_resumable(&state.pool, after).await?;
    }
    let feed = state.feed.clone();
    feed.start(&state.clock);
    let (ring, position) = {
        let position = feed.position().await?;
        (feed.ring.subscribe(), position.unwrap_or(0))
    };
    // From now on: past every change committed before, even one the feed has not read.
    let start = match after {
        Some(after) => after,
        None => position_now(&state.pool).await?.max(position),
    };
    let subscriber = Subscriber {
        state: state.clone(),
        ring,
        verdicts: feed.verdicts.subscribe(),
        _watching: Watching::new(feed.clone(), session),
        joined_after: AtomicU64::load(&feed.checks, Ordering::SeqCst),
        session,
        permissions: actor.permissions.bits(),
        last: start,
        catch_up_to: position,
        pending: Default::default(),
        done: false,
    };
    Ok(subscriber)
}

impl Subscriber {
    /// The next change; an error ends the subscription (`None` after it).
    pub async fn next(&mut self) -> Option<Result<Arc<Change>>> {
        if self.done {
            return None;
        }
        let next = self.step().await;
        if next.is_err() {
            self.done = true;
        }
        Some(next)
    }

    /// The error ending the subscription, when the latest check it heeds found its
    /// session may no longer watch, or its permissions changed since it started
    /// (`RESUME_REQUIRED`: started again, it renders with the new ones).
    fn heed_verdicts(&mut self) -> Result<()> {
        let latest = self.verdicts.borrow_and_update();
        if latest.check <= self.joined_after {
            return Ok(());
        }
        if let Some(verdict) = latest.sessions.get(&self.session) {
            return Err(verdict.error());
        }
        match latest.permissions.get(&self.session) {
            Some(now) if *now != self.permissions => Err(Error::ResumeRequired(self.last)),
            _ => Ok(()),
        }
    }

    async fn step(&mut self) -> Result<Arc<Change>> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                self.last = change.id;
                return Ok(Arc::new(change));
            }
            if self.last < self.catch_up_to {
                let now = self.state.clock.now();
                let read = read(&self.state.pool, self.last, BATCH, now).await?;
                let up_to = self.catch_up_to;
                if read.is_empty() || read.last().is_some_and(|c| c.id >= up_to) {
                    self.catch_up_to = self.last;
                }
                self.pending
                    .extend(read.into_iter().filter(|c| c.id <= up_to));
                continue;
            }
            self.heed_verdicts()?;
            tokio::select! {
                biased;
                changed = self.verdicts.changed() => {
                    if changed.is_err() {
                        return Err(Error::Unavailable("the live feed stopped".into()));
                    }
                }
                received = self.ring.recv() => match received {
                    Ok(change) if change.id > self.last => {
                        self.last = change.id;
                        return Ok(change);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Err(Error::ResumeRequired(self.last));
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Error::Unavailable("the live feed stopped".into()));
                    }
                },
            }
        }
    }
}
