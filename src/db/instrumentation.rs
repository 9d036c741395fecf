//! Counts the SQL statements every connection runs, for tests and benchmarks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// A diesel instrumentation that adds one to a shared counter per statement started.
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Counts into `counter`.
    pub fn new(counter: Arc<AtomicU64>) -> Self {
        Self(counter)
    }
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}
