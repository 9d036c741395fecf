//! Parsed operations, remembered by their text.
//!
//! A frontend sends the same few query texts over and over; parsing one took a tenth
//! of a members page's CPU, and validating it again a twentieth. The cache is per
//! process and only saves work: a miss parses and validates as before, so instances
//! sharing a database need not agree on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Request, ServerError};

use crate::graphql::limits::QueryLimits;

/// Most operations remembered; when full, the cache starts over.
const CAPACITY: usize = 128;
/// Longer texts are parsed every time, which bounds the cache's memory.
const MAX_TEXT: usize = 4096;

/// Longer texts are parsed on a blocking thread: parsing is linear, but a 1 MiB
/// document still takes long enough to stall every request sharing a worker thread.
const LONG_TEXT: usize = 16 * 1024;
const _: () = assert!(LONG_TEXT > MAX_TEXT, "long texts are never remembered");

/// Operations that parsed and passed the limits, by query text.
pub struct Documents {
    parsed: Mutex<HashMap<String, Entry>>,
    /// One long text is parsed at a time: they queue (within the request time limit)
    /// instead of taking every blocking thread, which SQLite's connections use too.
    long: Arc<tokio::sync::Semaphore>,
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            parsed: Mutex::default(),
            long: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

struct Entry {
    doc: Arc<ExecutableDocument>,
    /// Executed once without any error. Only set for documents without variables,
    /// whose validation cannot depend on the request.
    valid: bool,
}

/// What [`Documents::prepare`] knows of a request's document (by default: nothing).
#[derive(Default)]
pub struct Prepared {
    /// The document passed validation before and nothing in the request can change
    /// that: the schema may skip the rules (see `graphql::schema`).
    pub valid: bool,
    /// The text to pass to [`Documents::passed`] if this execution has no errors.
    pub unproven: Option<String>,
    /// The parsed document, to put the response in selection order
    /// ([`crate::graphql::ordering`]).
    pub doc: Option<Arc<ExecutableDocument>>,
}

impl Documents {
    /// [`Documents::prepare`], on a blocking thread for a long text. The thread keeps its turn until it is done, even when the request
    /// gives up waiting for it, so long texts never hold more than one thread.
    pub async fn prepare_async(
        self: &Arc<Self>,
        request: &mut Request,
        limits: QueryLimits,
    ) -> Result<Prepared, ServerError> {
        // Longer than MAX_TEXT: never remembered, so always parsed.
        if request.query.len() <= LONG_TEXT {
            return self.prepare(request, &limits);
        }
        let turn = self.long.clone().acquire_owned().await;
        let turn = turn.map_err(|e| ServerError::new(e.to_string(), None))?;
        let (documents, mut owned) = (self.clone(), std::mem::replace(request, Request::new("")));
        let job = move || {
            let prepared = documents.prepare(&mut owned, &limits);
            // A refused document is dropped here too: freeing a huge parse tree takes
            // as long as building it.
            if prepared.is_err() {
                owned = Request::new("");
            }
            drop(turn);
            (owned, prepared)
        };
        let (owned, prepared) = tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ServerError::new(format!("preparing the document failed: {e}"), None))?;
        *request = owned;
        prepared
    }

    /// Parses `request` (or takes it from the cache) and checks it against `limits`;
    /// the request then carries the document, so the schema does not parse it again.
    pub fn prepare(
        &self,
        request: &mut Request,
        limits: &QueryLimits,
    ) -> Result<Prepared, ServerError> {
        if let Some(entry) = self.lock().get(&request.query) {
            let unproven =
                (!entry.valid && without_variables(&entry.doc)).then(|| request.query.clone());
            let valid = entry.valid;
            request.set_parsed_query(ExecutableDocument::clone(&entry.doc));
            let doc = Some(entry.doc.clone());
            return Ok(Prepared {
                valid,
                unproven,
                doc,
            });
        }
        let cacheable = request.query.len() <= MAX_TEXT;
        let text = cacheable.then(|| request.query.clone());
        crate::graphql::limits::check_nesting(&request.query)?;
        let mut doc = request.parsed_query()?.clone();
        limits.check(&doc)?;
        if crate::graphql::compat::rename_old_fields(&mut doc) {
            request.set_parsed_query(doc.clone());
        }
        let doc = Arc::new(doc);
        let mut unproven = None;
        if let Some(text) = text {
            if without_variables(&doc) {
                unproven = Some(text.clone());
            }
            let entry = Entry {
                doc: doc.clone(),
                valid: false,
            };
            let mut parsed = self.lock();
            if parsed.len() >= CAPACITY {
                parsed.clear();
            }
            parsed.insert(text, entry);
        }
        Ok(Prepared {
            valid: false,
            unproven,
            doc: Some(doc),
        })
    }

    /// Records that the document of `text` executed without errors, so that it
    /// passed validation.
    pub fn passed(&self, text: &str) {
        if let Some(entry) = self.lock().get_mut(text) {
            entry.valid = true;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether no operation of `doc` declares a variable.
fn without_variables(doc: &ExecutableDocument) -> bool {
    let empty =
        |op: &async_graphql::parser::types::OperationDefinition| op.variable_definitions.is_empty();
    match &doc.operations {
        DocumentOperations::Single(op) => empty(&op.node),
        DocumentOperations::Multiple(ops) => ops.values().all(|op| empty(&op.node)),
    }
}
