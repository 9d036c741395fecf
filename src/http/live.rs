//! What live (WebSocket) connections share: their limits, the places they hold, and
//! which browser origins may open one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use tokio::sync::Semaphore;

use crate::graphql::live_render::Renders;

/// The limits of live connections; see `config.rs` for the variables behind each.
#[derive(Clone, Copy, Debug)]
pub struct LiveLimits {
    /// Most WebSocket connections this instance holds at once.
    pub connections: usize,
    /// Most WebSocket connections one session holds at once on this instance.
    pub per_session: usize,
    /// Most subscriptions running on one connection.
    pub subscriptions: usize,
    /// How often the server pings each connection.
    pub ping_every: Duration,
}

impl Default for LiveLimits {
    fn default() -> Self {
        LiveLimits {
            connections: 10_000,
            per_session: 8,
            subscriptions: 16,
            ping_every: Duration::from_secs(15),
        }
    }
}

/// What live connections share.
pub(super) struct Live {
    pub limits: LiveLimits,
    pub slots: Arc<Semaphore>,
    /// Live connections by session id.
    pub per_session: Mutex<HashMap<i64, usize>>,
    /// Browser origins allowed besides the server's own.
    origins: Vec<String>,
    /// Changes rendered for this instance's subscriptions.
    pub renders: Arc<Renders>,
}

impl Live {
    pub fn new(limits: LiveLimits, origins: &[axum::http::HeaderValue]) -> Arc<Live> {
        Arc::new(Live {
            limits,
            slots: Arc::new(Semaphore::new(limits.connections)),
            per_session: Mutex::default(),
            renders: Arc::default(),
            origins: origins
                .iter()
                .filter_map(|o| o.to_str().ok().map(str::to_owned))
                .collect(),
        })
    }

    /// Whether a browser page at `origin` may connect: the server's own origin (the
    /// request's `Host`, or the public URL's) or one allowed for CORS. Clients that
    /// are not browsers send none.
    pub fn allows(&self, headers: &HeaderMap, public_url: &str) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let own = host.is_some_and(|host| {
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
        own || public_url.starts_with(origin)
            && public_url[origin.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == '/')
            || self.origins.iter().any(|o| o == origin)
    }
}
