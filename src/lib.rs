//! Roster: a GraphQL API server for the member management of an admin backend.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod server;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;

use crate::auth::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DatabaseUrl, Pool};
use crate::domain::AppState;
use crate::error::{Error, Result};

/// The router serving the whole API with `state`, with default HTTP options.
pub fn app(state: AppState) -> Router {
    http::router(state, &http::HttpOptions::default())
}

/// How many passwords may hash at once: one per core, so hashing never starves the rest.
fn hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Migrates the database and builds the shared state around it.
pub async fn open(
    database: &DatabaseUrl,
    pool_size: usize,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> Result<AppState> {
    db::run_migrations(database).await?;
    let statements = Arc::new(AtomicU64::new(0));
    let pool = Pool::new(database, pool_size, statements.clone())?;
    domain::keys::rekey(&pool).await?;
    let hasher = Hasher::new(hash_concurrency())?;
    let feed = domain::feed::Feed::new(database)?;
    domain::live_order::spawn_sequencer(&feed, database);
    Ok(AppState {
        pool,
        clock,
        hasher,
        public_url: public_url.to_owned(),
        statements,
        requests: Arc::new(AtomicU64::new(0)),
        search_hints: Arc::default(),
        feed,
    })
}

/// The async runtime the binaries run on, its blocking threads bounded for a pool of
/// `pool_size` connections ([`db::blocking_threads`]).
pub fn runtime(pool_size: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(db::blocking_threads(pool_size))
        .build()
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
pub async fn serve(config: Config) -> Result<()> {
    let state = open(
        &config.database,
        config.db_pool_size,
        &config.public_url,
        Arc::new(clock::SystemClock),
    )
    .await?;
    let created = domain::bootstrap::bootstrap(
        &state,
        &config.admin_email,
        config.admin_password.as_deref(),
    )
    .await?;
    if let Some(admin) = created {
        announce_admin(&admin);
    }
    auth::password::release_memory();
    domain::thaw::spawn_sweeper(state.clone());
    domain::counters::spawn_folder(state.clone());
    domain::retention::spawn_sweeper(state.clone());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "Roster serves GraphQL at http://{addr}/graphql and GraphiQL at http://{addr}/"
    );
    if let Some(address) = config.metrics_listen {
        serve_metrics(address, state.clone()).await?;
    }
    server::serve(
        listener,
        http::router(state, &config.http),
        config.server,
        shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `GET /metrics` on `address`, apart from the API, until the process ends.
async fn serve_metrics(address: std::net::SocketAddr, state: AppState) -> Result<()> {
    let handle = http::metrics::install().map_err(Error::Internal)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {address} for metrics: {e}")))?;
    tracing::info!("metrics at http://{address}/metrics");
    let router = http::metrics::router(handle, state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

fn announce_admin(admin: &domain::bootstrap::CreatedAdmin) {
    match &admin.generated_password {
        Some(password) => println!(
            "Created the first administrator.\n  email:    {}\n  password: {password}\nThis password is shown only once; you will be asked to change it at the first sign-in.",
            admin.email
        ),
        None => println!(
            "Created the first administrator {} with the configured password.",
            admin.email
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
