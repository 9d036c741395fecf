//! Periodic sweeps every instance runs (ended freezes, audit retention): each is safe
//! to run on several instances at once, so none needs electing a leader.

use std::time::Duration;

use crate::domain::AppState;
use crate::error::Result;

/// Runs `sweep` every `every` until the process ends; `done` names what a positive
/// count is, for the log. A failed sweep is logged and the next one tries again.
pub fn spawn<F, Fut>(state: AppState, every: Duration, done: &'static str, sweep: F)
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = Result<usize>> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(state.clone()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "{done}"),
                Err(e) => tracing::warn!(error = %e.detail(), "a sweep failed ({done}); retrying"),
            }
        }
    });
}
