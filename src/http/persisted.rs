//! Automatic persisted queries in Apollo's protocol: a client sends a query's SHA-256
//! alone; on `PersistedQueryNotFound` it sends the query with its hash once, and the
//! hash alone from then on (which also lets it use GET within URL limits).
//!
//! The store is per process and bounded: a miss costs the client one round trip, so
//! instances sharing a database need not agree on it.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

/// Most bytes of query text kept; when full, the store starts over.
const CAPACITY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub struct PersistedQueries {
    texts: Mutex<Stored>,
}

#[derive(Default)]
struct Stored {
    by_hash: HashMap<String, String>,
    bytes: usize,
}

impl PersistedQueries {
    /// Fills in `request.query` from its `persistedQuery` extension, or stores the
    /// query it carries under its hash. Requests without the extension pass as they are.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let Some(persisted) = request.extensions.get("persistedQuery") else {
            return Ok(());
        };
        let hash = hash_of(persisted)?;
        if request.query.is_empty() {
            let found = self.lock().by_hash.get(&hash).cloned();
            request.query = found.ok_or_else(not_found)?;
            return Ok(());
        }
        if hex(&Sha256::digest(request.query.as_bytes())) != hash {
            return Err(bad("provided sha does not match query"));
        }
        let mut stored = self.lock();
        if !stored.by_hash.contains_key(&hash) {
            if stored.bytes + request.query.len() > CAPACITY_BYTES {
                *stored = Stored::default();
            }
            stored.bytes += request.query.len();
            stored.by_hash.insert(hash, request.query.clone());
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stored> {
        // A panic while holding the lock leaves a map that is still valid.
        self.texts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn hash_of(persisted: &Value) -> Result<String, ServerError> {
    let Value::Object(fields) = persisted else {
        return Err(bad("persistedQuery must be an object"));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => return Err(bad("Unsupported persisted query version")),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(bad(
            "persistedQuery.sha256Hash must be 64 hexadecimal digits",
        )),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn error(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

fn not_found() -> ServerError {
    error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
}

fn bad(message: &str) -> ServerError {
    error(message, "BAD_REQUEST")
}
