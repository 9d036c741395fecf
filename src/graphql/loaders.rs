//! Per-request dataloaders: related rows of a whole page in one statement.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use dataloader::BatchFn;
use dataloader::cached::Loader;

use crate::db::Pool;
use crate::domain::feed::Rows;
use crate::domain::members::{self, Member};
use crate::domain::roles::{self, Role};
use crate::error::{Error, Result};

/// Rows fetched many ids at a time.
pub trait ByKey: Clone + Send + Sync + 'static {
    /// What is loaded, for error messages.
    const WHAT: &'static str;
    /// The rows for `ids`, keyed by id; missing ids are left out.
    fn fetch(pool: &Pool, ids: &[i64]) -> impl Future<Output = Result<HashMap<i64, Self>>> + Send;
}

/// Shared: a page holds a few roles many times over.
impl ByKey for Arc<Role> {
    const WHAT: &'static str = "roles";
    async fn fetch(pool: &Pool, ids: &[i64]) -> Result<HashMap<i64, Self>> {
        Ok(roles::by_ids(pool, ids)
            .await?
            .into_iter()
            .map(|r| (r.id, Arc::new(r)))
            .collect())
    }
}

impl ByKey for Member {
    const WHAT: &'static str = "members";
    async fn fetch(pool: &Pool, ids: &[i64]) -> Result<HashMap<i64, Self>> {
        Ok(members::by_ids(pool, ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect())
    }
}

/// How many members hold a role.
#[derive(Clone, Copy)]
pub struct MemberCount(pub i64);

impl ByKey for MemberCount {
    const WHAT: &'static str = "member counts";
    async fn fetch(pool: &Pool, ids: &[i64]) -> Result<HashMap<i64, Self>> {
        Ok(roles::member_counts(pool, ids)
            .await?
            .into_iter()
            .map(|(id, n)| (id, MemberCount(n)))
            .collect())
    }
}

/// The batch function behind a loader of `T`.
pub struct Batch<T> {
    pool: Pool,
    _rows: PhantomData<T>,
}

impl<T: ByKey> BatchFn<i64, Option<T>> for Batch<T> {
    async fn load(&mut self, keys: &[i64]) -> HashMap<i64, Option<T>> {
        match T::fetch(&self.pool, keys).await {
            Ok(mut rows) => keys.iter().map(|k| (*k, rows.remove(k))).collect(),
            Err(e) => {
                // Leaving every key out makes each waiting resolver fail.
                tracing::error!(error = %e.detail(), "loading {} failed", T::WHAT);
                HashMap::new()
            }
        }
    }
}

/// A loader of `T` by id.
pub struct ByIdLoader<T: ByKey>(Loader<i64, Option<T>, Batch<T>>);

impl<T: ByKey> ByIdLoader<T> {
    fn new(pool: &Pool) -> Self {
        Self(
            Loader::new(Batch {
                pool: pool.clone(),
                _rows: PhantomData,
            })
            .with_max_batch_size(500),
        )
    }

    /// Remembers rows read with something else (a join), so that each later
    /// [`Self::load`] of them answers from the cache at once.
    ///
    /// A list resolver calls this for what its items will ask for: fifty item
    /// resolvers each waiting on the loader cost more CPU than the query itself.
    pub async fn prime(&self, rows: impl IntoIterator<Item = (i64, T)>) {
        self.0
            .prime_many(rows.into_iter().map(|(id, row)| (id, Some(row))))
            .await;
    }

    /// The row with this id, batched with every other load of this request.
    pub async fn load(&self, id: i64) -> Result<Option<T>> {
        self.0
            .try_load(id)
            .await
            .map_err(|e| Error::Internal(format!("loading {}: {e}", T::WHAT)))
    }
}

/// The loaders of one request.
pub struct Loaders {
    /// Roles by id.
    pub roles: ByIdLoader<Arc<Role>>,
    /// Members by id.
    pub members: ByIdLoader<Member>,
    /// Member counts by role id.
    pub member_counts: ByIdLoader<MemberCount>,
    /// How many members hold the built-in role actively, read once per request (once
    /// per change, for a live subscription: see [`Loaders::refresh`]).
    active_admins: std::sync::Mutex<Arc<tokio::sync::OnceCell<i64>>>,
    pool: Pool,
}

impl Loaders {
    /// Fresh loaders (nothing cached) for one request.
    pub fn new(pool: &Pool) -> Self {
        Self {
            roles: ByIdLoader::new(pool),
            members: ByIdLoader::new(pool),
            member_counts: ByIdLoader::new(pool),
            active_admins: std::sync::Mutex::default(),
            pool: pool.clone(),
        }
    }

    /// How many members hold the built-in role actively (what `viewerCan` needs to
    /// tell `LAST_ADMINISTRATOR`): one statement per request, however many members ask.
    pub async fn active_admins(&self) -> Result<i64> {
        let cell = self
            .active_admins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        cell.get_or_try_init(|| roles::active_admins(&self.pool))
            .await
            .copied()
    }

    /// Forgets what was loaded and remembers `rows` instead: a live subscription's
    /// loaders, before each change it delivers, so that the change shows the rows as
    /// they are now (its events are resolved one after another).
    pub async fn refresh(&self, rows: &Rows) {
        self.roles.0.clear_all().await;
        self.members.0.clear_all().await;
        self.member_counts.0.clear_all().await;
        *self.active_admins.lock().unwrap_or_else(|e| e.into_inner()) = Arc::default();
        let roles: Vec<(i64, Arc<Role>)> = rows.roles.clone().into_iter().collect();
        self.roles.prime(roles).await;
        let members: Vec<(i64, Member)> = rows.members.clone().into_iter().collect();
        self.members.prime(members).await;
    }
}
