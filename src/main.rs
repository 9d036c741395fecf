//! The `roster` command: parse the command line, then call the library.

use std::ffi::OsString;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// glibc's malloc keeps hundreds of MiB resident per thread after argon2's 19 MiB
/// blocks; mimalloc returns them (measured in bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use roster::config::{Config, DatabaseArgs, LogFormat, ServeArgs, database_url};
use roster::db::DatabaseUrl;
use roster::domain::bootstrap;

/// Roster: GraphQL API server for member management.
#[derive(Parser)]
#[command(name = "roster", version, about)]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (what a bare `roster` does).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator; reads the password from the first line of stdin.
    CreateAdmin {
        /// The administrator's email.
        #[arg(long)]
        email: String,
        /// The administrator's display name.
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write a consistent copy of the SQLite database to FILE, even while a server runs
    /// on it (for PostgreSQL use pg_dump).
    Backup {
        /// The copy to write; it must not exist yet.
        file: std::path::PathBuf,
    },
}

const SUBCOMMANDS: [&str; 6] = [
    "serve",
    "migrate",
    "create-admin",
    "schema",
    "backup",
    "help",
];

/// A bare `roster` (flags only) means `roster serve`.
fn with_default_command(mut args: Vec<OsString>) -> Vec<OsString> {
    let named = args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        SUBCOMMANDS.contains(&a.as_ref())
            || ["-h", "--help", "-V", "--version"].contains(&a.as_ref())
    });
    if !named {
        args.insert(1.min(args.len()), "serve".into());
    }
    args
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(with_default_command(std::env::args_os().collect()));
    let format = match roster::config::log_format() {
        Ok(format) => format,
        Err(e) => return config_error(e),
    };
    let _logs = init_tracing(format);
    let database = match database_url(&cli.db.database_url) {
        Ok(d) => d,
        Err(e) => return config_error(e),
    };
    let job = match cli.command {
        Command::Serve(args) => match Config::new(&cli.db, &args) {
            Ok(config) => Job::Serve(Box::new(config)),
            Err(e) => return config_error(e),
        },
        Command::Migrate => Job::Migrate,
        Command::CreateAdmin { email, name } => Job::CreateAdmin { email, name },
        Command::Schema => Job::Schema,
        Command::Backup { file } => Job::Backup(file),
    };
    let pool_size = match &job {
        Job::Serve(config) => config.db_pool_size,
        _ => ADMIN_POOL_SIZE,
    };
    let runtime = match roster::runtime(pool_size) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match job {
            Job::Serve(config) => roster::serve(*config).await,
            Job::Migrate => migrate(&database).await,
            Job::CreateAdmin { email, name } => create_admin(&database, &email, &name).await,
            Job::Schema => {
                print!("{}", roster::graphql::sdl());
                Ok(())
            }
            Job::Backup(file) => roster::db::backup(&database, &file).await.map(|()| {
                println!("wrote a consistent copy to {}", file.display());
            }),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {}", e.detail());
            ExitCode::FAILURE
        }
    }
}

/// What to do, its configuration validated.
enum Job {
    Serve(Box<Config>),
    Migrate,
    CreateAdmin { email: String, name: String },
    Schema,
    Backup(std::path::PathBuf),
}

/// Connections of the short-lived commands.
const ADMIN_POOL_SIZE: usize = 2;

fn config_error(e: roster::config::ConfigError) -> ExitCode {
    eprintln!("roster: {e}");
    ExitCode::from(2)
}

/// Logs to stderr through a background writer (a slow terminal or pipe never holds a
/// request up), as text or JSON lines; colours only when stderr is a terminal. The
/// guard flushes what is queued when it drops, at the end of `main`.
fn init_tracing(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    guard
}

async fn migrate(database: &DatabaseUrl) -> roster::error::Result<()> {
    let applied = roster::db::run_migrations(database).await?;
    println!("applied {applied} migration(s)");
    Ok(())
}

async fn create_admin(
    database: &DatabaseUrl,
    email: &str,
    name: &str,
) -> roster::error::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| {
            roster::error::Error::Internal(format!("cannot read the password from stdin: {e}"))
        })?;
    let password = password.trim_end_matches(['\r', '\n']);
    let state = roster::open(
        database,
        ADMIN_POOL_SIZE,
        "http://localhost",
        Arc::new(roster::clock::SystemClock),
    )
    .await?;
    bootstrap::prepare(&state).await?;
    let member = bootstrap::create_admin(&state, email, name, password).await?;
    println!("created administrator {} (id {})", member.email, member.id);
    Ok(())
}
