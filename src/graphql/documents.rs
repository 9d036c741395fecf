//! Parsed operations, remembered by their text.
//!
//! A frontend sends the same few query texts over and over; parsing one took a tenth
//! of a members page's CPU. The cache is per process and only saves work: a miss
//! parses as before, so instances sharing a database need not agree on it.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError};

use crate::graphql::limits::QueryLimits;

/// Most operations remembered; when full, the cache starts over.
const CAPACITY: usize = 128;
/// Longer texts are parsed every time, which bounds the cache's memory.
const MAX_TEXT: usize = 4096;

/// Operations that parsed and passed the limits, by query text.
#[derive(Default)]
pub struct Documents {
    parsed: Mutex<HashMap<String, ExecutableDocument>>,
}

impl Documents {
    /// Parses `request` (or takes it from the cache) and checks it against `limits`;
    /// the request then carries the document, so the schema does not parse it again.
    pub fn prepare(&self, request: &mut Request, limits: &QueryLimits) -> Result<(), ServerError> {
        if let Some(doc) = self.lock().get(&request.query).cloned() {
            request.set_parsed_query(doc);
            return Ok(());
        }
        let cacheable = request.query.len() <= MAX_TEXT;
        let text = cacheable.then(|| request.query.clone());
        let doc = request.parsed_query()?;
        limits.check(doc)?;
        if let Some(text) = text {
            let doc = doc.clone();
            let mut parsed = self.lock();
            if parsed.len() >= CAPACITY {
                parsed.clear();
            }
            parsed.insert(text, doc);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}
