//! The SQLite minimal floor (issue 18): the least SQL the members page needs, straight
//! over libsqlite3, each statement prepared once per connection and only the needed
//! columns read; no pool, no async, none of Roster's model functions.

use std::ffi::{CStr, CString, c_int};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;

/// The session check (who is asking), the page's five columns and role name, the count.
const STATEMENTS: [&str; 3] = [
    "SELECT m.id, m.name, m.status, m.role_id, r.permissions FROM sessions s JOIN members m ON m.id = s.member_id JOIN roles r ON r.id = m.role_id WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND m.status = 'ACTIVE' LIMIT 1",
    "SELECT m.id, m.email, m.name, m.status, r.name FROM members m JOIN roles r ON r.id = m.role_id ORDER BY m.id DESC LIMIT 51",
    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM member_counts",
];

struct Connection {
    db: *mut ffi::sqlite3,
    statements: Vec<*mut ffi::sqlite3_stmt>,
}

impl Connection {
    fn open(path: &str) -> Result<Connection, String> {
        let path = CString::new(path).map_err(|e| e.to_string())?;
        let mut db = ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READONLY | ffi::SQLITE_OPEN_NOMUTEX;
        // SAFETY: a valid C string and an out-pointer; the handle is closed in Drop.
        let rc = unsafe { ffi::sqlite3_open_v2(path.as_ptr(), &mut db, flags, ptr::null()) };
        let mut connection = Connection {
            db,
            statements: Vec::new(),
        };
        connection.check(rc)?;
        for sql in STATEMENTS {
            let sql = CString::new(sql).map_err(|e| e.to_string())?;
            let mut statement = ptr::null_mut();
            // SAFETY: an open handle, a valid C string, an out-pointer; finalized in Drop.
            let rc = unsafe {
                ffi::sqlite3_prepare_v3(
                    db,
                    sql.as_ptr(),
                    -1,
                    ffi::SQLITE_PREPARE_PERSISTENT,
                    &mut statement,
                    ptr::null_mut(),
                )
            };
            connection.check(rc)?;
            connection.statements.push(statement);
        }
        Ok(connection)
    }

    fn check(&self, rc: c_int) -> Result<(), String> {
        if rc == ffi::SQLITE_OK || rc == ffi::SQLITE_ROW || rc == ffi::SQLITE_DONE {
            return Ok(());
        }
        // SAFETY: sqlite3_errmsg returns a valid C string for an open (or failed) handle.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) };
        Err(message.to_string_lossy().into_owned())
    }

    /// One page: every statement run to its end, each needed column read; the rows
    /// each statement gave.
    fn page(&self, token_hash: &CStr, now: &CStr) -> Result<[usize; 3], String> {
        let mut rows = [0; 3];
        for (i, &statement) in self.statements.iter().enumerate() {
            // SAFETY: prepared statements of this open handle; bound texts outlive the
            // step (SQLITE_STATIC) because the statement is reset before returning.
            unsafe {
                if i == 0 {
                    ffi::sqlite3_bind_text(statement, 1, token_hash.as_ptr(), -1, None);
                    ffi::sqlite3_bind_text(statement, 2, now.as_ptr(), -1, None);
                }
                loop {
                    let rc = ffi::sqlite3_step(statement);
                    if rc == ffi::SQLITE_DONE {
                        break;
                    }
                    if rc != ffi::SQLITE_ROW {
                        ffi::sqlite3_reset(statement);
                        return self.check(rc).map(|()| rows);
                    }
                    for column in 0..ffi::sqlite3_column_count(statement) {
                        match ffi::sqlite3_column_type(statement, column) {
                            ffi::SQLITE_INTEGER => {
                                std::hint::black_box(ffi::sqlite3_column_int64(statement, column));
                            }
                            _ => {
                                let text = ffi::sqlite3_column_text(statement, column);
                                let len = ffi::sqlite3_column_bytes(statement, column);
                                std::hint::black_box((text, len));
                            }
                        }
                    }
                    rows[i] += 1;
                }
                ffi::sqlite3_reset(statement);
            }
        }
        Ok(rows)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: statements and handle were made by this connection, freed once.
        unsafe {
            for &statement in &self.statements {
                ffi::sqlite3_finalize(statement);
            }
            ffi::sqlite3_close(self.db);
        }
    }
}

/// Runs pages for `seconds` on `threads` connections to the SQLite file at `path`, as
/// the session of `token_hash`; prints the rate and latencies as JSON.
pub fn run(path: &str, token_hash: &str, seconds: u64, threads: usize) -> Result<(), String> {
    let token_hash = CString::new(token_hash).map_err(|e| e.to_string())?;
    let now = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f");
    let now = CString::new(now.to_string()).map_err(|e| e.to_string())?;
    let probe = Connection::open(path)?;
    let rows = probe.page(&token_hash, &now)?;
    if rows != [1, 51, 1] {
        return Err(format!(
            "the minimal page read {rows:?} rows, not [1, 51, 1] (is the session live?)"
        ));
    }
    drop(probe);
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (path, token_hash, now, done) = (
                path.to_owned(),
                token_hash.clone(),
                now.clone(),
                done.clone(),
            );
            std::thread::spawn(move || {
                let connection = Connection::open(&path)?;
                let mut latencies = Vec::new();
                while Instant::now() < end {
                    let started = Instant::now();
                    connection.page(&token_hash, &now)?;
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(
            worker
                .join()
                .map_err(|_| "a worker panicked".to_owned())??,
        );
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "{{\"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        AtomicU64::load(&done, Ordering::Relaxed) as f64 / seconds as f64,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    Ok(())
}

/// The `q` quantile of ascending `sorted` (0 when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q) as usize)
        .copied()
        .unwrap_or(0.0)
}
