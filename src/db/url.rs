//! Which database Roster stores its data in.

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file path (or `file:` URI).
    Sqlite(String),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `DATABASE_URL`; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(format!(
                "expected sqlite://<path> or postgres://..., got scheme '{scheme}'"
            ));
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() || path == ":memory:" {
            return Err("a SQLite URL needs a file path, e.g. sqlite://roster.db".into());
        }
        Ok(DatabaseUrl::Sqlite(path.to_owned()))
    }
}
