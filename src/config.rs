//! Configuration from the environment, overridable by flags.
//!
//! | variable | flag | default | meaning |
//! |---|---|---|---|
//! | `DATABASE_URL` | `--database-url` | `sqlite://roster.db` | `sqlite://<path>` (created when missing) or `postgres://...` |
//! | `ROSTER_LISTEN` | `--listen` | `127.0.0.1:8080` | address and port to serve on |
//! | `ROSTER_PUBLIC_URL` | `--public-url` | `http://localhost:8080` | base URL of the admin frontend, used to build links |
//! | `ROSTER_ADMIN_EMAIL` | `--admin-email` | `admin@localhost` | email of the first administrator, made on first start |
//! | `ROSTER_ADMIN_PASSWORD` | `--admin-password` | random, printed once | password of the first administrator |
//! | `ROSTER_DB_POOL_SIZE` | `--db-pool-size` | `16` | most database connections held at once |
//! | `RUST_LOG` | | `info` | log filter (tracing-subscriber syntax) |

use std::net::SocketAddr;

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path (or `file:` URI).
    Sqlite(String),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

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
    /// Most database connections held at once.
    #[arg(long, env = "ROSTER_DB_POOL_SIZE", default_value = "16")]
    pub db_pool_size: String,
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
}

impl DatabaseUrl {
    /// Parses `DATABASE_URL`.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        const VAR: &str = "DATABASE_URL";
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(invalid(
                VAR,
                format!("expected sqlite://<path> or postgres://..., got scheme '{scheme}'"),
            ));
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return Err(invalid(
                VAR,
                "a SQLite URL needs a file path, e.g. sqlite://roster.db",
            ));
        }
        Ok(DatabaseUrl::Sqlite(path.to_owned()))
    }
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
        Ok(Config {
            database: DatabaseUrl::parse(&db.database_url)?,
            listen,
            public_url: parse_public_url(&serve.public_url)?,
            admin_email,
            admin_password: serve.admin_password.clone(),
            db_pool_size: parse_pool_size(&serve.db_pool_size)?,
        })
    }
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

fn parse_pool_size(size: &str) -> Result<usize, ConfigError> {
    match size.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(invalid(
            "ROSTER_DB_POOL_SIZE",
            format!("'{size}' is not a number from 1 to 1000"),
        )),
    }
}
