//! Process-wide SQLite settings that no SQL statement can make.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Applies [`on_open`] to every SQLite connection this process opens from now on.
///
/// Call before opening the first connection; later calls do nothing.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        configure();
        // SAFETY: `on_open` has the signature SQLite expects of an auto extension and
        // lives for the whole process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "cannot register the SQLite connection setup");
        }
    });
}

/// Turns on the query planner stability guarantee.
///
/// Without it, SQLite (3.4x and later) marks every statement whose `LIMIT` is a bound
/// parameter, as diesel writes it, to be prepared again whenever the parameter is
/// bound: each page query was compiled twice per execution, which cost a fifth of
/// the server's time in the benchmark. Plans never depend on bound values here.
unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening; the option takes an int and a
    // nullable out-pointer.
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    ffi::SQLITE_OK
}

/// Settings SQLite takes only before its first use in the process; if something else
/// got there first they stay at SQLite's defaults, which are correct, only slower.
///
/// - Multi-thread mode: diesel never shares a connection between threads, so the
///   per-connection mutexes are pure cost.
/// - No memory statistics: they put one global mutex around every allocation.
/// - Allocations through mimalloc: with the system allocator, SQLite's page caches on
///   a few dozen blocking threads spread over as many malloc arenas, which kept tens
///   of MiB resident after a burst (measured in bench/).
fn configure() {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(mem_malloc),
        xFree: Some(mem_free),
        xRealloc: Some(mem_realloc),
        xSize: Some(mem_size),
        xRoundup: Some(mem_roundup),
        xInit: Some(mem_init),
        xShutdown: Some(mem_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: sqlite3_config before sqlite3_initialize, with the argument types each
    // option documents; SQLite keeps its own copy of the methods.
    let codes = unsafe {
        [
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods),
        ]
    };
    if codes.iter().any(|rc| *rc != ffi::SQLITE_OK) {
        tracing::debug!(
            ?codes,
            "SQLite was initialised already; keeping its defaults"
        );
    }
}

unsafe extern "C" fn mem_malloc(size: c_int) -> *mut c_void {
    // SAFETY: any size is valid for mi_malloc; SQLite never asks for a negative one.
    unsafe { libmimalloc_sys::mi_malloc(size.max(0) as usize) }
}

unsafe extern "C" fn mem_free(p: *mut c_void) {
    // SAFETY: SQLite frees only what `mem_malloc` or `mem_realloc` returned.
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn mem_realloc(p: *mut c_void, size: c_int) -> *mut c_void {
    // SAFETY: as for `mem_free`.
    unsafe { libmimalloc_sys::mi_realloc(p, size.max(0) as usize) }
}

unsafe extern "C" fn mem_size(p: *mut c_void) -> c_int {
    // SAFETY: as for `mem_free`.
    let size = unsafe { libmimalloc_sys::mi_usable_size(p) };
    c_int::try_from(size).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn mem_roundup(size: c_int) -> c_int {
    (size + 7) & !7
}

unsafe extern "C" fn mem_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn mem_shutdown(_: *mut c_void) {}
