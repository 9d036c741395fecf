//! Configuration from the environment, overridable by flags.
//!
//! | variable | flag | default | meaning |
//! |---|---|---|---|
//! | `DATABASE_URL` | `--database-url` | `sqlite://roster.db` | `sqlite://<path>` (created when missing) or `postgres://...` |
//! | `ROSTER_LISTEN` | `--listen` | `127.0.0.1:8080` | address and port to serve on |
//! | `ROSTER_PUBLIC_URL` | `--public-url` | `http://localhost:8080` | base URL of the admin frontend, used to build links |
//! | `ROSTER_ADMIN_EMAIL` | `--admin-email` | `admin@localhost` | email of the first administrator, made on first start |
//! | `ROSTER_ADMIN_PASSWORD` | `--admin-password` | random, printed once | password of the first administrator |
//! | `ROSTER_DB_POOL_SIZE` | `--db-pool-size` | `4` on SQLite, 4 per CPU core on PostgreSQL | most database connections held at once |
//! | `ROSTER_CORS_ORIGINS` | `--cors-origins` | none | comma-separated browser origins allowed to call the API |
//! | `ROSTER_CORS_HEADERS` | `--cors-headers` | none | comma-separated request headers allowed besides the common client and tracing ones |
//! | `ROSTER_GRAPHIQL` | `--graphiql` | `true` | serve GraphiQL at `GET /` |
//! | `ROSTER_INTROSPECTION` | `--introspection` | `true` | answer introspection queries |
//! | `ROSTER_MAX_BATCH` | `--max-batch` | `0` | most operations in one JSON-array batch; 0 = batches off |
//! | `ROSTER_REQUEST_TIMEOUT_SECS` | `--request-timeout-secs` | `30` | longest a request may run |
//! | `ROSTER_MAX_DEPTH` | `--max-depth` | `10` | deepest field nesting of an operation |
//! | `ROSTER_MAX_ALIASES` | `--max-aliases` | `20` | most aliased fields in an operation |
//! | `ROSTER_MAX_ROOT_FIELDS` | `--max-root-fields` | `10` | most root fields in an operation |
//! | `ROSTER_MAX_FIELDS` | `--max-fields` | `400` | most fields in an operation, fragments expanded |
//! | `ROSTER_HEADER_TIMEOUT_SECS` | `--header-timeout-secs` | `10` | longest a client may take to send request headers |
//! | `ROSTER_MAX_CONNECTIONS` | `--max-connections` | `4096` | most connections open at once |
//! | `ROSTER_MAX_CONNECTIONS_PER_ADDRESS` | `--max-connections-per-address` | `256` | most connections open at once from one client address; 0 = no cap (set it behind a proxy) |
//! | `ROSTER_LIVE_MAX_CONNECTIONS` | `--live-max-connections` | `10000` | most live (WebSocket) connections open at once |
//! | `ROSTER_LIVE_CONNECTIONS_PER_SESSION` | `--live-connections-per-session` | `8` | most live connections one session holds at once, per instance |
//! | `ROSTER_LIVE_SUBSCRIPTIONS_PER_CONNECTION` | `--live-subscriptions-per-connection` | `16` | most subscriptions on one live connection |
//! | `ROSTER_LIVE_PING_SECS` | `--live-ping-secs` | `15` | how often each live connection is pinged; silent for three times that, it is dropped |
//! | `ROSTER_BODY_TIMEOUT_SECS` | `--body-timeout-secs` | `10` | longest a client may take to send a request's body |
//! | `ROSTER_TRUSTED_PROXIES` | `--trusted-proxies` | none | comma-separated addresses or networks (CIDR) of proxies whose `X-Forwarded-For` names the client |
//! | `ROSTER_METRICS_LISTEN` | `--metrics-listen` | off | address and port to serve `GET /metrics` on (Prometheus' text format) |
//! | `ROSTER_LOG_FORMAT` | | `text` | `text` or `json` (one object a line) |
//! | `RUST_LOG` | | `info` | log filter (tracing-subscriber syntax) |

use std::net::SocketAddr;

use crate::db::DatabaseUrl;

/// The database flag, shared by every subcommand.
#[derive(clap::Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// `sqlite://<path>` or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://roster.db")]
    pub database_url: String,
}

/// Flags of `roster serve`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL of the admin frontend, used to build invitation and reset links.
    #[arg(
        long,
        env = "ROSTER_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    pub public_url: String,
    /// Email of the administrator created on first start.
    #[arg(long, env = "ROSTER_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub admin_email: String,
    /// Password of that administrator; random and printed once when unset.
    #[arg(long, env = "ROSTER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Most database connections held at once [default: 4 on SQLite, 4 per CPU core on PostgreSQL].
    #[arg(long, env = "ROSTER_DB_POOL_SIZE")]
    pub db_pool_size: Option<String>,
    /// Comma-separated browser origins allowed to call the API (CORS).
    #[arg(long, env = "ROSTER_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
    /// Comma-separated request headers browsers may send besides the common client and
    /// tracing headers Roster always allows (CORS).
    #[arg(long, env = "ROSTER_CORS_HEADERS", default_value = "")]
    pub cors_headers: String,
    /// Comma-separated addresses or networks (CIDR) of proxies whose X-Forwarded-For
    /// names the client.
    #[arg(long, env = "ROSTER_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Address and port to serve metrics on (GET /metrics); off when empty.
    #[arg(long, env = "ROSTER_METRICS_LISTEN", default_value = "")]
    pub metrics_listen: String,
    /// Serve GraphiQL at `GET /` (true or false).
    #[arg(long, env = "ROSTER_GRAPHIQL", default_value = "true")]
    pub graphiql: String,
    /// Answer introspection queries (true or false).
    #[arg(long, env = "ROSTER_INTROSPECTION", default_value = "true")]
    pub introspection: String,
    /// Most operations in one JSON-array batch; 0 turns batches off.
    #[arg(long, env = "ROSTER_MAX_BATCH", default_value = "0")]
    pub max_batch: String,
    /// Longest a request may run, in seconds.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT_SECS", default_value = "30")]
    pub request_timeout_secs: String,
    /// Deepest field nesting of an operation.
    #[arg(long, env = "ROSTER_MAX_DEPTH", default_value = "10")]
    pub max_depth: String,
    /// Most aliased fields in an operation.
    #[arg(long, env = "ROSTER_MAX_ALIASES", default_value = "20")]
    pub max_aliases: String,
    /// Most root fields in an operation.
    #[arg(long, env = "ROSTER_MAX_ROOT_FIELDS", default_value = "10")]
    pub max_root_fields: String,
    /// Most fields in an operation, fragments expanded.
    #[arg(long, env = "ROSTER_MAX_FIELDS", default_value = "400")]
    pub max_fields: String,
    /// Longest a client may take to send a request's headers, in seconds.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT_SECS", default_value = "10")]
    pub header_timeout_secs: String,
    /// Most connections open at once.
    #[arg(long, env = "ROSTER_MAX_CONNECTIONS", default_value = "4096")]
    pub max_connections: String,
    /// Most connections open at once from one client address; 0 for no cap.
    #[arg(
        long,
        env = "ROSTER_MAX_CONNECTIONS_PER_ADDRESS",
        default_value = "256"
    )]
    pub max_connections_per_address: String,
    /// Longest a client may take to send a request's body, in seconds.
    #[arg(long, env = "ROSTER_BODY_TIMEOUT_SECS", default_value = "10")]
    pub body_timeout_secs: String,
    /// Most live (WebSocket) connections open at once.
    #[arg(long, env = "ROSTER_LIVE_MAX_CONNECTIONS", default_value = "10000")]
    pub live_max_connections: String,
    /// Most live connections one session holds at once.
    #[arg(long, env = "ROSTER_LIVE_CONNECTIONS_PER_SESSION", default_value = "8")]
    pub live_connections_per_session: String,
    /// Most subscriptions on one live connection.
    #[arg(
        long,
        env = "ROSTER_LIVE_SUBSCRIPTIONS_PER_CONNECTION",
        default_value = "16"
    )]
    pub live_subscriptions_per_connection: String,
    /// How often each live connection is pinged, in seconds.
    #[arg(long, env = "ROSTER_LIVE_PING_SECS", default_value = "15")]
    pub live_ping_secs: String,
}

/// A configuration value that cannot be used; names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}: {reason}")]
pub struct ConfigError {
    /// The environment variable (the flag has the same meaning).
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// `DATABASE_URL` as a [`DatabaseUrl`], or why it cannot be used.
pub fn database_url(raw: &str) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(raw).map_err(|reason| invalid("DATABASE_URL", reason))
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// The validated configuration of a running server.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database.
    pub database: DatabaseUrl,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Base URL for links, without a trailing slash.
    pub public_url: String,
    /// Email of the first administrator.
    pub admin_email: String,
    /// Password of the first administrator, if given.
    pub admin_password: Option<String>,
    /// Most pooled database connections.
    pub db_pool_size: usize,
    /// How the HTTP surface is exposed.
    pub http: crate::http::HttpOptions,
    /// How connections are served.
    pub server: crate::server::ServerLimits,
    /// Where metrics are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
}

impl Config {
    /// Validates the flags and environment of `roster serve`.
    pub fn new(db: &DatabaseArgs, serve: &ServeArgs) -> Result<Self, ConfigError> {
        let listen = serve.listen.parse().map_err(|_| {
            invalid(
                "ROSTER_LISTEN",
                format!("'{}' is not host:port, e.g. 127.0.0.1:8080", serve.listen),
            )
        })?;
        let admin_email = crate::domain::validate::email(&serve.admin_email)
            .map_err(|r| invalid("ROSTER_ADMIN_EMAIL", r.message))?;
        if let Some(pw) = &serve.admin_password {
            crate::domain::validate::password_shape(
                pw,
                crate::domain::settings::DEFAULT_PASSWORD_MIN_LENGTH,
            )
            .map_err(|r| invalid("ROSTER_ADMIN_PASSWORD", r.message))?;
        }
        let database = database_url(&db.database_url)?;
        let db_pool_size = match &serve.db_pool_size {
            Some(size) => number("ROSTER_DB_POOL_SIZE", size, 1, 1000)?,
            None => crate::db::default_pool_size(&database),
        };
        let metrics_listen = match serve.metrics_listen.trim() {
            "" => None,
            address => Some(address.parse().map_err(|_| {
                let why = format!("'{address}' is not host:port, e.g. 127.0.0.1:9090");
                invalid("ROSTER_METRICS_LISTEN", why)
            })?),
        };
        Ok(Config {
            database,
            listen,
            metrics_listen,
            public_url: parse_public_url(&serve.public_url)?,
            admin_email,
            admin_password: serve.admin_password.clone(),
            db_pool_size,
            http: http_options(serve)?,
            server: crate::server::ServerLimits {
                header_timeout: std::time::Duration::from_secs(number(
                    "ROSTER_HEADER_TIMEOUT_SECS",
                    &serve.header_timeout_secs,
                    1,
                    600,
                )? as u64),
                max_connections: number(
                    "ROSTER_MAX_CONNECTIONS",
                    &serve.max_connections,
                    16,
                    1_000_000,
                )?,
                max_connections_per_address: number(
                    "ROSTER_MAX_CONNECTIONS_PER_ADDRESS",
                    &serve.max_connections_per_address,
                    0,
                    1_000_000,
                )?,
                ..Default::default()
            },
        })
    }
}

fn http_options(serve: &ServeArgs) -> Result<crate::http::HttpOptions, ConfigError> {
    let limits = crate::graphql::limits::QueryLimits {
        max_depth: number("ROSTER_MAX_DEPTH", &serve.max_depth, 2, 100)?,
        max_aliases: number("ROSTER_MAX_ALIASES", &serve.max_aliases, 0, 1000)?,
        max_root_fields: number("ROSTER_MAX_ROOT_FIELDS", &serve.max_root_fields, 1, 1000)?,
        max_fields: number("ROSTER_MAX_FIELDS", &serve.max_fields, 10, 100_000)?,
    };
    Ok(crate::http::HttpOptions {
        limits,
        max_batch: number("ROSTER_MAX_BATCH", &serve.max_batch, 0, 100)?,
        request_timeout: std::time::Duration::from_secs(number(
            "ROSTER_REQUEST_TIMEOUT_SECS",
            &serve.request_timeout_secs,
            1,
            3600,
        )? as u64),
        body_timeout: std::time::Duration::from_secs(number(
            "ROSTER_BODY_TIMEOUT_SECS",
            &serve.body_timeout_secs,
            1,
            3600,
        )? as u64),
        introspection: boolean("ROSTER_INTROSPECTION", &serve.introspection)?,
        graphiql: boolean("ROSTER_GRAPHIQL", &serve.graphiql)?,
        cors_origins: origins(&serve.cors_origins)?,
        cors_headers: header_names(&serve.cors_headers)?,
        trusted_proxies: networks(&serve.trusted_proxies)?,
        live: crate::http::LiveLimits {
            connections: number(
                "ROSTER_LIVE_MAX_CONNECTIONS",
                &serve.live_max_connections,
                1,
                1_000_000,
            )?,
            per_session: number(
                "ROSTER_LIVE_CONNECTIONS_PER_SESSION",
                &serve.live_connections_per_session,
                1,
                10_000,
            )?,
            subscriptions: number(
                "ROSTER_LIVE_SUBSCRIPTIONS_PER_CONNECTION",
                &serve.live_subscriptions_per_connection,
                1,
                1000,
            )?,
            ping_every: std::time::Duration::from_secs(number(
                "ROSTER_LIVE_PING_SECS",
                &serve.live_ping_secs,
                1,
                3600,
            )? as u64),
        },
    })
}

fn number(var: &'static str, value: &str, min: usize, max: usize) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            var,
            format!("'{value}' is not a number from {min} to {max}"),
        )),
    }
}

fn boolean(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(var, format!("'{value}' is not true or false"))),
    }
}

fn origins(list: &str) -> Result<Vec<axum::http::HeaderValue>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/');
            valid
                .then(|| axum::http::HeaderValue::from_str(origin).ok())
                .flatten()
                .ok_or_else(|| {
                    invalid(
                        "ROSTER_CORS_ORIGINS",
                        format!("'{origin}' is not an origin like https://admin.example.com"),
                    )
                })
        })
        .collect()
}

/// Addresses (a single host) or CIDR networks.
fn networks(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let parsed = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            parsed.map_err(|_| {
                let why = format!("'{entry}' is not an address or network like 10.0.0.0/8");
                invalid("ROSTER_TRUSTED_PROXIES", why)
            })
        })
        .collect()
}

/// How log lines are written (`ROSTER_LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `ROSTER_LOG_FORMAT`, read from the environment (every command logs).
pub fn log_format() -> Result<LogFormat, ConfigError> {
    match std::env::var("ROSTER_LOG_FORMAT")
        .unwrap_or_default()
        .trim()
    {
        "" | "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(invalid(
            "ROSTER_LOG_FORMAT",
            format!("'{other}' is not text or json"),
        )),
    }
}

fn header_names(list: &str) -> Result<Vec<axum::http::HeaderName>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            axum::http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                let why = format!("'{name}' is not a header name like x-tenant-id");
                invalid("ROSTER_CORS_HEADERS", why)
            })
        })
        .collect()
}

fn parse_public_url(url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| invalid("ROSTER_PUBLIC_URL", "must start with http:// or https://"))?;
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| c.is_whitespace() || c == '?' || c == '#')
    {
        return Err(invalid(
            "ROSTER_PUBLIC_URL",
            format!("'{url}' is not a base URL"),
        ));
    }
    Ok(trimmed.to_owned())
}
