//! Helper of `bench/run.sh`: seeds identical data on either backend, and measures the
//! floor (the very statements one members page costs, run back to back without HTTP
//! or GraphQL).
//!
//!   roster-bench seed  <database-url> <members>     prints a bearer token
//!   roster-bench floor <database-url> <token> <seconds> <concurrency>
//!                                                   prints JSON: req/s, latencies

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use roster::auth::token;
use roster::clock::SystemClock;
use roster::db::DatabaseUrl;
use roster::db::with_conn;
use roster::domain::Viewer;
use roster::domain::member_list::{self, MemberFilter};
use roster::domain::{bootstrap, roles};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Result<T> = std::result::Result<T, String>;

fn fail(e: roster::error::Error) -> String {
    e.detail()
}

mod min_floor;

/// The floor runs on the server's own settings: the default pool and the same bound
/// on blocking threads (`roster::db`), so that it measures the statements, not a
/// worse configuration.
fn main() {
    let pool = std::env::args()
        .nth(2)
        .and_then(|url| DatabaseUrl::parse(&url).ok())
        .map_or(1, |url| roster::db::default_pool_size(&url));
    let runtime = roster::runtime(pool).expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("seed") if args.len() == 4 => seed(&args[2], args[3].parse().unwrap_or(10_000)).await,
        Some("floor") if args.len() == 6 => {
            floor(&args[2], &args[3], args[4].parse().unwrap_or(10), args[5].parse().unwrap_or(1)).await
        }
        Some("min-floor") if args.len() == 6 => match args[2].strip_prefix("sqlite://") {
            Some(path) => min_floor::run(
                path,
                &token::hash(&args[3]),
                args[4].parse().unwrap_or(10),
                args[5].parse().unwrap_or(1),
            ),
            None => Err("min-floor takes a sqlite:// URL (PostgreSQL's is pgbench's)".into()),
        },
        _ => Err("usage: roster-bench seed <url> <members> | floor <url> <token> <seconds> <concurrency> | min-floor <sqlite url> <token> <seconds> <threads>".into()),
    };
    if let Err(e) = result {
        eprintln!("roster-bench: {e}");
        std::process::exit(1);
    }
}

async fn open(url: &str, pool: usize) -> Result<roster::domain::AppState> {
    let url = DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    roster::open(&url, pool, "http://localhost", Arc::new(SystemClock))
        .await
        .map_err(fail)
}

/// The bench's administrator (the first member) as an actor of the use cases.
fn bench_actor() -> roster::domain::Actor {
    roster::domain::Actor {
        member_id: 1,
        permissions: roster::domain::PermissionSet::all(),
        origin: Default::default(),
    }
}

/// Members spread over the Administrator role and four others, one password hash for
/// all, and a session for the bench; prints the session's token.
async fn seed(url: &str, count: i64) -> Result<()> {
    let state = open(url, 4).await?;
    bootstrap::bootstrap(&state, "bench-admin@example.com", Some("bench-password-1"))
        .await
        .map_err(fail)?;
    let (actor, now) = (bench_actor(), state.clock.now());
    for name in ["Support", "Sales", "Engineering", "Auditors"] {
        let input = roles::CreateRole {
            name: name.into(),
            description: String::new(),
            permissions: vec![roster::domain::Permission::MembersView],
        };
        let _ = roles::create(&state, &actor, input).await;
    }
    let hash = state
        .hasher
        .hash("bench-member-password")
        .await
        .map_err(fail)?;
    let existing = member_list::count(&state, &actor, &MemberFilter::default())
        .await
        .map_err(fail)?;
    let missing = count - existing;
    let role_ids: Vec<i64> = roles::list(&state, &actor)
        .await
        .map_err(fail)?
        .iter()
        .map(|r| r.id)
        .collect();
    let role_of_i = role_ids
        .iter()
        .enumerate()
        .fold(format!("CASE i % {}", role_ids.len()), |sql, (k, id)| {
            format!("{sql} WHEN {k} THEN {id}")
        })
        + " END";
    let mut conn = state.pool.get().await.map_err(fail)?;
    // Bulk inserts differ per backend (generate_series against a recursive CTE).
    let inserted = match &mut conn {
        roster::db::Conn::Sqlite(c) => {
            let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
                INSERT INTO members (email, email_key, name, search_key, role_id, status, password_hash, must_change_password, created_at, updated_at, version) \
                SELECT 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i, 'user' || i || '@example.com' || char(10) || 'user ' || i, \
                ROLE, 'ACTIVE', ?2, FALSE, ?3, ?3, 1 FROM n";
            let sql = sql.replace("ROLE", &role_of_i);
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::BigInt, _>(missing)
                .bind::<diesel::sql_types::Text, _>(&hash)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(&mut **c)
                .await
        }
        roster::db::Conn::Pg(c) => {
            // The server's statement time limit is for requests, not for a bulk load
            // that also fills the trigram index and the counters.
            diesel::sql_query("SET statement_timeout = 0")
                .execute(&mut **c)
                .await
                .map_err(|e| e.to_string())?;
            let sql = "INSERT INTO members (email, email_key, name, search_key, role_id, status, password_hash, must_change_password, created_at, updated_at, version) \
                SELECT 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i, 'user' || i || '@example.com' || chr(10) || 'user ' || i, \
                ROLE, 'ACTIVE', $2, FALSE, $3, $3, 1 FROM generate_series(1, $1) AS i";
            let sql = sql.replace("ROLE", &role_of_i);
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::BigInt, _>(missing)
                .bind::<diesel::sql_types::Text, _>(&hash)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(&mut **c)
                .await
        }
    };
    inserted.map_err(|e| e.to_string())?;
    if matches!(conn, roster::db::Conn::Pg(_)) {
        // Measure a settled database, not the aftermath of a bulk load: statistics and
        // visibility map up to date, and the load's dirty pages written out now rather
        // than by a checkpoint in the middle of a measurement.
        for settle in ["VACUUM ANALYZE", "CHECKPOINT"] {
            with_conn!(&mut conn, |c| diesel::sql_query(settle).execute(c).await)
                .map_err(|e| e.to_string())?;
        }
    }
    let secret = token::generate();
    let hash = token::hash(&secret);
    let origin = roster::domain::audit::Origin::default();
    let session = roster::domain::sessions::NewSession::new(
        &hash,
        1,
        now,
        chrono::Duration::days(2),
        &origin,
    );
    with_conn!(&mut conn, |c| diesel::insert_into(
        roster::db::schema::sessions::table
    )
    .values(&session)
    .execute(c)
    .await)
    .map_err(|e| e.to_string())?;
    println!("{secret}");
    Ok(())
}

/// One members page as Roster serves it: the session check, then the page with its
/// roles and the count, through the same functions and so the same statements.
async fn one_page(state: &roster::domain::AppState, secret: &str) -> Result<()> {
    let viewer = Viewer::from_token(state, secret)
        .await
        .map_err(fail)?
        .ok_or("the bench session is not valid")?;
    let (filter, actor) = (MemberFilter::default(), bench_actor());
    let page = member_list::page(state, &actor, &filter, None, 51, true)
        .await
        .map_err(fail)?;
    if page.rows.len() != 51 || page.total.unwrap_or(0) < 51 || viewer.member.id != 1 {
        return Err("unexpected page".into());
    }
    Ok(())
}

async fn floor(url: &str, secret: &str, seconds: u64, concurrency: usize) -> Result<()> {
    let pool = DatabaseUrl::parse(url)
        .map(|u| roster::db::default_pool_size(&u))
        .map_err(|e| e.to_string())?;
    let state = open(url, pool).await?;
    one_page(&state, secret).await?;
    let before = AtomicU64::load(&state.statements, Ordering::Relaxed);
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (state, secret, done) = (state.clone(), secret.to_owned(), done.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let started = Instant::now();
                    one_page(&state, &secret).await?;
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.map_err(|e| e.to_string())??);
    }
    latencies.sort_by(f64::total_cmp);
    let n = AtomicU64::load(&done, Ordering::Relaxed);
    let statements =
        (AtomicU64::load(&state.statements, Ordering::Relaxed) - before) as f64 / n.max(1) as f64;
    println!(
        "{{\"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}, \"statements_per_request\": {:.2}}}",
        n as f64 / seconds as f64,
        min_floor::percentile(&latencies, 0.5),
        min_floor::percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        statements
    );
    Ok(())
}
