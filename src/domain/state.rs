//! What every request shares.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::feed::Feed;
use super::member_search::SearchHints;
use crate::auth::Hasher;
use crate::clock::Clock;
use crate::db::Pool;

/// The shared state of a running server.
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Password hashing, bounded.
    pub hasher: Hasher,
    /// Base URL for links, without a trailing slash.
    pub public_url: String,
    /// How many SQL statements the pool's connections have run.
    pub statements: Arc<AtomicU64>,
    /// How many GraphQL requests (POST /graphql) arrived.
    pub requests: Arc<AtomicU64>,
    /// What the database's statistics tell about member searches.
    pub search_hints: Arc<SearchHints>,
    /// The live feed of this instance.
    pub feed: Arc<Feed>,
}
